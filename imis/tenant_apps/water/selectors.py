"""Reads on water supply: the connection list with its due status, headline counts, one connection's page."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import WaterBill, WaterConnection

S = WaterConnection.Status
OPEN_STATUSES = (S.APPLIED, S.INSPECTED, S.APPROVED)
ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=12, decimal_places=2))


def _unpaid(today):
    return WaterBill.objects.filter(connection=OuterRef("pk"), status=WaterBill.Status.ISSUED)


def with_due(connections: QuerySet, *, today: datetime.date | None = None) -> QuerySet:
    """Each connection with `bills_due` (unpaid bills, ৳) and `is_overdue` (one of them past its due date)."""
    today = today or timezone.localdate()
    due = (_unpaid(today).order_by().values("connection").annotate(total=Sum("amount")).values("total"))
    return connections.annotate(
        bills_due=Coalesce(Subquery(due, output_field=DecimalField(max_digits=12, decimal_places=2)), ZERO),
        is_overdue=Exists(_unpaid(today).filter(due_date__lt=today)))


def due_status(connection) -> str:
    """"overdue", "due" or "clear" — `connection` comes from `with_due`."""
    if connection.is_overdue:
        return "overdue"
    if connection.bills_due > 0 or (connection.status == S.APPROVED and not connection.fee_paid_on
                                    and connection.connection_fee):
        return "due"
    return "clear"


def connections_listed(*, query: str = "", status: str = "", ward: int | None = None, metered: str = "",
                       due: str = "") -> QuerySet[WaterConnection]:
    connections = with_due(WaterConnection.objects.select_related("holding", "holding__ward"))
    if query:
        q = query.strip()
        connections = connections.filter(Q(customer_id__istartswith=q) | Q(meter_number__istartswith=q)
                                         | Q(applicant_name__icontains=q) | Q(holding__holding_id__istartswith=q))
    if status == "open":
        connections = connections.filter(status__in=OPEN_STATUSES)
    elif status:
        connections = connections.filter(status=status)
    if ward:
        connections = connections.filter(holding__ward__number=ward)
    if metered in ("yes", "no"):
        connections = connections.filter(is_metered=metered == "yes")
    if due == "overdue":
        connections = connections.filter(is_overdue=True)
    elif due == "due":
        connections = connections.filter(bills_due__gt=0)
    return connections.order_by("-applied_on", "-id")


def connection_counts(*, today: datetime.date | None = None) -> dict:
    today = today or timezone.localdate()
    counts = WaterConnection.objects.aggregate(
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        to_inspect=Count("id", filter=Q(status=S.APPLIED)),
        to_approve=Count("id", filter=Q(status=S.INSPECTED)),
        fee_due=Count("id", filter=Q(status=S.APPROVED)),
        active=Count("id", filter=Q(status=S.ACTIVE)),
        disconnected=Count("id", filter=Q(status=S.DISCONNECTED)),
        illegal=Count("id", filter=Q(status=S.ILLEGAL)))
    unpaid = WaterBill.objects.filter(status=WaterBill.Status.ISSUED).aggregate(
        total=Coalesce(Sum("amount"), ZERO), overdue=Coalesce(Sum("amount", filter=Q(due_date__lt=today)), ZERO))
    return {**counts, "unpaid": unpaid["total"], "overdue": unpaid["overdue"]}


def connection_detail(pk: int) -> WaterConnection:
    return (with_due(WaterConnection.objects.filter(pk=pk)).select_related("holding", "holding__ward", "building")
            .prefetch_related("events", "readings", "bills", "payments").get())
