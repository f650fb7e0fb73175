"""Field surveys: which forms a municipality offers, receiving what devices send (staged, never applied), and the
review that applies it: approve (as is, or after the reviewer's edits), bulk-approve the clean ones, reject.

Approval goes through the registry services (building_create/update, containment_create/update) or the FSM
services (application_record_emptying, disposal_record), which validate, write and audit; the submission's own
status change is audited too, with exactly what was applied.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.shared_apps.accounts.selectors import user_roles_in
from imis.shared_apps.tenants.features import enabled_features_of
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record

from .catalogue import FORMS, FormSpec, form_spec
from .changes import Review, _jsonable, handler_for
from .models import DeviceKey, EnabledForm, Submission, SubmissionAttachment
from .xforms import SubmissionXmlError, form_compiled, submission_parse

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_XML_BYTES = 2 * 1024 * 1024
_SAFE_FILENAME = re.compile(r"^[\w.\-() ]{1,200}$")


def max_attachment_bytes() -> int:
    return int(getattr(settings, "IMIS_SURVEY_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES))


def max_request_bytes() -> int:
    """What one POST may carry (sent to devices as X-OpenRosa-Accept-Content-Length; they split above it)."""
    return int(getattr(settings, "IMIS_SURVEY_MAX_REQUEST_BYTES", 2 * max_attachment_bytes()))


class OpenRosaError(Exception):
    """A refusal the device shows to its user: HTTP status and a message."""

    def __init__(self, status: int, message: str, *, code: str):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


# --- which forms --------------------------------------------------------------------------------------

def form_is_available(spec: FormSpec, municipality, enabled_ids: set[str]) -> bool:
    """Enabled by the municipality, and its feature (if any) switched on."""
    if spec.form_id not in enabled_ids:
        return False
    return not spec.features or bool(set(spec.features) & enabled_features_of(municipality))


def forms_available(municipality) -> list[FormSpec]:
    enabled = set(EnabledForm.objects.filter(is_enabled=True).values_list("form_id", flat=True))
    return [spec for spec in FORMS.values() if form_is_available(spec, municipality, enabled)]


def forms_for_roles(municipality, roles) -> list[FormSpec]:
    return [spec for spec in forms_available(municipality) if spec.submit_roles & set(roles)]


def _require_settings(by) -> None:
    if by is not None and "municipal_admin" not in user_roles_in(user=by, municipality=connection.tenant):
        raise ValidationError(_("Only the municipal admin chooses the field forms."), code="forbidden")


def form_enable(*, form_id: str, by, is_enabled: bool = True, ward_numbers: list[int] | None = None) -> EnabledForm:
    """Offer a catalogue form to this municipality's devices (or stop offering it)."""
    _require_settings(by)
    spec = form_spec(form_id)
    if spec is None:
        raise ValidationError(_("Unknown form “%(form)s”.") % {"form": form_id}, code="unknown_form")
    if is_enabled and spec.features and not set(spec.features) & enabled_features_of(connection.tenant):
        raise ValidationError(_("%(form)s needs one of these features: %(features)s.")
                              % {"form": spec.title, "features": spec.feature_names}, code="feature_disabled")
    numbers = sorted({int(number) for number in (ward_numbers or [])})
    with transaction.atomic():
        row, created = EnabledForm.objects.select_for_update().get_or_create(form_id=form_id, defaults={
            "is_enabled": is_enabled, "ward_numbers": numbers, "changed_by_id": getattr(by, "pk", None)})
        before = None if created else {"is_enabled": row.is_enabled, "ward_numbers": row.ward_numbers}
        if not created:
            row.is_enabled, row.ward_numbers, row.changed_by_id = is_enabled, numbers, getattr(by, "pk", None)
            row.save()
        after = {"is_enabled": row.is_enabled, "ward_numbers": row.ward_numbers}
        if before != after:
            audit_record(actor=by, action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
                         instance=row, before=before, after=after)
    return row


