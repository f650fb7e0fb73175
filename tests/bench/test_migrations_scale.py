"""Migrations at scale: 100 municipalities in a database of the bench's own, then `migrate_schemas` with django-tenants'
parallel (multiprocessing) executor — a no-op run, and a run that applies one new migration to every schema — next to
the standard (one schema after another) executor for the same work.

The "one migration" is a tenant app that exists only for this bench (written to a temporary directory and added to
TENANT_APPS by a settings module next to it); two identical copies let each executor apply the same migration once.
Everything is dropped afterwards (the whole database).
"""

from __future__ import annotations

import json
import os
import time

import pytest

from .test_load import (
    ROOT,
    bench_database_url,
    connect,
    drop_database,
    ensure_database,
    manage,
    python,
    stack_env,
)

pytestmark = pytest.mark.bench

MUNICIPALITIES = int(os.environ.get("IMIS_BENCH_MUNICIPALITIES", "100"))
PROCESSES = os.environ.get("IMIS_BENCH_MIGRATION_PROCESSES", str(os.cpu_count() or 2))

SAMPLE = 3  # real municipality_create calls timed at the start and at the end
BASELINE = os.environ.get("IMIS_BENCH_MIGRATION_BASELINE") == "1"  # also time the standard executor (+2 minutes)

# The first and last SAMPLE municipalities are made by municipality_create exactly as in production (pg_dump of the
# template each time); the ones between reuse one dump of the template (the same SQL, renamed), to keep the bench short.
CREATE = """
import json, time
from django.db import connection
from imis.shared_apps.tenants import services, template_schema

def create(i):
    services.municipality_create(slug=f"bench{{i:03d}}", name=f"Bench {{i}}", features=["fsm", "holding_tax"])

timings = {{}}
started = time.perf_counter()
for i in range({sample}):
    create(i)
timings["first"] = (time.perf_counter() - started) / {sample}
sql = template_schema.schema_dump_sql(template_schema.template_schema_name())
real = services.schema_create_from_template

def from_one_dump(*, schema_name):
    renamed = template_schema.schema_sql_renamed(sql, source=template_schema.template_schema_name(), target=schema_name)
    with connection.cursor() as cursor:
        cursor.execute(renamed)
    connection.search_path_set_schemas = None

services.schema_create_from_template = from_one_dump
started = time.perf_counter()
for i in range({sample}, {n} - {sample}):
    create(i)
timings["bulk"] = (time.perf_counter() - started) / max(1, {n} - 2 * {sample})
services.schema_create_from_template = real
started = time.perf_counter()
for i in range({n} - {sample}, {n}):
    create(i)
timings["last"] = (time.perf_counter() - started) / {sample}
print(json.dumps(timings))
"""

MIGRATION = '''
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Note",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("text", models.CharField(max_length=200, db_index=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
'''
MODELS = '''
from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=200, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
'''
SETTINGS = '''
from imis.platform.settings.prod import *  # noqa: F401,F403
from imis.platform.settings.prod import INSTALLED_APPS, TENANT_APPS

BENCH_APPS = [app for app in ({apps}) if app]
TENANT_APPS = TENANT_APPS + BENCH_APPS
INSTALLED_APPS = INSTALLED_APPS + BENCH_APPS
'''


def write_bench_app(directory, name: str) -> None:
    package = directory / name
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    (package / "migrations" / "0001_initial.py").write_text(MIGRATION)


def timed_migrate(env: dict[str, str], executor: str) -> float:
    started = time.perf_counter()
    manage(env, "migrate_schemas", "--noinput", "-v", "0", "--executor", executor, timeout=900)
    return time.perf_counter() - started


