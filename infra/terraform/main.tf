# IMIS on AWS: RDS PostgreSQL + PostGIS, ElastiCache Redis, ECS Fargate (web, worker, beat, one-shot migrate),
# S3 for media and exports, CloudFront in front of everything (caches static files only), Secrets Manager, AWS Backup.
# See README.md here and docs/operations.md.

data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_caller_identity" "current" {}

locals {
  prefix = "${var.name}-${var.environment}"
  azs    = slice(data.aws_availability_zones.available.names, 0, var.az_count)
  tags = {
    Project     = "imis"
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  image = "${aws_ecr_repository.imis.repository_url}:${var.image_tag}"

  # What every container (web, worker, beat, migrate) gets; tests/deploy checks the names against the settings.
  app_environment = {
    DJANGO_SETTINGS_MODULE    = "imis.platform.settings.prod"
    IMIS_BASE_DOMAIN          = var.domain
    DJANGO_ALLOWED_HOSTS      = "${var.domain},.${var.domain},localhost,127.0.0.1"
    IMIS_PUBLIC_HOSTS         = "${var.domain},localhost,127.0.0.1"
    IMIS_CELERY_QUEUE         = "imis"
    IMIS_MEDIA_BUCKET         = aws_s3_bucket.media.id
    AWS_S3_REGION_NAME        = var.region
    DJANGO_HSTS_SECONDS       = "31536000"
    DJANGO_EMAIL_BACKEND      = "django.core.mail.backends.console.EmailBackend" # DJANGO_EMAIL_URL overrides it
    DJANGO_DEFAULT_FROM_EMAIL = "IMIS <no-reply@${var.domain}>"
    IMIS_MIGRATION_PROCESSES  = tostring(var.migration_processes)
    SENTRY_ENVIRONMENT        = var.environment
    IMIS_RELEASE              = var.image_tag
  }

  # Secrets: Secrets Manager ARNs, injected by ECS as environment variables at task start.
  app_secrets_all = {
    DJANGO_SECRET_KEY  = aws_secretsmanager_secret.django_secret_key.arn
    DATABASE_URL       = aws_secretsmanager_secret.database_url.arn
    REDIS_URL          = aws_secretsmanager_secret.redis_url.arn
    IMIS_METRICS_TOKEN = aws_secretsmanager_secret.metrics_token.arn
    SENTRY_DSN         = one(aws_secretsmanager_secret.sentry_dsn[*].arn)
    DJANGO_EMAIL_URL   = one(aws_secretsmanager_secret.email_url[*].arn)
  }
  app_secrets = { for key, arn in local.app_secrets_all : key => arn if arn != null }

  container_environment = [for key, value in local.app_environment : { name = key, value = value }]
  container_secrets     = [for key, arn in local.app_secrets : { name = key, valueFrom = arn }]
}

resource "aws_ecr_repository" "imis" {
  name                 = local.prefix
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "imis" {
  repository = aws_ecr_repository.imis.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the last 30 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 30 }
      action       = { type = "expire" }
    }]
  })
}
