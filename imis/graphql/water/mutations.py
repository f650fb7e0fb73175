"""Water supply mutations: every step of a connection's life cycle the staff UI has — apply (or record an illegal
connection), inspect, approve or reject, take the connection fee or a bill, activate, disconnect, reconnect —
plus meter readings, the monthly bill run and the tariff, each calling the same service (water/services.py,
payments' counter for money)."""

from __future__ import annotations

import graphene
from django.core.exceptions import ValidationError

from imis.tenant_apps.payments.services import counter_take
from imis.tenant_apps.registry.models import Building, Holding
from imis.tenant_apps.water import services
from imis.tenant_apps.water.models import MeterReading, WaterBill, WaterConnection, WaterTariff
from imis.tenant_apps.water.payables import KIND

from ..base import ServiceMutation, check_date, clean_columns
from ..relay import node_of
from . import types as t

FEATURE = t.FEATURE
MANAGE = t.MANAGE

CounterMethod = graphene.Enum("WaterCounterMethod", [("CASH", "cash"), ("CHEQUE", "cheque"), ("BANK", "bank")],
                              description="How money was paid at the counter.")


def _connection(global_id, field: str = "id") -> WaterConnection:
    return node_of(WaterConnection, global_id, expected="WaterConnection", field=field)


def _site(holding, building) -> dict:
    return {"holding": node_of(Holding, holding, expected="Holding", field="holding"),
            "building": node_of(Building, building, expected="Building", field="building") if building else None}


class WaterMutationBase(ServiceMutation):
    class Meta:
        abstract = True

    imis_permission = MANAGE
    imis_feature = FEATURE
    connection = graphene.Field(t.WaterConnectionType)


class WaterConnectionApply(WaterMutationBase):
    """Register an application for a water connection on a holding; it waits for inspection."""

    class Input:
        holding = graphene.ID(required=True, description="Global ID of the holding.")
        building = graphene.ID(description="Global ID of the building supplied (of the same holding).")
        applicant_name = graphene.String(required=True)
        applicant_phone = graphene.String(description="A mobile number, e.g. 01712345678.")
        size = t.ConnectionSize(description="HALF_INCH when left out.")
        is_metered = graphene.Boolean(description="True when left out (false: flat monthly rate).")
        applied_on = graphene.Date(description="Today when left out.")

    @classmethod
    def perform(cls, info, holding, building=None, size=None, **data):
        data = clean_columns(WaterConnection, data)
        if size is not None:
            data["size_mm"] = getattr(size, "value", size)
        data = {key: value for key, value in data.items() if value is not None}
        connection = services.connection_apply(by=info.context.user, **_site(holding, building), **data)
        return cls.success(connection=connection)


class WaterConnectionReportIllegal(WaterMutationBase):
    """Record a connection found in the field without approval: to be disconnected or regularised."""

    class Input:
        holding = graphene.ID(required=True, description="Global ID of the holding.")
        building = graphene.ID(description="Global ID of the building.")
        notes = graphene.String(required=True, description="What was found.")
        size = t.ConnectionSize()

    @classmethod
    def perform(cls, info, holding, notes, building=None, size=None):
        extra = {"size_mm": getattr(size, "value", size)} if size is not None else {}
        connection = services.connection_report_illegal(by=info.context.user, **_site(holding, building),
                                                        notes=notes[:2000], **extra)
        return cls.success(connection=connection)


class WaterConnectionInspect(WaterMutationBase):
    """Record the inspection of a new application: passed (on to approval) or failed (rejected)."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the connection.")
        passed = graphene.Boolean(required=True)
        notes = graphene.String(required=True, description="What the inspection found.")

    @classmethod
    def perform(cls, info, id, passed, notes):
        return cls.success(connection=services.connection_inspect(by=info.context.user, connection=_connection(id),
                                                                  passed=passed, notes=notes[:2000]))


class WaterConnectionApprove(WaterMutationBase):
    """Approve an inspected application: the connection fee is fixed from this fiscal year's tariff."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the connection.")

    @classmethod
    def perform(cls, info, id):
        return cls.success(connection=services.connection_approve(by=info.context.user, connection=_connection(id)))


class WaterConnectionReject(WaterMutationBase):
    """Reject an application (applied, inspected or approved), saying why."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the connection.")
        reason = graphene.String(required=True)

    @classmethod
    def perform(cls, info, id, reason):
        return cls.success(connection=services.connection_reject(by=info.context.user, connection=_connection(id),
                                                                 reason=reason))


class WaterConnectionActivate(WaterMutationBase):
    """Connect the supply once the fee is paid; a metered connection needs its meter and first reading."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the connection.")
        meter_number = graphene.String(description="Required for a metered connection.")
        initial_reading = graphene.Decimal(description="The meter's reading at connection, m³ (metered).")
        activated_on = graphene.Date(description="Today when left out.")

    @classmethod
    def perform(cls, info, id, meter_number=None, initial_reading=None, activated_on=None):
        check_date("activated_on", activated_on)
        data = clean_columns(WaterConnection, {"meter_number": meter_number or ""})
        if initial_reading is not None:
            data.update(clean_columns(MeterReading, {"reading": initial_reading}))
        connection = services.connection_activate(by=info.context.user, connection=_connection(id),
                                                  meter_number=data["meter_number"],
                                                  initial_reading=data.get("reading"), activated_on=activated_on)
        return cls.success(connection=connection)


