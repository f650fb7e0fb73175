"""One flow for every online payment: start → gateway → the gateway's webhook confirms → ledger → receipt.

The browser's return page never settles anything; the signed webhook (or the reconciliation job) does, exactly
once per event, after re-checking amount and currency against what was asked.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.shared_apps.accounts.selectors import actor_permissions
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.registry.models import Holding
from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import LedgerEntry

from .gateways import GatewayError, GatewayEvent, gateway_for
from .models import GatewayConfig, OnlinePayment, OnlinePaymentLine, ProcessedEvent, Refund
from .payables import AlreadySettled, Due, Payable, Settlement, payable_for


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


def _dues_chosen(*, holding: Holding, items) -> list[tuple[Payable, Due, Decimal]]:
    """Each (kind, reference, amount or None) re-read from its payable, in this municipality, for this holding.
    A due that is not there (paid, another holding's, another municipality's, a disabled feature) gets one
    uniform answer."""
    chosen, seen = [], set()
    gone = field_error({"dues": _("One of the chosen dues is not payable now; it may have been paid already. "
                                  "Reload the page and choose again.")}, code="nothing_due")
    for kind, reference, amount in items:
        payable = payable_for(kind)
        if payable is None or not payable.is_enabled() or (kind, reference) in seen:
            raise gone
        seen.add((kind, reference))
        due = payable.due(str(reference))
        if due is None or due.holding_id != holding.pk:
            raise gone
        if amount in (None, ""):
            amount = due.amount
        else:
            try:
                amount = tax.money(amount)
            except (InvalidOperation, ValueError, TypeError) as error:
                raise field_error({"amount": _("Enter an amount in taka, like 1500 or 1500.50.")},
                                  code="invalid_amount") from error
        if amount <= 0:
            raise field_error({"amount": _("Enter an amount above zero.")}, code="invalid_amount")
        if amount > due.amount:
            raise field_error({"amount": _("You can pay up to ৳ %(due)s.") % {"due": due.amount}},
                              code="more_than_due")
        if amount != due.amount and not due.is_partial_allowed:
            raise field_error({"amount": _("%(what)s is paid in full: ৳ %(due)s.") % {"what": due.title,
                                                                                   "due": due.amount}},
                              code="partial_not_allowed")
        chosen.append((payable, due, amount))
    if not chosen:
        raise field_error({"dues": _("Choose at least one due to pay.")}, code="required")
    return chosen


def checkout_start(*, holding: Holding, items, success_url: str, cancel_url: str) -> OnlinePayment:
    """Pay one or several of a holding's dues online in one checkout. `items`: (kind, reference, amount or
    None for the whole due). Nothing is settled here: the gateway's webhook does that."""
    chosen = _dues_chosen(holding=holding, items=items)
    config = gateway_config()
    municipality = connection.tenant
    kinds = {due.kind for _payable, due, _amount in chosen}
    kind = kinds.pop() if len(kinds) == 1 else OnlinePayment.Kind.SEVERAL
    total = sum((amount for _payable, _due, amount in chosen), Decimal(0))
    titles = "; ".join(due.title for _payable, due, _amount in chosen)
    fsm_application = None
    if kind == OnlinePayment.Kind.FSM_FEE and len(chosen) == 1:
        fsm_application = int(chosen[0][1].reference)
    with transaction.atomic():
        payment = OnlinePayment.objects.create(
            kind=kind, holding=holding, amount=total, currency=municipality.currency,
            description=f"{municipality.name}: {titles}"[:200], gateway=config.gateway,
            fsm_application_id=fsm_application)
        OnlinePaymentLine.objects.bulk_create([
            OnlinePaymentLine(payment=payment, kind=due.kind, reference=due.reference, label=due.title[:200],
                              amount=amount) for _payable, due, amount in chosen])
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


def checkout_start_tax(*, holding: Holding, amount=None, success_url: str, cancel_url: str) -> OnlinePayment:
    """Pay a holding's tax due (or part of it) online."""
    if holding_dues(holding) <= 0:
        raise field_error({"amount": _("Nothing is due on this holding.")}, code="nothing_due")
    return checkout_start(holding=holding, items=[("holding_tax", str(holding.pk), amount)],
                          success_url=success_url, cancel_url=cancel_url)


