"""Outside data: links to systems outside IMIS, one per kind and municipality (health data in, a water utility's
customer records in, yearly sanitation indicators out to the national dashboard), the runs of each link with
their reports, and the data they bring in.

A link's secret (the utility's API token, the national dashboard's shared secret) is stored encrypted
(imis.platform.crypto); it is never shown again once saved.
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from imis.platform.crypto import decrypt, encrypt
from imis.tenant_apps.registry.models import Building, Ward
from imis.tenant_apps.water.models import WaterConnection


class Link(models.Model):
    class Kind(models.TextChoices):
        HEALTH = "health", _("Health data")
        UTILITY = "utility", _("Water utility customers")
        NATIONAL = "national", _("National dashboard")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, unique=True)
    is_enabled = models.BooleanField(_("run on schedule"), default=False)
    endpoint_url = models.URLField(_("endpoint URL"), max_length=500, blank=True)
    secret_header = models.CharField(_("token header"), max_length=60, blank=True,
                                     help_text=_("For example Authorization; empty sends no token."))
    secret_encrypted = models.TextField(blank=True)
    source_file = models.CharField(max_length=500, blank=True, help_text="the dropped file, under MEDIA_ROOT")
    options = models.JSONField(default=dict, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=10, blank=True)
    last_error = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)
    updated_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def secret(self) -> str:
        return decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = encrypt(value)

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class LinkRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("Run now")
        SCHEDULE = "schedule", _("Scheduled")
        UPLOAD = "upload", _("Upload")

    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="runs")
    job_id = models.UUIDField(null=True, blank=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING, db_index=True)
    started = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self) -> str:
        return f"{self.link.kind} run {self.pk}"


class PushAttempt(models.Model):
    """One HTTP attempt of a push to the national dashboard (a run retries on 5xx and connection errors)."""

    run = models.ForeignKey(LinkRun, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["run", "number"]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.number}: {self.status_code or self.error}"


class DiseaseCase(models.Model):
    """Waterborne disease cases reported by the health system, at a place or for a ward."""

    class Kind(models.TextChoices):
        CASES = "cases", _("Cases")
        HOTSPOT = "hotspot", _("Outbreak hotspot")

    run = models.ForeignKey(LinkRun, on_delete=models.PROTECT, related_name="disease_cases")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.CASES)
    disease = models.CharField(_("disease"), max_length=60, db_index=True)
    reported_on = models.DateField(_("date"), db_index=True)
    cases = models.PositiveIntegerField(_("cases"))
    deaths = models.PositiveIntegerField(_("deaths"), default=0)
    ward = models.ForeignKey(Ward, verbose_name=_("ward"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="disease_cases")
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)

    class Meta:
        ordering = ["-reported_on", "id"]

    def __str__(self) -> str:
        return f"{self.disease} {self.reported_on}: {self.cases}"


class WaterSample(models.Model):
    """A water quality sample: E. coli (or total coliform) count per 100 ml against the threshold."""

    run = models.ForeignKey(LinkRun, on_delete=models.PROTECT, related_name="water_samples")
    sample_code = models.CharField(_("sample"), max_length=40, blank=True)
    sampled_on = models.DateField(_("date"), db_index=True)
    parameter = models.CharField(_("parameter"), max_length=40, default="E. coli")
    cfu_per_100ml = models.DecimalField(_("CFU/100 ml"), max_digits=10, decimal_places=1)
    threshold = models.DecimalField(_("threshold (CFU/100 ml)"), max_digits=10, decimal_places=1)
    is_pass = models.BooleanField(_("passes"))
    ward = models.ForeignKey(Ward, verbose_name=_("ward"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="water_samples")
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)

    class Meta:
        ordering = ["-sampled_on", "id"]

    def __str__(self) -> str:
        return f"{self.sample_code or self.pk} {self.sampled_on}"


class UtilityAccount(models.Model):
    """The water utility's view of a customer, as of the last sync, matched to IMIS by customer ID."""

    customer_id = models.CharField(_("customer ID"), max_length=40, unique=True)
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    connection_status = models.CharField(_("connection status"), max_length=40, blank=True)
    payment_status = models.CharField(_("payment status"), max_length=40, blank=True)
    arrears = models.DecimalField(_("arrears (BDT)"), max_digits=12, decimal_places=2, null=True, blank=True)
    water_connection = models.ForeignKey(WaterConnection, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="utility_accounts")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="utility_accounts")
    last_run = models.ForeignKey(LinkRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["customer_id"]

    def __str__(self) -> str:
        return self.customer_id

    @property
    def is_matched(self) -> bool:
        return self.water_connection_id is not None or self.building_id is not None
