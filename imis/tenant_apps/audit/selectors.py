from __future__ import annotations

import datetime

from django.db.models import QuerySet

from .models import AuditEntry


def audit_trail_of(instance) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(model=instance._meta.label_lower, object_id=str(instance.pk))


def audit_entries(
    *, model: str = "", action: str = "", actor: str = "", object_id: str = "",
    since: datetime.date | None = None, until: datetime.date | None = None,
) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if model:
        entries = entries.filter(model=model)
    if action:
        entries = entries.filter(action=action)
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if since:
        entries = entries.filter(created__date__gte=since)
    if until:
        entries = entries.filter(created__date__lte=until)
    return entries.order_by("-created", "-id")


def audit_models() -> list[str]:
    return list(AuditEntry.objects.order_by("model").values_list("model", flat=True).distinct())