def _lines_settle(payment: OnlinePayment, *, method: str, by, payment_reference: str) -> list[str]:
    """Each line to its payable, each in its own savepoint: a due paid meanwhile becomes a credit line."""
    credits = []
    for line in payment.lines.select_for_update().order_by("pk"):
        if line.status != OnlinePaymentLine.Status.PENDING:
            continue
        payable = payable_for(line.kind)
        try:
            if payable is None:
                raise AlreadySettled(f"unknown payable {line.kind}")
            with transaction.atomic():
                settlement = payable.settle(reference=line.reference, amount=line.amount, method=method, by=by,
                                            payment_reference=payment_reference)
        except (AlreadySettled, ValidationError) as problem:
            message = " ".join(getattr(problem, "messages", [str(problem)]))
            line.status, line.note = OnlinePaymentLine.Status.CREDIT, message[:300]
            line.save(update_fields=["status", "note"])
            credits.append(f"{line.label}: {message}")
            continue
        line.status, line.receipt_number = OnlinePaymentLine.Status.SETTLED, settlement.receipt_number
        line.save(update_fields=["status", "receipt_number"])
        if line.kind == "holding_tax" and payment.tax_payment_id is None:
            payment.tax_payment = settlement.record
    return credits


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
        credits = _lines_settle(payment, method="online", by=None, payment_reference=event.session_id)
        payment.status, payment.confirmed_at = OnlinePayment.Status.PAID, timezone.now()
        payment.gateway_payment_reference = event.payment_reference
        if credits:
            payment.status_reason = ("Credit to refund — " + "; ".join(credits))[:300]
        payment.save(update_fields=["status", "confirmed_at", "tax_payment", "gateway_payment_reference",
                                    "status_reason"])
        audit_record(actor=None, action=AuditEntry.Action.UPDATE, instance=payment,
                     after={"status": "paid", "credits": credits})
        receipts = list(payment.lines.exclude(receipt_number="").values_list("receipt_number", flat=True))
        outcome = f"paid, receipt {', '.join(receipts)}" if receipts else "paid"
        return outcome + (f"; {len(credits)} credit(s)" if credits else "")
    if event.type in ("expired", "failed") and payment.status == OnlinePayment.Status.PENDING:
        payment.status = OnlinePayment.Status.EXPIRED if event.type == "expired" else OnlinePayment.Status.FAILED
        payment.save(update_fields=["status"])
        return event.type
    return f"ignored {event.type} on a {payment.status} payment"


def counter_take(*, by, holding: Holding, items, method: str, reference: str = "") -> list[Settlement]:
    """At the counter: the cashier takes one or several of a holding's dues in cash, cheque or bank transfer;
    the same payables record them and number the receipts. All or nothing."""
    if method not in ("cash", "cheque", "bank"):
        raise field_error({"method": _("Choose how it was paid.")}, code="invalid_choice")
    if method in ("cheque", "bank") and not reference.strip():
        raise field_error({"reference": _("Enter the cheque or transfer reference.")}, code="required")
    chosen = _dues_chosen(holding=holding, items=items)
    permissions = actor_permissions(by, connection.tenant)
    for payable, _due, _amount in chosen:
        if permissions is not None and not (permissions & set(payable.collect_permissions)):
            raise field_error({"dues": _("Your role does not allow taking %(what)s.") % {
                "what": payable.verbose_name}}, code="forbidden")
    settlements = []
    with transaction.atomic():
        for payable, due, amount in chosen:
            try:
                settlements.append(payable.settle(reference=due.reference, amount=amount, method=method, by=by,
                                                  payment_reference=reference.strip()))
            except AlreadySettled as problem:
                raise field_error({"dues": str(problem)}, code="nothing_due") from problem
    return settlements


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


def _credit_total(payment: OnlinePayment) -> Decimal:
    return sum(payment.lines.filter(status=OnlinePaymentLine.Status.CREDIT).values_list("amount", flat=True),
               Decimal(0))


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
    settled = list(payment.lines.filter(status=OnlinePaymentLine.Status.SETTLED))
    if amount > _credit_total(payment) and any(not payable_for(line.kind).is_reversible for line in settled):
        raise field_error({"refund": _("A trade licence fee that issued a certificate is refunded by cancelling "
                                       "the licence at the licence desk; refund only the credit here.")},
                          code="not_reversible")
    if amount > _credit_total(payment) and amount != payment.amount and any(
            line.kind != "holding_tax" for line in settled):
        raise field_error({"amount": _("Refund the whole payment, or only what was paid twice.")},
                          code="invalid_amount")
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
        if refund.amount <= _credit_total(payment):  # money that was never applied to a due goes back
            pass
        elif refund.amount == payment.amount:  # everything goes back: every recorded due is due again
            for line in payment.lines.filter(status=OnlinePaymentLine.Status.SETTLED):
                payable_for(line.kind).reverse(receipt_number=line.receipt_number, reason=f"Refunded: {refund.reason}",
                                               by=None)
            if not payment.lines.exists() and payment.tax_payment_id:  # paid before payments had lines
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
