"""The residents' portal selectors and checks: find a holding only with a second factor, no enumeration."""

from __future__ import annotations

from django.core.cache import cache

from imis.tenant_apps.registry.models import Holding
from imis.tenant_apps.tax.models import Bill

LOOKUP_LIMIT = 8  # attempts per address per window
LOOKUP_WINDOW_SECONDS = 15 * 60
SESSION_KEY = "portal_holdings"


def lookup_allowed(address: str) -> bool:
    key = f"portal-lookup:{address}"
    cache.add(key, 0, LOOKUP_WINDOW_SECONDS)
    try:
        attempts = cache.incr(key)
    except ValueError:
        attempts = 1
    return attempts <= LOOKUP_LIMIT


def holding_verified(*, holding_id: str, second_factor: str) -> Holding | None:
    """The holding, if the second factor matches: the owner's phone's last 4 digits, or one of its bill numbers.
    Every failure looks the same to the caller."""
    holding = Holding.objects.filter(holding_id=(holding_id or "").strip().upper()).first()
    factor = (second_factor or "").strip()
    if holding is None or len(factor) < 4:
        return None
    if factor.isdigit() and len(factor) == 4 and holding.owners.filter(phone__endswith=factor).exists():
        return holding
    if Bill.objects.filter(holding=holding, number__iexact=factor).exists():
        return holding
    return None
