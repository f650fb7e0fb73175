"""Shell pages: health, public site, tenant home, profile (API tokens), settings, feature landings."""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from imis.shared_apps.accounts.models import ApiToken
from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.accounts.selectors import api_tokens_of, memberships_of, request_roles
from imis.shared_apps.accounts.services import api_token_create, api_token_revoke
from imis.shared_apps.tenants.features import CATALOGUE, feature_required
from imis.shared_apps.tenants.selectors import municipalities_listed
from imis.tenant_apps.registry.selectors import registry_headline_counts

from .permissions import permission_required


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as error:  # noqa: BLE001 - health reports any failure
        return f"error: {error.__class__.__name__}"


def _check_redis() -> str:
    try:
        cache.set("health-probe", "1", timeout=5)
        return "ok" if cache.get("health-probe") == "1" else "error: read-back"
    except Exception as error:  # noqa: BLE001
        return f"error: {error.__class__.__name__}"


@never_cache
def health(request):
    municipality = getattr(request, "municipality", None)
    body = {
        "database": _check_database(),
        "redis": _check_redis(),
        "tenant": municipality.slug if municipality else "public",
    }
    healthy = body["database"] == "ok" and body["redis"] == "ok"
    body["status"] = "ok" if healthy else "error"
    return JsonResponse(body, status=200 if healthy else 503)


def public_home(request):
    municipalities = list(municipalities_listed())
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    cards = []
    for municipality in municipalities:
        domain = next((d for d in municipality.domains.all() if d.is_primary), None)
        cards.append({
            "municipality": municipality,
            "url": f"{request.scheme}://{domain.domain}{suffix}/" if domain else None,
            "features": [CATALOGUE[f.feature_id].name for f in municipality.features.all() if f.feature_id in CATALOGUE],
        })
    my_municipalities = []
    if request.user.is_authenticated:
        my_municipalities = sorted({m.municipality.slug for m in memberships_of(user=request.user)})
    return render(request, "public/home.html", {"cards": cards, "my_municipalities": my_municipalities})


def _role_labels(request) -> list[str]:
    return [str(Role(role).label) for role in sorted(request_roles(request))]


HEADLINES = [
    ("wards", _lazy("Wards"), "bi-grid-3x3"),
    ("buildings", _lazy("Buildings"), "bi-building"),
    ("holdings", _lazy("Holdings"), "bi-house-door"),
    ("containments", _lazy("Containments"), "bi-moisture"),
]


@permission_required("home.view")
def tenant_home(request):
    counts = registry_headline_counts()
    stats = [{"key": key, "label": label, "icon": icon, "value": counts.get(key, 0)} for key, label, icon in HEADLINES]
    return render(request, "home.html", {"stats": stats, "roles": _role_labels(request)})


@never_cache
def profile(request):
    new_key = request.session.pop("new_api_token", None)
    tokens = api_tokens_of(user=request.user, municipality=request.municipality)
    return render(request, "profile.html", {"tokens": tokens, "new_key": new_key, "roles": _role_labels(request)})


@require_POST
def api_token_new(request):
    try:
        _token, key = api_token_create(
            user=request.user, municipality=request.municipality, name=request.POST.get("name", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("profile")
    request.session["new_api_token"] = key
    messages.success(request, _("Token created. Copy it now: it will not be shown again."))
    return redirect("profile")


@require_POST
def api_token_revoke_view(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user, municipality=request.municipality)
    api_token_revoke(token=token, by=request.user)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("profile")


@permission_required("settings.manage")
def settings_page(request):
    municipality = request.municipality
    rows = {f.feature_id: f for f in municipality.features.all()}
    features = [
        {"spec": spec, "enabled": bool(rows.get(code) and rows[code].is_enabled),
         "settings": rows[code].settings if code in rows else {}}
        for code, spec in CATALOGUE.items()
    ]
    return render(request, "settings.html", {"features": features})


def feature_landing_view(*, feature: str, permission: str):
    """The landing page of a feature until its own screens take over."""
    spec = CATALOGUE[feature]

    @feature_required(feature)
    @permission_required(permission)
    def view(request):
        row = request.municipality.features.filter(feature_id=feature).first()
        return render(request, "feature_landing.html", {"spec": spec, "settings": row.settings if row else {}})

    return view


def error_404(request, exception=None):
    return render(request, "errors/404.html", status=404)


def error_500(request):
    return render(request, "errors/500.html", status=500)
