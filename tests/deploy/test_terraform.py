"""infra/terraform, parsed with python-hcl2 (no terraform binary here): every file parses, every reference resolves,
and what the containers get matches what the app reads."""

from __future__ import annotations

import re

import pytest

from .deployfiles import (
    ENTRYPOINT,
    REQUIRED,
    ROOT,
    TERRAFORM,
    dockerfile,
    first,
    flatten_strings,
    load_settings,
    terraform,
    terraform_files,
    variables_read_by_app,
)

# References inside expressions: var.x, local.x, data.kind.name, kind.name (resources).
_VAR = re.compile(r"\bvar\.([a-z0-9_]+)")
_LOCAL = re.compile(r"\blocal\.([a-z0-9_]+)")
_DATA = re.compile(r"\bdata\.([a-z0-9_]+)\.([a-z0-9_]+)")
_RESOURCE = re.compile(r"(?<![.\w])((?:aws|random)_[a-z0-9_]+)\.([a-z0-9_]+)")


def expressions() -> list[str]:
    return [s for parsed in terraform_files().values() for s in flatten_strings(parsed)]


def test_every_file_parses():
    files = terraform_files()
    assert {"versions.tf", "variables.tf", "outputs.tf", "main.tf"} <= set(files)
    assert all(files.values())


def test_region_and_size_variables():
    variables = terraform().variables
    for name in ("region", "domain", "db_instance_class", "db_allocated_storage_gb", "redis_node_type",
                 "web_cpu", "web_memory", "web_min_count", "web_max_count", "worker_cpu", "worker_memory",
                 "worker_max_count", "backup_retention_days", "postgres_version"):
        assert name in variables, f"variable {name} missing"
    assert terraform().variables["region"]["default"]


def test_every_variable_reference_is_declared_and_every_variable_used():
    used = {name for text in expressions() for name in _VAR.findall(text)}
    declared = set(terraform().variables)
    assert used <= declared, f"undeclared: {sorted(used - declared)}"
    assert declared <= used, f"unused variables: {sorted(declared - used)}"


def test_every_local_reference_is_declared():
    used = {name for text in expressions() for name in _LOCAL.findall(text)}
    assert used <= set(terraform().locals), f"undeclared locals: {sorted(used - set(terraform().locals))}"


def test_every_resource_and_data_reference_resolves():
    resources, data = set(terraform().resources), set(terraform().data)
    missing_resources, missing_data = set(), set()
    for text in expressions():
        for kind, name in _DATA.findall(text):
            if (kind, name) not in data:
                missing_data.add(f"data.{kind}.{name}")
        for kind, name in _RESOURCE.findall(re.sub(r"\bdata\.[a-z0-9_]+\.[a-z0-9_]+", "", text)):
            if (kind, name) not in resources and not text.startswith("arn:"):
                missing_resources.add(f"{kind}.{name}")
    assert not missing_resources, sorted(missing_resources)
    assert not missing_data, sorted(missing_data)


def test_providers_include_us_east_1_for_the_cdn_certificate():
    aliases = {first(body).get("alias") for block in terraform().providers for body in block.values()}
    assert "us_east_1" in aliases
    certificate = terraform().resource("aws_acm_certificate", "cdn")
    assert certificate["provider"] == "${aws.us_east_1}"
    viewer = first(terraform().resource("aws_cloudfront_distribution", "main")["viewer_certificate"])
    assert "aws_acm_certificate_validation.cdn" in viewer["acm_certificate_arn"]


def test_managed_postgres_matches_the_image_pg_dump_and_is_backed_up():
    db = terraform().resource("aws_db_instance", "main")
    assert db["engine"] == "postgres"
    assert db["engine_version"] == "${var.postgres_version}"
    parsed = dockerfile()
    assert terraform().variables["postgres_version"]["default"] == parsed.arg_default("PG_MAJOR", parsed.final)
    assert terraform().resource("aws_db_parameter_group", "main")["family"] == "postgres${var.postgres_version}"
    assert db["storage_encrypted"] is True and db["publicly_accessible"] is False
    assert db["backup_retention_period"] == "${var.backup_retention_days}"
    assert db["deletion_protection"] is True


def test_redis_is_encrypted_and_the_url_says_so():
    redis = terraform().resource("aws_elasticache_replication_group", "main")
    assert redis["transit_encryption_enabled"] is True and redis["auth_token"]
    url = terraform().resource("aws_secretsmanager_secret_version", "redis_url")["secret_string"]
    assert url.startswith("rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.main.")
    database_url = terraform().resource("aws_secretsmanager_secret_version", "database_url")["secret_string"]
    assert database_url.startswith("postgis://") and "aws_db_instance.main.address" in database_url


