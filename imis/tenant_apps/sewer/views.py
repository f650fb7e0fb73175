"""Sewer connection screens: the applications list with its filters, the application form, the application page
with its timeline and each step of the life cycle, and the campaign list of buildings that could connect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET

from imis.platform.csvexport import csv_response
from imis.platform.permissions import permission_required
from imis.platform.workflow import workflow_step
from imis.shared_apps.accounts.selectors import has_permission
from imis.shared_apps.tenants.features import feature_required
from imis.tenant_apps.registry.forms import add_service_errors
from imis.tenant_apps.registry.models import Building

from . import selectors, services
from .forms import (
    ApplicationForm,
    ApproveForm,
    CampaignForm,
    ConnectForm,
    ConnectionFilterForm,
    FeePaymentForm,
    ReasonForm,
    SurveyForm,
)
from .models import SewerConnection, SewerConnectionPayment

FEATURE = "sewer"
PER_PAGE = 50
S = SewerConnection.Status
STATUS_BADGES = {S.CONNECTED: "status-active", S.APPLIED: "status-suspended", S.SURVEYED: "status-suspended",
                 S.APPROVED: "status-suspended", S.FEE_PAID: "status-suspended", S.REJECTED: "status-archived",
                 S.CANCELLED: "status-archived"}
STEPS = (S.APPLIED, S.SURVEYED, S.APPROVED, S.FEE_PAID, S.CONNECTED)
STEP_LABELS = {S.APPLIED: _lazy("Applied"), S.SURVEYED: _lazy("Surveyed"), S.APPROVED: _lazy("Approved"),
               S.FEE_PAID: _lazy("Fee paid"), S.CONNECTED: _lazy("Connected"), S.REJECTED: _lazy("Rejected"),
               S.CANCELLED: _lazy("Cancelled")}


def sewer_view(permission: str):
    def decorator(view):
        return feature_required(FEATURE)(permission_required(permission)(view))

    return decorator


def _connection_or_404(pk: int) -> SewerConnection:
    try:
        return selectors.connection_detail(pk)
    except SewerConnection.DoesNotExist as error:
        raise Http404(str(error)) from error


def _decorate(connection: SewerConnection) -> SewerConnection:
    connection.badge = STATUS_BADGES.get(connection.status, "status-archived")
    phone = connection.applicant_phone or ""
    connection.phone_local = "0" + phone[4:] if phone.startswith("+880") else phone
    return connection


@sewer_view("sewer.view")
def index(request):
    form = ConnectionFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    connections = selectors.connections_listed(query=data.get("q") or "", status=data.get("status") or "",
                                               ward=data.get("ward"), sewer=data.get("sewer") or "")
    page = Paginator(connections, PER_PAGE).get_page(request.GET.get("page"))
    for connection in page.object_list:
        _decorate(connection)
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "sewer/index.html", {
        "form": form, "page": page, "query": params.urlencode(), "counts": selectors.connection_counts(),
        "can_manage": has_permission(request, "sewer.manage"),
        "is_filtered": any(request.GET.get(key) for key in ("q", "status", "ward", "sewer"))})


@sewer_view("sewer.manage")
def apply(request):
    initial = {}
    building = None
    if request.GET.get("building", "").isdigit():
        building = Building.objects.select_related("holding").filter(pk=int(request.GET["building"])).first()
    if building is not None:
        owner = building.holding.owners.first() if building.holding_id else None
        initial = {"building": building.bin, "applicant_name": owner.name if owner else "",
                   "applicant_phone": ("0" + owner.phone[4:]) if owner and owner.phone.startswith("+880") else "",
                   "sewer": request.GET.get("sewer") or None}
    form = ApplicationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.connection_apply(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Application %(number)s registered; it waits for the survey.") % {
                "number": connection.application_number})
            return redirect("sewer:detail", pk=connection.pk)
    return render(request, "sewer/apply.html", {"form": form})


@sewer_view("sewer.view")
def detail(request, pk: int):
    connection = _decorate(_connection_or_404(pk))
    can_manage = has_permission(request, "sewer.manage")
    reached = STEPS.index(connection.status) if connection.status in STEPS else -1
    steps = [{"status": step, "label": STEP_LABELS[step], "is_done": index <= reached}
             for index, step in enumerate(STEPS)]
    events = list(connection.events.all())
    for event in events:
        event.label = STEP_LABELS.get(event.action, event.action)
    payment = SewerConnectionPayment.objects.filter(connection=connection).first()
    return render(request, "sewer/detail.html", {
        "connection": connection, "can_manage": can_manage, "steps": steps, "payment": payment,
        "can_take_fee": can_manage or has_permission(request, "tax.collect"),
        "max_distance_m": services.max_connection_distance_m(), "events": events})


def _step(request, pk: int, form_class, call, success: str, title: str):
    return workflow_step(request, record=_decorate(_connection_or_404(pk)), form_class=form_class, call=call,
                         success=success, title=title, back=reverse("sewer:detail", args=[pk]),
                         template="sewer/step.html", context_name="connection")


@sewer_view("sewer.manage")
def survey(request, pk: int):
    return _step(request, pk, SurveyForm,
                 lambda connection, data: services.connection_survey(by=request.user, connection=connection, **data),
                 _("Survey recorded."), _("Record the survey"))


@sewer_view("sewer.manage")
def approve(request, pk: int):
    return _step(request, pk, ApproveForm,
                 lambda connection, data: services.connection_approve(by=request.user, connection=connection, **data),
                 _("Approved."), _("Approve and set the fee"))


@feature_required(FEATURE)
def pay(request, pk: int):
    if not (has_permission(request, "sewer.manage") or has_permission(request, "tax.collect")):
        return render(request, "errors/403.html", {"reason": "role", "permission": "sewer.manage"}, status=403)
    return _step(request, pk, FeePaymentForm,
                 lambda connection, data: services.connection_pay(by=request.user, connection=connection, **data),
                 _("Fee received."), _("Take the connection fee"))


@sewer_view("sewer.manage")
def connect(request, pk: int):
    return _step(request, pk, ConnectForm,
                 lambda connection, data: services.connection_connect(by=request.user, connection=connection, **data),
                 _("Connected: the building's sanitation system is now the sewer."), _("Record the connection"))


@sewer_view("sewer.manage")
def reject(request, pk: int):
    return _step(request, pk, ReasonForm,
                 lambda connection, data: services.connection_reject(by=request.user, connection=connection, **data),
                 _("Application rejected."), _("Reject the application"))


@sewer_view("sewer.manage")
def cancel(request, pk: int):
    return _step(request, pk, ReasonForm,
                 lambda connection, data: services.connection_cancel(by=request.user, connection=connection, **data),
                 _("Application cancelled."), _("Cancel the application"))


@require_GET
@sewer_view("sewer.view")
def campaign(request):
    default = services.max_connection_distance_m()
    form = CampaignForm(request.GET or None, initial={"distance_m": default})
    if request.GET and not form.is_valid():
        return render(request, "sewer/campaign.html", {"form": form, "result": None}, status=400)
    data = form.cleaned_data if request.GET else {}
    try:
        result = selectors.campaign_buildings(distance_m=data.get("distance_m") or default, ward=data.get("ward"),
                                              sewer_id=data.get("sewer"))
    except ValidationError as error:
        add_service_errors(form, error)
        return render(request, "sewer/campaign.html", {"form": form, "result": None}, status=400)
    if request.GET.get("format") == "csv":
        return csv_response("sewer-campaign.csv", result.columns,
                            ([row.get(column) for column in result.columns] for row in result.rows))
    page = Paginator(result.rows, PER_PAGE).get_page(request.GET.get("page"))
    labels = dict(Building.SanitationSystem.choices)
    for row in page.object_list:
        row["sanitation_label"] = labels.get(row["sanitation_system"] or "", "")
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    return render(request, "sewer/campaign.html", {
        "form": form, "result": result, "page": page, "query": params.urlencode(),
        "can_manage": has_permission(request, "sewer.manage")})
