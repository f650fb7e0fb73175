"""One flow for every online payment: start → gateway → the gateway's webhook confirms → ledger → receipt.

The browser's return page never settles anything; the signed webhook (or the reconciliation job) does, exactly
once per event, after re-checking amount and currency against what was asked.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.shared_apps.accounts.selectors import actor_permissions
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.registry.models import Holding
from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import LedgerEntry, Payment

from .gateways import GatewayError, GatewayEvent, gateway_for
from .models import GatewayConfig, OnlinePayment, ProcessedEvent, Refund


def gateway_config(name: str = "stripe") -> GatewayConfig:
    config = GatewayConfig.objects.filter(gateway=name, is_enabled=True).first()
    if config is None:
        raise field_error({"gateway": _("Online payment is not set up for this municipality yet.")},
                          code="gateway_not_configured")
    return config


def gateway_configure(*, by, gateway: str, secret_key: str, webhook_secret: str, publishable_key: str = "",
                      is_enabled: bool = True, api_base: str = "") -> GatewayConfig:
    permissions = actor_permissions(by, connection.tenant)
    if permissions is not None and "settings.manage" not in permissions:
        raise field_error({"gateway": _("Only the municipal admin sets the payment gateway.")}, code="forbidden")
    config, _created = GatewayConfig.objects.get_or_create(gateway=gateway)
    config.secret_key, config.webhook_secret = secret_key, webhook_secret
    config.publishable_key, config.is_enabled, config.api_base = publishable_key, is_enabled, api_base
    config.save()
    audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=config,
                 after={"gateway": gateway, "enabled": is_enabled, "secret_key": "…" + secret_key[-4:]})
    return config


def holding_dues(holding: Holding) -> Decimal:
    return max(tax.holding_balance(holding), Decimal(0))


def checkout_start_tax(*, holding: Holding, amount=None, success_url: str, cancel_url: str) -> OnlinePayment:
    """Pay a holding's tax due (or part of it) online."""
    due = holding_dues(holding)
    amount = tax.money(amount if amount not in (None, "") else due)
    if amount <= 0:
        raise field_error({"amount": _("Nothing is due on this holding.")}, code="nothing_due")
    if amount > due:
        raise field_error({"amount": _("You can pay up to ৳ %(due)s.") % {"due": due}}, code="more_than_due")
    config = gateway_config()
    municipality = connection.tenant
    payment = OnlinePayment.objects.create(
        kind=OnlinePayment.Kind.HOLDING_TAX, holding=holding, amount=amount, currency=municipality.currency,
        description=_("Holding tax %(holding)s, %(name)s") % {"holding": holding.holding_id,
                                                              "name": municipality.name},
        gateway=config.gateway)
    try:
        session = gateway_for(config).create_checkout(
            payment=payment, success_url=success_url.replace("{payment}", str(payment.pk)),
            cancel_url=cancel_url.replace("{payment}", str(payment.pk)))
    except GatewayError as error:
        OnlinePayment.objects.filter(pk=payment.pk).update(status=OnlinePayment.Status.FAILED,
                                                           status_reason=str(error)[:300])
        raise field_error({"gateway": _("The payment service did not answer. Please try again.")},
                          code="gateway_error") from error
    OnlinePayment.objects.filter(pk=payment.pk).update(gateway_session_id=session.id)
    payment.gateway_session_id = session.id
    payment.checkout_url = session.url
    return payment


def _settle(payment: OnlinePayment, event: GatewayEvent) -> str:
    """Apply one gateway outcome to a (locked) payment; returns what happened."""
    if event.type == "paid":
        if payment.status == OnlinePayment.Status.PAID:
            return "already paid"
        if event.amount != payment.amount or event.currency.upper() != payment.currency.upper():
            payment.status = OnlinePayment.Status.FLAGGED
            payment.status_reason = f"gateway says {event.amount} {event.currency}, asked {payment.amount} " \
                                    f"{payment.currency}"
            payment.save(update_fields=["status", "status_reason"])
            audit_record(actor=None, action=AuditEntry.Action.UPDATE, instance=payment,
                         after={"status": "flagged", "reason": payment.status_reason})
            return "flagged"
        receipt = tax.payment_record(by=None, holding=payment.holding, amount=payment.amount,
                                     method=Payment.Method.ONLINE, gateway_reference=event.session_id,
                                     reference=event.payment_reference)
        payment.status, payment.confirmed_at, payment.tax_payment = OnlinePayment.Status.PAID, timezone.now(), receipt
        payment.gateway_payment_reference = event.payment_reference
        payment.save(update_fields=["status", "confirmed_at", "tax_payment", "gateway_payment_reference"])
        return f"paid, receipt {receipt.receipt_number}"
    if event.type in ("expired", "failed") and payment.status == OnlinePayment.Status.PENDING:
        payment.status = OnlinePayment.Status.EXPIRED if event.type == "expired" else OnlinePayment.Status.FAILED
        payment.save(update_fields=["status"])
        return event.type
    return f"ignored {event.type} on a {payment.status} payment"


