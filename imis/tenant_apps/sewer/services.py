"""Sewer connection life cycle: apply → survey → approve (fee set) → pay the fee → connect; reject or cancel with a
reason.

Every step checks the actor's role, writes a timeline event and an audit entry in one transaction. Connecting
sets the building's sanitation system to the sewer through the registry's `building_update` (which audits the
building's change itself). The fee is receipted without gaps in its own series (SCR-), at the sewer desk, at the
payments counter or online (imis.tenant_apps.sewer.payables).
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection as db
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.platform.permissions import require_permission as _require
from imis.shared_apps.accounts.services import phone_to_e164
from imis.shared_apps.tenants.features import feature_settings
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.registry.models import Building, Sewer
from imis.tenant_apps.tax.numbering import number_next as _next

from .models import SewerConnection, SewerConnectionEvent, SewerConnectionPayment

S = SewerConnection.Status
CENT = Decimal("0.01")
PAYMENT_METHODS = ("cash", "cheque", "bank", "online")
MAX_SURVEY_DISTANCE_M = Decimal("5000")


def _event(connection: SewerConnection, action: str, by, note: str = "", at=None) -> None:
    SewerConnectionEvent.objects.create(connection=connection, at=at or timezone.now(), action=action,
                                        by_id=getattr(by, "pk", None),
                                        by_label=getattr(by, "email", "") or "system", note=note[:300])


def _locked(connection: SewerConnection) -> SewerConnection:
    return SewerConnection.objects.select_for_update().get(pk=connection.pk)


def _transition(connection: SewerConnection, allowed: tuple[str, ...], message: str) -> None:
    if connection.status not in allowed:
        raise field_error({"status": message}, code="invalid_transition")


def _metres(value, *, name: str) -> Decimal:
    try:
        metres = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError) as error:
        raise field_error({name: _("Give a distance in metres.")}, code="invalid_distance") from error
    if not Decimal(0) <= metres <= MAX_SURVEY_DISTANCE_M:
        raise field_error({name: _("The distance must be between 0 and %(max)s m.") % {"max": MAX_SURVEY_DISTANCE_M}},
                          code="invalid_distance")
    return metres


def max_connection_distance_m() -> int:
    return int(feature_settings(db.tenant, "sewer")["max_connection_distance_m"])


def sewer_distance_m(building: Building, sewer: Sewer) -> Decimal:
    """The shortest distance between the building's footprint and the sewer line, in metres on the spheroid."""
    with db.cursor() as cursor:
        cursor.execute("""SELECT ST_Distance(b.footprint::geography, s.geom::geography)
                          FROM registry_building b, registry_sewer s WHERE b.id = %s AND s.id = %s""",
                       [building.pk, sewer.pk])
        return Decimal(str(cursor.fetchone()[0])).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def nearest_sewer(building: Building) -> Sewer | None:
    with db.cursor() as cursor:
        cursor.execute("""SELECT s.id FROM registry_sewer s, registry_building b WHERE b.id = %s
                          ORDER BY s.geom <-> b.footprint, s.id LIMIT 1""", [building.pk])
        row = cursor.fetchone()
    return Sewer.objects.get(pk=row[0]) if row else None


# --- application --------------------------------------------------------------------------------------

def connection_apply(*, by, building: Building, applicant_name: str, applicant_phone: str = "",
                     sewer: Sewer | None = None, applied_on: datetime.date | None = None) -> SewerConnection:
    """Register a building's application to connect; the sewer line defaults to the nearest one on the map."""
    _require(by, "sewer.manage", action=_("register sewer connection applications"))
    errors = {}
    if not (applicant_name or "").strip():
        errors["applicant_name"] = _("Enter the applicant's name.")
    if building.sanitation_system == Building.SanitationSystem.SEWER:
        errors["building"] = _("Building %(bin)s is already connected to the sewer.") % {"bin": building.bin}
    if errors:
        raise field_error(errors, code="required" if "applicant_name" in errors else "already_connected")
    try:
        phone = phone_to_e164(applicant_phone.strip()) if applicant_phone and applicant_phone.strip() else ""
    except ValidationError as error:
        raise field_error({"applicant_phone": error.messages[0]}, code="invalid_phone") from error
    sewer = sewer or nearest_sewer(building)
    if sewer is None:
        raise field_error({"sewer": _("No sewer line is registered yet.")}, code="no_sewer")
    applied_on = applied_on or timezone.localdate()
    with transaction.atomic():
        Building.objects.select_for_update().filter(pk=building.pk).first()  # one application at a time
        open_one = SewerConnection.objects.filter(building=building, status__in=SewerConnection.OPEN_STATUSES).first()
        if open_one is not None:
            raise field_error({"building": _("Building %(bin)s already has application %(number)s in progress.") % {
                "bin": building.bin, "number": open_one.application_number}}, code="duplicate_application")
        connection = SewerConnection.objects.create(
            application_number=_next("sewer-application", f"SCA-{applied_on.year}-{{n:06d}}"),
            building=building, holding_id=building.holding_id, sewer=sewer, applicant_name=applicant_name.strip(),
            applicant_phone=phone, map_distance_m=sewer_distance_m(building, sewer), applied_on=applied_on)
        _event(connection, "applied", by, _("Sewer %(code)s, %(m)s m on the map") % {
            "code": sewer.code, "m": connection.map_distance_m})
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=connection,
                     after={"building": building.bin, "sewer": sewer.code, "applicant_name": connection.applicant_name,
                            "map_distance_m": str(connection.map_distance_m)})
    return connection


