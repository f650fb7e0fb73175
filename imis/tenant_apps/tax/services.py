"""Holding tax: assessment, bills (a resumable, idempotent bill run), payments apportioned oldest-first,
reversals, approved adjustments. Every taka is a ledger entry; balances are sums, never stored."""

from __future__ import annotations

import datetime
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.shared_apps.accounts.selectors import actor_permissions
from imis.shared_apps.tenants.features import feature_settings
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.registry.models import Holding

from .models import (
    Adjustment,
    Assessment,
    Bill,
    BillRun,
    LedgerEntry,
    Objection,
    Payment,
    PaymentAllocation,
    RateSchedule,
    ReceiptCounter,
    TaxZone,
    UseRate,
)

CENT = Decimal("0.01")
RENT_MONTHS_COUNTED = 10  # twelve months' rent less two for repairs and maintenance
RECEIPT_SERIES = "holding_tax"


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _require(by, permission: str, action: str) -> None:
    permissions = actor_permissions(by, connection.tenant)
    if permissions is not None and permission not in permissions:
        from django.core.exceptions import ValidationError

        raise ValidationError(_("Your role does not allow you to %(action)s.") % {"action": action}, code="forbidden")


# --- fiscal years and rates ---------------------------------------------------------------------------

def fiscal_year_start_month() -> int:
    return int(feature_settings(connection.tenant, "holding_tax")["fiscal_year_start_month"])


def fiscal_year_of(day: datetime.date) -> int:
    """2026-11-28 → 2026 (the 2026-27 year, July–June)."""
    start = fiscal_year_start_month()
    return day.year if day.month >= start else day.year - 1


def period_due_date(fiscal_year: int, period: int, instalments: int) -> datetime.date:
    """The last day of the instalment's months."""
    months = 12 // instalments
    first_month = fiscal_year_start_month() - 1 + (period - 1) * months  # 0-based from January of fiscal_year
    end_year, end_month = fiscal_year + (first_month + months) // 12, (first_month + months) % 12 + 1
    return datetime.date(end_year, end_month, 1) - datetime.timedelta(days=1)


def rate_schedule_for(fiscal_year: int, *, on: datetime.date | None = None) -> RateSchedule:
    schedules = RateSchedule.objects.filter(fiscal_year=fiscal_year).prefetch_related("heads")
    if on is not None:
        schedules = schedules.filter(effective_from__lte=on)
    schedule = schedules.order_by("-effective_from").first()
    if schedule is None:
        raise field_error({"fiscal_year": _("No tax rates are set for %(year)s-%(next)02d.")
                           % {"year": fiscal_year, "next": (fiscal_year + 1) % 100}}, code="no_rates")
    return schedule


def rate_schedule_set(*, by, fiscal_year: int, effective_from: datetime.date, heads: dict[str, Decimal],
                      surcharge_percent=5, rebate_percent=10, instalments: int = 4) -> RateSchedule:
    _require(by, "tax.manage", _("set tax rates"))
    if instalments not in (1, 2, 4, 12):
        raise field_error({"instalments": _("Instalments: 1, 2, 4 or 12 a year.")}, code="invalid")
    for code, percent in heads.items():
        if not 0 <= Decimal(str(percent)) <= 100:
            raise field_error({code: _("A percentage from 0 to 100.")}, code="out_of_range")
    with transaction.atomic():
        schedule, _created = RateSchedule.objects.update_or_create(
            fiscal_year=fiscal_year, effective_from=effective_from,
            defaults={"surcharge_percent": surcharge_percent, "rebate_percent": rebate_percent,
                      "instalments": instalments})
        schedule.heads.all().delete()
        for code, percent in heads.items():
            schedule.heads.create(code=code, percent=Decimal(str(percent)))
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=schedule,
                     after={"heads": {k: str(v) for k, v in heads.items()}, "instalments": instalments,
                            "surcharge": str(surcharge_percent), "rebate": str(rebate_percent)})
    return schedule


