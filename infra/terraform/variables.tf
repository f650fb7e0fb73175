variable "region" {
  description = "AWS region of everything but the CloudFront certificate (e.g. ap-south-1, Mumbai, for Bangladesh)."
  type        = string
  default     = "ap-south-1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "imis"
}

variable "environment" {
  description = "production, staging, …"
  type        = string
  default     = "production"
}

variable "domain" {
  description = "Base domain (IMIS_BASE_DOMAIN): the public site and console at https://DOMAIN, a municipality at https://SLUG.DOMAIN."
  type        = string
}

variable "route53_zone_id" {
  description = "Hosted zone of var.domain: wildcard and apex records and certificate validation are created in it."
  type        = string
}

variable "image_tag" {
  description = "Tag of the IMIS image in the ECR repository this configuration creates (docker build -t …)."
  type        = string
  default     = "latest"
}

variable "vpc_cidr" {
  type    = string
  default = "10.40.0.0/16"
}

variable "az_count" {
  description = "Availability zones for subnets, the load balancer and a Multi-AZ database."
  type        = number
  default     = 2
}

# --- database --------------------------------------------------------------------------------------------------------

variable "postgres_version" {
  description = "PostgreSQL major version; must equal PG_MAJOR of the image (pg_dump copies the template schema)."
  type        = string
  default     = "15"
}

variable "db_instance_class" {
  type    = string
  default = "db.t4g.large"
}

variable "db_allocated_storage_gb" {
  type    = number
  default = 100
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 1000
}

variable "db_multi_az" {
  type    = bool
  default = true
}

variable "backup_retention_days" {
  description = "Point-in-time recovery window of the database and retention of the daily AWS Backup copies."
  type        = number
  default     = 35
}

# --- redis ------------------------------------------------------------------------------------------------------------

variable "redis_node_type" {
  type    = string
  default = "cache.t4g.small"
}

variable "redis_engine_version" {
  type    = string
  default = "7.1"
}

# --- containers -------------------------------------------------------------------------------------------------------

variable "web_cpu" {
  description = "CPU units of one web task (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "web_memory" {
  type    = number
  default = 2048
}

variable "web_min_count" {
  type    = number
  default = 2
}

variable "web_max_count" {
  type    = number
  default = 10
}

variable "web_concurrency" {
  description = "gunicorn processes per web task (WEB_CONCURRENCY); each has GUNICORN_THREADS threads."
  type        = number
  default     = 3
}

variable "worker_cpu" {
  type    = number
  default = 1024
}

variable "worker_memory" {
  type    = number
  default = 4096
}

variable "worker_min_count" {
  type    = number
  default = 1
}

variable "worker_max_count" {
  type    = number
  default = 6
}

variable "worker_concurrency" {
  description = "Celery processes per worker task (CELERY_CONCURRENCY)."
  type        = number
  default     = 2
}

variable "beat_cpu" {
  type    = number
  default = 256
}

variable "beat_memory" {
  type    = number
  default = 512
}

variable "migrate_cpu" {
  type    = number
  default = 2048
}

variable "migrate_memory" {
  type    = number
  default = 4096
}

variable "migration_processes" {
  description = "Parallel processes of migrate_schemas --executor multiprocessing (IMIS_MIGRATION_PROCESSES)."
  type        = number
  default     = 4
}

# --- storage, CDN, observability ---------------------------------------------------------------------------------------

variable "exports_expire_days" {
  description = "Exports (generated files) are deleted from object storage after this many days."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  type    = number
  default = 90
}

variable "sentry_dsn" {
  description = "Sentry DSN; empty: error reporting stays off."
  type        = string
  default     = ""
  sensitive   = true
}

variable "email_url" {
  description = "SMTP for outgoing mail as DJANGO_EMAIL_URL, e.g. smtp+tls://USER:PASSWORD@email-smtp.ap-south-1.amazonaws.com:587 (SES); empty: mail is only logged."
  type        = string
  default     = ""
  sensitive   = true
}

variable "cdn_price_class" {
  description = "PriceClass_200 includes the edge locations in South Asia."
  type        = string
  default     = "PriceClass_200"
}
