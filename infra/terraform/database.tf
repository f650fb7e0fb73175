# Managed PostgreSQL with PostGIS. RDS ships the extension; `migrate` creates it (GeoDjango's CREATE EXTENSION
# IF NOT EXISTS postgis, as the master user, who has rds_superuser). One schema per municipality.

resource "aws_db_subnet_group" "main" {
  name       = local.prefix
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "main" {
  name   = "${local.prefix}-pg${var.postgres_version}"
  family = "postgres${var.postgres_version}"
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements"
    apply_method = "pending-reboot"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  # Many schemas x many tables: keep enough room for relation caches and migrations across tenants.
  parameter {
    name         = "max_locks_per_transaction"
    value        = "512"
    apply_method = "pending-reboot"
  }
}

resource "random_password" "db" {
  length  = 40
  special = false
}

resource "aws_db_instance" "main" {
  identifier                   = local.prefix
  engine                       = "postgres"
  engine_version               = var.postgres_version
  instance_class               = var.db_instance_class
  allocated_storage            = var.db_allocated_storage_gb
  max_allocated_storage        = var.db_max_allocated_storage_gb
  storage_type                 = "gp3"
  storage_encrypted            = true
  db_name                      = "imis"
  username                     = "imis"
  password                     = random_password.db.result
  port                         = 5432
  multi_az                     = var.db_multi_az
  db_subnet_group_name         = aws_db_subnet_group.main.name
  parameter_group_name         = aws_db_parameter_group.main.name
  vpc_security_group_ids       = [aws_security_group.db.id]
  publicly_accessible          = false
  backup_retention_period      = var.backup_retention_days
  backup_window                = "20:00-21:00" # 02:00-03:00 in Dhaka
  maintenance_window           = "fri:21:30-fri:22:30"
  copy_tags_to_snapshot        = true
  deletion_protection          = true
  skip_final_snapshot          = false
  final_snapshot_identifier    = "${local.prefix}-final"
  auto_minor_version_upgrade   = true
  performance_insights_enabled = true
  monitoring_interval          = 0
  apply_immediately            = false
}
