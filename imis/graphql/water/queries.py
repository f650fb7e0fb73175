"""Water supply queries: connections filtered like the staff UI's list (water/selectors.py) plus a map rectangle,
one connection by its customer ID, meter readings, bills (the dues) and tariffs."""

from __future__ import annotations

import datetime

import graphene
from django.utils import timezone

from imis.tenant_apps.water import selectors
from imis.tenant_apps.water.models import MeterReading, WaterBill, WaterTariff

from ..base import BadUserInput
from ..geometry import BoundingBox, within_bbox
from ..optimizer import optimized
from ..relay import PagedConnectionField
from . import loaders  # noqa: F401 - registers how water fields load
from . import types as t

MAX_TEXT = 100

ConnectionListStatus = graphene.Enum("WaterConnectionListStatus", [
    *[(choice.name, choice.value) for choice in t.WaterConnection.Status], ("OPEN", "open"),
], description="A status, or OPEN (applied, inspected or approved).")
DueFilter = graphene.Enum("WaterDueFilter", [("DUE", "due"), ("OVERDUE", "overdue")],
                          description="DUE: unpaid bills; OVERDUE: a bill past its due date.")


def _text(value: str | None, name: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise BadUserInput(f"`{name}` is longer than {MAX_TEXT} characters.")
    return value


def _value(enum_value) -> str:
    return getattr(enum_value, "value", enum_value) or ""


def _month(value: datetime.date | None) -> datetime.date | None:
    return value.replace(day=1) if value else None


class WaterQuery(graphene.ObjectType):
    water_connections = PagedConnectionField(
        t.WaterConnectionType, description="Water connections, newest application first.",
        search=graphene.String(description="Customer ID or meter number (prefix), applicant name, holding ID."),
        status=graphene.Argument(ConnectionListStatus), ward=graphene.Int(description="Ward number of the holding."),
        holding_id=graphene.String(description="Only this holding's connections (its holding ID)."),
        is_metered=graphene.Boolean(), due=graphene.Argument(DueFilter),
        bbox=BoundingBox(description="Only connections whose building touches this longitude/latitude rectangle."))
    water_connection = graphene.Field(t.WaterConnectionType, customer_id=graphene.String(required=True),
                                      description="A connection by its customer ID.")
    water_meter_readings = PagedConnectionField(
        t.MeterReadingType, description="Meter readings, newest first.",
        customer_id=graphene.String(description="Only this connection's readings."),
        read_from=graphene.Date(), read_until=graphene.Date())
    water_bills = PagedConnectionField(
        t.WaterBillType, description="Water bills, oldest month first within a connection, newest month first.",
        status=graphene.Argument(t.BillStatus), is_overdue=graphene.Boolean(description="Unpaid past its due date."),
        period=graphene.Date(description="The billed month (any day of it)."),
        customer_id=graphene.String(), holding_id=graphene.String(), ward=graphene.Int())
    water_tariffs = PagedConnectionField(t.WaterTariffType, description="Tariffs, latest fiscal year first.")

    @staticmethod
    def resolve_water_connections(root, info, search=None, status=None, ward=None, holding_id=None, is_metered=None,
                                  due=None, bbox=None, **_paging):
        metered = "" if is_metered is None else ("yes" if is_metered else "no")
        connections = selectors.connections_listed(query=_text(search, "search"), status=_value(status), ward=ward,
                                                   metered=metered, due=_value(due))
        holding = _text(holding_id, "holdingId")
        if holding:
            connections = connections.filter(holding__holding_id__iexact=holding)
        connections = within_bbox(connections, "building__footprint", bbox)
        return optimized(connections.order_by("-applied_on", "-id"), info)

    @staticmethod
    def resolve_water_connection(root, info, customer_id):
        found = selectors.connections_listed().filter(customer_id__iexact=_text(customer_id, "customerId"))
        return optimized(found, info).first()

    @staticmethod
    def resolve_water_meter_readings(root, info, customer_id=None, read_from=None, read_until=None, **_paging):
        readings = MeterReading.objects.all()
        text = _text(customer_id, "customerId")
        if text:
            readings = readings.filter(connection__customer_id__iexact=text)
        if read_from:
            readings = readings.filter(read_on__gte=read_from)
        if read_until:
            readings = readings.filter(read_on__lte=read_until)
        return optimized(readings.order_by("-read_on", "-id"), info)

    @staticmethod
    def resolve_water_bills(root, info, status=None, is_overdue=None, period=None, customer_id=None, holding_id=None,
                            ward=None, **_paging):
        bills = WaterBill.objects.all()
        if status:
            bills = bills.filter(status=_value(status))
        if is_overdue is not None:
            overdue = {"status": WaterBill.Status.ISSUED, "due_date__lt": timezone.localdate()}
            bills = bills.filter(**overdue) if is_overdue else bills.exclude(**overdue)
        if period:
            bills = bills.filter(period=_month(period))
        for name, value, lookup in (("customerId", customer_id, "connection__customer_id__iexact"),
                                    ("holdingId", holding_id, "connection__holding__holding_id__iexact")):
            text = _text(value, name)
            if text:
                bills = bills.filter(**{lookup: text})
        if ward is not None:
            bills = bills.filter(connection__holding__ward__number=ward)
        return optimized(bills.order_by("-period", "connection_id", "pk"), info)

    @staticmethod
    def resolve_water_tariffs(root, info, **_paging):
        return optimized(WaterTariff.objects.order_by("-fiscal_year", "pk"), info)