def _container_extras(task: str) -> set[str]:
    definition = terraform().resource("aws_ecs_task_definition", task)["container_definitions"]
    return set(re.findall(r'\{name = \\?"([A-Z][A-Z0-9_]*)\\?", value', definition))


def test_container_environment_and_secrets_are_what_the_app_reads():
    environment = set(terraform().locals["app_environment"])
    secrets = set(terraform().locals["app_secrets_all"])
    every = environment | secrets | {name for task in ("web", "worker", "beat", "migrate")
                                     for name in _container_extras(task)}
    unknown = every - variables_read_by_app()
    assert not unknown, f"Terraform sets variables nothing reads (typo?): {sorted(unknown)}"
    assert REQUIRED <= environment | secrets, f"missing: {sorted(REQUIRED - environment - secrets)}"
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "IMIS_METRICS_TOKEN"} <= secrets
    assert not {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} & environment, "secrets never in plain env"


def test_every_secret_is_a_secrets_manager_secret_with_a_value():
    secrets = terraform().of_kind("aws_secretsmanager_secret")
    versions = terraform().of_kind("aws_secretsmanager_secret_version")
    for env_name, reference in terraform().locals["app_secrets_all"].items():
        match = re.search(r"aws_secretsmanager_secret\.([a-z0-9_]+)", reference)
        assert match and match.group(1) in secrets, f"{env_name} -> {reference}"
        assert match.group(1) in versions, f"{env_name}: the secret has no value"
        assert secrets[match.group(1)]["name"].endswith(f"/{env_name}")
    policy = terraform().data[("aws_iam_policy_document", "read_secrets")]
    assert first(policy["statement"])["resources"] == "${values(local.app_secrets)}"


@pytest.mark.parametrize("task,role", [("web", "web"), ("worker", "worker"), ("beat", "beat"), ("migrate", "migrate")])
def test_task_definitions_run_a_known_role_with_the_shared_environment(task, role):
    definition = terraform().resource("aws_ecs_task_definition", task)
    containers = definition["container_definitions"]
    assert f'command = [\\"{role}\\"]' in containers or f'command = ["{role}"]' in containers
    assert "local.container_environment" in containers and "secrets = local.container_secrets" in containers
    assert "image = local.image" in containers
    assert definition["execution_role_arn"] == "${aws_iam_role.execution.arn}"
    assert definition["task_role_arn"] == "${aws_iam_role.task.arn}"
    assert re.search(rf"^\s{{2}}{role}\)", ENTRYPOINT.read_text(encoding="utf-8"), flags=re.M)


def test_services_web_behind_the_load_balancer_and_one_beat():
    web = terraform().resource("aws_ecs_service", "web")
    balancer = first(web["load_balancer"])
    assert balancer["target_group_arn"] == "${aws_lb_target_group.web.arn}" and balancer["container_port"] == 8000
    target = terraform().resource("aws_lb_target_group", "web")
    assert target["port"] == 8000 and first(target["health_check"])["path"] == "/health"
    # the health check's Host is the task IP: the entrypoint admits it
    assert "ECS_CONTAINER_METADATA_URI_V4" in ENTRYPOINT.read_text(encoding="utf-8")
    beat = terraform().resource("aws_ecs_service", "beat")
    assert beat["desired_count"] == 1 and beat["deployment_maximum_percent"] == 100
    assert ("aws_ecs_service", "worker") in terraform().resources
    for name in ("web", "worker"):
        target = terraform().resource("aws_appautoscaling_target", name)
        assert f"aws_ecs_service.{name}.name" in target["resource_id"]


def test_media_bucket_private_versioned_and_reachable_by_the_tasks_only():
    resources = terraform().resources
    assert first(resources[("aws_s3_bucket_versioning", "media")]["versioning_configuration"])["status"] == "Enabled"
    block = resources[("aws_s3_bucket_public_access_block", "media")]
    assert all(block[key] is True for key in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                               "restrict_public_buckets"))
    assert terraform().locals["app_environment"]["IMIS_MEDIA_BUCKET"] == "${aws_s3_bucket.media.id}"
    media_policy = " ".join(flatten_strings(terraform().data[("aws_iam_policy_document", "media")]))
    assert "aws_s3_bucket.media.arn" in media_policy


