"""GraphQL speed at real scale: Khulna's demo city (SEED_SCALE, default 1: 156,052 buildings) with its holding tax
history, in a throwaway municipality dropped at the end.

Each figure is the latency of one representative query POSTed to /graphql/ through Django (test client, a logged-in
viewer: session, membership, feature checks, the query's SQL and the JSON), p50 and p95 over a run of requests
after a warm-up. The baseline is read in the same run: the same rows by one bare SQL statement (containments,
buildings in a rectangle), or the staff UI's selector for the due list (tax dues).

- 100 containments with their buildings, each building's holding and ward, and the last emptying;
- the first 100 buildings touching a 1 km x 1 km rectangle at the city centre, with footprint, ward and holding;
- a page of 50 holdings of the tax due list with their owners.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.shared_apps.accounts.models import Membership, User
from imis.shared_apps.tenants.demo import demo_figures
from imis.shared_apps.tenants.models import Municipality
from imis.shared_apps.tenants.services import municipality_create

pytestmark = pytest.mark.bench
SCALE = float(os.environ.get("SEED_SCALE", "1"))
SLUG = "bench_graphql"
DOMAIN = "bench-graphql.localhost"  # Django's host check takes no underscore
KHULNA = next(city for city in demo_figures() if city["slug"] == "khulna")
RUNS = 40
WARM_UP = 3
SEED_STEPS = ("registry.city", "tax.history")

CONTAINMENTS = """{ containments(first: 100) { edges { node {
    code lastEmptiedOn nextEmptyingDue timesEmptied ward { number }
    buildings { bin holding { holdingId ward { number } } } } } } }"""
CONTAINMENTS_SQL = """
    SELECT c.code, c.last_emptied_on, c.next_emptying_due, c.times_emptied, w.number,
           (SELECT json_agg(json_build_object('bin', b.bin, 'holding', h.holding_id, 'ward', hw.number)
                            ORDER BY b.id)
            FROM registry_containment_buildings cb JOIN registry_building b ON b.id = cb.building_id
            LEFT JOIN registry_holding h ON h.id = b.holding_id LEFT JOIN registry_ward hw ON hw.id = h.ward_id
            WHERE cb.containment_id = c.id)
    FROM registry_containment c LEFT JOIN registry_ward w ON w.id = c.ward_id
    ORDER BY c.code, c.id LIMIT 101"""
BUILDINGS = """query($b: BoundingBox) { buildings(bbox: $b, first: 100) { totalCount edges { node {
    bin functionalUse floors footprint ward { number } holding { holdingId } } } } }"""
BUILDINGS_SQL = """
    WITH box AS (SELECT ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326) AS g)
    SELECT (SELECT count(*) FROM registry_building b, box WHERE ST_Intersects(b.footprint, box.g)),
           b.bin, b.functional_use, b.floors, ST_AsGeoJSON(b.footprint), w.number, h.holding_id
    FROM registry_building b CROSS JOIN box LEFT JOIN registry_ward w ON w.id = b.ward_id
         LEFT JOIN registry_holding h ON h.id = b.holding_id
    WHERE ST_Intersects(b.footprint, box.g)
    ORDER BY b.bin, b.id LIMIT 101"""
DUES = """{ taxDues(first: 50) { totalCount edges { node {
    holdingId wardNumber balance yearsDue overdue holding { address owners { name } } } } } }"""


def bench_municipality() -> Municipality:
    connection.set_schema_to_public()
    for leftover in Municipality.objects.filter(slug=SLUG):  # a previous run that died half-way
        leftover.delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')
    return municipality_create(slug=SLUG, name="Bench GraphQL", features=["fsm", "holding_tax"], domain=DOMAIN,
                               centroid=tuple(KHULNA["centroid"]))


def bench_municipality_drop(municipality: Municipality) -> None:
    connection.set_schema_to_public()
    municipality.delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')


def seed(municipality: Municipality) -> None:
    from django.utils.module_loading import autodiscover_modules

    from imis.platform.demo import TENANT_STEPS

    autodiscover_modules("demo")
    connection.set_tenant(municipality)
    for step in sorted(TENANT_STEPS, key=lambda step: step.order):
        if step.name in SEED_STEPS:
            step.fn(municipality=municipality, figures=KHULNA, scale=SCALE, seed=42, log=lambda _line: None)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def runs(fn) -> list[float]:
    for _warm in range(WARM_UP):
        fn()
    samples = []
    for _run in range(RUNS):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def centre_box(municipality) -> dict:
    """A 1 km x 1 km rectangle around the middle of the city's buildings."""
    with tenant_context(municipality), connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(footprint)::geometry) AS c "
                       "FROM registry_building) AS centre")
        x, y = cursor.fetchone()
    half_lat = 500 / 111_320
    half_lon = half_lat / max(0.2, math.cos(math.radians(y)))
    return {"west": x - half_lon, "south": y - half_lat, "east": x + half_lon, "north": y + half_lat}