class WaterConnectionDisconnect(WaterMutationBase):
    """Cut the supply of an active (or illegal) connection, saying why."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the connection.")
        reason = graphene.String(required=True)

    @classmethod
    def perform(cls, info, id, reason):
        return cls.success(connection=services.connection_disconnect(
            by=info.context.user, connection=_connection(id), reason=reason))


class WaterConnectionReconnect(WaterMutationBase):
    """Supply back on for a disconnected connection; unpaid bills stay due."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the connection.")

    @classmethod
    def perform(cls, info, id):
        return cls.success(connection=services.connection_reconnect(by=info.context.user,
                                                                    connection=_connection(id)))


class WaterReadingRecord(WaterMutationBase):
    """Record a meter reading; readings only go up unless a new meter was fitted (`isReplacement`)."""

    class Input:
        connection = graphene.ID(required=True, description="Global ID of the connection.")
        read_on = graphene.Date(required=True)
        reading = graphene.Decimal(required=True, description="m³.")
        is_replacement = graphene.Boolean(description="A new meter was fitted; give its number.")
        meter_number = graphene.String()

    reading = graphene.Field(t.MeterReadingType)

    @classmethod
    def perform(cls, info, connection, read_on, reading, is_replacement=False, meter_number=None):
        check_date("read_on", read_on)
        data = clean_columns(MeterReading, {"reading": reading, "meter_number": meter_number or ""})
        row = services.reading_record(by=info.context.user, connection=_connection(connection, "connection"),
                                      read_on=read_on, is_replacement=bool(is_replacement), **data)
        return cls.success(reading=row, connection=row.connection)


class WaterPaymentTake(WaterMutationBase):
    """Take a connection fee (give `connection`) or a monthly bill (give `bill`) at the counter: the same payable
    and receipt series as the payments counter."""

    imis_permission = t.COLLECT

    class Input:
        connection = graphene.ID(description="Global ID of an approved connection whose fee is due.")
        bill = graphene.ID(description="Global ID of an unpaid bill.")
        method = CounterMethod(required=True)
        reference = graphene.String(description="Cheque or transfer reference (required for those).")

    receipt_number = graphene.String()

    @classmethod
    def perform(cls, info, method, connection=None, bill=None, reference=None):
        if (connection is None) == (bill is None):
            raise ValidationError(ValidationError("Give either a connection (its fee) or a bill.", code="required"))
        if bill is not None:
            found = node_of(WaterBill, bill, expected="WaterBill", field="bill")
            target, reference_key = found.connection, f"bill:{found.pk}"
        else:
            target = _connection(connection, "connection")
            reference_key = f"fee:{target.pk}"
        reference = (reference or "").strip()
        if len(reference) > 100:
            raise ValidationError({"reference": ValidationError("At most 100 characters.", code="max_length")})
        [settlement] = counter_take(by=info.context.user, holding=target.holding, items=[(KIND, reference_key, None)],
                                    method=getattr(method, "value", method), reference=reference)
        target.refresh_from_db()
        return cls.success(connection=target, receipt_number=settlement.receipt_number)


class WaterBillsGenerate(ServiceMutation):
    """Issue a month's bills for every connected supply (safe to repeat: a billed connection is left alone)."""

    imis_permission = MANAGE
    imis_feature = FEATURE

    class Input:
        period = graphene.Date(required=True, description="Any day of the month to bill (an ended month).")

    bills = graphene.Int(description="How many bills were issued now.")
    total = graphene.Decimal(description="Their total, in taka.")

    @classmethod
    def perform(cls, info, period):
        check_date("period", period)
        result = services.bills_generate(by=info.context.user, period=period)
        return cls.success(bills=result["bills"], total=result["total"])


class WaterTariffSet(ServiceMutation):
    """Set a fiscal year's tariff (replacing it if set)."""

    imis_permission = MANAGE
    imis_feature = FEATURE

    class Input:
        fiscal_year = graphene.Int(required=True, description="The first year: 2026 for 2026-27.")
        slabs = graphene.String(required=True, description="Up to m³ : price per m³, e.g. \"10:8, 20:10.5, :15\".")
        flat_monthly_rate = graphene.Decimal(required=True)
        connection_fee = graphene.Decimal(required=True)

    tariff = graphene.Field(t.WaterTariffType)

    @classmethod
    def perform(cls, info, slabs, **data):
        data = clean_columns(WaterTariff, data)
        if len(slabs) > 500:
            raise ValidationError({"slabs": ValidationError("At most 500 characters.", code="max_length")})
        return cls.success(tariff=services.tariff_set(by=info.context.user, slabs=slabs, **data))


class WaterMutation(graphene.ObjectType):
    water_connection_apply = WaterConnectionApply.Field()
    water_connection_report_illegal = WaterConnectionReportIllegal.Field()
    water_connection_inspect = WaterConnectionInspect.Field()
    water_connection_approve = WaterConnectionApprove.Field()
    water_connection_reject = WaterConnectionReject.Field()
    water_connection_activate = WaterConnectionActivate.Field()
    water_connection_disconnect = WaterConnectionDisconnect.Field()
    water_connection_reconnect = WaterConnectionReconnect.Field()
    water_reading_record = WaterReadingRecord.Field()
    water_payment_take = WaterPaymentTake.Field()
    water_bills_generate = WaterBillsGenerate.Field()
    water_tariff_set = WaterTariffSet.Field()
