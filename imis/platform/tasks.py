"""Platform tasks. Periodic ones iterate the municipalities explicitly, one schema at a time."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.models import Municipality
from imis.tenant_apps.registry.selectors import registry_headline_counts

HEADLINE_CACHE_KEY = "headline-counts"


@shared_task
def current_schema_report() -> dict:
    """Where does this task run? Enqueued in a tenant's request, it runs in that tenant's schema."""
    return {"schema": connection.schema_name, "counts": registry_headline_counts()
            if connection.schema_name != "public" else {}}


@shared_task
def record_tenant_heartbeats() -> dict[str, dict]:
    """Cache each active municipality's headline counts under its own (schema-prefixed) key."""
    report = {}
    for municipality in Municipality.objects.filter(status=Municipality.Status.ACTIVE):
        with tenant_context(municipality):
            counts = registry_headline_counts()
            cache.set(HEADLINE_CACHE_KEY, counts, timeout=3600)
            report[municipality.slug] = counts
    return report