def annual_charges(annual_value: Decimal, schedule: RateSchedule) -> dict[str, Decimal]:
    return {head.code: money(Decimal(annual_value) * head.percent / 100) for head in schedule.heads.all()}


def period_charges(annual_value: Decimal, schedule: RateSchedule, period: int) -> dict[str, Decimal]:
    """Each head's share for one instalment; the last instalment takes the rounding remainder."""
    shares = {}
    for code, annual in annual_charges(annual_value, schedule).items():
        share = money(annual / schedule.instalments)
        shares[code] = annual - share * (schedule.instalments - 1) if period == schedule.instalments else share
    return shares


# --- assessment ---------------------------------------------------------------------------------------

def assessment_annual_value(*, basis: str, fiscal_year: int, monthly_rent=None, floor_area_m2=None,
                            functional_use: str = "", zone: TaxZone | None = None) -> Decimal:
    if basis == Assessment.Basis.RENT:
        if monthly_rent is None or Decimal(str(monthly_rent)) <= 0:
            raise field_error({"monthly_rent": _("Enter the declared monthly rent.")}, code="required")
        return money(Decimal(str(monthly_rent)) * RENT_MONTHS_COUNTED)
    if floor_area_m2 is None or Decimal(str(floor_area_m2)) <= 0:
        raise field_error({"floor_area_m2": _("Enter the floor area.")}, code="required")
    rate = UseRate.objects.filter(fiscal_year=fiscal_year, functional_use=functional_use).first()
    if rate is None:
        raise field_error({"functional_use": _("No rate per m² is set for %(use)s in this year.")
                           % {"use": functional_use or "—"}}, code="no_use_rate")
    factor = zone.factor if zone else Decimal(1)
    return money(Decimal(str(floor_area_m2)) * rate.rate_per_m2 * factor)


def assessment_create(*, by, holding: Holding, fiscal_year: int, basis: str, monthly_rent=None, floor_area_m2=None,
                      functional_use: str = "", zone: TaxZone | None = None, exemption: str = "",
                      exemption_reason: str = "", reason: str = "", annual_value=None) -> Assessment:
    """Assess (or reassess: the current assessment is kept as history) a holding for a fiscal year."""
    _require(by, "tax.manage", _("assess holdings"))
    if exemption and exemption not in Assessment.Exemption.values:
        raise field_error({"exemption": _("Choose an exemption.")}, code="invalid_choice")
    if exemption == Assessment.Exemption.OTHER and not exemption_reason.strip():
        raise field_error({"exemption_reason": _("Say why this holding is exempt.")}, code="required")
    if annual_value is None:
        annual_value = assessment_annual_value(basis=basis, fiscal_year=fiscal_year, monthly_rent=monthly_rent,
                                               floor_area_m2=floor_area_m2, functional_use=functional_use, zone=zone)
    with transaction.atomic():
        current = (Assessment.objects.select_for_update()
                   .filter(holding=holding, fiscal_year=fiscal_year, is_current=True).first())
        if current is not None:
            if not reason.strip():
                raise field_error({"reason": _("Say why the holding is reassessed.")}, code="required")
            Assessment.objects.filter(pk=current.pk).update(is_current=False)
        assessment = Assessment.objects.create(
            holding=holding, fiscal_year=fiscal_year, basis=basis, monthly_rent=monthly_rent,
            floor_area_m2=floor_area_m2, functional_use=functional_use, zone=zone, annual_value=money(annual_value),
            exemption=exemption, exemption_reason=exemption_reason, reason=reason,
            version=current.version + 1 if current else 1, replaces=current, created_by_id=getattr(by, "pk", None))
        audit_record(actor=by, action=AuditEntry.Action.CREATE if current is None else AuditEntry.Action.UPDATE,
                     instance=assessment, before={"annual_value": str(current.annual_value)} if current else None,
                     after={"annual_value": str(assessment.annual_value), "basis": basis, "exemption": exemption,
                            "version": assessment.version})
    return assessment


