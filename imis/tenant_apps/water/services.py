"""Water supply: the connection's life cycle, meter readings (one by one and bulk CSV), tariffs and the monthly
bill run.

Every write checks the actor's role, runs in one transaction and leaves a timeline event and an audit entry.
Payments are not taken here: a connection fee or a bill is a Payable (water.payables) of the one payment flow,
at the counter and online.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.platform.permissions import require_permission as _require
from imis.shared_apps.accounts.services import phone_to_e164
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record, audit_record_many
from imis.tenant_apps.tax.numbering import number_next as next_number

from .models import ConnectionEvent, MeterReading, WaterBill, WaterConnection, WaterTariff

S = WaterConnection.Status
CENT = Decimal("0.01")
FISCAL_YEAR_START_MONTH = 7  # July–June
BILL_DUE_DAYS = 20  # a month's bill is due on the 20th of the next month
BILLABLE_STATUSES = (S.ACTIVE, S.DISCONNECTED)


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _event(connection: WaterConnection, action: str, by, note: str = "", at=None) -> None:
    ConnectionEvent.objects.create(connection=connection, at=at or timezone.now(), action=action,
                                   by_id=getattr(by, "pk", None), by_label=getattr(by, "email", "") or "system",
                                   note=note[:300])


def _locked(connection: WaterConnection) -> WaterConnection:
    return WaterConnection.objects.select_for_update().get(pk=connection.pk)


def _step(connection, *, by, allowed, to, action, note="", changes=None, error=""):
    """One life-cycle step: lock, check the status, change, timeline + audit."""
    with transaction.atomic():
        connection = _locked(connection)
        if connection.status not in allowed:
            raise field_error({"status": error}, code="invalid_transition")
        before = connection.status
        for name, value in (changes or {}).items():
            setattr(connection, name, value)
        connection.status = to
        connection.save()
        _event(connection, action, by, note)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=connection, before={"status": before},
                     after={"status": to, **{k: str(v) for k, v in (changes or {}).items()}})
    return connection


# --- fiscal years and tariffs -------------------------------------------------------------------------

def fiscal_year_of(day: datetime.date) -> int:
    return day.year if day.month >= FISCAL_YEAR_START_MONTH else day.year - 1


def parse_slabs(text: str) -> list[list]:
    """"10:8, 20:10.5, :15" → [[10, "8.00"], [20, "10.50"], [None, "15.00"]] (up to m³ : price per m³)."""
    slabs, last = [], Decimal(0)
    parts = [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]
    if not parts:
        raise field_error({"slabs": _("Enter at least one slab, e.g. “10:8, 20:10.5, :15”.")}, code="required")
    for index, part in enumerate(parts):
        up_to, sep, price = part.partition(":")
        try:
            price = money(price)
            up_to = Decimal(up_to.strip()) if up_to.strip() else None
        except (InvalidOperation, ValueError) as error:
            raise field_error({"slabs": _("“%(part)s” is not “up to m³ : price”.") % {"part": part}},
                              code="invalid_slab") from error
        if not sep or price < 0:
            raise field_error({"slabs": _("“%(part)s” is not “up to m³ : price”.") % {"part": part}},
                              code="invalid_slab")
        if up_to is None and index != len(parts) - 1:
            raise field_error({"slabs": _("Only the last slab may be open-ended.")}, code="invalid_slab")
        if up_to is not None and up_to <= last:
            raise field_error({"slabs": _("Slab limits must increase.")}, code="invalid_slab")
        if up_to is not None:
            last = up_to
        slabs.append([None if up_to is None else str(up_to), str(price)])
    if slabs[-1][0] is not None:
        slabs.append([None, slabs[-1][1]])  # beyond the last limit, the last price
    return slabs


def slabs_text(slabs) -> str:
    return ", ".join(f"{'' if up_to is None else up_to}:{price}" for up_to, price in slabs)


def tariff_set(*, by, fiscal_year: int, slabs: str, flat_monthly_rate, connection_fee) -> WaterTariff:
    _require(by, "water.manage", action=_("set water tariffs"))
    errors = {}
    try:
        flat, fee = money(flat_monthly_rate), money(connection_fee)
    except (InvalidOperation, ValueError, TypeError):
        flat = fee = Decimal(-1)
    if flat < 0:
        errors["flat_monthly_rate"] = _("Enter an amount of zero or more.")
    if fee < 0:
        errors["connection_fee"] = _("Enter an amount of zero or more.")
    if errors:
        raise field_error(errors, code="invalid_amount")
    parsed = parse_slabs(slabs)
    with transaction.atomic():
        tariff, _created = WaterTariff.objects.update_or_create(
            fiscal_year=fiscal_year, defaults={"slabs": parsed, "flat_monthly_rate": flat, "connection_fee": fee})
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=tariff,
                     after={"slabs": parsed, "flat_monthly_rate": str(flat), "connection_fee": str(fee)})
    return tariff


def tariff_for(fiscal_year: int, *, field_name: str = "period") -> WaterTariff:
    tariff = WaterTariff.objects.filter(fiscal_year=fiscal_year).first()
    if tariff is None:
        raise field_error({field_name: _("No water tariff is set for %(year)s-%(next)s.") % {
            "year": fiscal_year, "next": str(fiscal_year + 1)[-2:]}}, code="no_tariff")
    return tariff


def slab_charge(consumption: Decimal, slabs) -> Decimal:
    """Each slab prices the cubic metres that fall inside it: 25 m³ on 10:8, 20:10.5, :15 is
    10 × 8 + 10 × 10.5 + 5 × 15 = 260."""
    total, lower = Decimal(0), Decimal(0)
    for up_to, price in slabs:
        upper = consumption if up_to is None else min(consumption, Decimal(str(up_to)))
        if upper > lower:
            total += (upper - lower) * Decimal(str(price))
        if up_to is None or consumption <= Decimal(str(up_to)):
            break
        lower = Decimal(str(up_to))
    return money(total)


# --- the life cycle -----------------------------------------------------------------------------------

def connection_apply(*, by, holding, applicant_name: str, size_mm: int = 13, is_metered: bool = True,
                     applicant_phone: str = "", building=None, applied_on: datetime.date | None = None
                     ) -> WaterConnection:
    _require(by, "water.manage", action=_("register water connection applications"))
    if not (applicant_name or "").strip():
        raise field_error({"applicant_name": _("Enter the applicant's name.")}, code="required")
    if size_mm not in WaterConnection.Size.values:
        raise field_error({"size_mm": _("Choose a connection size.")}, code="invalid_choice")
    if building is not None and building.holding_id not in (None, holding.pk):
        raise field_error({"building": _("This building belongs to another holding.")}, code="wrong_building")
    try:
        phone = phone_to_e164(applicant_phone.strip()) if (applicant_phone or "").strip() else ""
    except ValidationError as error:
        raise field_error({"applicant_phone": error.messages[0]}, code="invalid_phone") from error
    applied_on = applied_on or timezone.localdate()
    with transaction.atomic():
        connection = WaterConnection.objects.create(
            customer_id=next_number("water-customer", "WC-{n:06d}"), holding=holding, building=building,
            size_mm=size_mm, is_metered=is_metered, applicant_name=applicant_name.strip(), applicant_phone=phone,
            applied_on=applied_on)
        _event(connection, "applied", by)
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=connection,
                     after={"customer_id": connection.customer_id, "holding": holding.holding_id,
                            "size_mm": size_mm, "is_metered": is_metered})
    return connection


def connection_report_illegal(*, by, holding, notes: str, building=None, size_mm: int = 13) -> WaterConnection:
    """An unauthorised connection found in the field: recorded as illegal, to be disconnected or regularised."""
    _require(by, "water.manage", action=_("record illegal connections"))
    if not (notes or "").strip():
        raise field_error({"notes": _("Write what was found.")}, code="required")
    with transaction.atomic():
        connection = WaterConnection.objects.create(
            customer_id=next_number("water-customer", "WC-{n:06d}"), holding=holding, building=building,
            size_mm=size_mm, is_metered=False, applicant_name=holding.address or holding.holding_id,
            applied_on=timezone.localdate(), status=S.ILLEGAL, closing_reason=notes.strip()[:300])
        _event(connection, "illegal", by, notes)
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=connection,
                     after={"customer_id": connection.customer_id, "status": S.ILLEGAL, "notes": notes})
    return connection


def connection_inspect(*, by, connection: WaterConnection, passed: bool, notes: str) -> WaterConnection:
    _require(by, "water.manage", action=_("record inspections"))
    if not (notes or "").strip():
        raise field_error({"notes": _("Write what the inspection found.")}, code="required")
    changes = {"inspected_on": timezone.localdate(), "inspection_notes": notes.strip()}
    if not passed:
        changes["closing_reason"] = notes.strip()[:300]
    return _step(connection, by=by, allowed=(S.APPLIED,), to=S.INSPECTED if passed else S.REJECTED,
                 action="inspected" if passed else "rejected", note=notes, changes=changes,
                 error=_("Only a new application is inspected."))


def connection_approve(*, by, connection: WaterConnection) -> WaterConnection:
    """Approval fixes the connection fee from this fiscal year's tariff."""
    _require(by, "water.manage", action=_("approve water connections"))
    today = timezone.localdate()
    tariff = tariff_for(fiscal_year_of(today), field_name="status")
    return _step(connection, by=by, allowed=(S.INSPECTED,), to=S.APPROVED, action="approved",
                 note=_("Connection fee ৳ %(fee)s") % {"fee": tariff.connection_fee},
                 changes={"approved_on": today, "connection_fee": tariff.connection_fee},
                 error=_("Approve after a passed inspection."))


