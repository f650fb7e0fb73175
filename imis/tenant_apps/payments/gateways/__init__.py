"""Payment gateways behind one interface. A Bangladeshi gateway (SSLCommerz, bKash) is one more class here."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from decimal import Decimal

# Where a payment form may send the resident (CSP form-action also covers the redirect after the POST).
CHECKOUT_ORIGINS = ["https://checkout.stripe.com"]


class GatewayError(Exception):
    pass


class SignatureError(GatewayError):
    """The webhook did not come from the gateway (bad signature, stale timestamp, altered body)."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class GatewayEvent:
    id: str
    type: str  # "paid", "expired", "failed", or "ignored"
    session_id: str
    amount: Decimal | None
    currency: str
    payment_reference: str = ""


class Gateway(abc.ABC):
    """What every gateway adapter provides."""

    name = ""

    @abc.abstractmethod
    def create_checkout(self, *, payment, success_url: str, cancel_url: str) -> CheckoutSession:
        """Open a hosted checkout for the payment; the customer is sent to its URL."""

    @abc.abstractmethod
    def parse_webhook(self, *, payload: bytes, headers) -> tuple[str, GatewayEvent]:
        """Verify the gateway's signature (raise SignatureError) and read the event."""

    @abc.abstractmethod
    def recent_sessions(self, *, since_timestamp: int) -> list[GatewayEvent]:
        """What the gateway settled lately, for reconciliation."""

    @abc.abstractmethod
    def refund(self, *, payment, amount: Decimal) -> str:
        """Return money; the gateway's refund id."""


def gateway_for(config) -> Gateway:
    from .stripe_gateway import StripeGateway

    if config.gateway == "stripe":
        return StripeGateway(config)
    raise GatewayError(f"Unknown gateway {config.gateway}")