def objection_file(*, by, assessment: Assessment, grounds: str, filed_on: datetime.date | None = None) -> Objection:
    if not grounds.strip():
        raise field_error({"grounds": _("State the grounds of the objection.")}, code="required")
    return Objection.objects.create(assessment=assessment, grounds=grounds, filed_on=filed_on or timezone.localdate())


def objection_decide(*, by, objection: Objection, upheld: bool, decision: str,
                     revised_annual_value=None) -> Objection:
    _require(by, "tax.approve", _("decide objections"))
    with transaction.atomic():
        objection = Objection.objects.select_for_update().get(pk=objection.pk)
        if objection.status != Objection.Status.PENDING:
            raise field_error({"objection": _("This objection was already decided.")}, code="already_decided")
        objection.status = Objection.Status.UPHELD if upheld else Objection.Status.REJECTED
        objection.decision, objection.decided_on = decision, timezone.localdate()
        if upheld:
            if revised_annual_value is None:
                raise field_error({"revised_annual_value": _("Give the revised annual value.")}, code="required")
            objection.revised_annual_value = money(revised_annual_value)
            old = objection.assessment
            assessment_create(by=None, holding=old.holding, fiscal_year=old.fiscal_year, basis=old.basis,
                              monthly_rent=old.monthly_rent, floor_area_m2=old.floor_area_m2,
                              functional_use=old.functional_use, zone=old.zone, exemption=old.exemption,
                              exemption_reason=old.exemption_reason, annual_value=objection.revised_annual_value,
                              reason=_("Objection upheld: %(decision)s") % {"decision": decision[:200]})
        objection.save()
    return objection


# --- the bill run -------------------------------------------------------------------------------------

