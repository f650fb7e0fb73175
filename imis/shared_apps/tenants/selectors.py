from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Municipality, MunicipalityFeature


def municipalities_listed() -> QuerySet[Municipality]:
    """Active municipalities for the public site, with their primary domain and enabled features."""
    return (
        Municipality.objects.filter(status=Municipality.Status.ACTIVE)
        .prefetch_related(
            "domains",
            Prefetch("features", queryset=MunicipalityFeature.objects.filter(is_enabled=True).select_related("feature")),
        )
        .order_by("name")
    )


def municipality_by_slug(slug: str) -> Municipality | None:
    return Municipality.objects.filter(slug=slug).first()
