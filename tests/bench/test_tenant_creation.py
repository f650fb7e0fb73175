"""Creating a tenant schema three ways: migrations, django-tenants' clone_schema, our template restore."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

from imis.shared_apps.tenants.template_schema import (
    schema_create_from_template,
    template_schema_migrate,
    template_schema_name,
)

pytestmark = pytest.mark.bench
RUNS = 3


def by_migrations(schema: str) -> None:
    """What Municipality.create_schema does: an empty schema, then every tenant migration."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def by_clone(schema: str) -> None:
    CloneSchema().clone_schema(template_schema_name(), schema, "DATA")


def by_template(schema: str) -> None:
    with transaction.atomic():
        schema_create_from_template(schema_name=schema)
    connection.set_schema_to_public()


METHODS: dict[str, Callable[[str], None]] = {
    "migrations": by_migrations,
    "django-tenants clone_schema": by_clone,
    "template restore": by_template,
}


def schema_drop(schema: str) -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def schema_shape(schema: str) -> tuple[int, int]:
    """(tables, indexes) in the schema."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema])
        (tables,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = %s", [schema])
        (indexes,) = cursor.fetchone()
    return tables, indexes


def test_tenant_schema_creation(bench_db, report):
    template_schema_migrate()
    timings: dict[str, list[float]] = {label: [] for label in METHODS}
    shapes: dict[str, tuple[int, int]] = {}
    # round-robin, so that whatever else the machine does weighs on every method alike
    for run in range(RUNS):
        for number, (label, create) in enumerate(METHODS.items()):
            name = f"bench_tenant_{number}_{run}"
            schema_drop(name)
            try:
                started = time.perf_counter()
                create(name)
                timings[label].append(time.perf_counter() - started)
                shapes[label] = schema_shape(name)
            finally:
                schema_drop(name)
            assert not schema_exists(name)

    baseline = statistics.median(timings["migrations"]) * 1000
    for label, values in timings.items():
        tables, indexes = shapes[label]
        report.add(f"tenant schema: {label} ({tables} tables, {indexes} indexes)", statistics.median(values) * 1000,
                   "ms", baseline_name="migrations", baseline_figure=baseline)
    assert len({tables for tables, _indexes in shapes.values()}) == 1, shapes
