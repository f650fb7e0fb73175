# Secrets Manager holds every secret the containers read; ECS injects them as environment variables at task start
# (the task execution role may read exactly these). Rotate by writing a new version and redeploying the services.

resource "random_password" "django_secret_key" {
  length  = 64
  special = false
}

resource "random_password" "metrics_token" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "django_secret_key" {
  name                    = "${local.prefix}/DJANGO_SECRET_KEY"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "django_secret_key" {
  secret_id     = aws_secretsmanager_secret.django_secret_key.id
  secret_string = random_password.django_secret_key.result
}

resource "aws_secretsmanager_secret" "database_url" {
  name                    = "${local.prefix}/DATABASE_URL"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.database_url.id
  secret_string = "postgis://${aws_db_instance.main.username}:${random_password.db.result}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${aws_db_instance.main.db_name}?sslmode=require"
}

resource "aws_secretsmanager_secret" "redis_url" {
  name                    = "${local.prefix}/REDIS_URL"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.redis_url.id
  secret_string = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.main.primary_endpoint_address}:${aws_elasticache_replication_group.main.port}/0?ssl_cert_reqs=required"
}

resource "aws_secretsmanager_secret" "metrics_token" {
  name                    = "${local.prefix}/IMIS_METRICS_TOKEN"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "metrics_token" {
  secret_id     = aws_secretsmanager_secret.metrics_token.id
  secret_string = random_password.metrics_token.result
}

resource "aws_secretsmanager_secret" "sentry_dsn" {
  count                   = var.sentry_dsn == "" ? 0 : 1
  name                    = "${local.prefix}/SENTRY_DSN"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "sentry_dsn" {
  count         = var.sentry_dsn == "" ? 0 : 1
  secret_id     = aws_secretsmanager_secret.sentry_dsn[0].id
  secret_string = var.sentry_dsn
}

resource "aws_secretsmanager_secret" "email_url" {
  count                   = var.email_url == "" ? 0 : 1
  name                    = "${local.prefix}/DJANGO_EMAIL_URL"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "email_url" {
  count         = var.email_url == "" ? 0 : 1
  secret_id     = aws_secretsmanager_secret.email_url[0].id
  secret_string = var.email_url
}
