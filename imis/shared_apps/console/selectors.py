"""What the console reads: every municipality's headline figures, and each one's onboarding checklist.

Tenant data is read inside the municipality's own schema (tenant_context), one municipality at a time, and never
with a query that spans two schemas. The figures are cached per municipality under its data version (bumped by
every audited write and import); the cache key carries the schema (django_tenants.cache.make_key), and each
cached entry also names its schema, which is checked on the way out, so a figure is never shown under another
municipality.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import tenant_context

from imis.platform.versioning import data_version_current
from imis.shared_apps.accounts.models import Membership
from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.tenants.features import CATALOGUE
from imis.shared_apps.tenants.models import Municipality

log = logging.getLogger(__name__)
OVERVIEW_SECONDS = 600
TENANT_URLS = "imis.platform.urls_tenant"
# The KPI snapshot on the list: one registry-wide indicator and one per main service.
KPI_SNAPSHOT = (("SF-1a", None), ("FSM-1", "fsm"), ("TAX-1", "holding_tax"))


def _enabled_features(municipality: Municipality) -> frozenset[str]:
    """From the prefetched rows when there are some (no query per municipality)."""
    cached = getattr(municipality, "_enabled_features", None)
    if cached is None:
        cached = frozenset(f.feature_id for f in municipality.features.all() if f.is_enabled)
        municipality._enabled_features = cached  # what tenants.features.enabled_features_of reads too
    return cached


# --- inside one municipality's schema -------------------------------------------------------------------------

def _quality_score() -> dict:
    """The data-quality report's score (dataio); refreshed here when stale and the registry is small, as the
    data-quality page does; a large registry keeps its last score until its own refresh job runs."""
    from imis.tenant_apps.dataio.quality import (
        DEFAULT_SURVEY_YEARS,
        quality_latest,
        quality_needs_refresh,
        quality_refresh,
        registry_is_small,
    )

    report = quality_latest()
    years = report.years if report else DEFAULT_SURVEY_YEARS
    if quality_needs_refresh(report, years=years) and registry_is_small():
        report = quality_refresh(years=years)
    if report is None:
        return {"score": None, "is_current": False, "as_of": None}
    return {"score": report.score, "is_current": report.is_current, "as_of": report.run.created}


def _kpi_snapshot(municipality: Municipality, enabled: frozenset[str]) -> list[dict]:
    """A few headline indicators of the current fiscal year, through the KPI app's own cached computation."""
    from imis.tenant_apps.kpi.indicators import REGISTRY, Period, total_of
    from imis.tenant_apps.kpi.services import indicator_rows, kpi_context

    items = [REGISTRY[code] for code, feature in KPI_SNAPSHOT
             if code in REGISTRY and (feature is None or feature in enabled) and REGISTRY[code].is_available()]
    if not items:
        return []
    period = Period.parse(None)
    ctx = kpi_context(period, municipality=municipality)
    rows = indicator_rows(items, period, ctx=ctx)
    snapshot = []
    for item in items:
        value = item.value_of(*total_of(item, ctx, rows[item.code]))
        if value is not None:
            places = Decimal(1) if item.unit == "count" else Decimal("0.1")
            value = value.quantize(places, rounding=ROUND_HALF_UP)
        snapshot.append({"code": item.code, "unit": item.unit, "value": value, "period": period.label})
    return snapshot


def _figures(municipality: Municipality, enabled: frozenset[str]) -> dict:
    from imis.tenant_apps.registry.selectors import registry_headline_counts

    counts = registry_headline_counts()
    if "fsm" in enabled:
        from imis.tenant_apps.fsm.models import Application
        from imis.tenant_apps.fsm.services import OPEN_STATUSES

        counts["open_applications"] = Application.objects.filter(status__in=OPEN_STATUSES).count()
    else:
        counts["open_applications"] = None
    return {"schema": connection.schema_name, "counts": counts, "quality": _quality_score(),
            "kpis": _kpi_snapshot(municipality, enabled)}