# One chunk of the bill run: one statement, set-based. The candidates are the next `chunk` current, non-exempt
# assessments by holding id after the last chunk's (a keyset: the range scans of the assessments, holdings and
# bills all start at `after` — spelt out for each, the planner does not carry it across the joins — so a chunk
# costs the same at the end of the city as at the start); their
# balances are one range aggregate over the ledger's holding index; the heads are plain columns (one expression
# per head, built from the rate schedule), not a per-holding unnest + jsonb_object_agg. Bills, their ledger
# entries and one audit entry for the chunk (the ids of its bills) are written by the same statement.
BILL_CHUNK_SQL = """
WITH candidates AS MATERIALIZED (
    SELECT a.holding_id, h.holding_id AS holding_code, a.annual_value
    FROM tax_assessment a
    JOIN registry_holding h ON h.id = a.holding_id
    {ward_join}
    WHERE a.holding_id > %(after)s AND h.id > %(after)s AND a.fiscal_year = %(fy)s AND a.is_current
      AND a.exemption = ''
      AND NOT EXISTS (SELECT 1 FROM tax_bill b WHERE b.holding_id = a.holding_id AND b.fiscal_year = %(fy)s
                      AND b.period = %(period)s AND b.holding_id > %(after)s)
    ORDER BY a.holding_id LIMIT %(chunk)s
), balances AS (
    SELECT l.holding_id, sum(l.amount) AS balance FROM tax_ledgerentry l
    WHERE l.holding_id BETWEEN (SELECT min(holding_id) FROM candidates) AND (SELECT max(holding_id) FROM candidates)
    GROUP BY l.holding_id
), shares AS (
    SELECT c.holding_id, c.holding_code, c.annual_value, COALESCE(b.balance, 0) AS balance,
           {shares}
    FROM candidates c LEFT JOIN balances b ON b.holding_id = c.holding_id
), priced AS (
    SELECT holding_id, holding_code, annual_value, GREATEST(balance, 0) AS arrears,
           CASE WHEN balance > 0 THEN round(balance * %(surcharge_pct)s / 100, 2) ELSE 0 END AS surcharge,
           jsonb_build_object({heads}) AS heads, {total} AS current_amount
    FROM shares
), bills AS (
    INSERT INTO tax_bill (holding_id, fiscal_year, period, number, issue_date, due_date, annual_value,
                          current_amount, heads, arrears, surcharge, total_payable, bill_run_id)
    SELECT holding_id, %(fy)s, %(period)s, 'HT' || %(fy)s || '-' || %(period)s || '-' || holding_code, %(issue)s,
           %(due)s, annual_value, current_amount, heads, arrears, surcharge, arrears + surcharge + current_amount,
           %(run)s
    FROM priced
    ON CONFLICT (holding_id, fiscal_year, period) DO NOTHING
    RETURNING id, holding_id, number, current_amount, surcharge
), ledger AS (
    INSERT INTO tax_ledgerentry (holding_id, kind, amount, fiscal_year, bill_id, at, memo)
    SELECT holding_id, 'bill', current_amount, %(fy)s, id, %(now)s, number FROM bills
    UNION ALL
    SELECT holding_id, 'surcharge', surcharge, %(fy)s, id, %(now)s, 'surcharge on arrears, ' || number
    FROM bills WHERE surcharge > 0
    RETURNING 1
), audit AS (
    INSERT INTO audit_auditentry (created, actor_id, actor_label, action, model, object_id, object_label, after,
                                  batch)
    SELECT %(now)s, %(actor_id)s, %(actor_label)s, 'create', 'tax.bill', '*',
           left(%(label)s || count(*) || ': ' || min(number) || ' … ' || max(number), 200),
           jsonb_build_object('bill_run', %(run)s, 'count', count(*), 'amount', sum(current_amount),
                              'surcharge', sum(surcharge), 'bills', jsonb_agg(id ORDER BY id)),
           %(batch)s
    FROM bills
    HAVING count(*) > 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM bills), (SELECT max(holding_id) FROM candidates), (SELECT count(*) FROM ledger),
       (SELECT count(*) FROM audit)
"""


def bill_chunk_sql(*, heads: int, last_instalment: bool, ward: bool) -> str:
    """The chunk statement for a schedule of `heads` heads. Each head is rounded on its own; an instalment is the
    head ÷ instalments rounded, the last one takes the rounding remainder (the same arithmetic as
    period_charges). Head codes and percents stay parameters (%(code_<i>)s, %(pct_<i>)s)."""
    def share(i: int) -> str:
        annual = f"round(c.annual_value * %(pct_{i})s / 100, 2)"
        if last_instalment:
            return f"{annual} - round({annual} / %(n)s, 2) * (%(n)s - 1) AS s{i}"
        return f"round({annual} / %(n)s, 2) AS s{i}"

    return BILL_CHUNK_SQL.format(
        ward_join="JOIN registry_ward w ON w.id = h.ward_id AND w.number = %(ward)s" if ward else "",
        shares=",\n           ".join(share(i) for i in range(heads)),
        heads=", ".join(f"%(code_{i})s::text, s{i}" for i in range(heads)),
        total=" + ".join(f"s{i}" for i in range(heads)),
    )


def bill_chunk_params(*, schedule: RateSchedule, heads: list, fiscal_year: int, period: int,
                      ward_number: int | None, run: BillRun, by, chunk: int) -> dict:
    params = {
        "fy": fiscal_year, "period": period, "n": schedule.instalments, "ward": ward_number, "chunk": chunk,
        "surcharge_pct": schedule.surcharge_percent, "issue": timezone.localdate(),
        "due": period_due_date(fiscal_year, period, schedule.instalments), "run": run.pk,
        "actor_id": getattr(by, "pk", None), "actor_label": getattr(by, "email", "") or "system",
        "label": f"bill run {run.pk}, bills: ", "batch": uuid.uuid4(),
    }
    for i, head in enumerate(heads):
        params[f"code_{i}"], params[f"pct_{i}"] = head.code, head.percent
    return params