# --- receiving ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    """One attachment of a POST: its name as the form refers to it, content type and bytes."""

    filename: str
    content_type: str
    content: bytes


def attachment_name_clean(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/"))
    if not _SAFE_FILENAME.match(base) or base in (".", ".."):
        raise OpenRosaError(400, _("“%(name)s” is not an acceptable file name.") % {"name": name[:80]},
                            code="bad_filename")
    return base


def _human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 100 * 1024 else f"{size / 1024:.0f} kB"


def submission_receive(*, municipality, user, roles, xml: bytes, uploads: list[Upload],
                       is_incomplete: bool = False) -> tuple[Submission, bool]:
    """Stage what a device sent. Returns (submission, created).

    A part of a split submission (same instanceID, same XML, more attachments) is merged into the first; a
    duplicate is accepted and changes nothing. Every refusal raises OpenRosaError before anything is stored.
    """
    if len(xml) > MAX_XML_BYTES:
        raise OpenRosaError(413, _("The form data is too large."), code="xml_too_large")
    try:
        parsed = submission_parse(xml)
    except SubmissionXmlError:
        raise OpenRosaError(400, _("The submission is not well-formed XML; nothing was stored. Send it again "
                                   "from the device."), code="malformed_xml")
    spec = form_spec(parsed.form_id)
    if spec is None:
        raise OpenRosaError(404, _("This server has no form “%(form)s”.") % {"form": parsed.form_id[:80]},
                            code="unknown_form")
    if spec not in forms_available(municipality):
        raise OpenRosaError(404, _("%(form)s is not in use in %(municipality)s.")
                            % {"form": spec.title, "municipality": municipality.name}, code="form_not_enabled")
    if not spec.submit_roles & set(roles):
        raise OpenRosaError(403, _("Your role in %(municipality)s does not send the %(form)s.")
                            % {"municipality": municipality.name, "form": spec.title}, code="role")
    compiled = form_compiled(spec.form_id)
    if parsed.version != compiled.version:
        raise OpenRosaError(409, _("This is version %(sent)s of the %(form)s; the server takes version %(current)s. "
                                   "Get the blank form again, fill it in and send it.")
                            % {"sent": parsed.version or "?", "form": spec.title, "current": compiled.version},
                            code="wrong_version")
    if not parsed.instance_id:
        raise OpenRosaError(400, _("The submission has no instanceID."), code="no_instance_id")
    limit = max_attachment_bytes()
    files = []
    for upload in uploads:
        name = attachment_name_clean(upload.filename)
        if len(upload.content) > limit:
            raise OpenRosaError(413, _("%(name)s is %(size)s; files may be at most %(limit)s. Nothing was stored.")
                                % {"name": name, "size": _human_size(len(upload.content)),
                                   "limit": _human_size(limit)}, code="attachment_too_large")
        files.append(Upload(name, upload.content_type, upload.content))
    xml_md5 = hashlib.md5(xml, usedforsecurity=False).hexdigest()
    written: list[SubmissionAttachment] = []
    try:
        with transaction.atomic():
            submission, created = _submission_locked_or_new(parsed, spec, xml, xml_md5, user, is_incomplete)
            if not created:
                if submission.form_id != parsed.form_id or submission.xml_md5 != xml_md5:
                    raise OpenRosaError(409, _("A different submission with this instanceID was already received."),
                                        code="instance_conflict")
                if submission.submitted_by_id != user.pk:
                    raise OpenRosaError(409, _("This submission was sent by another account."),
                                        code="instance_conflict")
            written = _attachments_store(submission, files)
            if not created and not is_incomplete and not submission.is_complete:
                submission.is_complete = True
                submission.save(update_fields=["is_complete", "updated_at"])
            if created or written or submission.is_complete:
                if submission.status == Submission.Status.STAGED:
                    submission_assess(submission)
            if created:
                audit_record(actor=user, action=AuditEntry.Action.CREATE, instance=submission,
                             after={"form": spec.form_id, "version": parsed.version, "instance_id": parsed.instance_id,
                                    "files": [upload.filename for upload in files]})
    except BaseException:
        for attachment in written:
            attachment.file.delete(save=False)
        raise
    return submission, created


def _submission_locked_or_new(parsed, spec, xml: bytes, xml_md5: str, user, is_incomplete: bool):
    existing = Submission.objects.select_for_update().filter(instance_id=parsed.instance_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                instance_id=parsed.instance_id, form_id=spec.form_id, form_version=parsed.version,
                xml=xml.decode("utf-8", errors="replace"), xml_md5=xml_md5, values=parsed.values,
                instance_name=parsed.instance_name[:200], is_complete=not is_incomplete, submitted_by_id=user.pk,
                submitted_by_label=user.email, device_id=parsed.values.get("deviceid", "")[:100],
            )
        return submission, True
    except IntegrityError:  # another part of it arrived at the same moment
        return Submission.objects.select_for_update().get(instance_id=parsed.instance_id), False


def _attachments_store(submission: Submission, files: list[Upload]) -> list[SubmissionAttachment]:
    present = {a.filename: a for a in submission.attachments.all()}
    written = []
    for upload in files:
        md5 = hashlib.md5(upload.content, usedforsecurity=False).hexdigest()
        existing = present.get(upload.filename)
        if existing is not None:
            if existing.md5 == md5 or submission.status != Submission.Status.STAGED:
                continue
            existing.file.delete(save=False)
            existing.delete()
        attachment = SubmissionAttachment(submission=submission, filename=upload.filename,
                                          content_type=upload.content_type[:100], size=len(upload.content), md5=md5)
        attachment.file.save(upload.filename, ContentFile(upload.content), save=False)
        written.append(attachment)
        attachment.save()
    return written


# --- assessing ----------------------------------------------------------------------------------------

def submission_review(submission: Submission, *, edits: dict | None = None) -> Review:
    """The field-by-field diff of a submission against the register as it is now, with its issues."""
    return handler_for(submission.form_id).review(submission, edits)


def submission_assess(submission: Submission) -> Submission:
    """Store what the review found (record, number of changes, issues, clean) for the queue's list."""
    try:
        review = submission_review(submission)
    except Exception:  # noqa: BLE001 - staging must not fail on an unforeseen answer; the reviewer sees it raw
        logger.exception("surveys: could not assess submission %s", submission.instance_id)
        submission.issues, submission.is_clean = [{"code": "unreadable", "params": {}}], False
    else:
        target = review.target
        submission.target_model = review.target_model
        submission.target_id = getattr(target, "pk", None)
        submission.target_label = review.target_label[:200]
        submission.change_count = len(review.changes)
        submission.issues = [issue.as_json() for issue in review.issues]
        submission.is_clean = review.is_clean
    submission.save(update_fields=["target_model", "target_id", "target_label", "change_count", "issues", "is_clean",
                                   "updated_at"])
    return submission


# --- reviewing ----------------------------------------------------------------------------------------

def can_review(user, spec: FormSpec) -> bool:
    return bool(spec.review_roles & user_roles_in(user=user, municipality=connection.tenant))


def _require_review(by, spec: FormSpec) -> None:
    if by is not None and not can_review(by, spec):
        raise ValidationError(_("Your role does not review the %(form)s.") % {"form": spec.title}, code="forbidden")


def _locked_staged(submission: Submission) -> Submission:
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if submission.status != Submission.Status.STAGED:
        raise ValidationError(_("This submission was already %(status)s.")
                              % {"status": submission.get_status_display().lower()}, code="already_reviewed")
    return submission


def submission_approve(*, submission: Submission, by, edits: dict | None = None) -> Submission:
    """Apply the submission (with the reviewer's edits over the device's answers) through the domain services.

    Raises ValidationError (with a code) when an issue blocks it or a service refuses it; nothing is applied then.
    """
    spec = form_spec(submission.form_id)
    _require_review(by, spec)
    if spec.approval_blocked:
        raise ValidationError(str(spec.approval_blocked), code="approval_blocked")
    with transaction.atomic():
        submission = _locked_staged(submission)
        review = submission_review(submission, edits=edits)
        blocking = [issue.message for issue in review.issues if issue.is_blocking]
        if blocking:
            raise ValidationError(" ".join(blocking), code="blocked")
        if review.action != "record" and not review.changes:
            raise ValidationError(_("Nothing differs from the register: reject it or leave it."), code="no_changes")
        instance, applied = handler_for(submission.form_id).apply(submission, review, by=by)
        submission.status = Submission.Status.APPROVED
        submission.reviewed_by_id, submission.reviewed_by_label = getattr(by, "pk", None), getattr(by, "email", "")
        submission.reviewed_at = timezone.now()
        submission.edits = {name: _jsonable(value) for name, value in (edits or {}).items()}
        submission.applied = applied
        submission.target_model = instance._meta.label_lower
        submission.target_id = instance.pk
        submission.target_label = str(instance)[:200]
        submission.save()
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=submission,
                     before={"status": Submission.Status.STAGED},
                     after={"status": submission.status, "record": f"{submission.target_model}#{instance.pk}",
                            "applied": applied, **({"edits": submission.edits} if submission.edits else {})})
    return submission


