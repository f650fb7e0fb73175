"""docker-compose.yml, parsed (Docker cannot run here) and held against the Dockerfile, the entrypoint and the settings."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.http.request import validate_host

from .deployfiles import (
    ENTRYPOINT,
    REQUIRED,
    ROOT,
    compose,
    dockerfile,
    interpolate,
    interpolation_names,
    load_settings,
    resolve_args,
    service_environment,
    variables_read_by_app,
)

APP_SERVICES = ("migrate", "web", "worker", "beat")
# What an operator puts in .env (the file's ${VAR:?} entries) for these tests.
OPERATOR_ENV = {"DJANGO_SECRET_KEY": "a" * 50, "POSTGRES_PASSWORD": "secret-password"}


def services() -> dict:
    return compose()["services"]


def test_every_service_is_there():
    assert set(services()) == {"db", "redis", "migrate", "web", "worker", "beat"}


def test_database_is_postgis_with_the_same_major_version_as_pg_dump_in_the_image():
    image = services()["db"]["image"]
    match = re.fullmatch(r"postgis/postgis:(\d+)-(\d+\.\d+)", image)
    assert match, f"expected postgis/postgis:<pg major>-<postgis>, got {image}"
    parsed = dockerfile()
    pg_major = parsed.arg_default("PG_MAJOR", parsed.final)
    assert match.group(1) == pg_major, "pg_dump in the image must match the server's major version"
    assert f"postgresql-client-{pg_major}" in resolve_args(parsed.final.text("RUN"), parsed, parsed.final)


def test_redis_keeps_queued_tasks_across_a_restart():
    redis = services()["redis"]
    assert redis["image"].startswith("redis:")
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "noeviction" in command, "an evicting Redis could drop queued Celery messages"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


@pytest.mark.parametrize("name", ["db", "redis", "web", "worker", "beat"])
def test_long_running_services_have_health_checks(name):
    check = services()[name].get("healthcheck")
    assert check and check.get("test"), f"{name} has no health check"
    assert check.get("interval") and check.get("retries")


def test_web_health_check_calls_health_on_an_allowed_public_host():
    check = services()["web"]["healthcheck"]["test"]
    assert check[-1] == "/app/docker/healthcheck.py"
    script = (ROOT / "docker" / "healthcheck.py").read_text(encoding="utf-8")
    assert '"/health"' in script and "IMIS_PUBLIC_HOSTS" in script
    environment = service_environment(services()["web"], OPERATOR_ENV)
    probe_host = environment["IMIS_PUBLIC_HOSTS"].split(",")[0]
    assert validate_host(probe_host, environment["DJANGO_ALLOWED_HOSTS"].split(",")), (
        "the health check's Host must pass ALLOWED_HOSTS, or Django answers 400")
    port = next(p for p in services()["web"]["ports"]).rsplit(":", 1)[1]
    assert port == "8000" and "'PORT', '8000'" in (ROOT / "docker/gunicorn.conf.py").read_text(encoding="utf-8")


def test_app_services_share_one_image_built_from_the_dockerfile():
    images = {services()[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name in APP_SERVICES:
        build = services()[name]["build"]
        assert build["context"] == "." and (ROOT / build["dockerfile"]).is_file()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_role_is_one_the_entrypoint_knows(name):
    command = services()[name]["command"]
    roles = set(re.findall(r"^\s{2}([a-z]+)\)", ENTRYPOINT.read_text(encoding="utf-8"), flags=re.M))
    assert command == [name] and name in roles


def test_migrate_runs_once_before_web_worker_and_beat():
    migrate = services()["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        depends = services()[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    entrypoint = ENTRYPOINT.read_text(encoding="utf-8")
    assert re.search(r"migrate_schemas --noinput --executor \"\$\{IMIS_MIGRATION_EXECUTOR:-multiprocessing\}\"",
                     entrypoint), "migrations across tenants use the parallel executor"


def test_exactly_one_beat():
    assert services()["beat"].get("deploy", {}).get("replicas") == 1


def test_volumes_for_database_and_media_are_declared_and_mounted():
    declared = set(compose()["volumes"])
    assert {"pgdata", "media", "redisdata"} <= declared
    assert "pgdata:/var/lib/postgresql/data" in services()["db"]["volumes"]
    for name in APP_SERVICES:
        environment = service_environment(services()[name], OPERATOR_ENV)
        mounts = dict(volume.split(":", 1) for volume in services()[name]["volumes"])
        assert mounts.get("media") == environment["IMIS_MEDIA_ROOT"], f"{name}: media volume is not IMIS_MEDIA_ROOT"
    used = {volume.split(":", 1)[0] for service in services().values() for volume in service.get("volumes", [])}
    assert used <= declared


@pytest.mark.parametrize("name", APP_SERVICES)
def test_environment_names_are_ones_the_app_reads(name):
    environment = service_environment(services()[name])
    unknown = set(environment) - variables_read_by_app()
    assert not unknown, f"{name} sets variables nothing reads (typo?): {sorted(unknown)}"
    assert REQUIRED <= set(environment), f"{name} lacks {sorted(REQUIRED - set(environment))}"


def test_database_and_redis_urls_point_at_the_compose_services():
    db = services()["db"]
    environment = service_environment(services()["web"], OPERATOR_ENV)
    database = urlsplit(environment["DATABASE_URL"])
    assert database.scheme == "postgis"
    assert (database.hostname, database.port) == ("db", 5432)
    assert database.path.lstrip("/") == db["environment"]["POSTGRES_DB"]
    assert database.username == db["environment"]["POSTGRES_USER"]
    assert interpolation_names(service_environment(services()["web"])["DATABASE_URL"]) == interpolation_names(
        db["environment"]["POSTGRES_PASSWORD"]), "the app and the database must read the same password variable"
    redis = urlsplit(environment["REDIS_URL"])
    assert (redis.scheme, redis.hostname, redis.port or 6379) == ("redis", "redis", 6379)


def test_worker_consumes_the_queue_the_app_sends_to():
    entrypoint = ENTRYPOINT.read_text(encoding="utf-8")
    assert '--queues "${IMIS_CELERY_QUEUE:-imis}"' in entrypoint
    queues = {service_environment(services()[name], OPERATOR_ENV)["IMIS_CELERY_QUEUE"] for name in APP_SERVICES}
    assert len(queues) == 1


def test_secrets_must_be_given_not_defaulted():
    raw = service_environment(services()["web"])
    assert re.search(r"\$\{DJANGO_SECRET_KEY:\?", raw["DJANGO_SECRET_KEY"])
    assert re.search(r"\$\{POSTGRES_PASSWORD:\?", raw["DATABASE_URL"])
    with pytest.raises(KeyError):
        interpolate(raw["DJANGO_SECRET_KEY"], {})


def test_production_settings_load_with_the_compose_environment():
    environment = service_environment(services()["web"], OPERATOR_ENV)
    loaded = load_settings(environment)
    assert loaded["DEBUG"] is False
    assert loaded["DATABASE"]["HOST"] == "db" and loaded["DATABASE"]["NAME"] == "imis"
    assert loaded["DATABASE"]["ENGINE"] == "django_tenants.postgresql_backend"
    assert loaded["CONN_HEALTH_CHECKS"] is True
    assert loaded["CACHE_LOCATION"] == loaded["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert loaded["CELERY_TASK_DEFAULT_QUEUE"] == "imis" and loaded["CELERY_TASK_ACKS_LATE"] is True
    assert loaded["MEDIA_ROOT"] == "/app/var/media"
    assert loaded["STORAGE_DEFAULT"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert loaded["LOG_FORMATTER"] == "imis.platform.logging.JsonFormatter"
    assert loaded["SENTRY_ACTIVE"] is False, "Sentry stays off without SENTRY_DSN"
    assert "localhost" in loaded["IMIS_PUBLIC_HOSTS"]


def test_healthchecks_do_not_rely_on_tools_missing_from_the_images():
    # the app image has python but neither curl nor wget; postgis has pg_isready; redis has redis-cli
    for name in APP_SERVICES:
        test = services()[name].get("healthcheck", {}).get("test", [])
        assert not {"curl", "wget"} & set(" ".join(test).split())
