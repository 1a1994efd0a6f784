# Floe on AWS: stateless floe tasks on ECS Fargate, split by role
# (ingest, reader, compactor), behind one ALB, over RDS Postgres and an S3 bucket.
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

  create_vpc         = var.vpc_id == null
  vpc_id             = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  public_subnet_ids  = local.create_vpc ? aws_subnet.public[*].id : var.public_subnet_ids
  private_subnet_ids = local.create_vpc ? aws_subnet.private[*].id : var.private_subnet_ids

  bucket_name = coalesce(var.bucket_name, "${var.name}-segments-${data.aws_caller_identity.current.account_id}-${var.region}")

  # One entry per role: each becomes a task definition, an ECS service and a
  # log group. All three run the same image with `floe serve`, FLOE_ROLES = the key.
  roles = {
    ingest    = { cpu = var.ingest_cpu, memory = var.ingest_memory, count = var.ingest_count }
    reader    = { cpu = var.reader_cpu, memory = var.reader_memory, count = var.reader_min }
    compactor = { cpu = var.compactor_cpu, memory = var.compactor_memory, count = var.compactor_count }
  }

  # Roles that serve client traffic through the ALB, each in its own target group.
  # The compactor serves none (admin routes reach ingest or reader nodes).
  load_balanced_roles = toset(["ingest", "reader"])
}
