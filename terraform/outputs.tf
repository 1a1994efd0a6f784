output "endpoint_url" {
  description = "Floe API endpoint (the ALB). Point producers and consumers here. With a certificate, create a DNS alias to the ALB that matches the certificate."
  value       = "${local.https ? "https" : "http"}://${aws_lb.this.dns_name}"
}

output "grpc_endpoint" {
  description = "Endpoint of the official RocketMQ 5 clients (host:port of the gRPC NLB; TLS on, as the clients default to, or off). Null when grpc_enabled is false."
  value       = var.grpc_enabled ? "${aws_lb.grpc[0].dns_name}:${local.grpc_port}" : null
}

output "alb_dns_name" {
  description = "DNS name of the load balancer, for a CNAME or Route 53 alias record."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone ID of the load balancer, for a Route 53 alias record."
  value       = aws_lb.this.zone_id
}

output "bucket_name" {
  description = "S3 bucket holding the message segments."
  value       = aws_s3_bucket.segments.id
}

output "db_endpoint" {
  description = "Postgres endpoint (host:port); reachable from inside the VPC only."
  value       = aws_db_instance.this.endpoint
}

output "database_url_secret_arn" {
  description = "Secrets Manager secret holding FLOE_DATABASE_URL."
  value       = aws_secretsmanager_secret.database_url.arn
}

output "bootstrap_admin_key_secret_arn" {
  description = "Secrets Manager secret holding FLOE_BOOTSTRAP_ADMIN_KEY, the first admin API key (aws secretsmanager get-secret-value --secret-id <arn>)."
  value       = aws_secretsmanager_secret.bootstrap_admin_key.arn
}

output "ecs_cluster_name" {
  description = "ECS cluster running the Floe services."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service_names" {
  description = "ECS service name per role."
  value = merge(
    { for role, svc in aws_ecs_service.floe : role => svc.name },
    { compactor = aws_ecs_service.compactor.name },
    { for svc in aws_ecs_service.grpc : "grpc" => svc.name },
  )
}

output "log_groups" {
  description = "CloudWatch log group per role."
  value       = { for role, lg in aws_cloudwatch_log_group.floe : role => lg.name }
}

output "vpc_id" {
  description = "VPC the deployment runs in."
  value       = local.vpc_id
}
