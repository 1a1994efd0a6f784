# Application Auto Scaling of the ECS services.
#
# reader: three target-tracking policies on one scalable target. Each computes
# the capacity it wants; App Auto Scaling scales out when any policy asks for
# more and scales in only when all of them agree, never outside
# [reader_min, reader_max].
#   1. CPU:          average CPU of the reader tasks -> reader_cpu_target %.
#   2. Requests:     ALB requests per reader task per minute -> reader_requests_per_target.
#   3. Accumulation: consumer lag (ready messages over all groups, custom metric
#                    Floe/ConsumerLag) divided by the running reader tasks ->
#                    reader_lag_per_task_target. Until the metric is published
#                    this policy has no data and does nothing (README).
#
# ingest: CPU target tracking between ingest_count and ingest_max.

# ---- reader -------------------------------------------------------------------

resource "aws_appautoscaling_target" "reader" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.floe["reader"].name}"
  min_capacity       = var.reader_min
  max_capacity       = max(var.reader_max, var.reader_min)
}

resource "aws_appautoscaling_policy" "reader_cpu" {
  name               = "${local.name}-reader-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.reader.service_namespace
  scalable_dimension = aws_appautoscaling_target.reader.scalable_dimension
  resource_id        = aws_appautoscaling_target.reader.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.reader_cpu_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "reader_requests" {
  name               = "${local.name}-reader-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.reader.service_namespace
  scalable_dimension = aws_appautoscaling_target.reader.scalable_dimension
  resource_id        = aws_appautoscaling_target.reader.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.reader_requests_per_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.floe["reader"].arn_suffix}"
    }
  }
}

# Backlog per reader task = ConsumerLag / RunningTaskCount (the AWS "backlog per
# instance" pattern): it falls as readers are added, which target tracking needs.
resource "aws_appautoscaling_policy" "reader_lag" {
  name               = "${local.name}-reader-lag"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.reader.service_namespace
  scalable_dimension = aws_appautoscaling_target.reader.scalable_dimension
  resource_id        = aws_appautoscaling_target.reader.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.reader_lag_per_task_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    customized_metric_specification {
      metrics {
        id          = "lag"
        label       = "Ready messages over all consumer groups"
        return_data = false

        metric_stat {
          # Maximum: every publisher reports the same cluster-wide total, so
          # several publishers (e.g. one per compactor) do not add up.
          stat = "Maximum"

          metric {
            namespace   = var.lag_metric_namespace
            metric_name = var.lag_metric_name

            dimensions {
              name  = "ClusterName"
              value = local.name
            }
          }
        }
      }

      metrics {
        id          = "readers"
        label       = "Running reader tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }

            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.floe["reader"].name
            }
          }
        }
      }

      metrics {
        id          = "lag_per_reader"
        label       = "Ready messages per reader task"
        expression  = "lag / readers"
        return_data = true
      }
    }
  }
}

# ---- ingest -------------------------------------------------------------------

# Always registered, so that ingest_count (min_capacity) reaches the service
# even though the service ignores desired_count changes.
resource "aws_appautoscaling_target" "ingest" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.floe["ingest"].name}"
  min_capacity       = var.ingest_count
  max_capacity       = max(var.ingest_max, var.ingest_count)
}

resource "aws_appautoscaling_policy" "ingest_cpu" {
  count = var.ingest_max > var.ingest_count ? 1 : 0

  name               = "${local.name}-ingest-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.ingest.service_namespace
  scalable_dimension = aws_appautoscaling_target.ingest.scalable_dimension
  resource_id        = aws_appautoscaling_target.ingest.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.ingest_cpu_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
