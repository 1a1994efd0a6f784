# The RocketMQ 5 gRPC endpoint (docs/grpc.md): a Network Load Balancer whose TCP
# listener on 8081 passes connections through to the grpc service's tasks, which
# run both the ingest and the reader role.
#
# Why not the ALB: an ALB routes gRPC only on an HTTPS listener (a certificate)
# and balances per call, with no affinity a gRPC client can use (stickiness is by
# cookie). Floe needs a client's Heartbeat on the node that holds its Telemetry
# stream, and a producer's stream on an ingest node; the gateway of the compose
# stack hashes the client id for that (deploy/nginx.conf), which an ALB cannot.
# Here a client's one HTTP/2 connection reaches one task, and that task serves
# every call of the connection: no routing by method is needed, TLS stays end to
# end (Floe's own listener; clients keep TLS on) and plaintext works too.
#
# Off with grpc_enabled = false: no NLB, no grpc service.

locals {
  grpc_count = var.grpc_enabled ? 1 : 0
}

resource "aws_lb" "grpc" {
  count = local.grpc_count

  name               = "${local.name}-grpc"
  load_balancer_type = "network"
  internal           = false
  security_groups    = [aws_security_group.grpc_lb[0].id]
  subnets            = local.public_subnet_ids

  # An NLB node forwards only to targets in its own AZ unless this is on; with
  # few tasks an AZ may have none.
  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = var.alb_deletion_protection
}

resource "aws_lb_target_group" "grpc" {
  count = local.grpc_count

  name        = "${local.name}-grpc"
  port        = local.grpc_port
  protocol    = "TCP"
  target_type = "ip" # awsvpc tasks register by IP

  vpc_id = local.vpc_id

  # The tasks see the NLB's address, so that their security group can admit the
  # NLB's security group (grpc_lb) rather than every client CIDR.
  preserve_client_ip = "false"

  # A stopping task leaves the target group first; after the delay its
  # connections are closed, and clients reconnect to another task (telemetry
  # settings are sent again on the new connection).
  deregistration_delay   = 45
  connection_termination = true

  # The node's own health, over HTTP on the API port (the gRPC port has no
  # health RPC).
  health_check {
    protocol            = "HTTP"
    port                = tostring(local.floe_port)
    path                = "/healthz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

# TCP, not TLS: Floe's listener tells TLS from plaintext HTTP/2 by the first byte,
# so both reach it untouched. A client's heartbeat every 10 s keeps the flow well
# inside the NLB's 350 s TCP idle timeout.
resource "aws_lb_listener" "grpc" {
  count = local.grpc_count

  load_balancer_arn = aws_lb.grpc[0].arn
  port              = local.grpc_port
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.grpc[0].arn
  }
}

# ---- The grpc service: ingest and reader roles in one task ------------------------

resource "aws_ecs_service" "grpc" {
  count = local.grpc_count

  name                    = "${local.name}-grpc"
  cluster                 = aws_ecs_cluster.this.id
  task_definition         = aws_ecs_task_definition.floe["grpc"].arn
  desired_count           = var.grpc_count
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
    target_group_arn = aws_lb_target_group.grpc[0].arn
    container_name   = "floe"
    container_port   = local.grpc_port
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [
    aws_lb_listener.grpc,
    aws_iam_role_policy.execution_secrets,
    aws_iam_role_policy.task_s3,
    aws_secretsmanager_secret_version.database_url,
    aws_secretsmanager_secret_version.receipt,
  ]
}

# CPU target tracking between grpc_count and grpc_max. New tasks take new
# connections; the connections already open stay where they are.
resource "aws_appautoscaling_target" "grpc" {
  count = local.grpc_count

  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.grpc[0].name}"
  min_capacity       = var.grpc_count
  max_capacity       = max(var.grpc_max, var.grpc_count)
}

resource "aws_appautoscaling_policy" "grpc_cpu" {
  count = var.grpc_enabled && var.grpc_max > var.grpc_count ? 1 : 0

  name               = "${local.name}-grpc-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.grpc[0].service_namespace
  scalable_dimension = aws_appautoscaling_target.grpc[0].scalable_dimension
  resource_id        = aws_appautoscaling_target.grpc[0].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.grpc_cpu_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# ---- Security groups ---------------------------------------------------------------
# Clients -> NLB (8081) -> grpc tasks (8081; 8080 for the health check).

resource "aws_security_group" "grpc_lb" {
  count = local.grpc_count

  name        = "${local.name}-grpc-lb"
  description = "Floe gRPC load balancer: 8081 from the allowed client CIDRs"
  vpc_id      = local.vpc_id

  tags = { Name = "${local.name}-grpc-lb" }
}

resource "aws_vpc_security_group_ingress_rule" "grpc_lb_clients" {
  for_each = var.grpc_enabled ? toset(var.allowed_cidr_blocks) : toset([])

  security_group_id = aws_security_group.grpc_lb[0].id
  description       = "RocketMQ gRPC clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = local.grpc_port
  to_port           = local.grpc_port
}

resource "aws_vpc_security_group_egress_rule" "grpc_lb_to_tasks" {
  for_each = var.grpc_enabled ? toset([tostring(local.grpc_port), tostring(local.floe_port)]) : toset([])

  security_group_id            = aws_security_group.grpc_lb[0].id
  description                  = "To the Floe tasks: gRPC and the health check"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_grpc_lb" {
  for_each = var.grpc_enabled ? toset([tostring(local.grpc_port), tostring(local.floe_port)]) : toset([])

  security_group_id            = aws_security_group.tasks.id
  description                  = "From the gRPC load balancer: gRPC and the health check"
  referenced_security_group_id = aws_security_group.grpc_lb[0].id
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
}
