"""Water supply: connections per holding (and building), their life cycle, meter readings, tariffs per fiscal
year, monthly water bills and the payments against them.

application → inspection → approval (connection fee fixed from the year's tariff) → connection fee paid →
activation (meter fitted, first reading) → disconnection and reconnection. An illegal connection found in the
field is recorded as such. Bills come from readings (consumption × the year's slab tariff) or the flat monthly
rate; they are paid at the counter or online through the one payment flow (water.payables).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.models import Building, Holding


class WaterTariff(models.Model):
    """One fiscal year's prices. `slabs` is a list of [up_to_m3 or null, price_per_m3] in increasing order:
    the first slab prices the first cubic metres, the next the following ones, the last (null) all the rest."""

    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year (first year)"), unique=True)
    slabs = models.JSONField(_("price per m³ by slab"), default=list)
    flat_monthly_rate = models.DecimalField(_("flat monthly rate (BDT)"), max_digits=10, decimal_places=2)
    connection_fee = models.DecimalField(_("connection fee (BDT)"), max_digits=10, decimal_places=2)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-fiscal_year"]

    def __str__(self) -> str:
        return f"tariff {self.fiscal_year}"


class WaterConnection(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        INSPECTED = "inspected", _("Inspected")
        APPROVED = "approved", _("Approved, fee due")
        ACTIVE = "active", _("Active")
        DISCONNECTED = "disconnected", _("Disconnected")
        ILLEGAL = "illegal", _("Illegal")
        REJECTED = "rejected", _("Rejected")

    class Size(models.IntegerChoices):
        HALF_INCH = 13, _("½ inch (13 mm)")
        THREE_QUARTER_INCH = 20, _("¾ inch (20 mm)")
        ONE_INCH = 25, _("1 inch (25 mm)")
        ONE_AND_HALF_INCH = 40, _("1½ inch (40 mm)")
        TWO_INCH = 50, _("2 inch (50 mm)")

    customer_id = models.CharField(_("customer ID"), max_length=30, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.APPLIED,
                              db_index=True)
    holding = models.ForeignKey(Holding, verbose_name=_("holding"), on_delete=models.PROTECT,
                                related_name="water_connections")
    building = models.ForeignKey(Building, verbose_name=_("building"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="water_connections")
    size_mm = models.PositiveSmallIntegerField(_("connection size"), choices=Size.choices, default=Size.HALF_INCH)
    is_metered = models.BooleanField(_("metered"), default=True)
    meter_number = models.CharField(_("meter number"), max_length=40, blank=True)
    applicant_name = models.CharField(_("applicant's name"), max_length=200)
    applicant_phone = models.CharField(_("applicant's phone (E.164)"), max_length=20, blank=True)
    applied_on = models.DateField(_("applied on"))
    inspected_on = models.DateField(_("inspected on"), null=True, blank=True)
    inspection_notes = models.TextField(_("inspection notes"), blank=True)
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    connection_fee = models.DecimalField(_("connection fee (BDT)"), max_digits=10, decimal_places=2, null=True,
                                         blank=True)
    fee_paid_on = models.DateField(_("fee paid on"), null=True, blank=True)
    activated_on = models.DateField(_("connected on"), null=True, blank=True)
    disconnected_on = models.DateField(_("disconnected on"), null=True, blank=True)
    closing_reason = models.CharField(_("reason"), max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-applied_on", "-id"]

    def __str__(self) -> str:
        return self.customer_id


class ConnectionEvent(models.Model):
    """The connection's timeline: each step, who took it and a note."""

    connection = models.ForeignKey(WaterConnection, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    action = models.CharField(max_length=20)
    by_id = models.BigIntegerField(null=True, blank=True)
    by_label = models.CharField(max_length=254, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.action}"


class MeterReading(models.Model):
    """A meter reading in m³. Readings only go up, except the first reading of a replaced meter
    (`is_replacement`), which starts the new meter's count."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered")
        CSV = "csv", _("Bulk upload")
        ACTIVATION = "activation", _("At connection")

    connection = models.ForeignKey(WaterConnection, on_delete=models.CASCADE, related_name="readings")
    read_on = models.DateField(_("read on"))
    reading = models.DecimalField(_("reading (m³)"), max_digits=12, decimal_places=2)
    is_replacement = models.BooleanField(_("new meter fitted"), default=False)
    meter_number = models.CharField(_("meter number"), max_length=40, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    by_id = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["read_on", "id"]
        constraints = [models.UniqueConstraint(fields=["connection", "read_on"], name="uniq_water_reading_day")]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.read_on}: {self.reading}"


class WaterBill(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Unpaid")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("bill number"), max_length=40, unique=True)
    connection = models.ForeignKey(WaterConnection, on_delete=models.PROTECT, related_name="bills")
    period = models.DateField(_("month"), help_text="first day of the billed month")
    fiscal_year = models.PositiveSmallIntegerField()
    is_metered = models.BooleanField()
    consumption = models.DecimalField(_("consumption (m³)"), max_digits=12, decimal_places=2, null=True,
                                      blank=True)
    amount = models.DecimalField(_("amount (BDT)"), max_digits=12, decimal_places=2)
    due_date = models.DateField(_("due date"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED, db_index=True)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-period", "connection_id"]
        constraints = [models.UniqueConstraint(fields=["connection", "period"], name="uniq_water_bill_month")]

    def __str__(self) -> str:
        return self.number


class WaterPayment(models.Model):
    """Money received for a connection fee or a water bill: its own receipt series (WSR-)."""

    class Kind(models.TextChoices):
        CONNECTION_FEE = "fee", _("Connection fee")
        BILL = "bill", _("Water bill")

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        REVERSED = "reversed", _("Reversed")

    kind = models.CharField(max_length=4, choices=Kind.choices)
    connection = models.ForeignKey(WaterConnection, on_delete=models.PROTECT, related_name="payments")
    bill = models.ForeignKey(WaterBill, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    method = models.CharField(max_length=8)
    reference = models.CharField(max_length=100, blank=True)
    receipt_number = models.CharField(max_length=30, unique=True)
    received_at = models.DateTimeField(db_index=True)
    cashier_id = models.BigIntegerField(null=True, blank=True)
    cashier_label = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    reversal_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["bill"], condition=Q(status="valid"), name="uniq_valid_water_bill_pay"),
            models.UniqueConstraint(fields=["connection"], condition=Q(status="valid", kind="fee"),
                                    name="uniq_valid_water_fee_pay"),
        ]

    def __str__(self) -> str:
        return self.receipt_number
