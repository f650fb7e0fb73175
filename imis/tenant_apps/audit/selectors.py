from django.db.models import QuerySet

from .models import AuditEntry


def audit_trail_of(instance) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(model=instance._meta.label_lower, object_id=str(instance.pk))
