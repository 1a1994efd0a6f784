# Two roles per deployment:
# - the task execution role, used by ECS itself to pull the image, write the
#   logs and read the two secrets it injects into the containers;
# - the task role, assumed by the floe process: S3 access to the segment bucket,
#   plus PutMetricData restricted to the Floe metric namespace (consumer lag).

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# ---- Execution role ---------------------------------------------------------------

resource "aws_iam_role" "execution" {
  name_prefix        = "${local.name}-exec-"
  description        = "ECS task execution role of the ${local.name} Floe deployment"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

# ECR pull and CloudWatch Logs writes.
resource "aws_iam_role_policy_attachment" "execution_managed" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_secrets" {
  statement {
    sid     = "ReadFloeSecrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_secretsmanager_secret.database_url.arn,
      aws_secretsmanager_secret.receipt.arn,
      aws_secretsmanager_secret.bootstrap_admin_key.arn,
    ]
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  name   = "floe-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets.json
}

# ---- Task role --------------------------------------------------------------------

resource "aws_iam_role" "task" {
  name_prefix        = "${local.name}-task-"
  description        = "Role of the floe processes of the ${local.name} deployment: the segment bucket only"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task_s3" {
  statement {
    sid       = "ListSegmentBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.segments.arn]
  }

  statement {
    sid = "ReadWriteSegments"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${aws_s3_bucket.segments.arn}/*"]
  }
}

resource "aws_iam_role_policy" "task_s3" {
  name   = "floe-segments"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_s3.json
}

# Lets a floe node (or a sidecar in its task) publish the consumer-lag metric
# the reader autoscaling follows. PutMetricData has no resource-level
# permissions; the condition pins it to the one namespace.
data "aws_iam_policy_document" "task_metrics" {
  statement {
    sid       = "PublishFloeMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.lag_metric_namespace]
    }
  }
}

resource "aws_iam_role_policy" "task_metrics" {
  name   = "floe-metrics"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_metrics.json
}
