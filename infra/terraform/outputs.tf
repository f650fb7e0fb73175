output "public_url" {
  description = "Public site and NGO console."
  value       = "https://${var.domain}/"
}

output "console_url" {
  value = "https://${var.domain}/console/"
}

output "municipality_url_pattern" {
  description = "Each municipality is served at its slug under the base domain."
  value       = "https://{slug}.${var.domain}/"
}

output "health_url" {
  value = "https://${var.domain}/health"
}

output "cdn_domain" {
  description = "CloudFront domain the apex and wildcard records point at."
  value       = aws_cloudfront_distribution.main.domain_name
}

output "load_balancer_dns" {
  value = aws_lb.main.dns_name
}

output "image_repository_url" {
  description = "docker push here, then terraform apply -var image_tag=…"
  value       = aws_ecr_repository.imis.repository_url
}

output "media_bucket" {
  value = aws_s3_bucket.media.id
}

output "database_endpoint" {
  value = aws_db_instance.main.address
}

output "redis_endpoint" {
  value = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "ecs_cluster" {
  value = aws_ecs_cluster.main.name
}

output "log_group" {
  value = aws_cloudwatch_log_group.app.name
}

output "metrics_token_secret_arn" {
  description = "Bearer token for /metrics (read it from Secrets Manager for the Prometheus scrape config)."
  value       = aws_secretsmanager_secret.metrics_token.arn
}

output "migrate_command" {
  description = "Run once per release, before the services take the new task definitions."
  value = join(" ", [
    "aws ecs run-task --region ${var.region} --cluster ${aws_ecs_cluster.main.name}",
    "--launch-type FARGATE --task-definition ${aws_ecs_task_definition.migrate.family}",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", aws_subnet.private[*].id)}],securityGroups=[${aws_security_group.app.id}],assignPublicIp=DISABLED}'",
  ])
}