def connection_survey(*, by, connection: SewerConnection, is_feasible: bool, notes: str, distance_m,
                      sewer: Sewer | None = None, surveyed_on: datetime.date | None = None) -> SewerConnection:
    """Record the site survey: the measured distance to the sewer, the notes; an infeasible one is rejected."""
    _require(by, "sewer.manage", action=_("record sewer surveys"))
    if not (notes or "").strip():
        raise field_error({"notes": _("Write what the survey found.")}, code="required")
    metres = _metres(distance_m, name="distance_m")
    with transaction.atomic():
        connection = _locked(connection)
        _transition(connection, (S.APPLIED,), _("Only a new application is surveyed."))
        before = {"status": connection.status, "sewer": connection.sewer.code}
        if sewer is not None:
            connection.sewer = sewer
        connection.surveyed_on = surveyed_on or timezone.localdate()
        connection.surveyed_by_id, connection.survey_notes = getattr(by, "pk", None), notes.strip()
        connection.survey_distance_m = metres
        connection.status = S.SURVEYED if is_feasible else S.REJECTED
        if not is_feasible:
            connection.closed_on, connection.closing_reason = connection.surveyed_on, notes.strip()[:300]
        connection.save()
        _event(connection, "surveyed" if is_feasible else "rejected", by,
               f"{metres} m · {notes.strip()}")
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=connection, before=before,
                     after={"status": connection.status, "sewer": connection.sewer.code,
                            "survey_distance_m": str(metres), "is_feasible": is_feasible})
    return connection


def connection_approve(*, by, connection: SewerConnection, fee_amount) -> SewerConnection:
    """Approve a surveyed connection and set its fee; a fee of zero (waived) counts as paid at once."""
    _require(by, "sewer.manage", action=_("approve sewer connections"))
    try:
        fee = Decimal(str(fee_amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError) as error:
        raise field_error({"fee_amount": _("Give the fee in taka.")}, code="invalid_amount") from error
    if fee < 0 or fee >= Decimal("100000000"):
        raise field_error({"fee_amount": _("The fee cannot be negative.")}, code="invalid_amount")
    with transaction.atomic():
        connection = _locked(connection)
        _transition(connection, (S.SURVEYED,), _("Approve after a survey found the connection feasible."))
        limit = max_connection_distance_m()
        if connection.survey_distance_m is not None and connection.survey_distance_m > limit:
            raise field_error({"status": _("The building is %(m)s m from the sewer; connections reach %(limit)s m "
                                           "at most.") % {"m": connection.survey_distance_m, "limit": limit}},
                              code="too_far")
        connection.approved_on, connection.approved_by_id = timezone.localdate(), getattr(by, "pk", None)
        connection.fee_amount = fee
        connection.status = S.APPROVED if fee > 0 else S.FEE_PAID
        if fee == 0:
            connection.fee_paid_on = connection.approved_on
        connection.save()
        _event(connection, "approved", by, _("Fee ৳ %(fee)s") % {"fee": f"{fee:,.2f}"} if fee else _("Fee waived"))
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=connection, before={"status": S.SURVEYED},
                     after={"status": connection.status, "fee_amount": str(fee)})
    return connection


