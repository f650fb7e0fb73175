"""Trade licences: business categories with a fee per licence year, and each licence's life cycle.

application → inspection → approval → fee payment (certificate for the licence year) → renewal each year;
expiry at the end of the licence year, reminders before it, cancellation. A licence keeps its number for life;
each year's certificate has its own number (licence number + year), which the public page verifies.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.models import Holding


class BusinessCategory(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=150)
    name_bn = models.CharField(_("name in Bangla"), max_length=150, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "business categories"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CategoryFee(models.Model):
    """The fee schedule: what a category pays for a new licence and for a renewal in one licence year."""

    category = models.ForeignKey(BusinessCategory, on_delete=models.CASCADE, related_name="fees")
    fiscal_year = models.PositiveSmallIntegerField(_("licence year (first year)"))
    new_fee = models.DecimalField(_("fee for a new licence (BDT)"), max_digits=10, decimal_places=2)
    renewal_fee = models.DecimalField(_("renewal fee (BDT)"), max_digits=10, decimal_places=2)
    late_fee_percent = models.DecimalField(_("late renewal surcharge (%)"), max_digits=5, decimal_places=2,
                                           default=20)

    class Meta:
        ordering = ["-fiscal_year", "category__code"]
        constraints = [models.UniqueConstraint(fields=["category", "fiscal_year"], name="uniq_category_fee")]

    def __str__(self) -> str:
        return f"{self.category.code} {self.fiscal_year}: {self.new_fee}/{self.renewal_fee}"


class Licence(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        INSPECTED = "inspected", _("Inspected")
        APPROVED = "approved", _("Approved, fee due")
        ACTIVE = "active", _("Valid")
        EXPIRED = "expired", _("Expired")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    application_number = models.CharField(_("application number"), max_length=30, unique=True)
    number = models.CharField(_("licence number"), max_length=30, unique=True, null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.APPLIED,
                              db_index=True)
    business_name = models.CharField(_("business name"), max_length=200)
    business_name_bn = models.CharField(_("business name in Bangla"), max_length=200, blank=True)
    category = models.ForeignKey(BusinessCategory, verbose_name=_("category"), on_delete=models.PROTECT,
                                 related_name="licences")
    holding = models.ForeignKey(Holding, verbose_name=_("holding"), on_delete=models.PROTECT,
                                related_name="trade_licences")
    address = models.CharField(_("business address"), max_length=300, blank=True)
    owner_name = models.CharField(_("owner's name"), max_length=200)
    owner_phone = models.CharField(_("owner's phone (E.164)"), max_length=20, blank=True)
    owner_national_id = models.CharField(_("owner's national ID"), max_length=20, blank=True)
    applied_on = models.DateField(_("applied on"))
    inspected_on = models.DateField(_("inspected on"), null=True, blank=True)
    inspection_passed = models.BooleanField(null=True, blank=True)
    inspection_notes = models.TextField(_("inspection notes"), blank=True)
    inspected_by_id = models.BigIntegerField(null=True, blank=True)
    approved_on = models.DateField(null=True, blank=True)
    approved_by_id = models.BigIntegerField(null=True, blank=True)
    first_issued_on = models.DateField(null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True, db_index=True)
    closed_on = models.DateField(null=True, blank=True)
    closing_reason = models.CharField(_("reason"), max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-applied_on", "-id"]
        indexes = [models.Index(fields=["status", "valid_until"])]

    def __str__(self) -> str:
        return self.number or self.application_number


class LicencePayment(models.Model):
    """A licence fee received: numbered without gaps in its own receipt series."""

    class Kind(models.TextChoices):
        NEW = "new", _("New licence")
        RENEWAL = "renewal", _("Renewal")

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    fiscal_year = models.PositiveSmallIntegerField()
    fee = models.DecimalField(max_digits=10, decimal_places=2)
    late_fee = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    method = models.CharField(max_length=8)
    reference = models.CharField(max_length=60, blank=True)
    receipt_number = models.CharField(max_length=30, unique=True)
    received_at = models.DateTimeField(db_index=True)
    cashier_id = models.BigIntegerField(null=True, blank=True)
    cashier_label = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.receipt_number


class Certificate(models.Model):
    """One licence year's certificate, issued when its fee is paid."""

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="certificates")
    number = models.CharField(_("certificate number"), max_length=40, unique=True)
    fiscal_year = models.PositiveSmallIntegerField()
    valid_from = models.DateField()
    valid_until = models.DateField()
    issued_on = models.DateField()
    payment = models.OneToOneField(LicencePayment, on_delete=models.PROTECT, related_name="certificate")

    class Meta:
        ordering = ["-fiscal_year"]
        constraints = [models.UniqueConstraint(fields=["licence", "fiscal_year"], name="uniq_certificate_year")]

    def __str__(self) -> str:
        return self.number


class Reminder(models.Model):
    """An expiry reminder sent (or tried) once per licence, licence year and lead time."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="reminders")
    valid_until = models.DateField()
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    to = models.CharField(max_length=20, blank=True)
    reference = models.CharField(max_length=60, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [models.UniqueConstraint(fields=["licence", "valid_until", "days_before"],
                                               name="uniq_licence_reminder")]

    def __str__(self) -> str:
        return f"{self.licence_id} {self.valid_until} -{self.days_before}d"


class LicenceEvent(models.Model):
    """The licence's timeline: each step, who took it and a note."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    action = models.CharField(max_length=20)
    by_id = models.BigIntegerField(null=True, blank=True)
    by_label = models.CharField(max_length=254, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.licence_id} {self.action}"
