"""Reads on water supply: the connection list with its due status, headline counts, one connection's page, and
the list of buildings along the water lines that have no active connection (the maps "near a network" query)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from imis.tenant_apps.maps import analyses
from imis.tenant_apps.maps.analyses import AnalysisResult

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


def _by_building(connections: QuerySet, rows: list[dict]) -> dict[int, WaterConnection]:
    """Which of these buildings `connections` serve: by the building, or by the holding when no building is named."""
    ids = [row["id"] for row in rows]
    holdings = {row["holding_id"] for row in rows if row["holding_id"]}
    found = (connections.filter(Q(building_id__in=ids) | Q(building__isnull=True, holding__holding_id__in=holdings))
             .select_related("holding").order_by("-applied_on", "-id"))
    by_building: dict = {}
    by_holding: dict = {}
    for connection in found:
        if connection.building_id:
            by_building.setdefault(connection.building_id, connection)
        else:
            by_holding.setdefault(connection.holding.holding_id, connection)
    return {row["id"]: by_building.get(row["id"]) or by_holding.get(row["holding_id"]) for row in rows
            if row["id"] in by_building or row["holding_id"] in by_holding}


def unconnected_buildings(*, distance_m, ward: int | None = None, water_line_id: int | None = None
                          ) -> AnalysisResult:
    """Buildings within `distance_m` of a water line (one line, or any) with no active water connection, by ward
    then distance; each row says whether an application is in progress (`application_id`, `application_number`,
    the customer ID it was given). The per-ward summary counts every ward, whatever `ward` is shown."""
    rows = analyses.buildings_near_network(table="registry_waterline", distance_m=distance_m, line_id=water_line_id)
    active = _by_building(WaterConnection.objects.filter(status=S.ACTIVE), rows)
    rows = [row for row in rows if row["id"] not in active]
    open_ones = _by_building(WaterConnection.objects.filter(status__in=OPEN_STATUSES), rows)
    for row in rows:
        application = open_ones.get(row["id"])
        row["application_id"] = application.pk if application else None
        row["application_number"] = application.customer_id if application else ""
    rows.sort(key=lambda row: (row["ward"] is None, row["ward"] or 0, row["distance_m"], row["bin"]))
    by_ward: dict = {}
    for row in rows:
        entry = by_ward.setdefault(row["ward"], {"ward": row["ward"], "buildings": 0, "population": 0,
                                                 "with_application": 0})
        entry["buildings"] += 1
        entry["population"] += row["population"]
        entry["with_application"] += 1 if row["application_id"] else 0
    if ward:
        rows = [row for row in rows if row["ward"] == ward]
    return AnalysisResult("water_unconnected", ["ward", "bin", "holding_id", "functional_use", "households",
                          "population", "line_code", "distance_m", "application_number", "lat", "lng"], rows,
                          {"buildings": len(rows), "population": sum(row["population"] for row in rows),
                           "with_application": sum(1 for row in rows if row["application_id"]),
                           "by_ward": list(by_ward.values())})
