"""Reads on the registry: lists with their joins done, search, headline counts."""

from __future__ import annotations

import re

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from imis.tenant_apps.audit.selectors import audit_trail_of

from .models import Building, Containment, Holding, Owner, Road, Ward


def wards_listed() -> QuerySet[Ward]:
    return Ward.objects.order_by("number")


def registry_headline_counts() -> dict[str, int]:
    """Headline figures for the home page and the console."""
    return {
        "wards": Ward.objects.count(),
        "buildings": Building.objects.count(),
        "holdings": Holding.objects.count(),
        "containments": Containment.objects.count(),
        "roads": Road.objects.count(),
    }


_PHONE_CHARS = re.compile(r"[\s\-()]")


def _search_filter(query: str, *, holding_path: str) -> Q:
    """Holding ID, BIN, owner name or phone; `holding_path` leads from the listed model to Holding."""
    query = query.strip()
    prefix = f"{holding_path}__" if holding_path else ""
    condition = Q(**{f"{prefix}holding_id__istartswith": query}) | Q(
        **{f"{prefix}owners__name__icontains": query}
    )
    digits = _PHONE_CHARS.sub("", query)
    if digits.lstrip("+").isdigit() and len(digits.lstrip("+")) >= 5:
        tail = digits.lstrip("+").lstrip("0")
        condition |= Q(**{f"{prefix}owners__phone__contains": tail})
    return condition


def buildings_listed(
    *, query: str = "", ward: int | None = None, functional_use: str = "", sanitation_system: str = "",
    verification_status: str = "", has_holding: bool | None = None, has_containment: bool | None = None,
    road_link_status: str = "",
) -> QuerySet[Building]:
    buildings = Building.objects.select_related("holding", "ward", "nearest_road").defer("footprint")
    if query:
        q = query.strip().upper()
        match = Q(bin__istartswith=q) | _search_filter(query, holding_path="holding")
        buildings = buildings.filter(pk__in=Building.objects.filter(match).values("pk"))
    if ward:
        buildings = buildings.filter(ward__number=ward)
    if functional_use:
        buildings = buildings.filter(functional_use=functional_use)
    if sanitation_system:
        buildings = buildings.filter(sanitation_system=sanitation_system)
    if verification_status:
        buildings = buildings.filter(verification_status=verification_status)
    if road_link_status:
        buildings = buildings.filter(road_link_status=road_link_status)
    if has_holding is not None:
        buildings = buildings.filter(holding__isnull=not has_holding)
    if has_containment is not None:
        served = Containment.buildings.through.objects.values("building_id")
        buildings = buildings.filter(pk__in=served) if has_containment else buildings.exclude(pk__in=served)
    return buildings.order_by("bin")


def _counted(rows: QuerySet, key: str):
    """How many `rows` point at the outer row, as a correlated subquery: a page of a list ordered by an indexed
    column reads only its rows (a COUNT with GROUP BY would aggregate the whole table before the LIMIT)."""
    counted = rows.filter(**{key: OuterRef("pk")}).order_by().values(key).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def holdings_listed(*, query: str = "", ward: int | None = None) -> QuerySet[Holding]:
    holdings = Holding.objects.select_related("ward", "road").prefetch_related(
        Prefetch("owners", queryset=Owner.objects.order_by("id"))
    ).annotate(building_count=_counted(Building.objects.all(), "holding_id"))
    if query:
        holdings = holdings.filter(pk__in=Holding.objects.filter(_search_filter(query, holding_path="")).values("pk"))
    if ward:
        holdings = holdings.filter(ward__number=ward)
    return holdings.order_by("holding_id")


def containments_listed(
    *, query: str = "", ward: int | None = None, type: str = "", outlet: str = "", emptying_due_before=None,
) -> QuerySet[Containment]:
    containments = Containment.objects.select_related("ward").annotate(
        building_count=_counted(Containment.buildings.through.objects.all(), "containment_id")
    )
    if query:
        q = query.strip().upper()
        match = Q(code__istartswith=q) | Q(buildings__bin__istartswith=q) | _search_filter(
            query, holding_path="buildings__holding"
        )
        containments = containments.filter(pk__in=Containment.objects.filter(match).values("pk"))
    if ward:
        containments = containments.filter(ward__number=ward)
    if type:
        containments = containments.filter(type=type)
    if outlet:
        containments = containments.filter(outlet=outlet)
    if emptying_due_before:
        containments = containments.filter(next_emptying_due__lte=emptying_due_before)
    return containments.order_by("code")


def building_detail(pk: int) -> Building:
    return (
        Building.objects.select_related("holding", "holding__ward", "ward", "nearest_road")
        .prefetch_related("containments", "holding__owners")
        .get(pk=pk)
    )


def holding_detail(pk: int) -> Holding:
    return (
        Holding.objects.select_related("ward", "road")
        .prefetch_related("owners", Prefetch("buildings", queryset=Building.objects.defer("footprint")))
        .get(pk=pk)
    )


def containment_detail(pk: int) -> Containment:
    return Containment.objects.select_related("ward").prefetch_related("buildings__holding").get(pk=pk)


def registry_search(query: str, *, limit: int = 10) -> dict[str, list]:
    """The top-bar search: holdings, buildings and containments matching holding ID, BIN, owner or phone."""
    return {
        "holdings": list(holdings_listed(query=query)[:limit]),
        "buildings": list(buildings_listed(query=query)[:limit]),
        "containments": list(containments_listed(query=query)[:limit]),
    }


__all__ = [
    "audit_trail_of", "building_detail", "buildings_listed", "containment_detail", "containments_listed",
    "holding_detail", "holdings_listed", "registry_headline_counts", "registry_search", "wards_listed",
]
