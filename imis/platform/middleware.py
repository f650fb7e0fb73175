"""Request pipeline: which municipality (by host), who (session or API token), may they (membership)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, set_urlconf
from django.utils import translation
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_tenant_domain_model

from imis.shared_apps.accounts.selectors import request_roles
from imis.shared_apps.accounts.services import api_token_authenticate

# Paths a tenant host serves to anyone; everything else needs a membership in that municipality.
OPEN_PATH_PREFIXES = ("/health", "/accounts/", "/i18n/", "/static/", "/favicon.ico")


def _is_open_path(path: str) -> bool:
    return path.startswith(OPEN_PATH_PREFIXES)


class MunicipalityMiddleware(TenantMainMiddleware):
    """Selects the municipality's schema from the host.

    Public hosts (IMIS_PUBLIC_HOSTS) get the public site; an unknown host gets a 404 page and never the
    public site's data; a suspended municipality a 503 page; an archived one is not served (404).
    """

    def process_request(self, request):
        connection.set_schema_to_public()
        request.municipality = None
        request.tenant = None
        hostname = self.hostname_from_request(request)
        if hostname in settings.IMIS_PUBLIC_HOSTS:
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None
        domain_model = get_tenant_domain_model()
        domain = domain_model.objects.select_related("tenant").filter(domain=hostname).first()
        municipality = domain.tenant if domain else None
        if municipality is None or municipality.status == municipality.Status.ARCHIVED:
            return render(request, "errors/unknown_host.html", {"hostname": hostname}, status=404)
        if municipality.status == municipality.Status.SUSPENDED:
            return render(request, "errors/suspended.html", {"municipality_name": municipality.name}, status=503)
        municipality.domain_url = hostname
        request.tenant = municipality
        request.municipality = municipality
        connection.set_tenant(municipality)
        self.setup_url_routing(request)
        return None


class ApiTokenMiddleware:
    """`Authorization: Token <key>` authenticates the request for that token's municipality only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("Authorization", "")
        if header.startswith("Token "):
            user = api_token_authenticate(key=header[6:].strip(), municipality=request.municipality)
            if user is None:
                return JsonResponse({"error": "invalid_token", "message": "Invalid or revoked API token."},
                                    status=401)
            request.user = user
            request.is_token_authenticated = True
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)


class MunicipalLanguageMiddleware:
    """Without an explicit choice (cookie), pages speak the user's or else the municipality's language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            user = getattr(request, "user", None)
            language = (user.preferred_language if user and user.is_authenticated else "") or (
                request.municipality.default_language if request.municipality else ""
            )
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)


class MembershipMiddleware:
    """Nothing tenant-scoped is served without a membership in that municipality."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.municipality is None or _is_open_path(request.path) or getattr(view_func, "imis_public", False):
            return None
        wants_json = getattr(request, "is_token_authenticated", False) or "application/json" in request.headers.get(
            "Accept", ""
        )
        if not request.user.is_authenticated:
            if wants_json:
                return JsonResponse({"error": "authentication_required"}, status=401)
            return redirect_to_login(request.get_full_path())
        if not request_roles(request):
            if wants_json:
                return JsonResponse({"error": "no_membership"}, status=403)
            return render(request, "errors/403.html", {"reason": "no_membership"}, status=403)
        return None


def public_page(view):
    """Mark a tenant view as open to residents (no membership needed)."""
    view.imis_public = True
    return view


MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/health", "/i18n/")
MFA_CHECKED_SESSION_KEY = "imis_mfa_checked"


def user_needs_mfa(user) -> bool:
    """Platform staff and the roles in IMIS_MFA_REQUIRED_ROLES (anywhere) must use a second factor."""
    if user.is_platform_staff:
        return True
    from imis.shared_apps.accounts.models import Membership

    return Membership.objects.filter(user=user, is_active=True, role__in=settings.IMIS_MFA_REQUIRED_ROLES).exists()


class MfaRequiredMiddleware:
    """Until such a user has set up an authenticator app, every page sends them to set it up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if (user is None or not user.is_authenticated or getattr(request, "is_token_authenticated", False)
                or request.path.startswith(MFA_EXEMPT_PREFIXES)):
            return None
        if request.session.get(MFA_CHECKED_SESSION_KEY) == user.pk:
            return None  # checked once per login, not on every tile
        from allauth.mfa.utils import is_mfa_enabled

        if user_needs_mfa(user) and not is_mfa_enabled(user):
            return redirect(f"{reverse('mfa_activate_totp')}?next={request.get_full_path()}")
        request.session[MFA_CHECKED_SESSION_KEY] = user.pk
        return None


class SupportAuditMiddleware:
    """Every request made during a support session lands in the municipality's own audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "support_session", None)
        if session is not None and request.municipality is not None:
            from imis.tenant_apps.audit.models import AuditEntry

            AuditEntry.objects.create(
                actor_id=request.user.pk, actor_label=f"{request.user.email} (support)",
                action=AuditEntry.Action.SUPPORT, model="console.supportsession", object_id=str(session.pk),
                object_label=session.reason[:200],
                after={"method": request.method, "path": request.get_full_path()[:500],
                       "status": response.status_code},
            )
        return response