def connection_reject(*, by, connection: WaterConnection, reason: str) -> WaterConnection:
    _require(by, "water.manage", action=_("reject applications"))
    if not (reason or "").strip():
        raise field_error({"reason": _("Say why the application is rejected.")}, code="required")
    return _step(connection, by=by, allowed=(S.APPLIED, S.INSPECTED, S.APPROVED), to=S.REJECTED,
                 action="rejected", note=reason, changes={"closing_reason": reason.strip()[:300]},
                 error=_("Only an application can be rejected."))


def connection_fee_open(connection: WaterConnection) -> Decimal | None:
    """The connection fee still to pay, or None."""
    if connection.status != S.APPROVED or connection.fee_paid_on or not connection.connection_fee:
        return None
    return connection.connection_fee if connection.connection_fee > 0 else None


def connection_activate(*, by, connection: WaterConnection, meter_number: str = "", initial_reading=None,
                        activated_on: datetime.date | None = None) -> WaterConnection:
    """Connect the supply once the fee is paid; a metered connection needs its meter and the first reading."""
    _require(by, "water.manage", action=_("activate water connections"))
    activated_on = activated_on or timezone.localdate()
    with transaction.atomic():
        connection = _locked(connection)
        if connection.status != S.APPROVED:
            raise field_error({"status": _("Only an approved connection is activated.")}, code="invalid_transition")
        if connection_fee_open(connection) is not None:
            raise field_error({"status": _("The connection fee of ৳ %(fee)s is not paid yet.") % {
                "fee": connection.connection_fee}}, code="fee_unpaid")
        reading = None
        if connection.is_metered:
            errors = {}
            if not (meter_number or "").strip():
                errors["meter_number"] = _("Enter the meter's number.")
            try:
                reading = money(initial_reading) if initial_reading not in (None, "") else None
            except (InvalidOperation, ValueError):
                reading = None
            if reading is None or reading < 0:
                errors["initial_reading"] = _("Enter the meter's reading at connection (m³).")
            if errors:
                raise field_error(errors, code="required")
        before = connection.status
        connection.status, connection.activated_on = S.ACTIVE, activated_on
        connection.meter_number = (meter_number or "").strip() if connection.is_metered else ""
        connection.save()
        if reading is not None:
            MeterReading.objects.create(connection=connection, read_on=activated_on, reading=reading,
                                        is_replacement=True, meter_number=connection.meter_number,
                                        source=MeterReading.Source.ACTIVATION, by_id=getattr(by, "pk", None))
        _event(connection, "activated", by, connection.meter_number)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=connection, before={"status": before},
                     after={"status": S.ACTIVE, "meter_number": connection.meter_number,
                            "initial_reading": str(reading) if reading is not None else None})
        _building_mark_connected(connection, by)
    return connection


