"""Numbers without gaps for receipts, licences, applications and customer IDs, one series each.

The counter row is locked and incremented in the caller's transaction: a rolled-back payment gives its number
back, and two cashiers never get the same one.
"""

from django.db.models import F

from .models import ReceiptCounter


def number_next(series: str, pattern: str) -> str:
    """The next number of `series`, formatted with `pattern` (e.g. "TLR-{n:08d}")."""
    counter, _created = ReceiptCounter.objects.select_for_update().get_or_create(series=series)
    ReceiptCounter.objects.filter(pk=counter.pk).update(last_number=F("last_number") + 1)
    counter.refresh_from_db()
    return pattern.format(n=counter.last_number)
