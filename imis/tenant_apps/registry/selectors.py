from django.db.models import QuerySet

from .models import Ward


def wards_listed() -> QuerySet[Ward]:
    return Ward.objects.order_by("number")


def registry_headline_counts() -> dict[str, int]:
    """Headline figures for the home page, one query per layer."""
    return {"wards": Ward.objects.count()}
