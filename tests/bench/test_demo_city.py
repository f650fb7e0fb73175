"""Seeding the synthetic demo cities at real scale (SEED_SCALE, default 1), against a bare COPY of the buildings.

BENCH_ALL=1 also seeds all four cities and reports the total.
"""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection
from django.utils import timezone

from imis.shared_apps.tenants.demo import demo_figures
from imis.shared_apps.tenants.models import Municipality
from imis.shared_apps.tenants.services import municipality_create
from imis.tenant_apps.registry.demo import LAYER_MODELS, demo_city, layer_rows
from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.registry.synthetic import Layer, city_generate

pytestmark = pytest.mark.bench
SCALE = float(os.environ.get("SEED_SCALE", "1"))
SEED = 42
FIGURES = {city["slug"]: city for city in demo_figures()}


def bench_municipality(slug: str) -> Municipality:
    connection.set_schema_to_public()
    for leftover in Municipality.objects.filter(slug=slug):  # a previous run that died half-way
        leftover.delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{slug}" CASCADE')
    return municipality_create(slug=slug, name=f"Bench {slug}", features=["fsm"], domain=f"{slug}.localhost")


def seed_seconds(municipality: Municipality, figures: dict) -> float:
    connection.set_tenant(municipality)
    started = time.perf_counter()
    demo_city(municipality=municipality, figures=figures, scale=SCALE, seed=SEED, log=lambda _line: None)
    return time.perf_counter() - started


def registry_rows() -> int:
    return sum(model.objects.count() for model in LAYER_MODELS.values())


def bare_copy_seconds(buildings: Layer) -> float:
    """The floor: the same building rows COPYed into an unindexed, unconstrained temporary table."""
    table = Building._meta.db_table
    first_ids = dict.fromkeys(LAYER_MODELS, 1)
    columns, rows = layer_rows(buildings, Building, first_ids, timezone.now())
    rows = list(rows)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TEMP TABLE bench_buildings (LIKE "{connection.schema_name}"."{table}")')
        try:
            started = time.perf_counter()
            names = ", ".join(f'"{column}"' for column in columns)
            with cursor.copy(f"COPY bench_buildings ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return time.perf_counter() - started
        finally:
            cursor.execute("DROP TABLE bench_buildings")


def test_seed_khulna(bench_db, report):
    figures = FIGURES["khulna"]
    municipality = bench_municipality("bench_khulna")
    try:
        total = seed_seconds(municipality, figures)
        buildings = Building.objects.count()
        rows = registry_rows()
        started = time.perf_counter()
        city = city_generate(figures, scale=SCALE, seed=SEED)
        generate = time.perf_counter() - started
        baseline = bare_copy_seconds(city.layers["building"])
    finally:
        connection.set_schema_to_public()
        municipality.delete()
    assert buildings == round(figures["buildings"] * SCALE)
    label = f"khulna demo city, scale {SCALE:g}"
    report.add(f"{label}: generate + load + commit", total, "s", baseline_name="bare COPY of the buildings",
               baseline_figure=baseline)
    report.add(f"{label}: of which generate (pure Python)", generate, "s")
    report.add(f"{label}: of which load, analyze, commit", total - generate, "s")
    report.add(f"{label}: buildings per second", buildings / total, "rows/s",
               baseline_name="bare COPY of the buildings", baseline_figure=buildings / baseline, higher_is_better=True)
    report.add(f"{label}: rows per second, all {rows:,} registry rows", rows / total, "rows/s")


@pytest.mark.skipif(os.environ.get("BENCH_ALL") != "1", reason="BENCH_ALL=1 seeds all four cities")
def test_seed_all_four(bench_db, report):
    seconds: dict[str, float] = {}
    for slug, figures in FIGURES.items():
        municipality = bench_municipality(f"bench_{slug}")
        try:
            seconds[slug] = seed_seconds(municipality, figures)
        finally:
            connection.set_schema_to_public()
            municipality.delete()
    for slug, value in seconds.items():
        report.add(f"{slug} demo city, scale {SCALE:g}", value, "s")
    report.add(f"all four demo cities, scale {SCALE:g}", sum(seconds.values()), "s")