def test_graphql_latency_at_scale(bench_db, report):
    municipality = bench_municipality()
    user = User.objects.create_user("bench-graphql@bench.test", "imis-demo", full_name="Bench GraphQL")
    Membership.objects.create(user=user, municipality=municipality, role="viewer")
    label = f"khulna scale {SCALE:g}"
    figures = {}
    try:
        started = time.perf_counter()
        seed(municipality)
        print(f"\nseeded {SLUG} at scale {SCALE:g} in {time.perf_counter() - started:.0f} s")
        connection.set_schema_to_public()
        client = Client(HTTP_HOST=DOMAIN)
        client.force_login(user)
        box = centre_box(municipality)

        def graphql(document: str, variables: dict | None = None):
            def call():
                response = client.post("/graphql/", data=json.dumps({"query": document, "variables": variables}),
                                       content_type="application/json")
                body = response.json()
                assert response.status_code == 200 and "errors" not in body, body.get("errors")
                connection.set_schema_to_public()
                return body["data"]
            return call

        def sql(statement: str, params: dict | None = None):
            def call():
                with tenant_context(municipality), connection.cursor() as cursor:
                    cursor.execute(statement, params)
                    return cursor.fetchall()
            return call

        def dues_selector():
            from imis.tenant_apps.registry.models import Holding
            from imis.tenant_apps.tax import selectors

            with tenant_context(municipality):
                rows = selectors.due_matching(selectors.DueFilter(order="holding"), today=timezone.localdate())
                page = rows[:50]
                holdings = list(Holding.objects.filter(pk__in=[row[0] for row in page]).prefetch_related("owners"))
                return len(rows), [(h.address, [o.name for o in h.owners.all()]) for h in holdings]

        # the answers agree with their baselines before anything is timed
        first = graphql(CONTAINMENTS)()["containments"]["edges"]
        assert [edge["node"]["code"] for edge in first] == [row[0] for row in sql(CONTAINMENTS_SQL)()][:100]
        assert sum(len(edge["node"]["buildings"]) for edge in first) > 0
        boxed = graphql(BUILDINGS, {"b": box})()["buildings"]
        bare = sql(BUILDINGS_SQL, {"w": box["west"], "s": box["south"], "e": box["east"], "n": box["north"]})()
        assert boxed["totalCount"] == bare[0][0] > 0
        assert [edge["node"]["bin"] for edge in boxed["edges"]] == [row[1] for row in bare][:100]
        dues = graphql(DUES)()["taxDues"]
        total, _page = dues_selector()
        assert dues["totalCount"] == total > 0 and len(dues["edges"]) == 50

        cases = {
            "100 containments + buildings, holding, ward, last emptying": (
                graphql(CONTAINMENTS), "one bare SQL statement (json_agg)", sql(CONTAINMENTS_SQL)),
            f"100 of {boxed['totalCount']:,} buildings in 1 km² (footprint, ward, holding)": (
                graphql(BUILDINGS, {"b": box}), "one bare SQL statement (ST_AsGeoJSON)",
                sql(BUILDINGS_SQL, {"w": box["west"], "s": box["south"], "e": box["east"], "n": box["north"]})),
            f"tax due list, 50 of {total:,} holdings with owners": (
                graphql(DUES), "the staff UI's selector (due_matching + owners)", dues_selector),
        }
        for name, (call, baseline_name, baseline) in cases.items():
            api, base = percentiles(runs(call)), percentiles(runs(baseline))
            figures[name] = (api, baseline_name, base)
    finally:
        connection.set_schema_to_public()
        Membership.objects.filter(user=user).delete()
        user.delete()
        bench_municipality_drop(municipality)

    for name, ((p50, p95), baseline_name, (base50, base95)) in figures.items():
        report.add(f"{label}: GraphQL {name}, p50", p50, "ms", baseline_name=f"{baseline_name}, p50",
                   baseline_figure=base50)
        report.add(f"{label}: GraphQL {name}, p95", p95, "ms", baseline_name=f"{baseline_name}, p95",
                   baseline_figure=base95)
    for row in report.rows[-2 * len(figures):]:
        ratio = f" ({row.ratio:.2f}x the baseline's speed)" if row.ratio else ""
        print(f"{row.name}: {row.figure:,.1f} {row.unit}{ratio}")