@pytest.fixture(scope="module")
def many_municipalities(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("migrations")
    write_bench_app(workdir, "imis_bench_parallel")
    write_bench_app(workdir, "imis_bench_standard")
    for name, apps in (("settings_base", ""), ("settings_parallel", "'imis_bench_parallel',"),
                       ("settings_both", "'imis_bench_parallel', 'imis_bench_standard'")):
        (workdir / f"imis_bench_{name}.py").write_text(SETTINGS.format(apps=apps))
    database_url = bench_database_url("migrations")
    drop_database(database_url)
    env = stack_env(database_url, os.environ.get("IMIS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
                    PYTHONPATH=f"{workdir}:{ROOT}", IMIS_MIGRATION_PROCESSES=PROCESSES)
    try:
        ensure_database(env)
        timed_migrate({**env, "DJANGO_SETTINGS_MODULE": "imis_bench_settings_base"}, "standard")
        created = json.loads(python({**env, "DJANGO_SETTINGS_MODULE": "imis_bench_settings_base"}, CREATE.format(
            n=MUNICIPALITIES, sample=SAMPLE), timeout=900).strip().splitlines()[-1])
        with connect(database_url) as conn:
            count = conn.execute("SELECT count(*) FROM tenants_municipality").fetchone()[0]
        assert count == MUNICIPALITIES
        yield env, {"create": created}
    finally:
        if os.environ.get("IMIS_BENCH_KEEP_DB") != "1":
            drop_database(database_url)


def test_migrate_schemas_across_many_municipalities(many_municipalities, report):
    env, setup = many_municipalities
    base = {**env, "DJANGO_SETTINGS_MODULE": "imis_bench_settings_base"}
    noop_parallel = timed_migrate(base, "multiprocessing")
    noop_standard = timed_migrate(base, "standard") if BASELINE else None
    one_parallel = timed_migrate({**env, "DJANGO_SETTINGS_MODULE": "imis_bench_settings_parallel"}, "multiprocessing")
    one_standard = (timed_migrate({**env, "DJANGO_SETTINGS_MODULE": "imis_bench_settings_both"}, "standard")
                    if BASELINE else None)

    with connect(env["DATABASE_URL"]) as conn:
        tables = conn.execute(
            "SELECT count(*) FILTER (WHERE table_name = 'imis_bench_parallel_note'), "
            "count(*) FILTER (WHERE table_name = 'imis_bench_standard_note') "
            "FROM information_schema.tables WHERE table_schema LIKE 'bench%' OR table_schema = 'imis_template'"
        ).fetchone()
    schemas = MUNICIPALITIES + 1  # and the template
    created = setup["create"]
    print(f"\nmunicipality_create: {created['first'] * 1000:.0f} ms each for the first {SAMPLE}, "
          f"{created['last'] * 1000:.0f} ms each with {MUNICIPALITIES - SAMPLE} already there "
          f"(between: {created['bulk'] * 1000:.0f} ms each from one template dump)")
    print(f"migrate_schemas over {MUNICIPALITIES} municipalities + template on {os.cpu_count()} cores, "
          f"parallel executor with {PROCESSES} processes:")
    print(f"  no-op:         parallel {noop_parallel:6.1f} s" + (f"   standard {noop_standard:6.1f} s" if BASELINE else ""))
    print(f"  one migration: parallel {one_parallel:6.1f} s" + (f"   standard {one_standard:6.1f} s" if BASELINE else ""))
    report.add(f"municipality_create with {MUNICIPALITIES - SAMPLE} others", created["last"] * 1000, "ms",
               baseline_name="with none", baseline_figure=created["first"] * 1000)
    report.add(f"migrate_schemas no-op, {MUNICIPALITIES} tenants (parallel)", noop_parallel, "s",
               baseline_name="standard executor" if BASELINE else "", baseline_figure=noop_standard)
    report.add(f"migrate_schemas 1 migration, {MUNICIPALITIES} tenants (parallel)", one_parallel, "s",
               baseline_name="standard executor" if BASELINE else "", baseline_figure=one_standard)
    assert tables[0] == schemas, "the migration reached every municipality and the template"
    assert tables[1] == (schemas if BASELINE else 0)
