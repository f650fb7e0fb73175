"""Holding tax: assessments, rate schedules, bills, and the ledger every taka passes through.

The balance of a holding is never stored: it is the sum of its ledger entries (charges positive, credits
negative). billed − paid − adjusted = due holds per holding and in total.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.models import Building, Holding


class TaxZone(models.Model):
    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=100)
    factor = models.DecimalField(_("location factor"), max_digits=5, decimal_places=3, default=1)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RateSchedule(models.Model):
    """The rates of one fiscal year (2026 = 2026-27), from an effective date."""

    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year (first year)"))
    effective_from = models.DateField(_("effective from"))
    # xgettext:no-python-format  (a literal per cent sign)
    surcharge_percent = models.DecimalField(_("late-payment surcharge (% of arrears)"), max_digits=5,
                                            decimal_places=2, default=5)
    rebate_percent = models.DecimalField(_("rebate for paying the whole year early (%)"), max_digits=5,
                                         decimal_places=2, default=10)
    instalments = models.PositiveSmallIntegerField(_("instalments per year"), default=4)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-fiscal_year", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["fiscal_year", "effective_from"], name="uniq_rate_schedule")]

    def __str__(self) -> str:
        return f"{self.fiscal_year}-{(self.fiscal_year + 1) % 100:02d} from {self.effective_from}"


class TaxHead(models.Model):
    class Code(models.TextChoices):
        HOLDING_TAX = "holding_tax", _("Holding tax")
        CONSERVANCY = "conservancy", _("Conservancy")
        LIGHTING = "lighting", _("Lighting")
        WATER = "water", _("Water")

    schedule = models.ForeignKey(RateSchedule, on_delete=models.CASCADE, related_name="heads")
    code = models.CharField(max_length=20, choices=Code.choices)
    # xgettext:no-python-format  (a literal per cent sign)
    percent = models.DecimalField(_("% of annual value"), max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["schedule", "code"]
        constraints = [models.UniqueConstraint(fields=["schedule", "code"], name="uniq_tax_head")]

    def __str__(self) -> str:
        return f"{self.code} {self.percent}%"


class UseRate(models.Model):
    """Annual value per m² of floor area for owner-occupied property, by use and fiscal year."""

    fiscal_year = models.PositiveSmallIntegerField()
    functional_use = models.CharField(max_length=14, choices=Building.FunctionalUse.choices)
    rate_per_m2 = models.DecimalField(_("annual value per m² (BDT)"), max_digits=10, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fiscal_year", "functional_use"], name="uniq_use_rate")]

    def __str__(self) -> str:
        return f"{self.fiscal_year} {self.functional_use}: {self.rate_per_m2}/m²"

class Assessment(models.Model):
    class Basis(models.TextChoices):
        RENT = "rent", _("Declared rent")
        OWNER_OCCUPIED = "owner_occupied", _("Owner-occupied (floor area × use rate × zone)")

    class Exemption(models.TextChoices):
        NONE = "", _("None")
        RELIGIOUS = "religious", _("Religious")
        GOVERNMENT = "government", _("Government")
        OTHER = "other", _("Other")

    holding = models.ForeignKey(Holding, on_delete=models.PROTECT, related_name="assessments")
    fiscal_year = models.PositiveSmallIntegerField(db_index=True)
    basis = models.CharField(_("basis"), max_length=16, choices=Basis.choices)
    monthly_rent = models.DecimalField(_("declared monthly rent (BDT)"), max_digits=12, decimal_places=2, null=True,
                                       blank=True)
    floor_area_m2 = models.DecimalField(_("floor area (m²)"), max_digits=10, decimal_places=2, null=True, blank=True)
    functional_use = models.CharField(max_length=14, choices=Building.FunctionalUse.choices, blank=True)
    zone = models.ForeignKey(TaxZone, null=True, blank=True, on_delete=models.PROTECT)
    annual_value = models.DecimalField(_("annual value (BDT)"), max_digits=14, decimal_places=2)
    exemption = models.CharField(_("exemption"), max_length=12, choices=Exemption.choices, blank=True)
    exemption_reason = models.CharField(_("exemption reason"), max_length=300, blank=True)
    version = models.PositiveSmallIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="replaced_by")
    reason = models.CharField(_("reason for (re)assessment"), max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["holding", "-fiscal_year", "-version"]
        constraints = [models.UniqueConstraint(fields=["holding", "fiscal_year"], condition=models.Q(is_current=True),
                                               name="uniq_current_assessment")]

    def __str__(self) -> str:
        return f"{self.holding_id} {self.fiscal_year} v{self.version}"


class Objection(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        UPHELD = "upheld", _("Upheld")
        REJECTED = "rejected", _("Rejected")

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="objections")
    filed_on = models.DateField()
    grounds = models.TextField(_("grounds"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_on = models.DateField(null=True, blank=True)
    decision = models.TextField(blank=True)
    revised_annual_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    def __str__(self) -> str:
        return f"Objection to {self.assessment_id} ({self.status})"

class BillRun(models.Model):
    fiscal_year = models.PositiveSmallIntegerField()
    period = models.PositiveSmallIntegerField(help_text=_("instalment number, 1 = first quarter"))
    ward_number = models.PositiveSmallIntegerField(null=True, blank=True)
    job_id = models.UUIDField(null=True, blank=True)
    started = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    bills_created = models.PositiveIntegerField(default=0)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Bill run {self.fiscal_year} period {self.period}"

class Bill(models.Model):
    # the holding's own index would repeat uniq_bill_period's first column (and slow every bill run)
    holding = models.ForeignKey(Holding, on_delete=models.PROTECT, related_name="bills", db_index=False)
    fiscal_year = models.PositiveSmallIntegerField()
    period = models.PositiveSmallIntegerField()
    number = models.CharField(max_length=40)  # unique: uniq_bill_number (no pattern-ops twin: looked up whole)
    issue_date = models.DateField()
    due_date = models.DateField(db_index=True)
    annual_value = models.DecimalField(max_digits=14, decimal_places=2)
    current_amount = models.DecimalField(_("this period's charges"), max_digits=12, decimal_places=2)
    heads = models.JSONField(default=dict)
    arrears = models.DecimalField(_("arrears brought forward"), max_digits=12, decimal_places=2, default=0)
    surcharge = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total_payable = models.DecimalField(max_digits=12, decimal_places=2)
    bill_run = models.ForeignKey(BillRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="bills")

    class Meta:
        ordering = ["holding", "fiscal_year", "period"]
        constraints = [models.UniqueConstraint(fields=["holding", "fiscal_year", "period"], name="uniq_bill_period"),
                       models.UniqueConstraint(fields=["number"], name="uniq_bill_number")]

    def __str__(self) -> str:
        return self.number


class Payment(models.Model):
    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        CHEQUE = "cheque", _("Cheque")
        BANK = "bank", _("Bank transfer")
        ONLINE = "online", _("Online")

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        CANCELLED = "cancelled", _("Cancelled")
        DISHONOURED = "dishonoured", _("Dishonoured")

    holding = models.ForeignKey(Holding, on_delete=models.PROTECT, related_name="tax_payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    method = models.CharField(max_length=8, choices=Method.choices)
    reference = models.CharField(_("cheque / transfer reference"), max_length=60, blank=True)
    received_at = models.DateTimeField(db_index=True)
    cashier_id = models.BigIntegerField(null=True, blank=True)
    cashier_label = models.CharField(max_length=254, blank=True)
    receipt_number = models.CharField(max_length=30, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VALID)
    reversal_reason = models.CharField(max_length=300, blank=True)
    gateway_reference = models.CharField(max_length=100, blank=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.receipt_number


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    bill = models.ForeignKey(Bill, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.amount} of {self.payment_id} to {self.bill_id}"

class Adjustment(models.Model):
    class Kind(models.TextChoices):
        WRITE_OFF = "write_off", _("Write-off")
        COURT_SETTLEMENT = "court_settlement", _("Court settlement")
        CORRECTION = "correction", _("Correction")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    holding = models.ForeignKey(Holding, on_delete=models.PROTECT, related_name="tax_adjustments")
    kind = models.CharField(max_length=18, choices=Kind.choices)
    amount = models.DecimalField(_("amount taken off the due (BDT)"), max_digits=12, decimal_places=2,
                                 help_text=_("Positive reduces the due; a correction may be negative."))
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    approved_by_id = models.BigIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on {self.holding_id}"

class LedgerEntry(models.Model):
    """Charges positive, credits negative; a holding's balance is their sum."""

    class Kind(models.TextChoices):
        BILL = "bill", _("Bill")
        SURCHARGE = "surcharge", _("Surcharge")
        PAYMENT = "payment", _("Payment")
        REBATE = "rebate", _("Rebate")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REVERSAL = "reversal", _("Payment reversal")

    # indexes: (holding, at) serves the holding; kind is read with the holding, never alone; payments and
    # adjustments are indexed only where set (a bill run writes a ledger entry per bill with neither)
    holding = models.ForeignKey(Holding, on_delete=models.PROTECT, related_name="ledger_entries", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    fiscal_year = models.PositiveSmallIntegerField(null=True, blank=True)
    bill = models.ForeignKey(Bill, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="ledger_entries", db_index=False)
    adjustment = models.ForeignKey(Adjustment, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="ledger_entries", db_index=False)
    at = models.DateTimeField(db_index=True)
    memo = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["holding", "at"]),
                   models.Index(fields=["payment"], condition=models.Q(payment__isnull=False),
                                name="ledger_payment_set"),
                   models.Index(fields=["adjustment"], condition=models.Q(adjustment__isnull=False),
                                name="ledger_adjustment_set")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} on {self.holding_id}"

class ReceiptCounter(models.Model):
    """Receipt numbers without gaps: incremented in the same transaction as the payment it numbers."""

    series = models.CharField(max_length=20, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.series}: {self.last_number}"
