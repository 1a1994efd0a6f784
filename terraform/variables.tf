# ---- General ------------------------------------------------------------------

variable "name" {
  description = "Name of this deployment. Prefixes every resource name (cluster, services, ALB, DB, log groups) and is the ClusterName dimension of the consumer-lag metric."
  type        = string
  default     = "floe"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 characters of a-z, 0-9 and '-', starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Extra tags added to every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "image" {
  description = "Floe container image, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/floe:1.0.0 (see README: building and pushing the image). All roles run the same image."
  type        = string

  validation {
    condition     = length(trimspace(var.image)) > 0
    error_message = "image must be set (terraform apply -var image=...)."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the Fargate tasks: X86_64 or ARM64 (Graviton, about 20% cheaper). The image must be built for it (docker buildx build --platform linux/arm64)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

# ---- Network ------------------------------------------------------------------

variable "vpc_id" {
  description = "ID of an existing VPC to deploy into. Leave null to create a VPC with public and private subnets in az_count availability zones. When set, public_subnet_ids and private_subnet_ids are required."
  type        = string
  default     = null
}

variable "public_subnet_ids" {
  description = "Existing public subnets (at least two AZs) for the load balancer. Only used when vpc_id is set."
  type        = list(string)
  default     = []
}

variable "private_subnet_ids" {
  description = "Existing private subnets (at least two AZs) for the Floe tasks and the database; they need outbound access to ECR, CloudWatch Logs, Secrets Manager and S3 (NAT gateway or VPC endpoints). Only used when vpc_id is set."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  description = "CIDR block of the created VPC (when vpc_id is null). Split into one public and one private /20 per availability zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "az_count" {
  description = "Number of availability zones the created VPC spans (when vpc_id is null)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be between 2 and 4 (the ALB and RDS subnet group need two AZs)."
  }
}

variable "single_nat_gateway" {
  description = "Create one NAT gateway shared by all private subnets (cheaper) instead of one per availability zone (survives the loss of an AZ). Only used when vpc_id is null."
  type        = bool
  default     = true
}

# ---- Load balancer ----------------------------------------------------------------

variable "allowed_cidr_blocks" {
  description = "Client CIDR blocks allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "certificate_arn" {
  description = "ACM certificate ARN for an HTTPS listener on 443 (port 80 then redirects to HTTPS). Leave null to serve plain HTTP on port 80."
  type        = string
  default     = null
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener (when certificate_arn is set)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "alb_idle_timeout" {
  description = "Seconds the load balancer keeps an idle connection open. Must exceed the longest long-poll wait (receive, transaction-checks) a client asks for."
  type        = number
  default     = 75

  validation {
    condition     = var.alb_idle_timeout >= 60 && var.alb_idle_timeout <= 4000
    error_message = "alb_idle_timeout must be between 60 and 4000 seconds (long polling)."
  }
}

variable "alb_deletion_protection" {
  description = "Protect the load balancers (the ALB and the gRPC NLB) from deletion (terraform destroy fails until it is turned off)."
  type        = bool
  default     = false
}

# ---- Services -------------------------------------------------------------------

variable "ingest_count" {
  description = "Number of ingest tasks (the produce path). Also the floor of ingest autoscaling."
  type        = number
  default     = 2

  validation {
    condition     = var.ingest_count >= 1
    error_message = "ingest_count must be at least 1."
  }
}

variable "ingest_max" {
  description = "Ceiling of ingest CPU autoscaling. Set equal to ingest_count to turn ingest autoscaling off."
  type        = number
  default     = 6
}

variable "reader_min" {
  description = "Minimum number of reader tasks (the consume and lookup path); autoscaling never goes below it."
  type        = number
  default     = 2

  validation {
    condition     = var.reader_min >= 1
    error_message = "reader_min must be at least 1."
  }
}

variable "reader_max" {
  description = "Maximum number of reader tasks autoscaling may run."
  type        = number
  default     = 10
}

variable "compactor_count" {
  description = "Number of compactor tasks. One is enough for most loads; two or more share the work safely through Postgres leases."
  type        = number
  default     = 1
}

variable "ingest_cpu" {
  description = "Fargate CPU units of an ingest task (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "ingest_memory" {
  description = "Memory (MiB) of an ingest task. Must hold the unflushed batches (FLOE_MAX_BUFFERED_BYTES)."
  type        = number
  default     = 2048
}

variable "reader_cpu" {
  description = "Fargate CPU units of a reader task (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "reader_memory" {
  description = "Memory (MiB) of a reader task. Most of it is the chunk cache (reader_cache_bytes)."
  type        = number
  default     = 2048
}

variable "compactor_cpu" {
  description = "Fargate CPU units of a compactor task (1024 = 1 vCPU)."
  type        = number
  default     = 512
}

variable "compactor_memory" {
  description = "Memory (MiB) of a compactor task."
  type        = number
  default     = 1024
}

variable "reader_cache_bytes" {
  description = "FLOE_CACHE_BYTES of the readers (in-memory chunk cache). Null keeps floe's default."
  type        = number
  default     = null
}

variable "linger" {
  description = "FLOE_LINGER of the ingest nodes: how long a batch fills before it is flushed as one S3 object. Longer = fewer PUTs (cheaper), slower acks."
  type        = string
  default     = "100ms"
}

variable "log_level" {
  description = "FLOE_LOG_LEVEL of every task: debug, info, warn or error."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "auto_migrate" {
  description = "Let `floe serve` apply pending database migrations at start (FLOE_MIGRATE). Turn off to run `floe migrate` yourself before a rollout."
  type        = bool
  default     = true
}

variable "extra_environment" {
  description = "Extra plain environment variables for every Floe container (e.g. FLOE_FLUSH_BYTES, FLOE_MAX_BUFFERED_BYTES). Secrets do not belong here; the database URL and receipt secret are always passed as ECS secrets."
  type        = map(string)
  default     = {}

  validation {
    condition = length(setintersection(keys(var.extra_environment), [
      "FLOE_DATABASE_URL", "FLOE_RECEIPT_SECRET", "FLOE_BOOTSTRAP_ADMIN_KEY", "FLOE_S3_ACCESS_KEY_ID", "FLOE_S3_SECRET_ACCESS_KEY",
    ])) == 0
    error_message = "extra_environment must not carry credentials: FLOE_DATABASE_URL and FLOE_RECEIPT_SECRET come from Secrets Manager, S3 access from the task role."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the containers' logs."
  type        = number
  default     = 30
}

# ---- Autoscaling -----------------------------------------------------------------

variable "reader_cpu_target" {
  description = "Target average CPU utilization (%) of the reader service."
  type        = number
  default     = 60
}

variable "reader_requests_per_target" {
  description = "Target ALB requests per reader task per minute (ALBRequestCountPerTarget). A long-poll receive counts once however long it waits."
  type        = number
  default     = 3000
}

variable "reader_lag_per_task_target" {
  description = "Target consumer accumulation (ready, unconsumed messages over all groups) per reader task. Readers are added while the backlog per task stays above it."
  type        = number
  default     = 50000
}

variable "lag_metric_namespace" {
  description = "CloudWatch namespace of the consumer-lag metric the third reader scaling policy follows."
  type        = string
  default     = "Floe"
}

variable "lag_metric_name" {
  description = "CloudWatch metric name of the consumer lag (total ready messages, dimension ClusterName = var.name). See README: publishing the lag metric."
  type        = string
  default     = "ConsumerLag"
}

variable "ingest_cpu_target" {
  description = "Target average CPU utilization (%) of the ingest service (when ingest_max > ingest_count)."
  type        = number
  default     = 60
}

# ---- gRPC (RocketMQ 5 clients) -----------------------------------------------------

variable "grpc_enabled" {
  description = "Serve the RocketMQ 5 gRPC protocol: a Network Load Balancer on port 8081 in front of the grpc service (tasks running the ingest and reader roles). See README: gRPC."
  type        = bool
  default     = true
}

variable "grpc_count" {
  description = "Number of grpc tasks (ingest and reader roles, behind the gRPC NLB). Also the floor of their autoscaling."
  type        = number
  default     = 2

  validation {
    condition     = var.grpc_count >= 1
    error_message = "grpc_count must be at least 1 (turn gRPC off with grpc_enabled = false)."
  }
}

variable "grpc_max" {
  description = "Ceiling of the grpc service's CPU autoscaling. Set equal to grpc_count to turn it off."
  type        = number
  default     = 6
}

variable "grpc_cpu" {
  description = "Fargate CPU units of a grpc task (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "grpc_memory" {
  description = "Fargate memory (MiB) of a grpc task."
  type        = number
  default     = 2048
}

variable "grpc_cpu_target" {
  description = "Target average CPU utilization (%) of the grpc service (when grpc_max > grpc_count)."
  type        = number
  default     = 60
}

# ---- Database -------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class of the Postgres database (index, offsets, consumer state)."
  type        = string
  default     = "db.t4g.small"
}

variable "db_engine_version" {
  description = "Postgres major (or major.minor) version; 15 or newer."
  type        = string
  default     = "16"

  validation {
    condition     = tonumber(split(".", var.db_engine_version)[0]) >= 15
    error_message = "db_engine_version must be 15 or newer."
  }
}

variable "db_allocated_storage" {
  description = "Initial gp3 storage of the database, GiB."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling of the database, GiB."
  type        = number
  default     = 200
}

variable "db_multi_az" {
  description = "Run the database as Multi-AZ (a standby in a second AZ, automatic failover; doubles the DB cost)."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days of automated database backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 7 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 7 and 35."
  }
}

variable "db_deletion_protection" {
  description = "Protect the database from deletion. Set to false (and apply) before terraform destroy."
  type        = bool
  default     = true
}

variable "db_skip_final_snapshot" {
  description = "Skip the final snapshot when the database is destroyed. Keep false in production."
  type        = bool
  default     = false
}

variable "db_name" {
  description = "Name of the database Floe uses."
  type        = string
  default     = "floe"
}

variable "db_username" {
  description = "Master user name of the database (its password is generated and kept in Secrets Manager)."
  type        = string
  default     = "floe"
}

# ---- Bucket ---------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the segment bucket. Null generates a unique name from var.name."
  type        = string
  default     = null
}

variable "bucket_force_destroy" {
  description = "Let terraform destroy delete the segment bucket with every message in it. Keep false in production."
  type        = bool
  default     = false
}