def _building_mark_connected(connection: WaterConnection, by) -> None:
    """The building's registry record shows the municipal supply and the customer ID (the map's water layer)."""
    building = connection.building
    if building is None:
        return
    before = {"water_source": building.water_source, "water_customer_id": building.water_customer_id}
    building.water_source, building.water_customer_id = "municipal", connection.customer_id
    building.save(update_fields=["water_source", "water_customer_id"])
    audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=building, before=before,
                 after={"water_source": "municipal", "water_customer_id": connection.customer_id})


def connection_disconnect(*, by, connection: WaterConnection, reason: str) -> WaterConnection:
    _require(by, "water.manage", action=_("disconnect water connections"))
    if not (reason or "").strip():
        raise field_error({"reason": _("Say why the supply is cut.")}, code="required")
    return _step(connection, by=by, allowed=(S.ACTIVE, S.ILLEGAL), to=S.DISCONNECTED, action="disconnected",
                 note=reason, changes={"disconnected_on": timezone.localdate(), "closing_reason": reason.strip()[:300]},
                 error=_("Only an active or illegal connection is disconnected."))


def connection_reconnect(*, by, connection: WaterConnection) -> WaterConnection:
    """Supply back on. Bills left unpaid stay due."""
    _require(by, "water.manage", action=_("reconnect water connections"))
    with transaction.atomic():
        locked = _locked(connection)
        if locked.status == S.DISCONNECTED and locked.activated_on is None:
            raise field_error({"status": _("An illegal connection is regularised by a new application.")},
                              code="invalid_transition")
    return _step(connection, by=by, allowed=(S.DISCONNECTED,), to=S.ACTIVE, action="reconnected",
                 changes={"disconnected_on": None, "closing_reason": ""},
                 error=_("Only a disconnected connection is reconnected."))


