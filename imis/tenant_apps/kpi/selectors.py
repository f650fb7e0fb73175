"""Read-only lookups for the KPI pages."""

from __future__ import annotations

from django.db.models import Min
from django.utils import timezone

from imis.tenant_apps.registry.models import Ward

from .indicators import fiscal_year_of
from .models import KpiTarget


def wards_for_filter() -> list[dict]:
    wards = list(Ward.objects.order_by("number").values("number", "name", "name_bn"))
    for ward in wards:  # the name only when it says more than "Ward 7"
        ward["extra"] = ward["name"] if ward["name"] and ward["name"] != f"Ward {ward['number']}" else ""
    return wards


def fiscal_years_available() -> list[int]:
    """From the first FSM application (or this year) to the current fiscal year, newest first."""
    from imis.tenant_apps.fsm.models import Application

    current = fiscal_year_of(timezone.localdate())
    first = Application.objects.aggregate(first=Min("received_at"))["first"]
    earliest = fiscal_year_of(timezone.localtime(first).date()) if first else current
    return list(range(current, min(earliest, current - 2) - 1, -1))


def targets_of_year(year: int) -> dict[str, KpiTarget]:
    return {target.code: target for target in KpiTarget.objects.filter(year=year)}


def ward_geojson(values: dict) -> dict:
    """Ward polygons (simplified, EPSG:4326) with the KPI value of each: a choropleth layer."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""SELECT number, name, name_bn,
                                 ST_AsGeoJSON(ST_SimplifyPreserveTopology(boundary, 0.00005), 6)
                          FROM registry_ward WHERE boundary IS NOT NULL ORDER BY number""")
        rows = cursor.fetchall()
    import json

    from django.utils import translation
    from django.utils.translation import gettext as _

    is_bangla = (translation.get_language() or "en").startswith("bn")

    def label(number, name, name_bn) -> str:
        if is_bangla:
            return name_bn or f"ওয়ার্ড {number}"
        return name or _("Ward %(number)s") % {"number": number}

    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(geometry),
         "properties": {"ward": number, "name": label(number, name, name_bn),
                        "value": None if values.get(number) is None else float(values[number])}}
        for number, name, name_bn, geometry in rows]}
