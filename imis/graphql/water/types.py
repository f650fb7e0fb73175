"""Water supply types (feature `water_supply`, read with `water.view`): connections with their due status,
timeline, meter readings, monthly bills and payments; the yearly tariffs.

Money is a Decimal in the municipality's currency (BDT), sent as a string ("2500.00").
"""

from __future__ import annotations

from decimal import Decimal

import graphene
from django.utils import timezone
from graphene_django import DjangoObjectType

from imis.tenant_apps.water import selectors
from imis.tenant_apps.water.models import (
    ConnectionEvent,
    MeterReading,
    WaterBill,
    WaterConnection,
    WaterPayment,
    WaterTariff,
)

from ..base import choice_field, enum_from_choices
from ..relay import CountableConnection, Node, TenantObjectType

FEATURE = "water_supply"
VIEW = "water.view"
MANAGE = "water.manage"
COLLECT = ("tax.collect", MANAGE)
CENT = Decimal("0.01")

ConnectionStatus = enum_from_choices(WaterConnection.Status, "WaterConnectionStatus",
                                     "Where a water connection is in its life cycle.")
ConnectionSize = graphene.Enum("WaterConnectionSize", [(choice.name, choice.value)
                                                       for choice in WaterConnection.Size],
                               description="The connection's pipe size (HALF_INCH is 13 mm).")
BillStatus = enum_from_choices(WaterBill.Status, "WaterBillStatus", "Whether a bill is unpaid, paid or cancelled.")
PaymentKind = enum_from_choices(WaterPayment.Kind, "WaterPaymentKind", "Connection fee or monthly bill.")
PaymentStatus = enum_from_choices(WaterPayment.Status, "WaterPaymentStatus", "Whether a receipt still counts.")
ReadingSource = enum_from_choices(MeterReading.Source, "WaterReadingSource", "How a reading was entered.")
DueStatus = graphene.Enum("WaterDueStatus", [("CLEAR", "clear"), ("DUE", "due"), ("OVERDUE", "overdue")],
                          description="CLEAR (nothing to pay), DUE (a bill or the connection fee to pay) or OVERDUE "
                                      "(a bill past its due date).")


class WaterType(TenantObjectType, DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        abstract = True


class WaterTariffType(WaterType):
    slabs = graphene.List(graphene.NonNull(graphene.List(graphene.String)), required=True,
                          description="[up to m³ (null: the rest), price per m³], in increasing order.")

    class Meta:
        model = WaterTariff
        name = "WaterTariff"
        description = "One fiscal year's water prices: slabs per m³, the flat monthly rate, the connection fee."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("fiscal_year", "slabs", "flat_monthly_rate", "connection_fee", "updated")

    def resolve_slabs(root, info):
        return [[None if up_to is None else str(up_to), str(price)] for up_to, price in root.slabs]


class WaterEventType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        model = ConnectionEvent
        name = "WaterConnectionEvent"
        description = "One step of a connection's timeline."
        fields = ("at", "action", "by_label", "note")


class MeterReadingType(WaterType):
    source = choice_field(ReadingSource, "source", required=True)

    class Meta:
        model = MeterReading
        name = "WaterMeterReading"
        description = "A meter reading in m³ (a replaced meter's first reading starts its count afresh)."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("connection", "read_on", "reading", "is_replacement", "meter_number", "source", "created")


class WaterPaymentType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE
    kind = choice_field(PaymentKind, "kind", required=True)
    status = choice_field(PaymentStatus, "status", required=True)

    class Meta:
        model = WaterPayment
        name = "WaterPayment"
        description = "Money received for a connection fee or a bill (receipt series WSR-)."
        fields = ("kind", "amount", "method", "reference", "receipt_number", "received_at", "cashier_label",
                  "status", "reversal_reason")


class WaterBillType(WaterType):
    status = choice_field(BillStatus, "status", required=True)
    is_overdue = graphene.Boolean(required=True, description="Unpaid and past its due date.")
    payments = graphene.List(graphene.NonNull(WaterPaymentType), required=True)

    class Meta:
        model = WaterBill
        name = "WaterBill"
        description = "A month's water bill: from the readings (metered) or the flat rate."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("number", "connection", "period", "fiscal_year", "is_metered", "consumption", "amount",
                  "due_date", "status", "issued_at")

    def resolve_is_overdue(root, info):
        return root.status == WaterBill.Status.ISSUED and root.due_date < timezone.localdate()

    def resolve_payments(root, info):
        return root.payments.all()


class WaterConnectionType(WaterType):
    status = choice_field(ConnectionStatus, "status", required=True)
    size = graphene.Field(ConnectionSize, required=True, description="The pipe size.")
    bills_due = graphene.Decimal(required=True, description="Unpaid bills, in taka.")
    due_status = graphene.Field(DueStatus, required=True)
    events = graphene.List(graphene.NonNull(WaterEventType), required=True, description="Oldest first.")
    readings = graphene.List(graphene.NonNull(MeterReadingType), required=True, description="Oldest first.")
    bills = graphene.List(graphene.NonNull(WaterBillType), required=True, description="Newest month first.")
    payments = graphene.List(graphene.NonNull(WaterPaymentType), required=True, description="Newest first.")

    class Meta:
        model = WaterConnection
        name = "WaterConnection"
        description = ("A water connection of a holding (and building), from application to disconnection "
                       "(feature `water_supply`).")
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("customer_id", "status", "holding", "building", "is_metered", "meter_number", "applicant_name",
                  "applicant_phone", "applied_on", "inspected_on", "inspection_notes", "approved_on",
                  "connection_fee", "fee_paid_on", "activated_on", "disconnected_on", "closing_reason", "created",
                  "updated")

    @staticmethod
    def _with_due(root):
        if not hasattr(root, "bills_due"):  # read by id: one query for this connection's dues
            due = selectors.with_due(WaterConnection.objects.filter(pk=root.pk)).values(
                "bills_due", "is_overdue").first() or {"bills_due": 0, "is_overdue": False}
            root.bills_due, root.is_overdue = due["bills_due"], due["is_overdue"]
        return root

    def resolve_size(root, info):
        return root.size_mm

    def resolve_bills_due(root, info):
        return Decimal(WaterConnectionType._with_due(root).bills_due).quantize(CENT)

    def resolve_due_status(root, info):
        return selectors.due_status(WaterConnectionType._with_due(root))

    def resolve_events(root, info):
        return root.events.all()

    def resolve_readings(root, info):
        return root.readings.all()

    def resolve_bills(root, info):
        return root.bills.all()

    def resolve_payments(root, info):
        return root.payments.all()