# --- meter readings -----------------------------------------------------------------------------------

def _reading_problems(connection: WaterConnection, *, read_on, reading, is_replacement, last) -> dict:
    """Field → message for a reading that cannot be recorded after `last` (the connection's latest reading)."""
    if not connection.is_metered:
        return {"connection": _("This connection is not metered (flat rate).")}
    if connection.status not in (S.ACTIVE, S.DISCONNECTED):
        return {"connection": _("Readings are recorded for connected supplies only.")}
    if read_on > timezone.localdate():
        return {"read_on": _("The date is in the future.")}
    if reading < 0:
        return {"reading": _("A reading cannot be negative.")}
    if last is not None:
        if read_on <= last.read_on:
            return {"read_on": _("The last reading is of %(day)s; enter a later date.") % {
                "day": last.read_on.isoformat()}}
        if not is_replacement and reading < last.reading:
            return {"reading": _("%(reading)s m³ is less than the last reading (%(last)s m³); if the meter was "
                                 "replaced, say so.") % {"reading": reading, "last": last.reading}}
    return {}


def reading_record(*, by, connection: WaterConnection, read_on: datetime.date, reading, is_replacement: bool = False,
                   meter_number: str = "") -> MeterReading:
    _require(by, "water.manage", action=_("record meter readings"))
    try:
        reading = money(reading)
    except (InvalidOperation, ValueError, TypeError) as error:
        raise field_error({"reading": _("Enter the reading in m³, like 1520 or 1520.5.")},
                          code="invalid_reading") from error
    if is_replacement and not (meter_number or "").strip():
        raise field_error({"meter_number": _("Enter the new meter's number.")}, code="required")
    with transaction.atomic():
        connection = _locked(connection)
        last = connection.readings.order_by("-read_on", "-id").first()
        problems = _reading_problems(connection, read_on=read_on, reading=reading, is_replacement=is_replacement,
                                     last=last)
        if problems:
            raise field_error(problems, code="invalid_reading")
        row = MeterReading.objects.create(connection=connection, read_on=read_on, reading=reading,
                                          is_replacement=is_replacement,
                                          meter_number=(meter_number or connection.meter_number).strip(),
                                          by_id=getattr(by, "pk", None))
        if is_replacement:
            before = connection.meter_number
            connection.meter_number = meter_number.strip()
            connection.save(update_fields=["meter_number", "updated"])
            _event(connection, "meter replaced", by, f"{before} → {connection.meter_number}")
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=row,
                     after={"connection": connection.customer_id, "read_on": read_on, "reading": str(reading),
                            "is_replacement": is_replacement})
    return row


