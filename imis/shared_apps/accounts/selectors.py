from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from .models import ApiToken, Membership
from .roles import permissions_for_roles


def user_roles_in(*, user, municipality) -> frozenset[str]:
    if user is None or not user.is_authenticated or municipality is None:
        return frozenset()
    return frozenset(
        Membership.objects.filter(user=user, municipality=municipality, is_active=True).values_list("role", flat=True)
    )


SUPPORT_ROLES = frozenset({"municipal_admin"})


def active_support_session(*, user, municipality):
    """The platform staff member's running support session in this municipality, if any."""
    from imis.shared_apps.console.models import SupportSession

    if user is None or not user.is_authenticated or not getattr(user, "is_platform_staff", False) or not municipality:
        return None
    return (SupportSession.objects.filter(user=user, municipality=municipality, ended__isnull=True,
                                          expires__gt=timezone.now()).order_by("-started").first())


def request_roles(request) -> frozenset[str]:
    """Roles of the request's user in the request's municipality, computed once per request.

    Platform staff hold no role in a municipality; during a support session (started with a reason, time-limited,
    audited) they act as its municipal admin.
    """
    cached = getattr(request, "_imis_roles", None)
    if cached is None:
        user, municipality = getattr(request, "user", None), getattr(request, "municipality", None)
        cached = user_roles_in(user=user, municipality=municipality)
        if not cached:
            session = active_support_session(user=user, municipality=municipality)
            if session is not None:
                request.support_session = session
                cached = SUPPORT_ROLES
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


def actor_permissions(user, municipality) -> frozenset[str] | None:
    """What a service's actor may do in this municipality; None for the system itself (seeding, tasks)."""
    if user is None:
        return None
    roles = user_roles_in(user=user, municipality=municipality)
    if not roles and active_support_session(user=user, municipality=municipality) is not None:
        roles = SUPPORT_ROLES
    return permissions_for_roles(roles)
