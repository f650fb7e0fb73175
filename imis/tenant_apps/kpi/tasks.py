"""KPI background work: recomputing a dashboard's indicators after a change, while the page shows the last
values (services.dashboard_compute with stale_ok)."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def kpi_refresh_task(year: int, quarter: int | None = None) -> None:
    """Runs in the schema of the municipality that queued it (tenant-schemas-celery)."""
    from .indicators import Period
    from .services import dashboard_refresh

    dashboard_refresh(period=Period(year, quarter))
