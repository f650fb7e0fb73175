"""Online payments: the municipality's gateway settings, each checkout, processed webhook events, refunds."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from imis.platform.crypto import decrypt, encrypt
from imis.tenant_apps.registry.models import Holding


class GatewayConfig(models.Model):
    class Gateway(models.TextChoices):
        STRIPE = "stripe", "Stripe"

    gateway = models.CharField(max_length=20, choices=Gateway.choices, unique=True)
    is_enabled = models.BooleanField(default=False)
    publishable_key = models.CharField(max_length=200, blank=True)
    secret_key_encrypted = models.TextField(blank=True)
    webhook_secret_encrypted = models.TextField(blank=True)
    api_base = models.URLField(blank=True, help_text=_("Only for tests and stand-ins; empty means the gateway's own."))
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.gateway

    @property
    def secret_key(self) -> str:
        return decrypt(self.secret_key_encrypted)

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        self.secret_key_encrypted = encrypt(value)

    @property
    def webhook_secret(self) -> str:
        return decrypt(self.webhook_secret_encrypted)

    @webhook_secret.setter
    def webhook_secret(self, value: str) -> None:
        self.webhook_secret_encrypted = encrypt(value)


class OnlinePayment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the gateway")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")
        FLAGGED = "flagged", _("Flagged: amount or currency did not match")
        REFUNDED = "refunded", _("Refunded")

    class Kind(models.TextChoices):
        HOLDING_TAX = "holding_tax", _("Holding tax")
        FSM_FEE = "fsm_fee", _("Desludging fee")
        LICENCE_FEE = "licence_fee", _("Trade licence fee")
        WATER = "water", _("Water bill or connection fee")
        SEWER_FEE = "sewer_fee", _("Sewer connection fee")
        SEVERAL = "several", _("Several dues")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    holding = models.ForeignKey(Holding, null=True, blank=True, on_delete=models.PROTECT, related_name="online_payments")
    fsm_application = models.ForeignKey("fsm.Application", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="online_payments")
    bill_numbers = models.JSONField(default=list, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=200)
    gateway = models.CharField(max_length=20)
    gateway_session_id = models.CharField(max_length=200, unique=True, null=True, blank=True)
    gateway_payment_reference = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    status_reason = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    tax_payment = models.OneToOneField("tax.Payment", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="online_payment")

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.status})"


class OnlinePaymentLine(models.Model):
    """One due paid by an online payment (a payment may cover several): which payable, how much, and what the
    payable recorded for it once the gateway confirmed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the gateway")
        SETTLED = "settled", _("Recorded")
        CREDIT = "credit", _("Already paid: held for refund")

    payment = models.ForeignKey(OnlinePayment, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=20)
    reference = models.CharField(max_length=60)
    label = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    receipt_number = models.CharField(max_length=30, blank=True, db_index=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["payment", "pk"]
        indexes = [models.Index(fields=["kind", "reference"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.reference} {self.amount}"


class FeePayment(models.Model):
    """A service fee received for a service that keeps no ledger of its own (desludging), online or at the
    counter: numbered without gaps in its own receipt series; at most one valid payment per service."""

    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        CHEQUE = "cheque", _("Cheque")
        BANK = "bank", _("Bank transfer")
        ONLINE = "online", _("Online")

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        REVERSED = "reversed", _("Reversed")

    kind = models.CharField(max_length=20)
    holding = models.ForeignKey(Holding, null=True, blank=True, on_delete=models.PROTECT, related_name="fee_payments")
    fsm_application = models.ForeignKey("fsm.Application", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="fee_payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    method = models.CharField(max_length=8, choices=Method.choices)
    reference = models.CharField(max_length=100, blank=True)
    receipt_number = models.CharField(max_length=30, unique=True)
    received_at = models.DateTimeField(db_index=True)
    cashier_id = models.BigIntegerField(null=True, blank=True)
    cashier_label = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    reversal_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["fsm_application"], condition=Q(status="valid"),
                                               name="uniq_valid_fsm_fee_payment")]

    def __str__(self) -> str:
        return self.receipt_number


class ProcessedEvent(models.Model):
    """Each gateway event is acted on exactly once: its id is unique here."""

    gateway = models.CharField(max_length=20)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="uniq_processed_event")]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.event_id}"


class Refund(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Awaiting approval")
        DONE = "done", _("Refunded")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Gateway refused")

    payment = models.ForeignKey(OnlinePayment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    approved_by_id = models.BigIntegerField(null=True, blank=True)
    gateway_refund_id = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Refund {self.amount} of {self.payment_id}"
