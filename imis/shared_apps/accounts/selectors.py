from __future__ import annotations

from django.db.models import QuerySet

from .models import ApiToken, Membership
from .roles import permissions_for_roles


def user_roles_in(*, user, municipality) -> frozenset[str]:
    if user is None or not user.is_authenticated or municipality is None:
        return frozenset()
    return frozenset(
        Membership.objects.filter(user=user, municipality=municipality, is_active=True).values_list("role", flat=True)
    )


def request_roles(request) -> frozenset[str]:
    """Roles of the request's user in the request's municipality, computed once per request."""
    cached = getattr(request, "_imis_roles", None)
    if cached is None:
        cached = user_roles_in(user=getattr(request, "user", None), municipality=getattr(request, "municipality", None))
        request._imis_roles = cached
    return cached


def request_permissions(request) -> frozenset[str]:
    return permissions_for_roles(request_roles(request))


def has_permission(request, code: str) -> bool:
    """The one permission check every view, API and template uses."""
    return code in request_permissions(request)


def api_tokens_of(*, user, municipality) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, municipality=municipality).order_by("-created")


def memberships_of(*, user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, is_active=True).select_related("municipality")