def bill_run_holdings_count(*, fiscal_year: int, ward_number: int | None = None) -> int:
    assessments = Assessment.objects.filter(fiscal_year=fiscal_year, is_current=True, exemption="")
    if ward_number is not None:
        assessments = assessments.filter(holding__ward__number=ward_number)
    return assessments.count()


ANALYZE_AFTER_BILLS = 10_000


def bill_run_execute(*, by, fiscal_year: int, period: int, ward_number: int | None = None, chunk: int = 5000,
                     job_id=None, progress=None) -> BillRun:
    """Bill every assessed, non-exempt holding once for (year, period).

    Each chunk commits on its own: after a crash, running again picks up where it stopped, and a holding is never
    billed twice (the NOT EXISTS and the unique constraint both see to it). Each chunk writes one audit entry
    (model tax.bill, object "*") listing the ids of the bills it created, all of a run's sharing one batch id;
    the bills themselves name their run.
    """
    _require(by, "tax.manage", _("run bills"))
    schedule = rate_schedule_for(fiscal_year)
    if not 1 <= period <= schedule.instalments:
        raise field_error({"period": _("Choose an instalment from 1 to %(n)s.") % {"n": schedule.instalments}},
                          code="out_of_range")
    heads = list(schedule.heads.all())
    if not heads:
        raise field_error({"fiscal_year": _("The rate schedule has no tax heads.")}, code="no_rates")
    run = BillRun.objects.create(fiscal_year=fiscal_year, period=period, ward_number=ward_number, job_id=job_id,
                                 created_by_id=getattr(by, "pk", None))
    total = bill_run_holdings_count(fiscal_year=fiscal_year, ward_number=ward_number)
    sql = bill_chunk_sql(heads=len(heads), last_instalment=period == schedule.instalments,
                         ward=ward_number is not None)
    params = bill_chunk_params(schedule=schedule, heads=heads, fiscal_year=fiscal_year, period=period,
                               ward_number=ward_number, run=run, by=by, chunk=chunk)
    after, created, done = 0, 0, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {**params, "after": after, "now": timezone.now()})
            inserted, last_holding, _ledger, _audit = cursor.fetchone()
        if last_holding is None:
            break
        after, created, done = last_holding, created + inserted, done + inserted
        if progress:
            progress(done=min(done, total), total=total)
    BillRun.objects.filter(pk=run.pk).update(finished=timezone.now(), bills_created=created)
    if created >= ANALYZE_AFTER_BILLS:  # a big run changes the tables' shape: fresh statistics for the due reads
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tax_bill, tax_ledgerentry")
    from imis.platform.versioning import data_version_bump

    data_version_bump()  # the tax-due map layer changes
    run.refresh_from_db()
    return run


# --- payments -----------------------------------------------------------------------------------------

def _next_receipt_number() -> str:
    counter, _created = ReceiptCounter.objects.select_for_update().get_or_create(series=RECEIPT_SERIES)
    ReceiptCounter.objects.filter(pk=counter.pk).update(last_number=F("last_number") + 1)
    counter.refresh_from_db()
    return f"R-{counter.last_number:08d}"


def holding_balance(holding: Holding) -> Decimal:
    return money(LedgerEntry.objects.filter(holding=holding).aggregate(total=Sum("amount"))["total"] or 0)


def _bill_outstanding(holding: Holding) -> list[tuple[Bill, Decimal]]:
    """Bills oldest first with what is left to pay on each (charges − valid allocations)."""
    bills = list(Bill.objects.filter(holding=holding).order_by("fiscal_year", "period"))
    paid = dict(PaymentAllocation.objects.filter(bill__holding=holding, payment__status=Payment.Status.VALID)
                .values_list("bill").annotate(total=Sum("amount")).values_list("bill", "total"))
    return [(bill, bill.current_amount + bill.surcharge - (paid.get(bill.pk) or 0)) for bill in bills]


