terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.x; metric math in target tracking (customized_metric_specification.metrics)
      # needs a recent 5.x release.
      version = "~> 5.40"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({
      Application = "floe"
      Deployment  = var.name
      ManagedBy   = "terraform"
    }, var.tags)
  }
}
