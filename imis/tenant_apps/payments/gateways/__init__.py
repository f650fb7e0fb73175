"""Payment gateways behind one interface. A Bangladeshi gateway (SSLCommerz, bKash) is one more class here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


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


class Gateway:
    name = ""

    def create_checkout(self, *, payment, success_url: str, cancel_url: str) -> CheckoutSession:
        raise NotImplementedError  # an interface method: each gateway implements it

    def parse_webhook(self, *, payload: bytes, headers) -> tuple[str, GatewayEvent]:
        raise NotImplementedError

    def recent_sessions(self, *, since_timestamp: int) -> list[GatewayEvent]:
        raise NotImplementedError

    def refund(self, *, payment, amount: Decimal) -> str:
        raise NotImplementedError


def gateway_for(config) -> Gateway:
    from .stripe_gateway import StripeGateway

    if config.gateway == "stripe":
        return StripeGateway(config)
    raise GatewayError(f"Unknown gateway {config.gateway}")
