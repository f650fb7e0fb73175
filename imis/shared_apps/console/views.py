"""The support team's console on the public host: platform staff only, every action audited."""

from __future__ import annotations

from functools import wraps
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST
from django_tenants.utils import tenant_context

from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.tenants.features import CATALOGUE
from imis.shared_apps.tenants.models import Municipality
from imis.tenant_apps.dataio.layers import layer_specs_for
from imis.tenant_apps.dataio.models import DataImport
from imis.tenant_apps.dataio.package import package_import_report, package_imports_recent, package_rejects_path
from imis.tenant_apps.dataio.reading import SourceError
from imis.tenant_apps.kpi.indicators import REGISTRY
from imis.tenant_apps.kpi.views import format_value
from imis.tenant_apps.registry.selectors import registry_headline_counts

from . import services
from .forms import InviteForm, OnboardingForm, PackageForm, RestoreForm, SupportSessionForm
from .models import ConsoleAuditEntry
from .selectors import (
    SORTS,
    checklist_groups,
    checklist_progress,
    municipalities_for_console,
    municipality_overview,
    sort_parse,
)
from .selectors import onboarding_checklist as checklist_items


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


SORT_COLUMNS = [("name", _lazy("Municipality"), False), ("status", _lazy("Status"), False),
                ("buildings", _lazy("Buildings"), True), ("containments", _lazy("Containments"), True),
                ("holdings", _lazy("Holdings"), True), ("open_applications", _lazy("Open applications"), True),
                ("quality", _lazy("Data quality"), True), ("activity", _lazy("Last activity"), False),
                ("created", _lazy("Created"), False)]


@platform_staff_required
def index(request):
    query = request.GET.get("q", "").strip()
    sort, direction = sort_parse(request.GET.get("sort"), request.GET.get("dir"))
    rows = municipalities_for_console(query=query, sort=sort, direction=direction)
    for row in rows:
        row["kpis"] = [{**kpi, "name": REGISTRY[kpi["code"]].name if kpi["code"] in REGISTRY else kpi["code"],
                        "text": format_value(kpi["value"], kpi["unit"])} for kpi in row["kpis"]]
    columns = [{"key": key, "label": label, "numeric": numeric,
                "active": key == sort, "dir": direction if key == sort else "",
                "next": ("asc" if direction == "desc" else "desc") if key == sort else SORTS[key][0]}
               for key, label, numeric in SORT_COLUMNS]
    return render(request, "console/index.html", {
        "rows": rows, "query": query, "sort": sort, "dir": direction, "columns": columns,
        "recent": ConsoleAuditEntry.objects.select_related("actor", "municipality")[:10]})


