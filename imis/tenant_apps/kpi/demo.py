"""Demo KPI targets: what a municipality might aim for this fiscal year (idempotent)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from imis.platform.demo import demo_step

from .indicators import fiscal_year_of
from .models import KpiTarget

# code: (target, direction, amber band)
DEMO_TARGETS = {
    "FSM-1": (85, "higher", 10), "FSM-2": (48, "lower", 24), "FSM-3": (80, "higher", 10),
    "FSM-4": (95, "higher", 10), "FSM-5": (90, "higher", 10), "FSM-5b": (95, "higher", 5),
    "FSM-6": (20, "higher", 5), "FSM-7": (30, "higher", 10), "FSM-8": (80, "higher", 10),
    "FSM-9": (0, "lower", 5), "SF-1a": (60, "higher", 10), "SF-2a": (45, "higher", 10),
    "EQ-1": (Decimal("0.9"), "higher", Decimal("0.1")), "SF-3": (20, "higher", 5), "SF-5": (80, "higher", 10),
    "SF-6a": (90, "higher", 10), "SF-6b": (100, "higher", 5), "TAX-1": (70, "higher", 10),
    "TAX-2": (30, "lower", 10), "DQ-1": (90, "higher", 5),
}


@demo_step("kpi.targets", order=90)
def demo_targets(*, municipality, figures, scale, seed, log):
    year = fiscal_year_of(timezone.localdate())
    created = 0
    for code, (target, direction, band) in DEMO_TARGETS.items():
        _row, was_created = KpiTarget.objects.get_or_create(
            code=code, year=year, defaults={"target": Decimal(target), "direction": direction,
                                            "amber_band": Decimal(band)})
        created += was_created
    log(f"  {municipality.slug}: {created} KPI targets for {year}-{(year + 1) % 100:02d}")