def connection_pay(*, by, connection: SewerConnection, method: str, reference: str = "",
                   received_at: datetime.datetime | None = None) -> SewerConnectionPayment:
    """Take the connection fee (at the desk, the counter or online) with a numbered receipt."""
    _require(by, "sewer.manage", "tax.collect", action=_("take sewer connection fees"))
    if method not in PAYMENT_METHODS:
        raise field_error({"method": _("Choose how it was paid.")}, code="invalid_choice")
    if method in ("cheque", "bank") and not (reference or "").strip():
        raise field_error({"reference": _("Enter the cheque or transfer reference.")}, code="required")
    received_at = received_at or timezone.now()
    with transaction.atomic():
        connection = _locked(connection)
        if connection.status != S.APPROVED or not connection.fee_amount:
            raise field_error({"status": _("Nothing to pay for this connection now.")}, code="nothing_due")
        payment = SewerConnectionPayment.objects.create(
            connection=connection, amount=connection.fee_amount, method=method, reference=(reference or "").strip(),
            receipt_number=_next("sewer-receipt", "SCR-{n:08d}"), received_at=received_at,
            cashier_id=getattr(by, "pk", None),
            cashier_label=getattr(by, "email", "") or ("online" if method == "online" else "system"))
        connection.status, connection.fee_paid_on = S.FEE_PAID, timezone.localtime(received_at).date()
        connection.save()
        _event(connection, "fee_paid", by, _("৳ %(amount)s, receipt %(receipt)s") % {
            "amount": f"{payment.amount:,.2f}", "receipt": payment.receipt_number}, at=received_at)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=connection, before={"status": S.APPROVED},
                     after={"status": S.FEE_PAID, "amount": str(payment.amount), "method": method,
                            "receipt": payment.receipt_number})
    return payment


def connection_connect(*, by, connection: SewerConnection, connected_on: datetime.date | None = None,
                       note: str = "") -> SewerConnection:
    """The building is on the sewer: its sanitation system and sewer code change through the registry's service."""
    _require(by, "sewer.manage", action=_("record sewer connections"))
    connected_on = connected_on or timezone.localdate()
    if connected_on > timezone.localdate():
        raise field_error({"connected_on": _("The connection date cannot be in the future.")}, code="future_date")
    with transaction.atomic():
        connection = _locked(connection)
        _transition(connection, (S.FEE_PAID,), _("Connect after the fee is paid."))
        if connection.applied_on and connected_on < connection.applied_on:
            raise field_error({"connected_on": _("The connection date is before the application.")},
                              code="invalid_date")
        try:
            registry.building_update(building=connection.building, by=by,
                                     sanitation_system=Building.SanitationSystem.SEWER,
                                     sewer_code=connection.sewer.code)
        except ValidationError as error:
            raise field_error({"status": _("The building's record could not be changed: %(problem)s") % {
                "problem": " ".join(error.messages)}}, code="building_invalid") from error
        connection.status, connection.connected_on = S.CONNECTED, connected_on
        connection.connected_by_id = getattr(by, "pk", None)
        connection.save()
        _event(connection, "connected", by, (note or "").strip())
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=connection, before={"status": S.FEE_PAID},
                     after={"status": S.CONNECTED, "connected_on": connected_on})
    return connection


def _close(*, by, connection, reason: str, allowed, status: str, message: str) -> SewerConnection:
    if not (reason or "").strip():
        raise field_error({"reason": _("Give the reason.")}, code="required")
    with transaction.atomic():
        connection = _locked(connection)
        _transition(connection, allowed, message)
        before = connection.status
        connection.status, connection.closed_on = status, timezone.localdate()
        connection.closing_reason = reason.strip()[:300]
        connection.save()
        _event(connection, status, by, reason.strip())
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=connection, before={"status": before},
                     after={"status": status, "reason": reason.strip()})
    return connection


def connection_reject(*, by, connection: SewerConnection, reason: str) -> SewerConnection:
    _require(by, "sewer.manage", action=_("reject sewer connection applications"))
    return _close(by=by, connection=connection, reason=reason, allowed=(S.APPLIED, S.SURVEYED), status=S.REJECTED,
                  message=_("Only an application not yet approved can be rejected."))


def connection_cancel(*, by, connection: SewerConnection, reason: str) -> SewerConnection:
    """The applicant withdraws (a paid fee is refunded outside this step)."""
    _require(by, "sewer.manage", action=_("cancel sewer connection applications"))
    return _close(by=by, connection=connection, reason=reason,
                  allowed=(S.APPLIED, S.SURVEYED, S.APPROVED, S.FEE_PAID), status=S.CANCELLED,
                  message=_("Only an application in progress can be cancelled."))
