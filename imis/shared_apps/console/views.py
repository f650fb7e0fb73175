"""The support team's console on the public host: platform staff only, every action audited."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from imis.shared_apps.tenants.features import CATALOGUE
from imis.shared_apps.tenants.models import Municipality

from . import services
from .forms import InviteForm, OnboardingForm, RestoreForm, SupportSessionForm
from .models import ConsoleAuditEntry
from .selectors import municipalities_for_console, municipality_overview


def platform_staff_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_platform_staff:
            return render(request, "errors/403.html", {"reason": "role"}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _tenant_url(request, municipality: Municipality, path: str = "/") -> str:
    domain = municipality.get_primary_domain()
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    return f"{request.scheme}://{domain.domain}{suffix}{path}" if domain else "#"


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            for item in errors:
                form.add_error(field if field in form.fields else None, item.messages[0])
    else:
        for message in error.messages:
            form.add_error(None, message)


@platform_staff_required
def index(request):
    query, sort = request.GET.get("q", "").strip(), request.GET.get("sort", "name")
    rows = municipalities_for_console(query=query, sort=sort)
    return render(request, "console/index.html", {"rows": rows, "query": query, "sort": sort,
                                                  "recent": ConsoleAuditEntry.objects.select_related(
                                                      "actor", "municipality")[:10]})


@platform_staff_required
def onboarding(request):
    form = OnboardingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            municipality = services.onboarding_create(
                by=request.user, slug=data["slug"], name=data["name"], name_bn=data["name_bn"],
                features=data["features"], domain=data["domain"] or None,
                centroid=(data["centroid_lon"], data["centroid_lat"]), timezone=data["timezone"],
                currency=data["currency"], default_language=data["default_language"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            Municipality.objects.filter(pk=municipality.pk).update(holding_id_pattern=data["holding_id_pattern"])
            messages.success(request, _("%(name)s is ready.") % {"name": municipality.name})
            return redirect("console:municipality", slug=municipality.slug)
    elif request.method == "GET" and request.GET.get("name"):
        form.initial["slug"] = slugify(request.GET["name"]).replace("-", "_")
    return render(request, "console/onboarding.html", {"form": form})


@platform_staff_required
def municipality(request, slug: str):
    municipality = get_object_or_404(Municipality, slug=slug)
    rows = {f.feature_id: f for f in municipality.features.all()}
    features = [{"code": code, "spec": spec, "row": rows.get(code),
                 "enabled": bool(rows.get(code) and rows[code].is_enabled)} for code, spec in CATALOGUE.items()]
    return render(request, "console/municipality.html", {
        "m": municipality, "features": features, "overview": municipality_overview(municipality),
        "checklist": services.onboarding_checklist(municipality), "tenant_url": _tenant_url(request, municipality),
        "invite_form": InviteForm(), "support_form": SupportSessionForm(),
        "history": ConsoleAuditEntry.objects.filter(municipality=municipality).select_related("actor")[:20],
    })


@require_POST
@platform_staff_required
def feature_toggle(request, slug: str, code: str):
    municipality = get_object_or_404(Municipality, slug=slug)
    if code not in CATALOGUE:
        return HttpResponse(status=404)
    settings_data = {name: request.POST[name] for name in CATALOGUE[code].settings_form.base_fields
                     if request.POST.get(name, "") != ""}
    try:
        services.feature_toggle(by=request.user, municipality=municipality, code=code,
                                is_enabled=request.POST.get("enabled") == "1", settings_data=settings_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Saved."))
    return redirect("console:municipality", slug=slug)


@require_POST
@platform_staff_required
def status(request, slug: str):
    municipality = get_object_or_404(Municipality, slug=slug)
    try:
        services.status_change(by=request.user, municipality=municipality, status=request.POST.get("status", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("console:municipality", slug=slug)


@require_POST
@platform_staff_required
def invite(request, slug: str):
    municipality = get_object_or_404(Municipality, slug=slug)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            services.invite_admin(by=request.user, municipality=municipality, email=form.cleaned_data["email"],
                                  full_name=form.cleaned_data["full_name"],
                                  base_url=_tenant_url(request, municipality, ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
    else:
        messages.error(request, _("Enter a valid email address."))
    return redirect("console:municipality", slug=slug)


@require_POST
@platform_staff_required
def support_start(request, slug: str):
    municipality = get_object_or_404(Municipality, slug=slug)
    form = SupportSessionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you need access (at least 10 characters)."))
        return redirect("console:municipality", slug=slug)
    services.support_session_start(user=request.user, municipality=municipality, reason=form.cleaned_data["reason"],
                                   minutes=form.cleaned_data["minutes"])
    messages.success(request, _("Support session started. Log in on the municipality's address to use it."))
    return redirect("console:municipality", slug=slug)


@require_POST
@platform_staff_required
def backup(request, slug: str):
    municipality = get_object_or_404(Municipality, slug=slug)
    archive = services.backup_create(municipality=municipality, by=request.user)
    response = HttpResponse(archive, content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="imis-{municipality.slug}.tar.gz"'
    return response


@platform_staff_required
def restore(request):
    form = RestoreForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            municipality = services.backup_restore(data=form.cleaned_data["archive"].read(),
                                                   slug=form.cleaned_data["slug"], name=form.cleaned_data["name"],
                                                   by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Restored as %(name)s.") % {"name": municipality.name})
            return redirect("console:municipality", slug=municipality.slug)
    return render(request, "console/restore.html", {"form": form})
