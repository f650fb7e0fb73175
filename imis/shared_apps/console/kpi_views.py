"""The support team's cross-municipality KPI view (public host, platform staff only).

Each active municipality's indicators are computed inside its own schema (tenant_context), one municipality at a
time, and only for the features it has enabled: no query ever spans two schemas, and each municipality's numbers
come from its own cache entries (the cache key carries the schema).
"""

from __future__ import annotations

from django.db import connection
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.models import Municipality
from imis.tenant_apps.kpi.indicators import GROUPS, REGISTRY, Period
from imis.tenant_apps.kpi.services import dashboard_compute
from imis.tenant_apps.kpi.views import format_value

from .views import platform_staff_required


def municipalities_kpis(*, period: Period) -> list[dict]:
    rows = []
    for municipality in Municipality.objects.exclude(schema_name="public").order_by("name"):
        if not municipality.is_active:
            continue
        with tenant_context(municipality):
            board = dashboard_compute(period=period, municipality=municipality, with_series=False)
            values = {v.code: {"text": format_value(v.value, v.indicator.unit), "status": v.status,
                               "has_data": v.has_data} for v in board.values}
        rows.append({"municipality": municipality, "values": values})
    connection.set_schema_to_public()
    return rows


@require_GET
@platform_staff_required
def kpi_overview(request):
    period = Period.parse(request.GET.get("year"), request.GET.get("quarter"))
    rows = municipalities_kpis(period=period)
    shown = {code for row in rows for code in row["values"]}
    columns = [item for item in REGISTRY.values() if item.code in shown]
    groups = [(label, [item for item in columns if item.group == code]) for code, label in GROUPS.items()]
    ordered = [item for _label, items in groups for item in items]
    for row in rows:
        row["cells"] = [row["values"].get(item.code) for item in ordered]
    return render(request, "console/kpi.html", {
        "period": period, "rows": rows, "groups": [(label, items) for label, items in groups if items],
        "columns": columns, "years": list(range(period.year + 1, period.year - 4, -1)),
    })
