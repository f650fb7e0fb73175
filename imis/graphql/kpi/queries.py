"""KPI queries (read only): the dashboard of a period for the municipality or a ward, computed by the same
service as the KPI pages (kpi/services.py) and cached under the municipality's data versions."""

from __future__ import annotations

import graphene
from django.utils import timezone

from imis.tenant_apps.kpi import services
from imis.tenant_apps.kpi.indicators import Period, fiscal_year_of
from imis.tenant_apps.registry.models import Ward

from ..base import BadUserInput
from . import types as t


class KpiQuery(graphene.ObjectType):
    kpi_dashboard = graphene.Field(
        t.KpiDashboard,
        year=graphene.Int(description="Fiscal year (2026 = 2026-27); the current one when left out."),
        quarter=graphene.Int(description="1 (Jul–Sep) to 4 (Apr–Jun); the whole year when left out."),
        ward=graphene.Int(description="Ward number; the whole municipality when left out."),
        description="Indicator values for a period, for the municipality or one ward.",
    )

    @staticmethod
    def resolve_kpi_dashboard(root, info, year=None, quarter=None, ward=None):
        current = fiscal_year_of(timezone.localdate())
        year = current if year is None else year
        if not 2000 <= year <= current + 1:
            raise BadUserInput(f"`year` must be a fiscal year from 2000 to {current + 1}.")
        if quarter is not None and quarter not in (1, 2, 3, 4):
            raise BadUserInput("`quarter` must be 1, 2, 3 or 4.")
        if ward is not None and not Ward.objects.filter(number=ward).exists():
            raise BadUserInput(f"There is no ward {ward} here.")
        return services.dashboard_compute(period=Period(year, quarter), ward=ward)
