# Floe on AWS: stateless floe tasks on ECS Fargate, split by role
# (ingest, reader, compactor), behind one ALB, over RDS Postgres and an S3 bucket.
# The RocketMQ 5 gRPC protocol is served by a fourth service whose tasks run both
# the ingest and the reader role, behind a Network Load Balancer (grpc.tf).
# See README.md.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  name = var.name

  # The HTTP port of every floe container: API, /healthz, /readyz, /metrics.
  floe_port = 8080

  # The gRPC port (RocketMQ 5 clients, TLS and plaintext on one port) of the
  # ingest and reader roles; only the grpc service is reachable on it (grpc.tf).
  grpc_port = 8081

  create_vpc         = var.vpc_id == null
  vpc_id             = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  public_subnet_ids  = local.create_vpc ? aws_subnet.public[*].id : var.public_subnet_ids
  private_subnet_ids = local.create_vpc ? aws_subnet.private[*].id : var.private_subnet_ids

  bucket_name = coalesce(var.bucket_name, "${var.name}-segments-${data.aws_caller_identity.current.account_id}-${var.region}")

  # One entry per service: each becomes a task definition, an ECS service and a
  # log group. All run the same image with `floe serve`, FLOE_ROLES = floe_roles.
  # grpc runs both client-facing roles, so that every RPC of a RocketMQ client's
  # connection (the NLB balances connections, not calls) finds its role (grpc.tf).
  roles = {
    ingest    = { floe_roles = "ingest", cpu = var.ingest_cpu, memory = var.ingest_memory, count = var.ingest_count }
    reader    = { floe_roles = "reader", cpu = var.reader_cpu, memory = var.reader_memory, count = var.reader_min }
    compactor = { floe_roles = "compactor", cpu = var.compactor_cpu, memory = var.compactor_memory, count = var.compactor_count }
    grpc      = { floe_roles = "ingest,reader", cpu = var.grpc_cpu, memory = var.grpc_memory, count = var.grpc_count }
  }

  # The services deployed: grpc only with var.grpc_enabled.
  deployed_roles = { for k, v in local.roles : k => v if k != "grpc" || var.grpc_enabled }

  # Roles that serve client traffic through the ALB, each in its own target group.
  # The compactor serves none (admin routes reach ingest or reader nodes).
  load_balanced_roles = toset(["ingest", "reader"])
}
