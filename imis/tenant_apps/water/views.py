"""Water supply screens: the connection list with its filters and due status, the application and illegal
connection forms, the connection page (timeline, readings, bills, payments) with a form for each step, bulk
readings upload, the monthly bill run, the tariffs and the buildings along the water lines not yet connected."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from imis.platform.csvexport import csv_response
from imis.platform.formatting import fiscal_year_label
from imis.platform.permissions import permission_required
from imis.platform.workflow import workflow_step
from imis.shared_apps.accounts.selectors import has_permission
from imis.shared_apps.tenants.features import feature_required
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.jobs.services import job_create, job_enqueue, job_progress_of
from imis.tenant_apps.payments.services import counter_take
from imis.tenant_apps.registry.forms import add_service_errors

from . import selectors, services
from .forms import (
    ActivationForm,
    ApplicationForm,
    BillRunForm,
    ConnectionFilterForm,
    IllegalForm,
    InspectionForm,
    PayForm,
    ReadingForm,
    ReadingsUploadForm,
    ReasonForm,
    TariffForm,
    UnconnectedForm,
)
from .models import WaterConnection, WaterTariff
from .payables import KIND, WaterPayable
from .tasks import water_bill_run_task

FEATURE = "water_supply"
PER_PAGE = 50
S = WaterConnection.Status
STATUS_BADGES = {S.ACTIVE: "status-active", S.APPLIED: "status-suspended", S.INSPECTED: "status-suspended",
                 S.APPROVED: "status-suspended", S.DISCONNECTED: "status-archived", S.ILLEGAL: "status-archived",
                 S.REJECTED: "status-archived"}
DUE_LABELS = {"clear": _("Paid up"), "due": _("Due"), "overdue": _("Overdue")}
DUE_BADGES = {"clear": "status-active", "due": "status-suspended", "overdue": "status-archived"}
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def water_view(permission: str):
    def decorator(view):
        return feature_required(FEATURE)(permission_required(permission)(view))

    return decorator


def _connection_or_404(pk: int) -> WaterConnection:
    try:
        return selectors.connection_detail(pk)
    except WaterConnection.DoesNotExist as error:
        raise Http404("No such connection") from error


def _decorate(connection: WaterConnection) -> WaterConnection:
    connection.badge = STATUS_BADGES.get(connection.status, "status-archived")
    if hasattr(connection, "bills_due"):
        connection.due_status = selectors.due_status(connection)
        connection.due_label = DUE_LABELS[connection.due_status]
        connection.due_badge = DUE_BADGES[connection.due_status]
    return connection


def _dues(connection: WaterConnection) -> list:
    """What the connection owes now, from its prefetched bills (no query per bill)."""
    payable = WaterPayable()
    dues = [payable.fee_due_of(connection), *(payable.bill_due_of(bill) for bill in connection.bills.all())]
    return [due for due in dues if due]


def _may_take_money(request) -> bool:
    return any(has_permission(request, code) for code in WaterPayable.collect_permissions)


@water_view("water.view")
def index(request):
    form = ConnectionFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    connections = selectors.connections_listed(query=data.get("q") or "", status=data.get("status") or "",
                                               ward=data.get("ward"), metered=data.get("metered") or "",
                                               due=data.get("due") or "")
    page = Paginator(connections, PER_PAGE).get_page(request.GET.get("page"))
    for connection in page.object_list:
        _decorate(connection)
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "water/index.html", {
        "form": form, "page": page, "query": params.urlencode(), "counts": selectors.connection_counts(),
        "can_manage": has_permission(request, "water.manage"), "can_take_money": _may_take_money(request),
        "is_filtered": any(request.GET.get(key) for key in ("q", "status", "ward", "metered", "due"))})


def _form_page(request, form, call, success, *, template="water/form.html", title="", intro="", back=None):
    if request.method == "POST" and form.is_valid():
        try:
            result = call(form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, success(result) if callable(success) else success)
            return redirect("water:detail", pk=result.pk)
    return render(request, template, {"form": form, "title": title, "intro": intro, "back": back})


@water_view("water.manage")
def apply(request):
    form = ApplicationForm(request.POST or None, initial={"holding": request.GET.get("holding", ""),
                                                          "building": request.GET.get("building", "")})
    return _form_page(request, form, lambda data: services.connection_apply(by=request.user, **data),
                      lambda c: _("Application %(customer)s registered; it waits for inspection.") % {
                          "customer": c.customer_id},
                      title=_("New water connection"),
                      intro=_("Next: inspection, approval, the connection fee, then the meter and the supply."))


@water_view("water.manage")
def report_illegal(request):
    form = IllegalForm(request.POST or None)
    return _form_page(request, form, lambda data: services.connection_report_illegal(by=request.user, **data),
                      _("Illegal connection recorded."), title=_("Record an illegal connection"),
                      intro=_("A connection found without approval: record it, then disconnect or regularise it."))


@water_view("water.view")
def detail(request, pk: int):
    connection = _decorate(_connection_or_404(pk))
    dues = _dues(connection)
    return render(request, "water/detail.html", {
        "connection": connection, "can_manage": has_permission(request, "water.manage"),
        "can_take_money": _may_take_money(request), "dues": dues,
        "events": list(connection.events.all()), "readings": sorted(connection.readings.all(),
                                                                    key=lambda r: (r.read_on, r.pk), reverse=True),
        "bills": list(connection.bills.all()), "payments": list(connection.payments.all()),
        "reading_form": ReadingForm(initial={"read_on": timezone.localdate()})})


def _step(request, pk, form_class, call, success, title, *, initial=None):
    return workflow_step(request, record=_decorate(_connection_or_404(pk)), form_class=form_class, call=call,
                         success=success, title=title, back=reverse("water:detail", args=[pk]),
                         template="water/step.html", context_name="connection", initial=initial)


@water_view("water.manage")
def inspect(request, pk: int):
    return _step(request, pk, InspectionForm,
                 lambda c, data: services.connection_inspect(by=request.user, connection=c, **data),
                 _("Inspection recorded."), _("Record the inspection"))


@require_POST
@water_view("water.manage")
def approve(request, pk: int):
    return _step(request, pk, None, lambda c, data: services.connection_approve(by=request.user, connection=c),
                 _("Approved: the connection fee is due."), "")


@water_view("water.manage")
def reject(request, pk: int):
    return _step(request, pk, ReasonForm,
                 lambda c, data: services.connection_reject(by=request.user, connection=c, **data),
                 _("Application rejected."), _("Reject the application"))


@water_view("water.manage")
def activate(request, pk: int):
    return _step(request, pk, ActivationForm,
                 lambda c, data: services.connection_activate(by=request.user, connection=c, **data),
                 _("Connected: the supply is on."), _("Connect the supply"),
                 initial={"activated_on": timezone.localdate()})


@water_view("water.manage")
def disconnect(request, pk: int):
    return _step(request, pk, ReasonForm,
                 lambda c, data: services.connection_disconnect(by=request.user, connection=c, **data),
                 _("Disconnected."), _("Disconnect the supply"))


@require_POST
@water_view("water.manage")
def reconnect(request, pk: int):
    return _step(request, pk, None, lambda c, data: services.connection_reconnect(by=request.user, connection=c),
                 _("Reconnected: the supply is on again."), "")


@water_view("water.manage")
def reading_new(request, pk: int):
    return _step(request, pk, ReadingForm,
                 lambda c, data: services.reading_record(by=request.user, connection=c, **data),
                 _("Reading recorded."), _("Record a meter reading"), initial={"read_on": timezone.localdate()})


@feature_required(FEATURE)
def pay(request, pk: int):
    """Take a connection fee or a bill at the counter: the same payable and receipts as the payments counter."""
    if not _may_take_money(request):
        return render(request, "errors/403.html", {"reason": "role", "permission": "tax.collect"}, status=403)
    connection = _connection_or_404(pk)
    dues = _dues(connection)
    form = PayForm(request.POST or None, dues=dues, initial={"due": request.GET.get("due", "")})
    if request.method == "POST" and form.is_valid():
        try:
            [settlement] = counter_take(by=request.user, holding=connection.holding,
                                        items=[(KIND, form.cleaned_data["due"], None)],
                                        method=form.cleaned_data["method"], reference=form.cleaned_data["reference"])
        except ValidationError as error:
            add_service_errors(form, error, field_names={"dues": "due"})
        else:
            messages.success(request, _("Received: receipt %(number)s.") % {"number": settlement.receipt_number})
            return redirect("water:detail", pk=pk)
    return render(request, "water/step.html", {"connection": _decorate(connection), "form": form,
                                               "title": _("Take a payment")})


@water_view("water.manage")
def readings_upload(request):
    form = ReadingsUploadForm(request.POST or None, request.FILES or None)
    rejects = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            form.add_error("file", _("The file is larger than 5 MB; split it."))
        else:
            try:
                result = services.readings_import(by=request.user, content=upload.read())
            except services.ReadingsRejected as error:
                rejects = error.rejects
                form.add_error(None, error.messages[0])
            except (ValidationError, UnicodeDecodeError) as error:
                if isinstance(error, UnicodeDecodeError):
                    form.add_error("file", _("Save the file as CSV in UTF-8."))
                else:
                    add_service_errors(form, error)
            else:
                messages.success(request, _("%(count)s readings recorded.") % {"count": result.recorded})
                return redirect("water:readings_upload")
    return render(request, "water/readings_upload.html", {"form": form, "rejects": rejects})


BILL_RUN_KIND = "water.bill_run"


def _nonce(request) -> str:
    return request.POST.get("nonce") or uuid.uuid4().hex


def _bill_run_start(request, form):
    """The month's bill run as a job. The same form sent twice, or a run of the same month and ward still going,
    leads to the job already there rather than a second one."""
    data = form.cleaned_data
    try:
        services.bill_run_check(period=data["period"])
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    period, ward = data["period"].replace(day=1), data.get("ward")
    nonce = _nonce(request)[:100]
    running = (Job.objects.filter(kind=BILL_RUN_KIND, idempotency_key=nonce).first()
               or Job.objects.filter(kind=BILL_RUN_KIND, status__in=(Job.Status.PENDING, Job.Status.RUNNING),
                                     params__period=period.isoformat(), params__ward=ward).first())
    if running is not None:
        return running
    where = _("ward %(n)s") % {"n": ward} if ward else _("all wards")
    title = _("Water bills %(month)s, %(where)s") % {"month": period.strftime("%m/%Y"), "where": where}
    job = job_create(kind=BILL_RUN_KIND, title=title, by=request.user, idempotency_key=nonce,
                     params={"period": period.isoformat(), "ward": ward})
    return job_enqueue(job=job, task=water_bill_run_task, period=period.isoformat(), ward_number=ward,
                       user_id=request.user.pk)


@water_view("water.manage")
def bill_run(request):
    form = BillRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        job = _bill_run_start(request, form)
        if job is not None:
            return redirect("water:bill_run_job", job_id=job.pk)
    runs = list(Job.objects.filter(kind=BILL_RUN_KIND)[:10])
    return render(request, "water/bill_run.html", {"form": form, "runs": runs, "nonce": _nonce(request)})


@water_view("water.manage")
def bill_run_job(request, job_id):
    """A bill run's progress (polled by htmx) and, once finished, what it billed."""
    job = get_object_or_404(Job, pk=job_id, kind=BILL_RUN_KIND)
    context = {"job": job, "progress": job_progress_of(job)}
    if request.htmx:
        return render(request, "water/_bill_run_progress.html", context)
    return render(request, "water/bill_run_job.html", context)


