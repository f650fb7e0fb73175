from __future__ import annotations

import json
import uuid

from django.core.serializers.json import DjangoJSONEncoder

from imis.platform.versioning import data_version_bump_on_commit

from .models import AuditEntry


def _jsonable(values: dict | None) -> dict | None:
    if values is None:
        return None
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder, default=str))


def audit_record(
    *, actor, action: str, instance, before: dict | None = None, after: dict | None = None,
    batch: uuid.UUID | None = None,
) -> AuditEntry:
    """Record one change to `instance` by `actor` (a user or None for the system); bumps the data version (and
    that of the instance's app, its source: see imis.platform.versioning)."""
    data_version_bump_on_commit(source=instance._meta.app_label)
    return AuditEntry.objects.create(
        actor_id=getattr(actor, "pk", None),
        actor_label=getattr(actor, "email", "") or "system",
        action=action,
        model=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_label=str(instance)[:200],
        before=_jsonable(before),
        after=_jsonable(after),
        batch=batch,
    )


def audit_record_many(*, actor, action: str, rows: list[tuple[str, str, str, dict | None, dict | None]]) -> uuid.UUID:
    """Bulk paths: one entry per changed row, (model, object_id, label, before, after), in one INSERT."""
    batch, rows = uuid.uuid4(), list(rows)
    for source in sorted({model.split(".", 1)[0] for model, *_rest in rows}) or [None]:
        data_version_bump_on_commit(source=source)
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor_id=getattr(actor, "pk", None), actor_label=getattr(actor, "email", "") or "system",
                action=action, model=model, object_id=str(object_id), object_label=label[:200],
                before=_jsonable(before), after=_jsonable(after), batch=batch,
            )
            for model, object_id, label, before, after in rows
        ],
        batch_size=2000,
    )
    return batch
