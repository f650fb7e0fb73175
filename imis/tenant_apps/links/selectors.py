"""Reads on outside data: the links with their last run, a link's runs, and health against sanitation by ward."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Prefetch, QuerySet

from imis.tenant_apps.maps.analyses import UNSAFE_BUILDING_PARAMS, UNSAFE_BUILDING_SQL

from .adapters import ADAPTERS
from .models import DiseaseCase, Link, LinkRun, PushAttempt, UtilityAccount

RUNS_SHOWN = 20


def links_overview() -> list[dict]:
    """Every kind of link (configured or not) with its adapter and last run."""
    links = {link.kind: link for link in Link.objects.all()}
    last_runs = {}
    for run in LinkRun.objects.select_related("link").order_by("link_id", "-started", "-id").distinct("link_id"):
        last_runs[run.link.kind] = run
    return [{"kind": kind, "adapter": adapter, "link": links.get(kind) or Link(kind=kind),
             "last_run": last_runs.get(kind)} for kind, adapter in ADAPTERS.items()]


def link_runs(link: Link, *, limit: int = RUNS_SHOWN) -> QuerySet[LinkRun]:
    if link.pk is None:
        return LinkRun.objects.none()
    return link.runs.prefetch_related(Prefetch("attempts", queryset=PushAttempt.objects.order_by("number")))[:limit]


def run_detail(pk: int) -> LinkRun:
    return (LinkRun.objects.select_related("link")
            .prefetch_related(Prefetch("attempts", queryset=PushAttempt.objects.order_by("number"))).get(pk=pk))


def utility_accounts_listed(*, query: str = "", matched: str = "") -> QuerySet[UtilityAccount]:
    """The utility's customers as of the last sync, with their IMIS connection and building."""
    accounts = UtilityAccount.objects.select_related("water_connection", "building", "building__holding")
    if query:
        accounts = accounts.filter(customer_id__istartswith=query.strip()) | accounts.filter(
            customer_name__icontains=query.strip())
    if matched == "yes":
        accounts = accounts.exclude(water_connection__isnull=True, building__isnull=True)
    elif matched == "no":
        accounts = accounts.filter(water_connection__isnull=True, building__isnull=True)
    return accounts.order_by("customer_id")


def diseases_listed() -> list[str]:
    return list(DiseaseCase.objects.order_by("disease").values_list("disease", flat=True).distinct())


def _per_thousand(cases: int, population: int) -> Decimal | None:
    if not population:
        return None
    return (Decimal(cases) * 1000 / Decimal(population)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def cases_vs_sanitation(*, since: datetime.date | None = None, until: datetime.date | None = None,
                        disease: str = "") -> dict:
    """Per ward: cases, deaths, hotspots, cases per 1,000 people (when the registry has population), buildings,
    buildings with unsafe sanitation (the maps' analyses rule) and their share, water samples and those failing.
    One query; a last row for cases placed in no ward."""
    params = {"since": since, "until": until, "disease": disease or None, **UNSAFE_BUILDING_PARAMS}
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH b AS (
                SELECT b.ward_id, count(*) AS buildings, count(*) FILTER (WHERE {UNSAFE_BUILDING_SQL}) AS unsafe,
                       sum(b.population_male + b.population_female + b.population_other) AS population
                FROM registry_building b GROUP BY b.ward_id
            ), c AS (
                SELECT ward_id, sum(cases) FILTER (WHERE kind = 'cases') AS cases,
                       sum(deaths) FILTER (WHERE kind = 'cases') AS deaths,
                       count(*) FILTER (WHERE kind = 'hotspot') AS hotspots
                FROM links_diseasecase
                WHERE (%(since)s::date IS NULL OR reported_on >= %(since)s::date)
                  AND (%(until)s::date IS NULL OR reported_on <= %(until)s::date)
                  AND (%(disease)s::text IS NULL OR lower(disease) = lower(%(disease)s::text))
                GROUP BY ward_id
            ), s AS (
                SELECT ward_id, count(*) AS samples, count(*) FILTER (WHERE NOT is_pass) AS failed
                FROM links_watersample
                WHERE (%(since)s::date IS NULL OR sampled_on >= %(since)s::date)
                  AND (%(until)s::date IS NULL OR sampled_on <= %(until)s::date)
                GROUP BY ward_id
            )
            SELECT w.number, w.name, COALESCE(c.cases, 0), COALESCE(c.deaths, 0), COALESCE(c.hotspots, 0),
                   COALESCE(b.population, 0), COALESCE(b.buildings, 0), COALESCE(b.unsafe, 0),
                   COALESCE(s.samples, 0), COALESCE(s.failed, 0)
            FROM registry_ward w LEFT JOIN b ON b.ward_id = w.id LEFT JOIN c ON c.ward_id = w.id
                 LEFT JOIN s ON s.ward_id = w.id
            UNION ALL
            SELECT NULL, '', COALESCE(c.cases, 0), COALESCE(c.deaths, 0), COALESCE(c.hotspots, 0), 0, 0, 0, 0, 0
            FROM c WHERE c.ward_id IS NULL
            ORDER BY 1 NULLS LAST
        """, params)
        raw = cursor.fetchall()
    rows = []
    for number, name, cases, deaths, hotspots, population, buildings, unsafe, samples, failed in raw:
        rows.append({"ward": number, "name": name, "cases": int(cases), "deaths": int(deaths),
                     "hotspots": int(hotspots), "population": int(population),
                     "cases_per_1000": _per_thousand(int(cases), int(population)), "buildings": int(buildings),
                     "unsafe_buildings": int(unsafe),
                     "unsafe_share": (Decimal(unsafe) * 100 / Decimal(buildings)).quantize(Decimal("0.1"))
                     if buildings else None,
                     "samples": int(samples), "samples_failed": int(failed)})
    totals = {key: sum(row[key] for row in rows) for key in ("cases", "deaths", "hotspots", "population",
                                                            "buildings", "unsafe_buildings", "samples",
                                                            "samples_failed")}
    totals["cases_per_1000"] = _per_thousand(totals["cases"], totals["population"])
    totals["unsafe_share"] = ((Decimal(totals["unsafe_buildings"]) * 100 / Decimal(totals["buildings"]))
                              .quantize(Decimal("0.1")) if totals["buildings"] else None)
    return {"rows": rows, "totals": totals}