@dataclass
class ReadingsImport:
    recorded: int = 0
    rejects: list[dict] = field(default_factory=list)  # {"row", "customer_id", "field", "message"}


class ReadingsRejected(ValidationError):
    def __init__(self, rejects: list[dict]):
        super().__init__(_("%(count)s row(s) have errors; nothing was recorded.") % {"count": len(rejects)},
                         code="rejected_rows")
        self.rejects = rejects


TRUE_WORDS = {"yes", "y", "true", "1", "হ্যাঁ"}
CSV_COLUMNS = ("customer_id", "read_on", "reading")


def readings_import(*, by, content: bytes | str) -> ReadingsImport:
    """Bulk readings from a CSV (customer_id, read_on as YYYY-MM-DD, reading, optional meter_replaced and
    meter_number): every row is checked — against the connection's last reading and the rows above it — before
    anything is written. One bad row and nothing is recorded: the rejects list names each row and field."""
    _require(by, "water.manage", action=_("record meter readings"))
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    columns = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in CSV_COLUMNS if name not in columns]
    if missing:
        raise field_error({"file": _("The file needs the columns %(columns)s; missing: %(missing)s.") % {
            "columns": ", ".join(CSV_COLUMNS), "missing": ", ".join(missing)}}, code="missing_columns")
    rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
    if not rows:
        raise field_error({"file": _("The file has no readings.")}, code="empty_file")
    result = ReadingsImport()
    with transaction.atomic():
        ids = {row["customer_id"] for row in rows}
        connections = {c.customer_id: c for c in WaterConnection.objects.select_for_update().filter(
            customer_id__in=ids)}
        last = {}
        for reading in MeterReading.objects.filter(connection__in=connections.values()).order_by(
                "connection_id", "read_on", "id"):
            last[reading.connection_id] = reading
        new = []
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            def reject(field_name, message, row=row, number=number):
                result.rejects.append({"row": number, "customer_id": row.get("customer_id", ""),
                                       "field": field_name, "message": message})

            connection = connections.get(row["customer_id"])
            if connection is None:
                reject("customer_id", _("No connection has this customer ID."))
                continue
            try:
                read_on = datetime.date.fromisoformat(row["read_on"])
            except ValueError:
                reject("read_on", _("Write the date as YYYY-MM-DD."))
                continue
            try:
                value = money(row["reading"])
            except (InvalidOperation, ValueError):
                reject("reading", _("Enter the reading in m³, like 1520 or 1520.5."))
                continue
            is_replacement = row.get("meter_replaced", "").lower() in TRUE_WORDS
            meter_number = row.get("meter_number", "")
            if is_replacement and not meter_number:
                reject("meter_number", _("Enter the new meter's number."))
                continue
            problems = _reading_problems(connection, read_on=read_on, reading=value, is_replacement=is_replacement,
                                         last=last.get(connection.pk))
            if problems:
                for field_name, message in problems.items():
                    reject(field_name, message)
                continue
            reading = MeterReading(connection=connection, read_on=read_on, reading=value,
                                   is_replacement=is_replacement,
                                   meter_number=meter_number or connection.meter_number,
                                   source=MeterReading.Source.CSV, by_id=getattr(by, "pk", None))
            last[connection.pk] = reading
            new.append(reading)
        if result.rejects:
            raise ReadingsRejected(result.rejects)
        created = MeterReading.objects.bulk_create(new)
        for reading in created:
            if reading.is_replacement:
                WaterConnection.objects.filter(pk=reading.connection_id).update(meter_number=reading.meter_number)
                _event(reading.connection, "meter replaced", by, reading.meter_number)
        audit_record_many(actor=by, action=AuditEntry.Action.IMPORT, rows=[
            ("water.meterreading", reading.pk, f"{reading.connection.customer_id} {reading.read_on}", None,
             {"reading": str(reading.reading), "is_replacement": reading.is_replacement}) for reading in created])
        result.recorded = len(created)
    return result


