"""Stripe Checkout through the official library, with each municipality's own keys."""

from __future__ import annotations

from decimal import Decimal

import stripe

from . import CheckoutSession, Gateway, GatewayError, GatewayEvent, SignatureError

# Currencies Stripe counts in whole units; everything else (BDT included) has two decimals.
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf",
                "xof", "xpf"}


def to_minor_units(amount: Decimal, currency: str) -> int:
    exponent = 0 if currency.lower() in ZERO_DECIMAL else 2
    minor = Decimal(amount) * (10**exponent)
    if minor != minor.to_integral_value():
        raise GatewayError(f"{amount} {currency} has more decimals than the currency allows.")
    return int(minor)


def from_minor_units(minor: int, currency: str) -> Decimal:
    exponent = 0 if currency.lower() in ZERO_DECIMAL else 2
    return (Decimal(minor) / (10**exponent)).quantize(Decimal(1) if exponent == 0 else Decimal("0.01"))


class StripeGateway(Gateway):
    name = "stripe"

    def __init__(self, config):
        self.config = config
        options = {"base_addresses": {"api": config.api_base}} if config.api_base else {}
        self.client = stripe.StripeClient(config.secret_key, max_network_retries=1, **options)

    def create_checkout(self, *, payment, success_url: str, cancel_url: str) -> CheckoutSession:
        try:
            session = self.client.v1.checkout.sessions.create(params={
                "mode": "payment",
                "success_url": success_url,
                "cancel_url": cancel_url,
                "client_reference_id": str(payment.pk),
                "metadata": {"payment": str(payment.pk), "kind": payment.kind},
                "line_items": [{
                    "quantity": 1,
                    "price_data": {"currency": payment.currency.lower(),
                                   "unit_amount": to_minor_units(payment.amount, payment.currency),
                                   "product_data": {"name": payment.description}},
                }],
            }, options={"idempotency_key": f"checkout-{payment.pk}"})
        except stripe.StripeError as error:
            raise GatewayError(str(error)) from error
        return CheckoutSession(id=session.id, url=session.url)

    @staticmethod
    def _event_from_session(event_id: str, event_type: str, session) -> GatewayEvent:
        session = session.to_dict() if hasattr(session, "to_dict") else session
        kinds = {"checkout.session.completed": "paid" if session.get("payment_status") == "paid" else "ignored",
                 "checkout.session.async_payment_succeeded": "paid",
                 "checkout.session.async_payment_failed": "failed",
                 "checkout.session.expired": "expired"}
        currency = (session.get("currency") or "").upper()
        total = session.get("amount_total")
        return GatewayEvent(id=event_id, type=kinds.get(event_type, "ignored"), session_id=session["id"],
                            amount=from_minor_units(total, currency) if total is not None else None,
                            currency=currency, payment_reference=session.get("payment_intent") or "")

    def parse_webhook(self, *, payload: bytes, headers) -> tuple[str, GatewayEvent]:
        signature = headers.get("Stripe-Signature", "")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.config.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise SignatureError(str(error)) from error
        event = event.to_dict()
        session = event["data"]["object"]
        if session.get("object") != "checkout.session":
            return event["type"], GatewayEvent(id=event["id"], type="ignored", session_id="", amount=None,
                                               currency="")
        return event["type"], self._event_from_session(event["id"], event["type"], session)

    def recent_sessions(self, *, since_timestamp: int) -> list[GatewayEvent]:
        try:
            sessions = self.client.v1.checkout.sessions.list(params={"created": {"gte": since_timestamp}, "limit": 100})
        except stripe.StripeError as error:
            raise GatewayError(str(error)) from error
        events = []
        for session in sessions.auto_paging_iter():
            session = session.to_dict()
            status = session.get("status")
            event_type = ("checkout.session.completed" if status == "complete" else
                          "checkout.session.expired" if status == "expired" else "")
            if event_type:
                events.append(self._event_from_session(f"reconcile:{session['id']}", event_type, session))
        return events

    def refund(self, *, payment, amount: Decimal) -> str:
        try:
            refund = self.client.v1.refunds.create(params={
                "payment_intent": payment.gateway_payment_reference,
                "amount": to_minor_units(amount, payment.currency)},
                options={"idempotency_key": f"refund-{payment.pk}-{amount}"})
        except stripe.StripeError as error:
            raise GatewayError(str(error)) from error
        return refund.id
