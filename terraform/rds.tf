# Postgres: Floe's index, offsets and consumer state. Private, encrypted,
# backed up, reachable only from the Floe tasks' security group.
#
# The master password is generated here and never leaves AWS except through
# the Terraform state (keep the state in an encrypted, access-controlled
# backend). The tasks get the full connection URL from Secrets Manager as an
# ECS secret, never as a plain environment variable.

resource "random_password" "db" {
  length  = 40
  special = false # URL-safe: it is embedded in FLOE_DATABASE_URL
}

resource "aws_db_subnet_group" "this" {
  name       = local.name
  subnet_ids = local.private_subnet_ids

  tags = { Name = local.name }
}

resource "aws_db_instance" "this" {
  identifier     = local.name
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = var.db_name
  username = var.db_username
  password = random_password.db.result
  port     = 5432

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  backup_retention_period    = var.db_backup_retention_days
  backup_window              = "03:00-04:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  copy_tags_to_snapshot      = true

  deletion_protection       = var.db_deletion_protection
  skip_final_snapshot       = var.db_skip_final_snapshot
  final_snapshot_identifier = var.db_skip_final_snapshot ? null : "${local.name}-final"

  tags = { Name = local.name }
}

# FLOE_DATABASE_URL, as one secret string.
resource "aws_secretsmanager_secret" "database_url" {
  name_prefix             = "${local.name}/database-url-"
  description             = "FLOE_DATABASE_URL of the ${local.name} Floe deployment"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = "postgres://${var.db_username}:${random_password.db.result}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.db_name}?sslmode=require"
}

# FLOE_RECEIPT_SECRET: one HMAC key shared by every node, so a receipt handle
# issued by one reader is accepted by all of them.
resource "random_password" "receipt" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "receipt" {
  name_prefix             = "${local.name}/receipt-secret-"
  description             = "FLOE_RECEIPT_SECRET (receipt handle HMAC key) of the ${local.name} Floe deployment"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "receipt" {
  secret_id     = aws_secretsmanager_secret.receipt.id
  secret_string = random_password.receipt.result
}

# FLOE_BOOTSTRAP_ADMIN_KEY: the first admin API key, with which the operator creates scoped
# keys (floe keys create); read it with `aws secretsmanager get-secret-value`.
resource "random_password" "bootstrap_admin_key" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "bootstrap_admin_key" {
  name_prefix             = "${local.name}/bootstrap-admin-key-"
  description             = "FLOE_BOOTSTRAP_ADMIN_KEY (first admin API key) of the ${local.name} Floe deployment"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "bootstrap_admin_key" {
  secret_id     = aws_secretsmanager_secret.bootstrap_admin_key.id
  secret_string = random_password.bootstrap_admin_key.result
}