def submissions_approve_clean(*, submission_ids: list[int], by) -> tuple[list[Submission], list[tuple[Submission, str]]]:
    """Bulk approval: each clean submission on its own (one refusal does not stop the others).

    Returns (approved, skipped with the reason). A submission that is no longer clean is skipped, not forced.
    """
    approved, skipped = [], []
    for submission in Submission.objects.filter(pk__in=submission_ids, status=Submission.Status.STAGED):
        review = submission_review(submission)
        if not review.is_clean:
            reasons = [issue.message for issue in review.issues] or [_("nothing to apply")]
            skipped.append((submission, "; ".join(reasons)))
            continue
        try:
            approved.append(submission_approve(submission=submission, by=by))
        except ValidationError as error:
            skipped.append((submission, " ".join(error.messages)))
    return approved, skipped


def submission_reject(*, submission: Submission, by, reason: str) -> Submission:
    spec = form_spec(submission.form_id)
    _require_review(by, spec)
    reason = (reason or "").strip()
    if not reason:
        raise field_error({"reason": _("Say why, so the surveyor can correct it.")}, code="required")
    with transaction.atomic():
        submission = _locked_staged(submission)
        submission.status = Submission.Status.REJECTED
        submission.rejection_reason = reason[:500]
        submission.reviewed_by_id, submission.reviewed_by_label = getattr(by, "pk", None), getattr(by, "email", "")
        submission.reviewed_at = timezone.now()
        submission.save()
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=submission,
                     before={"status": Submission.Status.STAGED},
                     after={"status": submission.status, "reason": submission.rejection_reason})
    return submission


# --- devices ------------------------------------------------------------------------------------------

def device_key_issue(*, user, municipality, name: str) -> tuple[DeviceKey, str]:
    """An API token for a phone, usable with Basic or Digest. Returns (device key, the key: shown once)."""
    from imis.shared_apps.accounts.services import api_token_create

    from .auth import digest_ha1, realm_of

    name = (name or "").strip()
    if not name:
        raise field_error({"name": _("Name the device, e.g. “Rahim's phone”.")}, code="required")
    if not set(user_roles_in(user=user, municipality=municipality)) & {
            role for spec in FORMS.values() for role in spec.submit_roles}:
        raise ValidationError(_("Your role does not send field forms."), code="forbidden")
    with transaction.atomic():
        token, key = api_token_create(user=user, municipality=municipality, name=f"ODK Collect: {name}"[:100])
        realm = realm_of(municipality)
        device = DeviceKey.objects.create(token_id=token.pk, user_id=user.pk, username=user.email.lower(), realm=realm,
                                          ha1=digest_ha1(username=user.email.lower(), realm=realm, secret=key))
    return device, key
