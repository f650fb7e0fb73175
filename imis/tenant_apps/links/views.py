"""Outside data screens: the links with their last run, each link's configuration page (runs, errors, "Run
now"), health file upload, the utility's file drop, a run's report and the ward table of cases against unsafe
sanitation. Nothing outside is fetched here: runs are jobs."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.jobs.services import job_progress_of
from imis.tenant_apps.registry.forms import add_service_errors

from . import selectors, services
from .adapters import ADAPTERS
from .forms import AccountFilterForm, CasesFilterForm, HealthUploadForm, LinkConfigForm, RunForm, UtilityFileForm
from .models import Link, LinkRun

PER_PAGE = 50
STATUS_BADGES = {"succeeded": "status-active", "running": "status-suspended", "failed": "status-archived"}


def _adapter_or_404(kind: str):
    if kind not in ADAPTERS:
        raise Http404("No such link")
    return ADAPTERS[kind]


def _decorate(run: LinkRun | None) -> LinkRun | None:
    if run is not None:
        run.badge = STATUS_BADGES.get(run.status, "status-archived")
    return run


@permission_required("links.view")
def index(request):
    items = selectors.links_overview()
    for item in items:
        _decorate(item["last_run"])
    return render(request, "links/index.html", {"items": items, "can_manage": has_permission(request,
                                                                                             "links.manage")})


def _config_initial(link: Link) -> dict:
    return {"is_enabled": link.is_enabled, "endpoint_url": link.endpoint_url, "secret_header": link.secret_header,
            "source": link.options.get("source", ""), "dataset": link.options.get("dataset", ""),
            "threshold": link.options.get("threshold", "")}


@permission_required("links.view")
def detail(request, kind):
    adapter = _adapter_or_404(kind)
    can_manage = has_permission(request, "links.manage")
    link = Link.objects.filter(kind=kind).first() or Link(kind=kind)
    form = LinkConfigForm(request.POST or None, kind=kind, initial=_config_initial(link))
    if request.method == "POST":
        if not can_manage:
            return render(request, "errors/403.html", {"reason": "role", "permission": "links.manage"}, status=403)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.link_configure(by=request.user, kind=kind, is_enabled=data["is_enabled"],
                                        endpoint_url=data["endpoint_url"],
                                        secret_header=data.get("secret_header") or "", secret=data["secret"],
                                        clear_secret=data["clear_secret"], options=form.options())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The link's settings are saved."))
                return redirect("links:detail", kind=kind)
    runs = [_decorate(run) for run in selectors.link_runs(link)]
    return render(request, "links/detail.html", {
        "adapter": adapter, "link": link, "form": form, "runs": runs, "can_manage": can_manage,
        "problems": adapter.config_problems(link), "run_form": RunForm(),
        "upload_form": HealthUploadForm() if kind == "health" else None,
        "file_form": UtilityFileForm() if kind == "utility" else None,
        "documentation": getattr(adapter, "documentation", "")})


def _redirect_to_run(run: LinkRun):
    return redirect("links:run", pk=run.pk)


@require_POST
@permission_required("links.manage")
def run_now(request, kind):
    _adapter_or_404(kind)
    form = RunForm(request.POST)
    params = {"year": form.cleaned_data["year"]} if form.is_valid() and form.cleaned_data.get("year") else {}
    try:
        run = services.link_run_start(by=request.user, kind=kind, params=params)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("links:detail", kind=kind)
    messages.success(request, _("The run has started; this page shows its progress."))
    return _redirect_to_run(run)


@permission_required("links.manage")
def health_upload(request):
    form = HealthUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.health_upload(by=request.user, uploaded_file=data["file"], dataset=data["dataset"],
                                         skip_bad_rows=data["skip_bad_rows"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The file is being checked and imported."))
            return _redirect_to_run(run)
    return render(request, "links/upload.html", {"form": form, "adapter": ADAPTERS["health"],
                                                 "action": "links:health_upload"})


@permission_required("links.manage")
def utility_file(request):
    form = UtilityFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.utility_file_drop(by=request.user, uploaded_file=form.cleaned_data["file"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The file is saved; run the sync to match its customers."))
            return redirect("links:detail", kind="utility")
    return render(request, "links/upload.html", {"form": form, "adapter": ADAPTERS["utility"],
                                                 "action": "links:utility_file"})


@permission_required("links.view")
def run_detail(request, pk):
    try:
        run = _decorate(selectors.run_detail(pk))
    except LinkRun.DoesNotExist as error:
        raise Http404("No such run") from error
    job = Job.objects.filter(pk=run.job_id).first() if run.job_id else None
    return render(request, "links/run.html", {"run": run, "adapter": ADAPTERS[run.link.kind],
                                              "report": run.report or {}, "job": job,
                                              "progress": job_progress_of(job) if job else None})


@permission_required("links.view")
def cases_wards(request):
    form = CasesFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    table = selectors.cases_vs_sanitation(since=data.get("since"), until=data.get("until"),
                                          disease=data.get("disease") or "")
    return render(request, "links/cases_wards.html", {"form": form, "table": table,
                                                      "diseases": selectors.diseases_listed()})


@permission_required("links.view")
def utility_accounts(request):
    form = AccountFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    accounts = selectors.utility_accounts_listed(query=data.get("q") or "", matched=data.get("matched") or "")
    page = Paginator(accounts, PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "links/accounts.html", {"form": form, "page": page, "query": params.urlencode()})
