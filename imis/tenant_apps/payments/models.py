"""Online payments: the municipality's gateway settings, each checkout, processed webhook events, refunds."""

import uuid

from django.db import models
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
