# ECS Fargate: one cluster, one task definition per role, and the services.
# Every task runs the same image with `floe serve` and FLOE_ROLES set to its role.

resource "aws_ecs_cluster" "this" {
  name = local.name

  # Container Insights publishes ECS/ContainerInsights RunningTaskCount, which
  # the reader's consumer-lag scaling policy divides the backlog by.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "floe" {
  for_each = local.deployed_roles

  name              = "/ecs/${local.name}/${each.key}"
  retention_in_days = var.log_retention_days
}

locals {
  # Plain settings, the same for every role. Credentials are not among them:
  # S3 access comes from the task role (the SDK's default credential chain),
  # the database URL and the receipt secret from Secrets Manager (floe_secrets).
  floe_environment = merge(
    {
      FLOE_LISTEN      = ":${local.floe_port}"
      FLOE_GRPC_LISTEN = ":${local.grpc_port}"
      FLOE_S3_BUCKET   = aws_s3_bucket.segments.id
      FLOE_S3_REGION   = var.region
      FLOE_LOG_FORMAT  = "json"
      FLOE_LOG_LEVEL   = var.log_level
      FLOE_LINGER      = var.linger
      FLOE_MIGRATE     = tostring(var.auto_migrate)
    },
    var.extra_environment,
  )

  # Per-service additions to floe_environment (FLOE_ROLES is added to each).
  role_environment = {
    ingest    = {}
    reader    = var.reader_cache_bytes == null ? {} : { FLOE_CACHE_BYTES = tostring(var.reader_cache_bytes) }
    compactor = {}
    grpc      = var.reader_cache_bytes == null ? {} : { FLOE_CACHE_BYTES = tostring(var.reader_cache_bytes) }
  }

  # Injected by ECS from Secrets Manager at task start; never plain environment.
  floe_secrets = [
    {
      name      = "FLOE_DATABASE_URL"
      valueFrom = aws_secretsmanager_secret.database_url.arn
    },
    {
      name      = "FLOE_RECEIPT_SECRET"
      valueFrom = aws_secretsmanager_secret.receipt.arn
    },
    {
      name      = "FLOE_BOOTSTRAP_ADMIN_KEY"
      valueFrom = aws_secretsmanager_secret.bootstrap_admin_key.arn
    },
  ]
}

resource "aws_ecs_task_definition" "floe" {
  for_each = local.deployed_roles

  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([
    {
      name      = "floe"
      image     = var.image
      essential = true
      command   = ["serve"]

      # gRPC is served by the ingest and reader roles; the compactor opens no
      # such port, and only the grpc service is reachable on it (grpc.tf).
      portMappings = [
        {
          name          = "http"
          containerPort = local.floe_port
          protocol      = "tcp"
        },
        {
          name          = "grpc"
          containerPort = local.grpc_port
          protocol      = "tcp"
        },
      ]

      environment = [
        for k, v in merge(local.floe_environment, local.role_environment[each.key], {
          FLOE_ROLES = each.value.floe_roles
          # The Go collector keeps the heap under 90% of the task's memory (MiB to bytes),
          # so a cache and a merge together do not get the task killed.
          FLOE_MEMORY_LIMIT = tostring(floor(each.value.memory * 0.9) * 1048576)
        }) :
        { name = k, value = v }
      ]
      secrets = local.floe_secrets

      # The image has no shell or curl: the binary checks itself (GET /healthz).
      healthCheck = {
        command     = ["CMD", "/floe", "health"]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }

      # Long polls hold one connection per waiting consumer.
      ulimits = [
        {
          name      = "nofile"
          softLimit = 65535
          hardLimit = 65535
        },
      ]

      # Time between SIGTERM and SIGKILL: ingest flushes its open batch, readers
      # finish their long polls (the ALB has already stopped sending them work).
      stopTimeout = 60

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.floe[each.key].name
          awslogs-region        = var.region
          awslogs-stream-prefix = each.key
        }
      }
    },
  ])
}

# ingest and reader: behind the ALB, autoscaled (autoscaling.tf owns desired_count
# after creation; ingest_count / reader_min reach it through the scalable targets).
resource "aws_ecs_service" "floe" {
  for_each = local.load_balanced_roles

  name                    = "${local.name}-${each.key}"
  cluster                 = aws_ecs_cluster.this.id
  task_definition         = aws_ecs_task_definition.floe[each.key].arn
  desired_count           = local.roles[each.key].count
  launch_type             = "FARGATE"
  platform_version        = "LATEST"
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  health_check_grace_period_seconds  = 60
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = local.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.floe[each.key].arn
    container_name   = "floe"
    container_port   = local.floe_port
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  # A target group must be in use by the ALB before a service can register in it;
  # the ingest group is reached only through listener rules.
  depends_on = [
    aws_lb_listener.http,
    aws_lb_listener.https,
    aws_lb_listener_rule.produce,
    aws_lb_listener_rule.transactions,
    aws_lb_listener_rule.consume,
    aws_lb_listener_rule.lookup,
    aws_iam_role_policy.execution_secrets,
    aws_iam_role_policy.task_s3,
    aws_secretsmanager_secret_version.database_url,
    aws_secretsmanager_secret_version.receipt,
  ]
}

# compactor: no client traffic, fixed count.
resource "aws_ecs_service" "compactor" {
  name                    = "${local.name}-compactor"
  cluster                 = aws_ecs_cluster.this.id
  task_definition         = aws_ecs_task_definition.floe["compactor"].arn
  desired_count           = var.compactor_count
  launch_type             = "FARGATE"
  platform_version        = "LATEST"
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = local.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  depends_on = [
    aws_iam_role_policy.execution_secrets,
    aws_iam_role_policy.task_s3,
    aws_secretsmanager_secret_version.database_url,
    aws_secretsmanager_secret_version.receipt,
  ]
}