@platform_staff_required
def onboarding(request):
    """Wizard step 1: name, address, services and local settings -> the municipality is created."""
    form = OnboardingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            municipality = services.onboarding_create(
                by=request.user, slug=data["slug"], name=data["name"], name_bn=data["name_bn"],
                features=data["features"], domain=data["domain"] or None,
                centroid=(data["centroid_lon"], data["centroid_lat"]), timezone=data["timezone"],
                currency=data["currency"], default_language=data["default_language"],
                holding_id_pattern=data["holding_id_pattern"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("%(name)s is ready. Next: load its GIS data.") % {"name": municipality.name})
            return redirect("console:onboarding_gis", slug=municipality.slug)
    elif request.method == "GET" and request.GET.get("name"):
        form.initial["slug"] = slugify(request.GET["name"]).replace("-", "_")
    return render(request, "console/onboarding.html", {"form": form, "step": 1})


def _wizard_context(request, municipality: Municipality, step: int) -> dict:
    return {"m": municipality, "step": step, "tenant_url": _tenant_url(request, municipality)}


@platform_staff_required
def onboarding_gis(request, slug: str):
    """Wizard step 2: upload the initial GIS package; it is imported as a job in the municipality's schema."""
    municipality = get_object_or_404(Municipality, slug=slug)
    form = PackageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            data_import = services.onboarding_package_start(
                by=request.user, municipality=municipality, upload=form.cleaned_data["file"],
                skip_bad_rows=form.cleaned_data["skip_bad_rows"], srid=form.cleaned_data["srid"])
        except SourceError as error:
            form.add_error("file", error.message)
        else:
            return redirect("console:onboarding_gis_result", slug=slug, import_id=data_import.pk)
    with tenant_context(municipality):
        recent = [package_import_report(data_import) for data_import in package_imports_recent()]
        counts = registry_headline_counts()
    return render(request, "console/onboarding_gis.html", {
        **_wizard_context(request, municipality, 2), "form": form, "recent": recent, "counts": counts,
        "layers": [(spec.name, spec.title) for spec in layer_specs_for(municipality)
                   if spec.name in PACKAGE_LAYERS]})


PACKAGE_LAYERS = ("wards", "roads", "treatment_plants", "holdings", "buildings", "containments", "drains", "sewers",
                  "water_lines", "low_income_communities", "toilets")


def _package_import(municipality: Municipality, import_id):
    with tenant_context(municipality):
        data_import = DataImport.objects.select_related("job").filter(pk=import_id, layer="").first()
        if data_import is None:
            raise Http404
        return data_import, package_import_report(data_import)


@platform_staff_required
def onboarding_gis_result(request, slug: str, import_id):
    """The package's progress bar (polled by htmx) and, when the job is done, its report."""
    municipality = get_object_or_404(Municipality, slug=slug)
    _data_import, report = _package_import(municipality, import_id)
    context = {**_wizard_context(request, municipality, 2), "report": report}
    if request.htmx:
        return render(request, "console/_package_status.html", context)
    return render(request, "console/onboarding_gis_result.html", context)


@platform_staff_required
def onboarding_gis_rejects(request, slug: str, import_id):
    municipality = get_object_or_404(Municipality, slug=slug)
    data_import, _report = _package_import(municipality, import_id)
    path = package_rejects_path(data_import)
    if path is None:
        raise Http404
    return FileResponse(open(path, "rb"), as_attachment=True, content_type="text/csv",  # noqa: SIM115
                        filename=f"rejects-{Path(data_import.file_name).stem}.csv")


@platform_staff_required
def onboarding_invite(request, slug: str):
    """Wizard step 3: invite the municipal administrator (an email with a one-time link)."""
    municipality = get_object_or_404(Municipality, slug=slug)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_admin(by=request.user, municipality=municipality, email=form.cleaned_data["email"],
                                  full_name=form.cleaned_data["full_name"],
                                  base_url=_tenant_url(request, municipality, ""))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("console:onboarding_checklist", slug=slug)
    admins = municipality.memberships.filter(role=Role.MUNICIPAL_ADMIN, is_active=True).select_related("user")
    return render(request, "console/onboarding_invite.html", {
        **_wizard_context(request, municipality, 3), "form": form, "admins": admins})


def _checklist(request, municipality: Municipality) -> list[dict]:
    return checklist_items(municipality, tenant_link=lambda path: _tenant_url(request, municipality, path),
                           invite_link=reverse("console:onboarding_invite", kwargs={"slug": municipality.slug}))


@platform_staff_required
def onboarding_checklist(request, slug: str):
    """Wizard step 4: what is still missing, from the municipality's real data, each with where to add it."""
    municipality = get_object_or_404(Municipality, slug=slug)
    items = _checklist(request, municipality)
    return render(request, "console/onboarding_checklist.html", {
        **_wizard_context(request, municipality, 4), "groups": checklist_groups(items),
        "progress": checklist_progress(items)})


@platform_staff_required
def municipality(request, slug: str):
    municipality = get_object_or_404(Municipality, slug=slug)
    rows = {f.feature_id: f for f in municipality.features.all()}
    features = [{"code": code, "spec": spec, "row": rows.get(code),
                 "enabled": bool(rows.get(code) and rows[code].is_enabled)} for code, spec in CATALOGUE.items()]
    items = _checklist(request, municipality)
    return render(request, "console/municipality.html", {
        "m": municipality, "features": features, "overview": municipality_overview(municipality),
        "checklist": items, "checklist_progress": checklist_progress(items),
        "tenant_url": _tenant_url(request, municipality),
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