def _rebate_for(holding: Holding, payment_amount: Decimal, received: datetime.date) -> Decimal:
    """Paying the whole year before the first instalment falls due, with no arrears, earns the rebate."""
    fiscal_year = fiscal_year_of(received)
    assessment = Assessment.objects.filter(holding=holding, fiscal_year=fiscal_year, is_current=True,
                                           exemption="").first()
    if assessment is None:
        return Decimal(0)
    try:
        schedule = rate_schedule_for(fiscal_year)
    except Exception:  # noqa: BLE001 - no rates, no rebate
        return Decimal(0)
    if received > period_due_date(fiscal_year, 1, schedule.instalments) or not schedule.rebate_percent:
        return Decimal(0)
    earlier_due = sum((left for bill, left in _bill_outstanding(holding) if bill.fiscal_year < fiscal_year),
                      Decimal(0))
    if earlier_due > 0 or LedgerEntry.objects.filter(holding=holding, kind=LedgerEntry.Kind.REBATE,
                                                     fiscal_year=fiscal_year).exists():
        return Decimal(0)
    annual = sum(annual_charges(assessment.annual_value, schedule).values(), Decimal(0))
    rebate = money(annual * schedule.rebate_percent / 100)
    return rebate if payment_amount >= annual - rebate else Decimal(0)


def payment_record(*, by, holding: Holding, amount, method: str, reference: str = "",
                   received_at: datetime.datetime | None = None, gateway_reference: str = "") -> Payment:
    """Take a payment: a numbered receipt (no gaps), a ledger credit, apportioned to the oldest dues first."""
    if method != Payment.Method.ONLINE:
        _require(by, "tax.collect", _("take payments"))
    amount = money(amount)
    if amount <= 0:
        raise field_error({"amount": _("Enter an amount above zero.")}, code="invalid_amount")
    if method not in Payment.Method.values:
        raise field_error({"method": _("Choose how it was paid.")}, code="invalid_choice")
    if method in (Payment.Method.CHEQUE, Payment.Method.BANK) and not reference.strip():
        raise field_error({"reference": _("Enter the cheque or transfer reference.")}, code="required")
    received_at = received_at or timezone.now()
    with transaction.atomic():
        Holding.objects.select_for_update().get(pk=holding.pk)  # one payment at a time per holding
        rebate = _rebate_for(holding, amount, timezone.localtime(received_at).date())
        payment = Payment.objects.create(
            holding=holding, amount=amount, method=method, reference=reference.strip(), received_at=received_at,
            cashier_id=getattr(by, "pk", None), cashier_label=getattr(by, "email", "") or "online",
            receipt_number=_next_receipt_number(), gateway_reference=gateway_reference)
        LedgerEntry.objects.create(holding=holding, kind=LedgerEntry.Kind.PAYMENT, amount=-amount, payment=payment,
                                   fiscal_year=fiscal_year_of(timezone.localtime(received_at).date()),
                                   at=received_at, memo=payment.receipt_number)
        if rebate:
            LedgerEntry.objects.create(holding=holding, kind=LedgerEntry.Kind.REBATE, amount=-rebate,
                                       payment=payment, fiscal_year=fiscal_year_of(received_at.date()),
                                       at=received_at, memo=_("rebate for paying the whole year early"))
        left = amount + rebate
        for bill, outstanding in _bill_outstanding(holding):
            if left <= 0:
                break
            if outstanding <= 0:
                continue
            share = min(outstanding, left)
            PaymentAllocation.objects.create(payment=payment, bill=bill, amount=share)
            left -= share
        if left > 0:
            PaymentAllocation.objects.create(payment=payment, bill=None, amount=left)  # paid in advance
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=payment,
                     after={"amount": str(amount), "method": method, "receipt": payment.receipt_number,
                            "rebate": str(rebate)})
    return payment


