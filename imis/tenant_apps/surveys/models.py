"""Field surveys (tenant schema): which forms a municipality uses, and what devices sent, staged for review.

Nothing a device sends reaches the registry or the FSM workflow directly: a submission waits here until a
reviewer approves it (services.submission_approve), which calls the registry or FSM service that validates,
writes and audits.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EnabledForm(models.Model):
    """A catalogue form this municipality uses (catalogue.FORMS). A form without a row is not offered."""

    form_id = models.CharField(_("form"), max_length=64, unique=True)
    is_enabled = models.BooleanField(_("offered to devices"), default=True)
    ward_numbers = models.JSONField(
        _("limit the building and containment lists to these wards"), default=list, blank=True,
        help_text=_("Empty: every ward. A large city sends each team only its wards."),
    )
    changed_at = models.DateTimeField(auto_now=True)
    changed_by_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")

    class Meta:
        ordering = ["form_id"]

    def __str__(self) -> str:
        return self.form_id


def attachment_path(instance: SubmissionAttachment, filename: str) -> str:
    from django.db import connection

    submission = instance.submission
    safe_instance = submission.instance_id.replace("uuid:", "").replace("/", "_")[:80]
    return f"surveys/{connection.schema_name}/{submission.received_at:%Y/%m}/{safe_instance}/{filename}"


class Submission(models.Model):
    class Status(models.TextChoices):
        STAGED = "staged", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    instance_id = models.CharField(_("instance ID"), max_length=100, unique=True)
    form_id = models.CharField(_("form"), max_length=64, db_index=True)
    form_version = models.CharField(_("form version"), max_length=40)
    xml = models.TextField()
    xml_md5 = models.CharField(max_length=32)
    values = models.JSONField(default=dict, help_text="the answers, leaf name → text, as the device sent them")
    instance_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.STAGED)
    # A device sends large submissions in parts (same instanceID, some attachments each); the last part says so.
    is_complete = models.BooleanField(_("all parts received"), default=False)
    submitted_by_id = models.BigIntegerField(help_text="accounts.User id (public schema)")
    submitted_by_label = models.CharField(max_length=254)
    device_id = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What the submission is about, as found when it was staged (and found again when it is reviewed).
    target_model = models.CharField(max_length=40, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    target_label = models.CharField(_("record"), max_length=200, blank=True)
    change_count = models.PositiveIntegerField(default=0)
    issues = models.JSONField(default=list, blank=True, help_text="[{code, message}] found when staged")
    is_clean = models.BooleanField(_("clean"), default=False,
                                   help_text=_("Complete, no conflict, nothing to check: may be approved in bulk."))
    reviewed_by_id = models.BigIntegerField(null=True, blank=True)
    reviewed_by_label = models.CharField(max_length=254, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(_("reason"), max_length=500, blank=True)
    edits = models.JSONField(default=dict, blank=True, help_text="values the reviewer changed before approving")
    applied = models.JSONField(default=dict, blank=True, help_text="what approval changed: {field: [before, after]}")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "form_id", "-received_at"]),
            models.Index(fields=["target_model", "target_id"]),
            models.Index(fields=["submitted_by_id", "-received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.instance_id}"


class SubmissionAttachment(models.Model):
    """A file sent with a submission (photo), kept under MEDIA_ROOT with the submission and its record."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200)
    file = models.FileField(upload_to=attachment_path, max_length=300)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField()
    md5 = models.CharField(max_length=32)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filename"]
        constraints = [models.UniqueConstraint(fields=["submission", "filename"], name="uniq_submission_file")]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type in ("image/jpeg", "image/png", "image/webp", "image/gif")


class DeviceKey(models.Model):
    """A device's credential for HTTP Digest: the HA1 of (email, realm, API token key).

    Django keeps only salted password hashes, from which Digest cannot be checked; a device key is an API token
    (accounts.ApiToken, revocable on the profile page) whose Digest HA1 is kept here when it is issued.
    """

    token_id = models.BigIntegerField(unique=True, help_text="accounts.ApiToken id (public schema)")
    user_id = models.BigIntegerField()
    username = models.CharField(max_length=254, db_index=True)
    realm = models.CharField(max_length=100)
    ha1 = models.CharField(max_length=32)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.username} ({self.token_id})"