# --- bills --------------------------------------------------------------------------------------------

def month_bounds(period: datetime.date) -> tuple[datetime.date, datetime.date]:
    start = period.replace(day=1)
    following = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, following - datetime.timedelta(days=1)


def consumption_in(readings: list[MeterReading], period: datetime.date) -> Decimal:
    """m³ used in the month: for each reading taken in the month, the rise since the reading before it; the first
    reading of a new meter (and the reading at connection) starts the count afresh and adds nothing."""
    start, end = month_bounds(period)
    total, previous = Decimal(0), None
    for reading in readings:  # ordered by date
        if reading.read_on > end:
            break
        if start <= reading.read_on and previous is not None and not reading.is_replacement:
            total += reading.reading - previous.reading
        previous = reading
    return total


def bill_amount(connection: WaterConnection, readings: list[MeterReading], period: datetime.date,
                tariff: WaterTariff) -> tuple[Decimal | None, Decimal]:
    """(consumption or None for flat rate, amount)."""
    if not connection.is_metered:
        return None, money(tariff.flat_monthly_rate)
    used = consumption_in(readings, period)
    return used, slab_charge(used, tariff.slabs)


def bills_generate(*, by, period: datetime.date) -> dict:
    """The month's bills for every connected supply (active, or disconnected during the month): metered ones from
    their readings, the others at the flat rate. A connection already billed for the month is left as it is, so
    the run is safe to repeat. All or nothing."""
    _require(by, "water.manage", action=_("generate water bills"))
    start, end = month_bounds(period)
    if end >= timezone.localdate():
        raise field_error({"period": _("Bill a month once it has ended.")}, code="month_not_over")
    year = fiscal_year_of(start)
    tariff = tariff_for(year)
    connections = (WaterConnection.objects.filter(status__in=BILLABLE_STATUSES, activated_on__lte=end)
                   .exclude(status=S.DISCONNECTED, disconnected_on__lt=start)
                   .exclude(bills__period=start).order_by("pk"))
    readings: dict[int, list[MeterReading]] = {}
    for reading in MeterReading.objects.filter(connection__in=connections, read_on__lte=end).order_by(
            "connection_id", "read_on", "id"):
        readings.setdefault(reading.connection_id, []).append(reading)
    now = timezone.now()
    due = datetime.date(end.year + (end.month == 12), end.month % 12 + 1, BILL_DUE_DAYS)
    bills = []
    with transaction.atomic():
        for connection in connections.select_for_update(of=("self",)):
            used, amount = bill_amount(connection, readings.get(connection.pk, []), start, tariff)
            bills.append(WaterBill(number=f"WB-{start:%Y%m}-{connection.customer_id}", connection=connection,
                                   period=start, fiscal_year=year, is_metered=connection.is_metered,
                                   consumption=used, amount=amount, due_date=due, issued_at=now,
                                   # nothing used, nothing to pay: the month is on record and settled
                                   status=WaterBill.Status.ISSUED if amount > 0 else WaterBill.Status.PAID))
        created = WaterBill.objects.bulk_create(bills)
        if created:
            ConnectionEvent.objects.bulk_create([ConnectionEvent(
                connection_id=bill.connection_id, at=now, action="billed", by_id=getattr(by, "pk", None),
                by_label=getattr(by, "email", "") or "system",
                note=f"{bill.number} · ৳ {bill.amount}") for bill in created])
            audit_record_many(actor=by, action=AuditEntry.Action.CREATE, rows=[
                ("water.waterbill", bill.pk, bill.number, None,
                 {"amount": str(bill.amount), "consumption": str(bill.consumption)}) for bill in created])
    return {"period": start, "bills": len(created), "total": sum((bill.amount for bill in created), Decimal(0))}


# --- the bill run as a job ----------------------------------------------------------------------------

BILL_RUN_CHUNK = 500


def bill_run_check(*, period: datetime.date) -> WaterTariff:
    """What a bill run for the month needs before it starts (the month is over, a tariff is set); the tariff."""
    start, end = month_bounds(period)
    if end >= timezone.localdate():
        raise field_error({"period": _("Bill a month once it has ended.")}, code="month_not_over")
    return tariff_for(fiscal_year_of(start))


