"""Reads for FSM: inboxes per role, overdue lists, the emptied-not-disposed list, site lookup."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from imis.tenant_apps.registry.models import Building, Containment, Holding

from .models import Application, ApplicationEvent

S = Application.Status


def applications_listed() -> QuerySet[Application]:
    return Application.objects.select_related("holding", "building", "containment", "ward", "provider", "vehicle")


def application_detail(pk: int) -> Application:
    return (applications_listed().select_related("emptying", "emptying__vehicle", "feedback")
            .prefetch_related("crew", "disposals__treatment_plant").get(pk=pk))


def application_timeline(application: Application) -> QuerySet[ApplicationEvent]:
    return application.events.order_by("at", "id")


def _hours_ago(hours: int, now=None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(hours=int(hours))


def applications_overdue(*, config: dict, now=None) -> QuerySet[Application]:
    """Past their SLA at the stage they are in."""
    return applications_listed().filter(
        Q(status=S.RECEIVED, received_at__lt=_hours_ago(config["approval_sla_hours"], now))
        | Q(status__in=(S.APPROVED, S.SCHEDULED), approved_at__lt=_hours_ago(config["emptying_sla_hours"], now))
        | Q(status=S.EMPTIED, emptied_at__lt=_hours_ago(config["disposal_sla_hours"], now))
        | Q(status=S.DISPOSED, disposed_at__lt=_hours_ago(config["feedback_sla_hours"], now))
    ).order_by("received_at")


def applications_emptied_not_disposed(*, config: dict, now=None) -> QuerySet[Application]:
    """Possible illegal dumping: emptied, and no plant has logged the sludge after N hours."""
    return applications_listed().filter(status=S.EMPTIED, emptied_at__lt=_hours_ago(config["disposal_sla_hours"], now)
                                        ).order_by("emptied_at")


def inbox(*, name: str, config: dict, user=None, day: datetime.date | None = None) -> QuerySet[Application]:
    if name == "new":
        return applications_listed().filter(status=S.RECEIVED).order_by("-is_emergency", "received_at")
    if name == "to_approve":
        return applications_listed().filter(status=S.RECEIVED).order_by("-is_emergency", "received_at")
    if name == "to_schedule":
        return applications_listed().filter(status=S.APPROVED).order_by("-is_emergency", "approved_at")
    if name == "awaiting_feedback":
        return applications_listed().filter(status=S.DISPOSED).order_by("disposed_at")
    if name == "overdue":
        return applications_overdue(config=config)
    if name == "not_disposed":
        return applications_emptied_not_disposed(config=config)
    if name == "work_orders":
        orders = applications_listed().filter(status=S.SCHEDULED, scheduled_date=day or timezone.localdate())
        if user is not None:
            orders = orders.filter(provider__user_ids__contains=[user.pk])
        return orders.order_by("scheduled_slot", "vehicle__registration", "number")
    if name == "expected_at_plant":
        return applications_listed().filter(status=S.EMPTIED).order_by("emptied_at")
    return applications_listed().order_by("-received_at")


def site_lookup(query: str) -> dict:
    """Find what to empty by holding ID, BIN or containment code (exact first, then prefix)."""
    query = (query or "").strip().upper()
    if not query:
        return {"holdings": [], "buildings": [], "containments": []}
    return {
        "holdings": list(Holding.objects.filter(holding_id__istartswith=query).select_related("ward")
                         .order_by("holding_id")[:10]),
        "buildings": list(Building.objects.filter(bin__istartswith=query).select_related("holding", "ward")
                          .defer("footprint").order_by("bin")[:10]),
        "containments": list(Containment.objects.filter(code__istartswith=query).select_related("ward")
                             .order_by("code")[:10]),
    }