def municipality_overview(municipality: Municipality) -> dict:
    """Headline counts, open applications, data-quality score, KPI snapshot and last activity of one
    municipality, read inside its schema; the figures come from the cache while its data version holds.

    A municipality whose schema cannot be read (a failed restore, a dropped schema) is shown as unavailable
    instead of taking the whole list down."""
    from imis.tenant_apps.audit.models import AuditEntry

    enabled = _enabled_features(municipality)
    try:
        with tenant_context(municipality), transaction.atomic():  # a failed read must not abort the request's
            key = f"console:overview:{data_version_current()}:{','.join(sorted(enabled))}"
            figures = cache.get(key)
            if not figures or figures.get("schema") != municipality.schema_name:
                figures = _figures(municipality, enabled)
                cache.set(key, figures, OVERVIEW_SECONDS)
            # Not every audit entry changes data (support sessions record their page views): read it each time.
            last = AuditEntry.objects.aggregate(last=Max("created"))["last"]
    except DatabaseError:
        log.exception("console: the schema of %s cannot be read", municipality.schema_name)
        connection.set_schema_to_public()
        return {"schema": municipality.schema_name, "is_unavailable": True,
                "counts": dict.fromkeys(("wards", "buildings", "holdings", "containments", "roads",
                                         "open_applications")),
                "quality": {"score": None, "is_current": False, "as_of": None}, "kpis": [], "last_activity": None}
    return {**figures, "is_unavailable": False, "last_activity": last}


# --- the list -------------------------------------------------------------------------------------------------

def _never(value):
    """Rows without the value sort after the others, whatever the direction."""
    return value is None


SORTS: dict[str, tuple[str, Callable[[dict], object]]] = {
    # key: (default direction, value)
    "name": ("asc", lambda row: row["municipality"].name.lower()),
    "status": ("asc", lambda row: row["municipality"].status),
    "created": ("desc", lambda row: row["municipality"].created),
    "buildings": ("desc", lambda row: row["counts"]["buildings"]),
    "holdings": ("desc", lambda row: row["counts"]["holdings"]),
    "containments": ("desc", lambda row: row["counts"]["containments"]),
    "open_applications": ("desc", lambda row: row["counts"]["open_applications"]),
    "quality": ("desc", lambda row: row["quality"]["score"]),
    "activity": ("desc", lambda row: row["last_activity"]),
}


def sort_parse(sort: str | None, direction: str | None) -> tuple[str, str]:
    sort = sort if sort in SORTS else "name"
    direction = direction if direction in ("asc", "desc") else SORTS[sort][0]
    return sort, direction


def municipalities_for_console(*, query: str = "", sort: str = "name", direction: str | None = None) -> list[dict]:
    """Every municipality with its status, features, domains and figures; `query` matches the name (English or
    Bangla), slug or a domain."""
    sort, direction = sort_parse(sort, direction)
    municipalities = Municipality.objects.exclude(schema_name="public").prefetch_related(
        "domains", "features").order_by("name")
    query = (query or "").strip()
    if query:
        municipalities = municipalities.filter(
            Q(name__icontains=query) | Q(slug__icontains=query) | Q(name_bn__icontains=query)
            | Q(domains__domain__icontains=query)).distinct()
    rows = []
    for municipality in municipalities:
        domains = sorted(municipality.domains.all(), key=lambda d: (not d.is_primary, d.domain))
        rows.append({
            "municipality": municipality,
            "domain": domains[0].domain if domains else "",
            "domains": [d.domain for d in domains],
            "features": [(code, CATALOGUE[code].name if code in CATALOGUE else code)
                         for code in sorted(_enabled_features(municipality))],
            **municipality_overview(municipality),
        })
    connection.set_schema_to_public()
    value = SORTS[sort][1]
    present = [row for row in rows if not _never(value(row))]
    missing = [row for row in rows if _never(value(row))]
    present.sort(key=value, reverse=direction == "desc")
    return present + missing


# --- the onboarding checklist ---------------------------------------------------------------------------------

def _tenant_path(name: str, query: str = "", **kwargs) -> str:
    return reverse(name, urlconf=TENANT_URLS, kwargs=kwargs or None) + (f"?{query}" if query else "")