def gateway_event_apply(*, gateway: str, event: GatewayEvent, event_type: str = "") -> str:
    """Exactly once per event id; out-of-order and repeated events are harmless."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                processed = ProcessedEvent.objects.create(gateway=gateway, event_id=event.id,
                                                          type=event_type or event.type)
        except IntegrityError:
            return "duplicate event"
        payment = (OnlinePayment.objects.select_for_update().filter(gateway_session_id=event.session_id).first()
                   if event.session_id else None)
        outcome = "no such payment" if payment is None else _settle(payment, event)
        ProcessedEvent.objects.filter(pk=processed.pk).update(outcome=outcome[:200])
    return outcome


def webhook_receive(*, gateway: str, payload: bytes, headers) -> str:
    config = GatewayConfig.objects.filter(gateway=gateway).first()
    if config is None:
        raise field_error({"gateway": "not configured"}, code="gateway_not_configured")
    event_type, event = gateway_for(config).parse_webhook(payload=payload, headers=headers)  # raises SignatureError
    return gateway_event_apply(gateway=gateway, event=event, event_type=event_type)


def payments_reconcile(*, hours: int = 48) -> dict:
    """Ask the gateway what happened lately and repair what the webhooks missed."""
    config = gateway_config()
    since = int((timezone.now() - datetime.timedelta(hours=hours)).timestamp())
    report = {"checked": 0, "repaired": [], "unchanged": 0}
    for event in gateway_for(config).recent_sessions(since_timestamp=since):
        report["checked"] += 1
        payment = OnlinePayment.objects.filter(gateway_session_id=event.session_id).first()
        if payment is None or payment.status != OnlinePayment.Status.PENDING:
            report["unchanged"] += 1
            continue
        outcome = gateway_event_apply(gateway=config.gateway, event=event)
        report["repaired"].append({"session": event.session_id, "outcome": outcome})
    return report


def refund_request(*, by, payment: OnlinePayment, amount, reason: str) -> Refund:
    permissions = actor_permissions(by, connection.tenant)
    if permissions is not None and "tax.collect" not in permissions:
        raise field_error({"refund": _("Your role does not allow refunds.")}, code="forbidden")
    amount = tax.money(amount)
    if payment.status != OnlinePayment.Status.PAID:
        raise field_error({"refund": _("Only a paid payment can be refunded.")}, code="not_paid")
    if not 0 < amount <= payment.amount:
        raise field_error({"amount": _("Refund between 0 and the amount paid.")}, code="invalid_amount")
    if not reason.strip():
        raise field_error({"reason": _("Say why the money goes back.")}, code="required")
    return Refund.objects.create(payment=payment, amount=amount, reason=reason.strip(),
                                 requested_by_id=getattr(by, "pk", None))


def refund_approve(*, by, refund: Refund) -> Refund:
    """An officer approves: the gateway returns the money, the ledger takes the payment back."""
    permissions = actor_permissions(by, connection.tenant)
    if permissions is not None and "tax.approve" not in permissions:
        raise field_error({"refund": _("Your role does not allow approving refunds.")}, code="forbidden")
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
        if refund.status != Refund.Status.REQUESTED:
            raise field_error({"refund": _("Already decided.")}, code="already_decided")
        if by is not None and refund.requested_by_id == by.pk:
            raise field_error({"refund": _("You cannot approve your own request.")}, code="same_person")
        try:
            refund.gateway_refund_id = gateway_for(gateway_config(refund.payment.gateway)).refund(
                payment=refund.payment, amount=refund.amount)
        except GatewayError as error:
            refund.status = Refund.Status.FAILED
            refund.save(update_fields=["status"])
            raise field_error({"refund": _("The gateway refused the refund: %(error)s") % {"error": error}},
                              code="gateway_error") from error
        refund.status, refund.approved_by_id = Refund.Status.DONE, getattr(by, "pk", None)
        refund.save(update_fields=["status", "approved_by_id", "gateway_refund_id"])
        payment = refund.payment
        if payment.tax_payment_id and refund.amount == payment.amount:
            tax.payment_reverse(by=None, payment=payment.tax_payment, reason=f"Refunded: {refund.reason}")
        elif payment.tax_payment_id:  # part of the money goes back: that part is due again
            LedgerEntry.objects.create(holding=payment.holding, kind=LedgerEntry.Kind.REVERSAL, amount=refund.amount,
                                       payment=payment.tax_payment, at=timezone.now(),
                                       fiscal_year=tax.fiscal_year_of(timezone.localdate()),
                                       memo=f"partial refund {refund.gateway_refund_id}: {refund.reason[:200]}")
        payment.status = OnlinePayment.Status.REFUNDED
        payment.save(update_fields=["status"])
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=payment,
                     after={"refund": str(refund.amount), "gateway_refund": refund.gateway_refund_id})
    return refund