def bill_run_candidates(*, period: datetime.date, ward_number: int | None = None):
    """The connections a run for the month (and ward) bills: connected during the month, not billed for it yet."""
    start, end = month_bounds(period)
    connections = (WaterConnection.objects.filter(status__in=BILLABLE_STATUSES, activated_on__lte=end)
                   .exclude(status=S.DISCONNECTED, disconnected_on__lt=start)
                   .exclude(bills__period=start))
    if ward_number is not None:
        connections = connections.filter(holding__ward__number=ward_number)
    return connections.order_by("pk")


def _bills_issue_chunk(*, by, ids: list[int], start: datetime.date, tariff: WaterTariff, now) -> list[WaterBill]:
    """Bill one chunk of connections in its own transaction. The connections are locked first and the month's
    bills read again under the lock, so two runs of the same month side by side never bill a connection twice."""
    _start, end = month_bounds(start)
    due = datetime.date(end.year + (end.month == 12), end.month % 12 + 1, BILL_DUE_DAYS)
    with transaction.atomic():
        locked = list(WaterConnection.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        billed = set(WaterBill.objects.filter(connection_id__in=ids, period=start)
                     .values_list("connection_id", flat=True))
        locked = [connection for connection in locked if connection.pk not in billed]
        readings: dict[int, list[MeterReading]] = {}
        for reading in MeterReading.objects.filter(connection__in=locked, read_on__lte=end).order_by(
                "connection_id", "read_on", "id"):
            readings.setdefault(reading.connection_id, []).append(reading)
        bills = []
        for connection in locked:
            used, amount = bill_amount(connection, readings.get(connection.pk, []), start, tariff)
            bills.append(WaterBill(number=f"WB-{start:%Y%m}-{connection.customer_id}", connection=connection,
                                   period=start, fiscal_year=tariff.fiscal_year, is_metered=connection.is_metered,
                                   consumption=used, amount=amount, due_date=due, issued_at=now,
                                   status=WaterBill.Status.ISSUED if amount > 0 else WaterBill.Status.PAID))
        created = WaterBill.objects.bulk_create(bills)
        if created:
            ConnectionEvent.objects.bulk_create([ConnectionEvent(
                connection_id=bill.connection_id, at=now, action="billed", by_id=getattr(by, "pk", None),
                by_label=getattr(by, "email", "") or "system",
                note=f"{bill.number} · ৳ {bill.amount}") for bill in created])
            audit_record_many(actor=by, action=AuditEntry.Action.CREATE, rows=[
                ("water.waterbill", bill.pk, bill.number, None,
                 {"amount": str(bill.amount), "consumption": str(bill.consumption)}) for bill in created])
    return created


def bill_run_execute(*, by, period: datetime.date, ward_number: int | None = None, chunk: int = BILL_RUN_CHUNK,
                     progress=None) -> dict:
    """The month's bills (for one ward or all), as the bill-run job does it: chunk by chunk, each chunk committed
    on its own and `progress(done=, total=)` called after it. A connection already billed for the month is skipped,
    so running it again — after a crash, or twice by mistake — finishes what is left and bills nobody twice."""
    _require(by, "water.manage", action=_("generate water bills"))
    tariff = bill_run_check(period=period)
    start, _end = month_bounds(period)
    ids = list(bill_run_candidates(period=start, ward_number=ward_number).values_list("pk", flat=True))
    total, done, bills, amount = len(ids), 0, 0, Decimal(0)
    now = timezone.now()
    if progress:
        progress(done=0, total=total)
    for offset in range(0, total, max(1, chunk)):
        part = ids[offset:offset + chunk]
        created = _bills_issue_chunk(by=by, ids=part, start=start, tariff=tariff, now=now)
        done, bills = done + len(part), bills + len(created)
        amount += sum((bill.amount for bill in created), Decimal(0))
        if progress:
            progress(done=done, total=total)
    return {"period": start.isoformat(), "ward": ward_number, "connections": total, "bills": bills,
            "skipped": total - bills, "total": str(money(amount))}