@water_view("water.view")
def bill_pdf(request, number: str):
    """One monthly bill as PDF (?lang=bn for Bangla)."""
    from django.utils import translation

    from .models import WaterBill
    from .pdf import water_bill_pdf

    bill = get_object_or_404(WaterBill.objects.select_related("connection", "connection__holding",
                                                             "connection__holding__ward"), number=number)
    lang = request.GET.get("lang") or translation.get_language() or "en"
    language = "bn" if lang.startswith("bn") else "en"
    content = water_bill_pdf(bill, municipality=request.municipality, language=language, request=request)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="water-bill-{bill.number}-{language}.pdf"'
    return response


@water_view("water.view")
def tariffs(request):
    can_manage = has_permission(request, "water.manage")
    year = services.fiscal_year_of(timezone.localdate())
    form = TariffForm(request.POST or None, initial={"fiscal_year": year})
    if request.method == "POST":
        if not can_manage:
            return render(request, "errors/403.html", {"reason": "role", "permission": "water.manage"}, status=403)
        if form.is_valid():
            try:
                services.tariff_set(by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Tariff saved."))
                return redirect(request.path)
    rows = list(WaterTariff.objects.all())
    for tariff in rows:
        tariff.year_label = fiscal_year_label(tariff.fiscal_year)
        tariff.slab_rows = [(up_to, price) for up_to, price in tariff.slabs]
    return render(request, "water/tariffs.html", {"rows": rows, "form": form, "can_manage": can_manage})


# --- buildings along the water lines with no connection ------------------------------------------------

UNCONNECTED_DEFAULT_M = 30


@require_GET
@water_view("water.view")
def unconnected(request):
    form = UnconnectedForm(request.GET or None, initial={"distance_m": UNCONNECTED_DEFAULT_M})
    if request.GET and not form.is_valid():
        return render(request, "water/unconnected.html", {"form": form, "result": None}, status=400)
    data = form.cleaned_data if request.GET else {}
    try:
        result = selectors.unconnected_buildings(distance_m=data.get("distance_m") or UNCONNECTED_DEFAULT_M,
                                                 ward=data.get("ward"), water_line_id=data.get("water_line"))
    except ValidationError as error:
        add_service_errors(form, error)
        return render(request, "water/unconnected.html", {"form": form, "result": None}, status=400)
    if request.GET.get("format") == "csv":
        return csv_response("water-unconnected.csv", result.columns,
                            ([row.get(column) for column in result.columns] for row in result.rows))
    page = Paginator(result.rows, PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    return render(request, "water/unconnected.html", {
        "form": form, "result": result, "page": page, "query": params.urlencode(),
        "can_manage": has_permission(request, "water.manage")})
