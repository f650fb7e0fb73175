"""Trade licence life cycle: apply → inspect → approve → pay the fee (certificate for the licence year) → renew
each year; expiry at the end of the licence year, SMS reminders before it, cancellation.

Every step checks the actor's role, writes a timeline event and an audit entry in one transaction. Fees are
receipted without gaps in their own series (the same counter mechanism as holding tax receipts).
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.platform.formatting import fiscal_year_label
from imis.platform.permissions import require_permission as _require
from imis.shared_apps.accounts.services import phone_to_e164
from imis.shared_apps.tenants.features import feature_settings
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.tax.numbering import number_next as _next

from .models import BusinessCategory, CategoryFee, Certificate, Licence, LicenceEvent, LicencePayment, Reminder

S = Licence.Status
CENT = Decimal("0.01")
RENEWAL_WINDOW_DAYS = 60
REMINDER_DAYS = (30, 7)
PAYMENT_METHODS = ("cash", "cheque", "bank", "online")


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _event(licence: Licence, action: str, by, note: str = "", at=None) -> None:
    LicenceEvent.objects.create(licence=licence, at=at or timezone.now(), action=action,
                                by_id=getattr(by, "pk", None), by_label=getattr(by, "email", "") or "system",
                                note=note[:300])


def _locked(licence: Licence) -> Licence:
    return Licence.objects.select_for_update().get(pk=licence.pk)


# --- licence years ------------------------------------------------------------------------------------

def licence_year_start_month() -> int:
    return int(feature_settings(connection.tenant, "trade_licence")["licence_year_start_month"])


def licence_year_of(day: datetime.date) -> int:
    start = licence_year_start_month()
    return day.year if day.month >= start else day.year - 1


def licence_year_bounds(year: int) -> tuple[datetime.date, datetime.date]:
    start = datetime.date(year, licence_year_start_month(), 1)
    end = datetime.date(year + 1, licence_year_start_month(), 1) - datetime.timedelta(days=1)
    return start, end


# --- categories and fees ------------------------------------------------------------------------------

def category_fee_set(*, by, category: BusinessCategory, fiscal_year: int, new_fee, renewal_fee,
                     late_fee_percent=20) -> CategoryFee:
    _require(by, "licence.manage", action=_("set licence fees"))
    if money(new_fee) < 0 or money(renewal_fee) < 0:
        raise field_error({"new_fee": _("Fees cannot be negative.")}, code="invalid_amount")
    with transaction.atomic():
        fee, _created = CategoryFee.objects.update_or_create(
            category=category, fiscal_year=fiscal_year,
            defaults={"new_fee": money(new_fee), "renewal_fee": money(renewal_fee),
                      "late_fee_percent": Decimal(str(late_fee_percent))})
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=fee,
                     after={"new_fee": str(fee.new_fee), "renewal_fee": str(fee.renewal_fee),
                            "late_fee_percent": str(fee.late_fee_percent)})
    return fee


def fee_for(category: BusinessCategory, fiscal_year: int) -> CategoryFee:
    fee = CategoryFee.objects.filter(category=category, fiscal_year=fiscal_year).first()
    if fee is None:
        raise field_error({"category": _("No fee is set for %(category)s in %(year)s.") % {
            "category": category.name, "year": fiscal_year_label(fiscal_year)}}, code="no_fee")
    return fee


# --- application, inspection, approval ----------------------------------------------------------------

def licence_apply(*, by, business_name: str, category: BusinessCategory, holding, owner_name: str,
                  owner_phone: str = "", owner_national_id: str = "", address: str = "", business_name_bn: str = "",
                  applied_on: datetime.date | None = None) -> Licence:
    _require(by, "licence.manage", action=_("register licence applications"))
    errors = {}
    if not business_name.strip():
        errors["business_name"] = _("Enter the business's name.")
    if not owner_name.strip():
        errors["owner_name"] = _("Enter the owner's name.")
    if not category.is_active:
        errors["category"] = _("This category is no longer in use.")
    if errors:
        raise field_error(errors, code="required")
    try:
        phone = phone_to_e164(owner_phone.strip()) if owner_phone and owner_phone.strip() else ""
    except ValidationError as error:
        raise field_error({"owner_phone": error.messages[0]}, code="invalid_phone") from error
    applied_on = applied_on or timezone.localdate()
    with transaction.atomic():
        licence = Licence.objects.create(
            application_number=_next("tl-application", f"TLA-{applied_on.year}-{{n:06d}}"),
            business_name=business_name.strip(), business_name_bn=business_name_bn.strip(), category=category,
            holding=holding, address=address.strip() or holding.address, owner_name=owner_name.strip(),
            owner_phone=phone, owner_national_id=owner_national_id.strip(), applied_on=applied_on)
        _event(licence, "applied", by)
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=licence,
                     after={"business_name": licence.business_name, "category": category.code,
                            "holding": holding.holding_id})
    return licence


def licence_inspect(*, by, licence: Licence, passed: bool, notes: str,
                    inspected_on: datetime.date | None = None) -> Licence:
    _require(by, "licence.manage", action=_("record inspections"))
    if not notes.strip():
        raise field_error({"notes": _("Write what the inspection found.")}, code="required")
    with transaction.atomic():
        licence = _locked(licence)
        if licence.status != S.APPLIED:
            raise field_error({"status": _("Only a new application is inspected.")}, code="invalid_transition")
        licence.inspected_on, licence.inspection_passed = inspected_on or timezone.localdate(), passed
        licence.inspection_notes, licence.inspected_by_id = notes.strip(), getattr(by, "pk", None)
        licence.status = S.INSPECTED if passed else S.REJECTED
        if not passed:
            licence.closed_on, licence.closing_reason = licence.inspected_on, notes.strip()[:300]
        licence.save()
        _event(licence, "inspected" if passed else "rejected", by, notes)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=licence, before={"status": S.APPLIED},
                     after={"status": licence.status, "inspection_passed": passed})
    return licence


def licence_approve(*, by, licence: Licence) -> Licence:
    _require(by, "licence.manage", action=_("approve licences"))
    with transaction.atomic():
        licence = _locked(licence)
        if licence.status != S.INSPECTED:
            raise field_error({"status": _("Approve after a passed inspection.")}, code="invalid_transition")
        licence.status, licence.approved_on, licence.approved_by_id = S.APPROVED, timezone.localdate(), getattr(
            by, "pk", None)
        licence.save()
        _event(licence, "approved", by)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=licence, before={"status": S.INSPECTED},
                     after={"status": S.APPROVED})
    return licence


def licence_reject(*, by, licence: Licence, reason: str) -> Licence:
    _require(by, "licence.manage", action=_("reject applications"))
    if not reason.strip():
        raise field_error({"reason": _("Say why the application is rejected.")}, code="required")
    with transaction.atomic():
        licence = _locked(licence)
        if licence.status not in (S.APPLIED, S.INSPECTED, S.APPROVED):
            raise field_error({"status": _("Only an application can be rejected.")}, code="invalid_transition")
        before = licence.status
        licence.status, licence.closed_on, licence.closing_reason = S.REJECTED, timezone.localdate(), reason[:300]
        licence.save()
        _event(licence, "rejected", by, reason)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=licence, before={"status": before},
                     after={"status": S.REJECTED, "reason": reason})
    return licence


# --- fees, certificates, renewal ----------------------------------------------------------------------

def fee_due(licence: Licence, *, on: datetime.date | None = None) -> dict | None:
    """What paying now buys: the licence year, new or renewal, fee and late fee; None when nothing can be paid."""
    on = on or timezone.localdate()
    current_year = licence_year_of(on)
    if licence.status == S.APPROVED:
        fee = fee_for(licence.category, current_year)
        return {"kind": LicencePayment.Kind.NEW, "fiscal_year": current_year, "fee": fee.new_fee,
                "late_fee": Decimal("0.00"), "amount": fee.new_fee}
    if licence.status not in (S.ACTIVE, S.EXPIRED) or licence.valid_until is None:
        return None
    if licence.valid_until >= on:
        if (licence.valid_until - on).days > RENEWAL_WINDOW_DAYS:
            return None  # too early to renew
        year = licence_year_of(licence.valid_until + datetime.timedelta(days=1))
        late = Decimal("0.00")
    else:
        year = current_year
        late = None
    fee = fee_for(licence.category, year)
    if late is None:
        late = money(fee.renewal_fee * fee.late_fee_percent / 100)
    return {"kind": LicencePayment.Kind.RENEWAL, "fiscal_year": year, "fee": fee.renewal_fee, "late_fee": late,
            "amount": fee.renewal_fee + late}


def licence_pay(*, by, licence: Licence, method: str, reference: str = "",
                received_at: datetime.datetime | None = None) -> Certificate:
    """Take the fee (new licence or renewal) and issue the year's certificate."""
    _require(by, "licence.manage", "tax.collect", action=_("take licence fees"))
    if method not in PAYMENT_METHODS:
        raise field_error({"method": _("Choose how it was paid.")}, code="invalid_choice")
    if method in ("cheque", "bank") and not reference.strip():
        raise field_error({"reference": _("Enter the cheque or transfer reference.")}, code="required")
    received_at = received_at or timezone.now()
    day = timezone.localtime(received_at).date()
    with transaction.atomic():
        licence = _locked(licence)
        due = fee_due(licence, on=day)
        if due is None:
            raise field_error({"status": _("Nothing to pay for this licence now.")}, code="nothing_due")
        start, end = licence_year_bounds(due["fiscal_year"])
        payment = LicencePayment.objects.create(
            licence=licence, kind=due["kind"], fiscal_year=due["fiscal_year"], fee=due["fee"],
            late_fee=due["late_fee"], amount=due["amount"], method=method, reference=reference.strip(),
            receipt_number=_next("tl-receipt", "TLR-{n:08d}"), received_at=received_at,
            cashier_id=getattr(by, "pk", None), cashier_label=getattr(by, "email", "") or "system")
        if not licence.number:
            licence.number = _next("tl-number", "TL-{n:06d}")
            licence.first_issued_on = day
        before = licence.status
        licence.status, licence.valid_until = S.ACTIVE, end
        licence.save()
        certificate = Certificate.objects.create(
            licence=licence, number=f"{licence.number}-{due['fiscal_year']}", fiscal_year=due["fiscal_year"],
            valid_from=max(start, day) if due["kind"] == LicencePayment.Kind.NEW else start, valid_until=end,
            issued_on=day, payment=payment)
        _event(licence, "issued" if due["kind"] == LicencePayment.Kind.NEW else "renewed", by,
               f"{certificate.number} · {payment.receipt_number}", at=received_at)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=licence, before={"status": before},
                     after={"status": S.ACTIVE, "certificate": certificate.number, "valid_until": end,
                            "amount": str(payment.amount), "receipt": payment.receipt_number})
    return certificate