def onboarding_checklist(municipality: Municipality, *, tenant_link: Callable[[str], str] = lambda path: path,
                         invite_link: str = "") -> list[dict]:
    """What the municipality still lacks before its staff can work, from its real data: the GIS layers, the
    administrator and staff, and what each enabled service needs (rates, providers, plants ...).

    Each item: key, group, label, done, count, link (on the municipality's site, through `tenant_link`)."""
    from imis.tenant_apps.registry import models as registry

    enabled = _enabled_features(municipality)
    memberships = Membership.objects.filter(municipality=municipality, is_active=True)
    admins = memberships.filter(role=Role.MUNICIPAL_ADMIN).count()
    staff = memberships.exclude(role=Role.MUNICIPAL_ADMIN).values("user").distinct().count()

    def layer(key, label, model, layer_name):
        count = model.objects.count()
        return {"key": key, "group": "map", "label": label, "done": count > 0, "count": count,
                "link": tenant_link(_tenant_path("dataio:import", f"layer={layer_name}"))}

    def setup(key, label, count, path):
        return {"key": key, "group": "services", "label": label, "done": count > 0, "count": count,
                "link": tenant_link(path)}

    with tenant_context(municipality):
        items = [
            {"key": "created", "group": "map", "label": _("Municipality created"), "done": True, "count": None,
             "link": ""},
            layer("wards", _("Ward boundaries"), registry.Ward, "wards"),
            layer("roads", _("Roads"), registry.Road, "roads"),
            layer("buildings", _("Buildings"), registry.Building, "buildings"),
            layer("holdings", _("Holdings"), registry.Holding, "holdings"),
            layer("containments", _("Containments (septic tanks and pits)"), registry.Containment, "containments"),
        ]
        if "sewer" in enabled:
            items.append(layer("sewers", _("Sewer network"), registry.Sewer, "sewers"))
        if "water_supply" in enabled:
            items.append(layer("water_lines", _("Water supply network"), registry.WaterLine, "water_lines"))
        items += [
            {"key": "admin", "group": "people", "label": _("Municipal administrator invited"), "done": admins > 0,
             "count": admins, "link": invite_link},
            {"key": "users", "group": "people", "label": _("Staff accounts"), "done": staff > 0, "count": staff,
             "link": tenant_link(_tenant_path("settings"))},
        ]
        if "fsm" in enabled:
            from imis.tenant_apps.fsm import models as fsm

            items += [
                setup("plants", _("Treatment plants"), registry.TreatmentPlant.objects.count(),
                      _tenant_path("dataio:import", "layer=treatment_plants")),
                setup("providers", _("Desludging service providers"), fsm.ServiceProvider.objects.count(),
                      _tenant_path("fsm:config_list", kind="providers")),
                setup("vehicles", _("Desludging vehicles"), fsm.Vehicle.objects.count(),
                      _tenant_path("fsm:config_list", kind="vehicles")),
                setup("prices", _("Emptying prices"), fsm.PriceSlab.objects.count(),
                      _tenant_path("fsm:config_list", kind="price-slabs")),
            ]
        if "holding_tax" in enabled:
            from imis.tenant_apps.tax import models as tax

            items.append(setup("rates", _("Holding tax rates"), tax.RateSchedule.objects.count(),
                               _tenant_path("tax:rates")))
        if "trade_licence" in enabled:
            from imis.tenant_apps.licences import models as licences

            items.append(setup("licence_fees", _("Trade licence categories and fees"),
                               licences.BusinessCategory.objects.count(), _tenant_path("licences:categories")))
    return items


def checklist_groups(items: list[dict]) -> list[dict]:
    labels = {"map": _("Map data"), "people": _("People"), "services": _("Services")}
    return [{"key": key, "label": label, "items": [item for item in items if item["group"] == key]}
            for key, label in labels.items() if any(item["group"] == key for item in items)]


def checklist_progress(items: list[dict]) -> dict:
    done = sum(1 for item in items if item["done"])
    return {"done": done, "total": len(items), "percent": round(100 * done / len(items)) if items else 100}

