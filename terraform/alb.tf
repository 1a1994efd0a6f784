# One public ALB, the single client endpoint. Produce routes go to the ingest
# target group, consume and lookup routes (and the default) to the reader
# target group; admin routes (topics, groups, lag) are served by every role, so
# the default is fine for them. Mirrors deploy/nginx.conf of the compose stack.

locals {
  https = var.certificate_arn != null
}

resource "aws_lb" "this" {
  name               = local.name
  load_balancer_type = "application"
  internal           = false
  security_groups    = [aws_security_group.alb.id]
  subnets            = local.public_subnet_ids

  # Long polls (receive, transaction-checks) keep a request open for their wait;
  # the idle timeout must be longer.
  idle_timeout               = var.alb_idle_timeout
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection
}

resource "aws_lb_target_group" "floe" {
  for_each = local.load_balanced_roles

  name        = "${local.name}-${each.key}"
  port        = local.floe_port
  protocol    = "HTTP"
  target_type = "ip" # awsvpc tasks register by IP
  vpc_id      = local.vpc_id

  # A stopping task first leaves the target group; this lets its in-flight
  # long polls finish before ECS sends SIGTERM.
  deregistration_delay = 45

  health_check {
    path                = "/healthz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

# ---- Listeners --------------------------------------------------------------------

# Port 80: redirects to HTTPS when a certificate is set, else serves the API.
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.floe["reader"].arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.floe["reader"].arn
  }
}

locals {
  # The listener that carries the API and its routing rules.
  api_listener_arn = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
}

# ---- Routing rules (lowest priority number wins) ----------------------------------

# POST /v1/topics/{t}/messages, .../messages/recall, POST /v1/topics/{t}/transactions -> ingest.
# (GET /v1/topics/{t}/messages?key= is a lookup and falls through to the reader.)
resource "aws_lb_listener_rule" "produce" {
  listener_arn = local.api_listener_arn
  priority     = 10

  condition {
    http_request_method {
      values = ["POST"]
    }
  }

  condition {
    path_pattern {
      values = ["/v1/topics/*/messages", "/v1/topics/*/messages/recall", "/v1/topics/*/transactions"]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.floe["ingest"].arn
  }
}

# /v1/transactions/{id}/commit|rollback, /v1/producer-groups/{pg}/transaction-checks -> ingest.
resource "aws_lb_listener_rule" "transactions" {
  listener_arn = local.api_listener_arn
  priority     = 20

  condition {
    path_pattern {
      values = ["/v1/transactions/*", "/v1/producer-groups/*"]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.floe["ingest"].arn
  }
}

# /v1/groups/{g}/topics/{t}/receive|ack|nack|change-invisible[-batch]|reset -> reader.
resource "aws_lb_listener_rule" "consume" {
  listener_arn = local.api_listener_arn
  priority     = 30

  condition {
    path_pattern {
      values = ["/v1/groups/*/topics/*"]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.floe["reader"].arn
  }
}

# Lookups: GET /v1/topics/{t}/queues/{q}/messages, /v1/topics/{t}/messages[/{id}[/trace]] -> reader.
resource "aws_lb_listener_rule" "lookup" {
  listener_arn = local.api_listener_arn
  priority     = 40

  condition {
    path_pattern {
      values = ["/v1/topics/*/queues/*/messages", "/v1/topics/*/messages", "/v1/topics/*/messages/*", "/v1/topics/*/browse", "/v1/topics/*/offsets"]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.floe["reader"].arn
  }
}

# Prometheus metrics stay inside the VPC: the ALB answers 404 for them.
resource "aws_lb_listener_rule" "block_metrics" {
  listener_arn = local.api_listener_arn
  priority     = 5

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*"]
    }
  }

  action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      status_code  = "404"
      message_body = "not found\n"
    }
  }
}
