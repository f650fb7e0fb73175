"""Sewer connections: a building's application to join a sewer line of the registry, and its life cycle.

applied → surveyed → approved (fee set) → fee paid → connected; rejected or cancelled with a reason. Connecting
changes the building's sanitation system to the sewer through the registry's own service (audited there).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.models import Building, Holding, Sewer


class SewerConnection(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied, to survey")
        SURVEYED = "surveyed", _("Surveyed, to approve")
        APPROVED = "approved", _("Approved, fee due")
        FEE_PAID = "fee_paid", _("Fee paid, to connect")
        CONNECTED = "connected", _("Connected")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = ("applied", "surveyed", "approved", "fee_paid")

    application_number = models.CharField(_("application number"), max_length=30, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.APPLIED,
                              db_index=True)
    building = models.ForeignKey(Building, verbose_name=_("building"), on_delete=models.PROTECT,
                                 related_name="sewer_connections")
    holding = models.ForeignKey(Holding, verbose_name=_("holding"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="sewer_connections")
    sewer = models.ForeignKey(Sewer, verbose_name=_("sewer line"), on_delete=models.PROTECT,
                              related_name="connections")
    applicant_name = models.CharField(_("applicant's name"), max_length=200)
    applicant_phone = models.CharField(_("applicant's phone (E.164)"), max_length=20, blank=True)
    map_distance_m = models.DecimalField(_("distance to the sewer on the map (m)"), max_digits=8, decimal_places=1,
                                         null=True, blank=True)
    applied_on = models.DateField(_("applied on"))
    surveyed_on = models.DateField(_("surveyed on"), null=True, blank=True)
    surveyed_by_id = models.BigIntegerField(null=True, blank=True)
    survey_distance_m = models.DecimalField(_("measured distance to the sewer (m)"), max_digits=8, decimal_places=1,
                                            null=True, blank=True)
    survey_notes = models.TextField(_("surveyor's notes"), blank=True)
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    approved_by_id = models.BigIntegerField(null=True, blank=True)
    fee_amount = models.DecimalField(_("connection fee (BDT)"), max_digits=10, decimal_places=2, null=True,
                                     blank=True)
    fee_paid_on = models.DateField(_("fee paid on"), null=True, blank=True)
    connected_on = models.DateField(_("connected on"), null=True, blank=True)
    connected_by_id = models.BigIntegerField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    closing_reason = models.CharField(_("reason"), max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-applied_on", "-id"]
        constraints = [models.UniqueConstraint(
            fields=["building"], condition=Q(status__in=["applied", "surveyed", "approved", "fee_paid"]),
            name="uniq_open_sewer_connection_per_building")]

    def __str__(self) -> str:
        return self.application_number

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class SewerConnectionPayment(models.Model):
    """The connection fee received, once per connection, numbered without gaps in its own series (SCR-)."""

    connection = models.OneToOneField(SewerConnection, on_delete=models.PROTECT, related_name="payment")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    method = models.CharField(max_length=8)
    reference = models.CharField(max_length=100, blank=True)
    receipt_number = models.CharField(max_length=30, unique=True)
    received_at = models.DateTimeField(db_index=True)
    cashier_id = models.BigIntegerField(null=True, blank=True)
    cashier_label = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.receipt_number


class SewerConnectionEvent(models.Model):
    """The application's timeline: each step, who took it and a note."""

    connection = models.ForeignKey(SewerConnection, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    action = models.CharField(max_length=20)
    by_id = models.BigIntegerField(null=True, blank=True)
    by_label = models.CharField(max_length=254, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.action}"