def test_cdn_caches_static_files_and_never_shares_tiles_across_tenants():
    distribution = terraform().resource("aws_cloudfront_distribution", "main")
    assert distribution["aliases"] == ["${var.domain}", "*.${var.domain}"]
    default = first(distribution["default_cache_behavior"])
    assert default["cache_policy_id"] == "${data.aws_cloudfront_cache_policy.caching_disabled.id}"
    behaviors = {first(b)["path_pattern"]: first(b) for b in distribution["ordered_cache_behavior"]}
    assert behaviors["/static/*"]["cache_policy_id"] == "${data.aws_cloudfront_cache_policy.caching_optimized.id}"
    assert behaviors["/tiles/*"]["cache_policy_id"] == "${aws_cloudfront_cache_policy.tiles.id}"
    tiles = terraform().resource("aws_cloudfront_cache_policy", "tiles")
    assert tiles["min_ttl"] == 0 and tiles["default_ttl"] == 0
    key = first(tiles["parameters_in_cache_key_and_forwarded_to_origin"])
    headers = first(first(key["headers_config"])["headers"])["items"]
    assert "Host" in headers, "tiles are per tenant: the host is part of any cache key"
    assert first(key["cookies_config"])["cookie_behavior"] == "all"
    # ...and the app marks tiles private, which CloudFront honours with min TTL 0
    tile_view = (ROOT / "imis/tenant_apps/maps/views.py").read_text(encoding="utf-8")
    assert re.search(r'\["Cache-Control"\] = "private', tile_view)
    assert terraform().resource("aws_route53_record", "wildcard")["name"] == "*.${var.domain}"


def test_backups_cover_the_database_and_the_media_bucket():
    selection = terraform().resource("aws_backup_selection", "main")
    assert set(selection["resources"]) == {"${aws_db_instance.main.arn}", "${aws_s3_bucket.media.arn}"}
    plan = terraform().resource("aws_backup_plan", "main")
    assert first(first(plan["rule"])["lifecycle"])["delete_after"] == "${var.backup_retention_days}"


def test_outputs_give_the_urls():
    outputs = terraform().outputs
    for name in ("public_url", "municipality_url_pattern", "console_url", "cdn_domain", "image_repository_url",
                 "migrate_command"):
        assert name in outputs, f"output {name} missing"
    assert outputs["public_url"]["value"] == "https://${var.domain}/"
    assert "{slug}.${var.domain}" in outputs["municipality_url_pattern"]["value"]
    assert "aws_ecs_task_definition.migrate.family" in outputs["migrate_command"]["value"]


def test_the_load_balancer_is_reachable_from_cloudfront_only():
    alb = terraform().resource("aws_security_group", "alb")
    ingress = first(alb["ingress"])
    assert ingress["prefix_list_ids"] == ["${data.aws_ec2_managed_prefix_list.cloudfront.id}"]
    assert "cidr_blocks" not in ingress
    for name in ("db", "redis"):
        rule = first(terraform().resource("aws_security_group", name)["ingress"])
        assert rule["security_groups"] == ["${aws_security_group.app.id}"]


def test_production_settings_load_with_the_terraform_environment():
    values = {"${var.domain}": "imis.example.org", "${aws_s3_bucket.media.id}": "imis-media-123",
              "${var.region}": "ap-south-1", "${var.environment}": "production", "${var.image_tag}": "v1",
              "${tostring(var.migration_processes)}": "4"}
    environment = {}
    for name, value in terraform().locals["app_environment"].items():
        for placeholder, real in values.items():
            value = value.replace(placeholder, real)
        assert "${" not in value, f"{name}: unresolved {value}"
        environment[name] = value
    environment.update({
        "DJANGO_SECRET_KEY": "s" * 64,
        "DATABASE_URL": "postgis://imis:pw@imis.abc.ap-south-1.rds.amazonaws.com:5432/imis?sslmode=require",
        "REDIS_URL": "rediss://:token@master.imis.cache.amazonaws.com:6379/0?ssl_cert_reqs=required",
        "IMIS_METRICS_TOKEN": "m" * 40,
    })
    loaded = load_settings(environment)
    assert loaded["STORAGE_DEFAULT"] == "storages.backends.s3.S3Storage" and loaded["BUCKET"] == "imis-media-123"
    assert loaded["STORAGE_EXPORTS"] == "storages.backends.s3.S3Storage"
    assert loaded["DATABASE"]["HOST"].endswith("rds.amazonaws.com")
    assert loaded["CELERY_BROKER_URL"].startswith("rediss://")
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert ".imis.example.org" in loaded["ALLOWED_HOSTS"]


def test_readme_is_there():
    assert (TERRAFORM / "README.md").is_file()