def payment_reverse(*, by, payment: Payment, reason: str, status: str = Payment.Status.CANCELLED) -> Payment:
    """A cancelled or dishonoured payment: its credits come back as charges, its allocations stop counting."""
    _require(by, "tax.collect", _("reverse payments"))
    if status not in (Payment.Status.CANCELLED, Payment.Status.DISHONOURED):
        raise field_error({"status": _("Cancelled or dishonoured.")}, code="invalid_choice")
    if not reason.strip():
        raise field_error({"reason": _("Say why the payment is reversed.")}, code="required")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != Payment.Status.VALID:
            raise field_error({"payment": _("Receipt %(number)s was already reversed.")
                               % {"number": payment.receipt_number}}, code="already_reversed")
        credited = payment.ledger_entries.aggregate(total=Sum("amount"))["total"] or Decimal(0)
        LedgerEntry.objects.create(holding=payment.holding, kind=LedgerEntry.Kind.REVERSAL, amount=-credited,
                                   payment=payment, fiscal_year=fiscal_year_of(timezone.localdate()),
                                   at=timezone.now(), memo=f"{payment.receipt_number}: {reason[:250]}")
        payment.status, payment.reversal_reason = status, reason.strip()[:300]
        payment.save(update_fields=["status", "reversal_reason"])
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=payment, before={"status": "valid"},
                     after={"status": status, "reason": reason})
    return payment


# --- adjustments --------------------------------------------------------------------------------------

def adjustment_request(*, by, holding: Holding, kind: str, amount, reason: str) -> Adjustment:
    _require(by, "tax.manage", _("request adjustments"))
    if kind not in Adjustment.Kind.values:
        raise field_error({"kind": _("Choose the kind of adjustment.")}, code="invalid_choice")
    if not reason.strip():
        raise field_error({"reason": _("Every adjustment needs a reason.")}, code="required")
    amount = money(amount)
    if amount == 0 or (amount < 0 and kind != Adjustment.Kind.CORRECTION):
        raise field_error({"amount": _("Only a correction may add to the due; enter an amount.")},
                          code="invalid_amount")
    adjustment = Adjustment.objects.create(holding=holding, kind=kind, amount=amount, reason=reason.strip(),
                                           requested_by_id=getattr(by, "pk", None))
    audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=adjustment,
                 after={"kind": kind, "amount": str(amount), "reason": reason})
    return adjustment


def adjustment_decide(*, by, adjustment: Adjustment, approve: bool) -> Adjustment:
    """Someone other than the requester, with approval rights, approves (the ledger changes) or rejects it."""
    _require(by, "tax.approve", _("approve adjustments"))
    with transaction.atomic():
        adjustment = Adjustment.objects.select_for_update().get(pk=adjustment.pk)
        if adjustment.status != Adjustment.Status.PENDING:
            raise field_error({"adjustment": _("Already decided.")}, code="already_decided")
        if by is not None and adjustment.requested_by_id == by.pk:
            raise field_error({"adjustment": _("You cannot approve your own request.")}, code="same_person")
        adjustment.status = Adjustment.Status.APPROVED if approve else Adjustment.Status.REJECTED
        adjustment.approved_by_id, adjustment.decided_at = getattr(by, "pk", None), timezone.now()
        adjustment.save(update_fields=["status", "approved_by_id", "decided_at"])
        if approve:
            LedgerEntry.objects.create(holding=adjustment.holding, kind=LedgerEntry.Kind.ADJUSTMENT,
                                       amount=-adjustment.amount, adjustment=adjustment, at=timezone.now(),
                                       fiscal_year=fiscal_year_of(timezone.localdate()),
                                       memo=f"{adjustment.get_kind_display()}: {adjustment.reason[:250]}")
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=adjustment, before={"status": "pending"},
                     after={"status": adjustment.status})
    return adjustment