def licence_cancel(*, by, licence: Licence, reason: str) -> Licence:
    _require(by, "licence.manage", action=_("cancel licences"))
    if not reason.strip():
        raise field_error({"reason": _("Say why the licence is cancelled.")}, code="required")
    with transaction.atomic():
        licence = _locked(licence)
        if licence.status not in (S.ACTIVE, S.EXPIRED):
            raise field_error({"status": _("Only an issued licence can be cancelled.")}, code="invalid_transition")
        before = licence.status
        licence.status, licence.closed_on, licence.closing_reason = S.CANCELLED, timezone.localdate(), reason[:300]
        licence.save()
        _event(licence, "cancelled", by, reason)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=licence, before={"status": before},
                     after={"status": S.CANCELLED, "reason": reason})
    return licence


# --- expiry and reminders (the daily task) ------------------------------------------------------------

def licences_expire(*, today: datetime.date | None = None) -> int:
    """Valid licences past their last day become expired (the certificates stay as history)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        ids = list(Licence.objects.select_for_update().filter(status=S.ACTIVE, valid_until__lt=today)
                   .values_list("pk", flat=True))
        if not ids:
            return 0
        Licence.objects.filter(pk__in=ids).update(status=S.EXPIRED)
        now = timezone.now()
        LicenceEvent.objects.bulk_create([LicenceEvent(licence_id=pk, at=now, action="expired", by_label="system")
                                          for pk in ids])
        AuditEntry.objects.create(actor_label="system", action=AuditEntry.Action.BULK_UPDATE, model="licences.licence", object_id="*",
                                  object_label=f"{len(ids)} licences expired", after={"ids": ids[:1000]})
    return len(ids)


def reminder_text(licence: Licence, municipality) -> str:
    language = getattr(municipality, "default_language", "") or "bn"
    with translation.override(language):
        from imis.platform.formatting import to_bangla_digits

        day = licence.valid_until.strftime("%d/%m/%Y")
        if language == "bn":
            name = municipality.name_bn or municipality.name
            return (f"{name}: আপনার ট্রেড লাইসেন্স {licence.number} ({licence.business_name}) "
                    f"{to_bangla_digits(day)} তারিখে মেয়াদোত্তীর্ণ হবে। অনুগ্রহ করে নবায়ন করুন।")
        return (f"{municipality.name}: trade licence {licence.number} ({licence.business_name}) expires on {day}. "
                f"Please renew it.")


def licence_reminders_send(*, today: datetime.date | None = None, lead_days=REMINDER_DAYS) -> dict:
    """SMS the owners of licences that expire within the lead times (30 and 7 days): one message per licence,
    licence year and lead time, never twice; a failed send is recorded and tried again the next day."""
    from imis.platform.sms import SmsError, sms_gateway

    today = today or timezone.localdate()
    leads = sorted(lead_days)
    gateway = sms_gateway()
    municipality = connection.tenant
    sent = failed = 0
    horizon = today + datetime.timedelta(days=leads[-1])
    candidates = Licence.objects.filter(status=S.ACTIVE, valid_until__gte=today, valid_until__lte=horizon)
    for licence in candidates.iterator():
        days_left = (licence.valid_until - today).days
        lead = next(lead for lead in leads if days_left <= lead)
        existing = Reminder.objects.filter(licence=licence, valid_until=licence.valid_until, days_before=lead).first()
        if existing is not None and not existing.error:
            continue
        reference, error = "", ""
        if not licence.owner_phone:
            error = "no phone number"
        else:
            try:
                reference = gateway.send(licence.owner_phone, reminder_text(licence, municipality))
            except SmsError as problem:
                error = str(problem)[:300]
        Reminder.objects.update_or_create(licence=licence, valid_until=licence.valid_until, days_before=lead,
                                          defaults={"sent_at": timezone.now(), "to": licence.owner_phone,
                                                    "reference": reference, "error": error})
        if error:
            failed += 1
        else:
            sent += 1
            _event(licence, "reminded", None, _("Expiry reminder sent %(days)s days before") % {"days": days_left})
    return {"sent": sent, "failed": failed}
