from __future__ import annotations

from django.db.models import Max, Q
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.models import Municipality


def municipality_overview(municipality: Municipality) -> dict:
    """Headline counts and last activity, read inside the municipality's schema."""
    from imis.tenant_apps.audit.models import AuditEntry
    from imis.tenant_apps.registry.selectors import registry_headline_counts

    with tenant_context(municipality):
        counts = registry_headline_counts()
        last = AuditEntry.objects.aggregate(last=Max("created"))["last"]
    return {"counts": counts, "last_activity": last}


SORTS = {"name": "name", "status": "status", "created": "-created", "slug": "slug"}


def municipalities_for_console(*, query: str = "", sort: str = "name") -> list[dict]:
    municipalities = Municipality.objects.prefetch_related("domains", "features").order_by(SORTS.get(sort, "name"))
    if query:
        municipalities = municipalities.filter(Q(name__icontains=query) | Q(slug__icontains=query)
                                               | Q(name_bn__icontains=query))
    rows = []
    for municipality in municipalities:
        rows.append({
            "municipality": municipality,
            "domain": next((d.domain for d in municipality.domains.all() if d.is_primary), ""),
            "features": [f.feature_id for f in municipality.features.all() if f.is_enabled],
            **municipality_overview(municipality),
        })
    if sort == "buildings":
        rows.sort(key=lambda row: -row["counts"]["buildings"])
    return rows
