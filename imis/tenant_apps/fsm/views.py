"""FSM staff screens: the inbox per role, registering, the application page and its transitions, the provider's
work orders, the plant gate, set-up lists and reports.

Views parse input, check the permission, call one selector or service and render. Every transition posts to its
own URL; a service's ValidationError is shown beside the field it names and nothing is written.
"""

from __future__ import annotations

import csv
import datetime
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.contrib.gis.geos import Polygon
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Sum, Value, When
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_tables2 import RequestConfig
from django_tenants.utils import tenant_context

from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.models import User
from imis.shared_apps.accounts.selectors import has_permission
from imis.shared_apps.tenants.features import feature_required
from imis.tenant_apps.registry.forms import add_service_errors
from imis.tenant_apps.registry.models import Building, Containment, TreatmentPlant

from . import services
from .forms import (
    ApplicationFilterForm,
    ApproveForm,
    CancelForm,
    CrewForm,
    DisposalForm,
    EffluentTestForm,
    EmptyingForm,
    FeedbackForm,
    PriceSlabForm,
    ProviderForm,
    RegisterForm,
    RejectForm,
    RescheduleForm,
    ScheduleForm,
    VehicleForm,
)
from .models import Application, CrewMember, Disposal, EffluentTest, PriceSlab, ServiceProvider, Vehicle
from .reports import (
    REPORTS,
    SERVICE_GROUPINGS,
    fiscal_year_of,
    fiscal_years_available,
    plant_utilisation,
    report_build,
    report_csv,
    report_pdf,
)
from .reports import fiscal_year_label as fy_label
from .selectors import (
    application_detail,
    application_timeline,
    applications_listed,
    applications_overdue,
    inbox,
    site_lookup,
)
from .tables import (
    ApplicationTable,
    CrewTable,
    PriceSlabTable,
    ProviderTable,
    VehicleTable,
    emergency_badge,
    overdue_badge,
    status_badge,
)

S = Application.Status
OPEN_STATUSES = services.OPEN_STATUSES
PER_PAGE = 25
MAX_PER_PAGE = 200
EXPECTED_DAYS = 7  # the plant gate lists loads emptied in the last week
CSV_CHUNK = 2000


# --- helpers ------------------------------------------------------------------------------------------

def _config(request) -> dict:
    config = getattr(request, "_fsm_config", None)
    if config is None:
        config = request._fsm_config = services.fsm_settings()
    return config


def is_provider_staff(request) -> bool:
    """A provider's own people see only their provider's work."""
    return has_permission(request, "fsm.empty") and not has_permission(request, "fsm.approve")


def _scoped(request, applications):
    if is_provider_staff(request):
        return applications.filter(provider__user_ids__contains=[request.user.pk])
    return applications


def _forbidden(request, permission: str):
    return render(request, "errors/403.html", {"reason": "role", "permission": permission}, status=403)


def _with_overdue(applications, config: dict):
    """Each row knows whether it is past its SLA (one EXISTS in the same query)."""
    overdue = applications_overdue(config=config).filter(pk=OuterRef("pk"))
    return applications.annotate(is_overdue=Exists(overdue))


def _emergency_first(applications):
    return applications.order_by("-is_emergency", *applications.query.order_by)


def _per_page(request) -> int:
    try:
        return min(max(int(request.GET.get("per_page", PER_PAGE)), 1), MAX_PER_PAGE)
    except ValueError:
        return PER_PAGE


def _paginate_table(table, request) -> None:
    RequestConfig(request, paginate=False).configure(table)
    per_page = _per_page(request)
    try:
        page = max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        page = 1
    count = len(table.data)
    table.paginate(per_page=per_page, page=min(page, max(1, math.ceil(count / per_page))))


def _application_or_404(request, pk: int) -> Application:
    try:
        application = application_detail(pk)
    except Application.DoesNotExist as error:
        raise Http404(str(error)) from error
    if is_provider_staff(request) and request.user.pk not in (
            application.provider.user_ids if application.provider_id else []):
        raise Http404("Not this provider's application")
    return application


def local_phone(e164: str) -> str:
    """+8801712345678 -> 01712345678, as people say and dial it."""
    return "0" + e164[4:] if e164 and e164.startswith("+880") else e164


def _parse_day(text: str | None) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text or "")
    except ValueError:
        return timezone.localdate()


# --- the inbox (FSM home) -----------------------------------------------------------------------------

def _acts(request) -> bool:
    return any(has_permission(request, code) for code in
               ("fsm.register", "fsm.approve", "fsm.empty", "fsm.dispose", "fsm.feedback"))


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    icon: str
    empty: str
    visible: Callable


TABS = [
    Tab("new", gettext_lazy("New"), "bi-inbox",
        gettext_lazy("No new application. Register one when a resident calls or walks in."),
        lambda r: has_permission(r, "fsm.register") and not has_permission(r, "fsm.approve")),
    Tab("to_approve", gettext_lazy("To approve"), "bi-check2-square",
        gettext_lazy("Nothing waits for approval."), lambda r: has_permission(r, "fsm.approve")),
    Tab("to_schedule", gettext_lazy("To schedule"), "bi-calendar-plus",
        gettext_lazy("Every approved application has a date."), lambda r: has_permission(r, "fsm.schedule")),
    Tab("overdue", gettext_lazy("Overdue"), "bi-alarm",
        gettext_lazy("Nothing is past its service level. Well done."),
        lambda r: has_permission(r, "fsm.approve") or not _acts(r)),
    Tab("not_disposed", gettext_lazy("Emptied, not disposed"), "bi-exclamation-octagon",
        gettext_lazy("Every load emptied has reached a plant in time."),
        lambda r: has_permission(r, "fsm.approve") or not _acts(r)),
    Tab("awaiting_feedback", gettext_lazy("Awaiting feedback"), "bi-telephone-outbound",
        gettext_lazy("No resident waits for a feedback call."), lambda r: has_permission(r, "fsm.feedback")),
    Tab("work_orders", gettext_lazy("Today's work orders"), "bi-clipboard-check",
        gettext_lazy("No job is scheduled for you today."), is_provider_staff),
    Tab("expected_at_plant", gettext_lazy("Expected at the plant"), "bi-truck",
        gettext_lazy("No emptied load is on its way."),
        lambda r: has_permission(r, "fsm.dispose") and not has_permission(r, "fsm.approve")),
]


def _inbox(request, name: str, config: dict):
    applications = inbox(name=name, config=config, user=request.user if name == "work_orders" else None,
                         day=timezone.localdate())
    return _scoped(request, applications)


def _headline(request, config: dict) -> dict:
    """The figures above the inbox, in one aggregate query (scoped to the provider for its people)."""
    month_start = timezone.localdate().replace(day=1)
    figures = _scoped(request, Application.objects.all()).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        emergencies=Count("pk", filter=Q(status__in=OPEN_STATUSES, is_emergency=True)),
        emptied=Count("pk", filter=Q(emptying__emptied_on__gte=month_start)),
        volume=Sum("emptying__volume_m3", filter=Q(emptying__emptied_on__gte=month_start)),
    )
    figures["volume"] = figures["volume"] or Decimal(0)
    return figures


@require_GET
@feature_required("fsm")
@permission_required("fsm.view")
def index(request):
    config = _config(request)
    tabs = [tab for tab in TABS if tab.visible(request)]
    names = [tab.name for tab in tabs]
    active = request.GET.get("tab") if request.GET.get("tab") in names else (names[0] if names else None)
    tab_rows = [{"tab": tab, "count": _inbox(request, tab.name, config).count(), "is_active": tab.name == active,
                 "query": f"?tab={tab.name}"} for tab in tabs]
    table = None
    if active:
        applications = _emergency_first(_with_overdue(_inbox(request, active, config), config))
        table = ApplicationTable(applications, empty_text=next(t.empty for t in tabs if t.name == active))
        _paginate_table(table, request)
    figures = _headline(request, config)
    overdue_count = next((row["count"] for row in tab_rows if row["tab"].name == "overdue"), None)
    return render(request, "fsm/index.html", {
        "section": "inbox", "tabs": tab_rows, "active": active, "table": table, "figures": figures,
        "overdue_count": overdue_count, "can_register": has_permission(request, "fsm.register"),
        "is_provider_staff": is_provider_staff(request),
    })


# --- all applications ---------------------------------------------------------------------------------

def _filtered(request, filters: dict):
    applications = _scoped(request, applications_listed())
    q = filters.get("q", "").strip()
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        match = (Q(number__icontains=q) | Q(applicant_name__icontains=q) | Q(holding__holding_id__istartswith=q)
                 | Q(containment__code__istartswith=q) | Q(building__bin__istartswith=q))
        if len(digits) >= 6 and digits == q.replace(" ", "").lstrip("+"):
            match |= Q(applicant_phone__contains=digits.lstrip("0").removeprefix("880").lstrip("0"))
        applications = applications.filter(match)
    if filters.get("status"):
        applications = applications.filter(status=filters["status"])
    if filters.get("ward") is not None:
        applications = applications.filter(ward__number=filters["ward"])
    if filters.get("channel"):
        applications = applications.filter(channel=filters["channel"])
    if filters.get("emergency"):
        applications = applications.filter(is_emergency=True)
    return applications


def _applications_csv(applications) -> StreamingHttpResponse:
    statuses, channels = dict(S.choices), dict(Application.Channel.choices)
    header = [_("Application"), _("Status"), _("Received"), _("Channel"), _("Emergency"), _("Applicant"),
              _("Phone"), _("Holding ID"), _("BIN"), _("Containment"), _("Ward"), _("Provider"), _("Vehicle"),
              _("Scheduled"), _("Emptied"), _("Volume (m³)"), _("Fee (BDT)")]
    rows = applications.order_by("received_at").values_list(
        "number", "status", "received_at", "channel", "is_emergency", "applicant_name", "applicant_phone",
        "holding__holding_id", "building__bin", "containment__code", "ward__number", "provider__name",
        "vehicle__registration", "scheduled_date", "emptying__emptied_on", "emptying__volume_m3", "fee_amount")
    tenant = connection.tenant

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def safe(value):
        if isinstance(value, str) and value.startswith(("=", "@", "\t", "\r", "-")):
            return "'" + value
        return "" if value is None else value

    def stream():
        yield "\ufeff"
        yield writer.writerow(header)
        with tenant_context(tenant):
            for row in rows.iterator(chunk_size=CSV_CHUNK):
                row = list(row)
                row[1], row[3] = statuses.get(row[1], row[1]), channels.get(row[3], row[3])
                row[2] = timezone.localtime(row[2]).strftime("%Y-%m-%d %H:%M")
                row[4] = _("Yes") if row[4] else ""
                yield writer.writerow([safe(value) for value in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="fsm-applications-{timezone.localdate()}.csv"'
    return response


@require_GET
@feature_required("fsm")
@permission_required("fsm.view")
def application_list(request):
    form = ApplicationFilterForm(request.GET or None)
    filters = form.filters()
    applications = _filtered(request, filters)
    if request.GET.get("export") == "csv":
        return _applications_csv(applications)
    config = _config(request)
    table = ApplicationTable(_with_overdue(applications, config),
                             empty_text=_("No application matches these filters."))
    _paginate_table(table, request)
    export = request.GET.copy()
    export.pop("page", None)
    export["export"] = "csv"
    return render(request, "fsm/application_list.html", {
        "section": "applications", "form": form, "table": table, "is_filtered": bool(filters),
        "export_query": export.urlencode(), "can_register": has_permission(request, "fsm.register"),
    })


# --- registering --------------------------------------------------------------------------------------

def _lookup(query: str) -> dict | None:
    query = (query or "").strip()[:40]
    if not query:
        return None
    found = site_lookup(query)
    kinds = dict(Containment.Type.choices)
    for kind, key in (("holding", "holdings"), ("building", "buildings"), ("containment", "containments")):
        for obj in found[key]:
            obj.site_value = f"{kind}:{obj.pk}"
    open_numbers = dict(Application.objects.filter(containment__in=found["containments"], status__in=OPEN_STATUSES)
                        .values_list("containment_id", "number")) if found["containments"] else {}
    found["containment_rows"] = [{"containment": c, "open_number": open_numbers.get(c.pk)}
                                 for c in found["containments"]]
    holdings = found["holdings"]
    if holdings:
        tanks: dict[int, list] = {}
        for holding_pk, code, kind, volume in (
                Containment.objects.filter(buildings__holding__in=holdings)
                .values_list("buildings__holding_id", "code", "type", "volume_m3").distinct().order_by("code")):
            tanks.setdefault(holding_pk, []).append({"code": code, "type": kinds.get(kind, kind), "volume": volume})
        open_by_holding = dict(Application.objects.filter(holding__in=holdings, status__in=OPEN_STATUSES)
                               .values_list("holding_id", "number"))
        for holding in holdings:
            holding.tanks = tanks.get(holding.pk, [])[:3]
            holding.open_number = open_by_holding.get(holding.pk)
    everything = [*found["holdings"], *found["buildings"], *found["containments"]]
    found["has_results"] = bool(everything)
    found["only"] = everything[0].site_value if len(everything) == 1 else None
    found["query"] = query
    return found


@require_http_methods(["GET", "POST"])
@feature_required("fsm")
@permission_required("fsm.register")
def application_register_view(request):
    if request.method == "POST" and "lookup" in request.POST:  # the search without JavaScript
        form = RegisterForm(initial={name: request.POST.get(name, "") for name in RegisterForm.base_fields})
    elif request.method == "POST":
        form = RegisterForm(request.POST)
        if form.is_valid():
            try:
                application = services.application_register(by=request.user, **form.service_arguments())
            except ValidationError as error:
                add_service_errors(form, error, field_names=RegisterForm.SERVICE_FIELDS)
            else:
                messages.success(request, _("Application %(number)s registered.") % {"number": application.number})
                return redirect("fsm:application_detail", pk=application.pk)
    else:
        form = RegisterForm(initial={"q": request.GET.get("q", "")[:40]})
    query = form["q"].value() or ""
    return render(request, "fsm/register.html", {
        "section": "inbox", "form": form, "lookup": _lookup(query), "selected": form["site"].value() or "",
    })


@require_GET
@feature_required("fsm")
@permission_required("fsm.register")
def site_lookup_view(request):
    """The htmx partial under the search box: holdings, buildings and containments to pick from."""
    return render(request, "fsm/_site_results.html", {"lookup": _lookup(request.GET.get("q", "")),
                                                      "selected": request.GET.get("site", "")})


# --- the application page and its transitions ---------------------------------------------------------

@dataclass(frozen=True)
class Action:
    name: str
    label: str
    icon: str
    permission: str
    statuses: tuple
    form_class: type
    service: Callable
    button: str
    done: str
    confirm: str = ""


ACTIONS = [
    Action("approve", gettext_lazy("Approve"), "bi-check2-circle", "fsm.approve", (S.RECEIVED,), ApproveForm,
           services.application_approve, "btn-success", gettext_lazy("Application %(number)s approved.")),
    Action("schedule", gettext_lazy("Schedule the emptying"), "bi-calendar-check", "fsm.schedule", (S.APPROVED,),
           ScheduleForm, services.application_schedule, "btn-primary",
           gettext_lazy("Application %(number)s scheduled.")),
    Action("empty", gettext_lazy("Record the emptying"), "bi-truck", "fsm.empty", (S.SCHEDULED,), EmptyingForm,
           services.application_record_emptying, "btn-primary",
           gettext_lazy("Emptying of %(number)s recorded.")),
    Action("reschedule", gettext_lazy("Reschedule"), "bi-calendar2-week", "fsm.schedule", (S.SCHEDULED,),
           RescheduleForm, services.application_reschedule, "btn-outline-primary",
           gettext_lazy("Application %(number)s rescheduled.")),
    Action("feedback", gettext_lazy("Record the resident's feedback"), "bi-chat-square-heart", "fsm.feedback",
           (S.DISPOSED,), FeedbackForm, services.application_record_feedback, "btn-primary",
           gettext_lazy("Feedback recorded; application %(number)s is closed.")),
    Action("reject", gettext_lazy("Reject"), "bi-x-circle", "fsm.approve", (S.RECEIVED,), RejectForm,
           services.application_reject, "btn-outline-danger", gettext_lazy("Application %(number)s rejected."),
           confirm=gettext_lazy("Reject this application? The resident will have to apply again.")),
    Action("cancel", gettext_lazy("Cancel the application"), "bi-slash-circle", "fsm.cancel",
           (S.RECEIVED, S.APPROVED, S.SCHEDULED), CancelForm, services.application_cancel, "btn-outline-danger",
           gettext_lazy("Application %(number)s cancelled."),
           confirm=gettext_lazy("Cancel this application? This cannot be undone.")),
]
ACTIONS_BY_NAME = {action.name: action for action in ACTIONS}


def _may(request, action: Action, application: Application) -> bool:
    if not has_permission(request, action.permission) or application.status not in action.statuses:
        return False
    if action.name == "empty" and is_provider_staff(request):
        return application.provider_id is not None and request.user.pk in application.provider.user_ids
    return True


EVENT_LABELS = {
    S.RECEIVED: gettext_lazy("Received"), S.APPROVED: gettext_lazy("Approved"), S.REJECTED: gettext_lazy("Rejected"),
    S.SCHEDULED: gettext_lazy("Scheduled"), S.EMPTIED: gettext_lazy("Emptied"), S.DISPOSED: gettext_lazy("Disposed"),
    S.CLOSED: gettext_lazy("Feedback recorded, closed"), S.CANCELLED: gettext_lazy("Cancelled"),
}
EVENT_ICONS = {
    S.RECEIVED: ("bi-telephone-inbound", "primary"), S.APPROVED: ("bi-check2-circle", "success"),
    S.REJECTED: ("bi-x-circle", "danger"), S.SCHEDULED: ("bi-calendar-check", "primary"),
    S.EMPTIED: ("bi-truck", "warning"), S.DISPOSED: ("bi-recycle", "success"),
    S.CLOSED: ("bi-chat-square-heart", "success"), S.CANCELLED: ("bi-slash-circle", "secondary"),
}
DATA_LABELS = {  # in the order a clerk reads them
    "channel": gettext_lazy("Channel"), "emergency": gettext_lazy("Emergency"),
    "rescheduled_from": gettext_lazy("Moved from"), "date": gettext_lazy("Date"), "slot": gettext_lazy("Slot"),
    "provider": gettext_lazy("Provider"), "vehicle": gettext_lazy("Vehicle"),
    "volume_m3": gettext_lazy("Volume (m³)"), "trips": gettext_lazy("Trips"), "ppe_worn": gettext_lazy("PPE worn"),
    "plant": gettext_lazy("Plant"), "volume_received_m3": gettext_lazy("Volume received (m³)"),
    "rating": gettext_lazy("Rating"), "spillage": gettext_lazy("Spillage"),
}


def _event_value(key: str, value) -> str:
    from imis.platform.templatetags.imis import local_digits

    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key == "slot":
        return str(dict(Application.Slot.choices).get(value, value))
    if key == "channel":
        return str(dict(Application.Channel.choices).get(value, value))
    if key in ("date", "rescheduled_from") and value and value != "None":
        try:
            return local_digits(datetime.date.fromisoformat(value).strftime("%-d %b %Y"))
        except ValueError:
            return str(value)
    if key == "rating":
        return f"{local_digits(value)}/{local_digits(5)}"
    return local_digits(value)


def _timeline(application: Application) -> list[dict]:
    events = list(application_timeline(application))
    names = dict(User.objects.filter(pk__in={e.actor_id for e in events if e.actor_id})
                 .values_list("pk", "full_name"))
    rows = []
    for event in events:
        is_reschedule = event.from_status == event.to_status == S.SCHEDULED
        icon, tone = EVENT_ICONS.get(event.to_status, ("bi-dot", "secondary"))
        data = event.data or {}
        details = [{"label": label, "value": _event_value(key, data[key])}
                   for key, label in DATA_LABELS.items() if data.get(key) not in (None, "")]
        rows.append({
            "event": event, "title": _("Rescheduled") if is_reschedule else EVENT_LABELS.get(event.to_status,
                                                                                              event.to_status),
            "icon": "bi-calendar2-week" if is_reschedule else icon, "tone": tone, "details": details,
            "actor": names.get(event.actor_id) or event.actor_label or _("System"),
            "actor_email": event.actor_label if names.get(event.actor_id) else "",
        })
    return rows


NEIGHBOUR_RADIUS_M, NEIGHBOUR_LIMIT = 60, 150


def _neighbours(geometry, *, exclude: int | None, can_link: bool) -> list[dict]:
    """The buildings around the place, for context: a box some tens of metres wider (one indexed query)."""
    import json

    d_lat = NEIGHBOUR_RADIUS_M / 111_320
    d_lon = NEIGHBOUR_RADIUS_M / (111_320 * max(math.cos(math.radians(geometry.centroid.y)), 0.01))
    west, south, east, north = geometry.extent
    box = Polygon.from_bbox((west - d_lon, south - d_lat, east + d_lon, north + d_lat))
    box.srid = 4326
    nearby = (Building.objects.filter(footprint__bboverlaps=box).exclude(pk=exclude).only("pk", "bin", "footprint")
              .order_by()[:NEIGHBOUR_LIMIT])
    return [{"type": "Feature", "geometry": json.loads(b.footprint.json),
             "properties": {"role": "neighbour", "label": b.bin,
                            **({"url": reverse("registry:building_detail", kwargs={"pk": b.pk})} if can_link else {})}}
            for b in nearby]


def _map(request, application: Application) -> dict | None:
    import json

    can_link = has_permission(request, "registry.view")
    features = []
    if application.building_id and application.building.footprint:
        features.append({"type": "Feature", "geometry": json.loads(application.building.footprint.json),
                         "properties": {"role": "subject", "label": application.building.bin,
                                        **({"url": reverse("registry:building_detail",
                                                           kwargs={"pk": application.building_id})}
                                           if can_link else {})}})
    point = application.containment.location if application.containment_id else application.location
    if point is not None:
        label = application.containment.code if application.containment_id else application.number
        properties = {"role": "containment", "label": label}
        if can_link and application.containment_id:
            properties["url"] = reverse("registry:containment_detail", kwargs={"pk": application.containment_id})
        features.append({"type": "Feature", "geometry": json.loads(point.json), "properties": properties})
    if not features:
        return None
    centre = application.building.footprint if application.building_id else point
    features = _neighbours(centre, exclude=application.building_id, can_link=can_link) + features
    return {"type": "FeatureCollection", "features": features}


def _fee(application: Application) -> dict | None:
    breakdown = application.fee_breakdown or {}
    if application.fee_amount is None and application.fee_estimate is None:
        return None
    lines = []
    if "fee_per_trip" in breakdown:
        lines = [
            {"label": _("Fee per trip × %(trips)s trip(s)") % {"trips": breakdown.get("trips", 1)},
             "amount": Decimal(breakdown["base"])},
        ]
        if Decimal(breakdown.get("low_income_subsidy") or 0):
            lines.append({"label": _("Low-income subsidy"), "amount": -Decimal(breakdown["low_income_subsidy"])})
        if Decimal(breakdown.get("emergency_surcharge") or 0):
            lines.append({"label": _("Emergency surcharge"), "amount": Decimal(breakdown["emergency_surcharge"])})
    return {"estimate": application.fee_estimate, "amount": application.fee_amount, "lines": lines}


STEPS = [(S.RECEIVED, gettext_lazy("Received")), (S.APPROVED, gettext_lazy("Approved")),
         (S.SCHEDULED, gettext_lazy("Scheduled")), (S.EMPTIED, gettext_lazy("Emptied")),
         (S.DISPOSED, gettext_lazy("At the plant")), (S.CLOSED, gettext_lazy("Feedback"))]


def _progress(application: Application) -> list[dict]:
    reached = [status for status, _label in STEPS].index(application.status) if application.status in dict(
        STEPS) else -1
    return [{"label": label, "state": "done" if n < reached or application.status == S.CLOSED else (
        "current" if n == reached else "todo")} for n, (_status, label) in enumerate(STEPS)]


def _application_page(request, application: Application, *, failed: tuple[str, object] | None = None):
    config = _config(request)
    forms_shown = []
    for action in ACTIONS:
        is_failed = failed is not None and failed[0] == action.name
        if is_failed or _may(request, action, application):
            form = failed[1] if is_failed else action.form_class(application=application, prefix=action.name)
            forms_shown.append({"action": action, "form": form, "is_open": is_failed,
                                "url": reverse(f"fsm:application_{action.name}", kwargs={"pk": application.pk})})
    if forms_shown and failed is None:
        forms_shown[0]["is_open"] = True  # the likely next step is open; the rest one click away
    is_overdue = applications_overdue(config=config).filter(pk=application.pk).exists()
    disposals = list(application.disposals.all())
    map_data = _map(request, application)
    return render(request, "fsm/application_detail.html", {
        "section": "applications", "application": application,
        "status_badge": status_badge(application.status, application.get_status_display()),
        "emergency_badge": emergency_badge() if application.is_emergency else "",
        "overdue_badge": overdue_badge() if is_overdue else "", "is_overdue": is_overdue,
        "actions": forms_shown, "timeline": _timeline(application), "fee": _fee(application),
        "progress": _progress(application),
        "emptying": getattr(application, "emptying", None) if application.status in (
            S.EMPTIED, S.DISPOSED, S.CLOSED) else None,
        "feedback": getattr(application, "feedback", None) if application.status == S.CLOSED else None,
        "disposals": disposals, "crew": list(application.crew.all()),
        "map_data": map_data, "map_label": _("Map of application %(number)s") % {"number": application.number},
        "legend": [{"icon": "bi-square-fill text-primary", "label": _("Building")},
                   {"icon": "bi-circle-fill text-warning-emphasis", "label": _("Containment")},
                   {"icon": "bi-square text-secondary", "label": _("Other buildings")}],
        "applicant_phone": local_phone(application.applicant_phone),
        "can_link_registry": has_permission(request, "registry.view"),
        "can_dispose": application.status == S.EMPTIED and has_permission(request, "fsm.dispose"),
    })


@require_GET
@feature_required("fsm")
@permission_required("fsm.view")
def application_page(request, pk: int):
    return _application_page(request, _application_or_404(request, pk))


def _action_view(action: Action):
    @require_POST
    @feature_required("fsm")
    @permission_required(action.permission)
    def view(request, pk: int):
        application = _application_or_404(request, pk)
        form = action.form_class(request.POST, application=application, prefix=action.name)
        if form.is_valid():
            try:
                action.service(application=application, by=request.user, **form.service_arguments())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, action.done % {"number": application.number})
                return redirect("fsm:application_detail", pk=application.pk)
        return _application_page(request, application, failed=(action.name, form))

    view.__name__ = f"application_{action.name}"
    return view


application_approve = _action_view(ACTIONS_BY_NAME["approve"])
application_reject = _action_view(ACTIONS_BY_NAME["reject"])
application_schedule = _action_view(ACTIONS_BY_NAME["schedule"])
application_reschedule = _action_view(ACTIONS_BY_NAME["reschedule"])
application_empty = _action_view(ACTIONS_BY_NAME["empty"])
application_feedback = _action_view(ACTIONS_BY_NAME["feedback"])
application_cancel = _action_view(ACTIONS_BY_NAME["cancel"])


# --- provider work orders -----------------------------------------------------------------------------

SLOT_ORDER = Case(*[When(scheduled_slot=slot, then=Value(n)) for n, slot in enumerate(Application.Slot.values)],
                  default=Value(9), output_field=IntegerField())


@require_GET
@feature_required("fsm")
@permission_required("fsm.view")
def work_orders(request):
    if not (has_permission(request, "fsm.empty") or has_permission(request, "fsm.schedule")):
        return _forbidden(request, "fsm.empty")
    config = _config(request)
    day = _parse_day(request.GET.get("date"))
    provider_staff = is_provider_staff(request)
    orders = inbox(name="work_orders", config=config, user=request.user if provider_staff else None, day=day)
    providers = [] if provider_staff else list(ServiceProvider.objects.filter(is_active=True).only("pk", "name"))
    provider = None
    if not provider_staff and request.GET.get("provider", "").isdigit():
        provider = next((p for p in providers if p.pk == int(request.GET["provider"])), None)
        if provider is not None:
            orders = orders.filter(provider=provider)
    orders = list(orders.prefetch_related("crew").order_by("vehicle__registration", SLOT_ORDER, "-is_emergency",
                                                           "number"))
    groups = []
    for vehicle, jobs in itertools.groupby(orders, key=lambda a: a.vehicle):
        jobs = list(jobs)
        rows = []
        for job in jobs:
            volume = job.containment.volume_m3 if job.containment_id else None
            trips = max(1, math.ceil(Decimal(volume) / vehicle.capacity_m3)) if volume and vehicle else 1
            rows.append({"job": job, "volume": volume, "trips": trips, "phone": local_phone(job.applicant_phone)})
        groups.append({"vehicle": vehicle, "rows": rows, "trips": sum(r["trips"] for r in rows),
                       "volume": sum((r["volume"] or 0 for r in rows), Decimal(0)),
                       "crew": sorted({m for job in jobs for m in job.crew.all()}, key=lambda m: m.name)})
    my_providers = list(ServiceProvider.objects.filter(user_ids__contains=[request.user.pk]).only("name")) \
        if provider_staff else ([provider] if provider else [])
    context = {
        "section": "work_orders", "day": day, "groups": groups, "count": len(orders),
        "previous_day": day - datetime.timedelta(days=1), "next_day": day + datetime.timedelta(days=1),
        "today": timezone.localdate(), "providers": providers, "provider": provider, "my_providers": my_providers,
        "provider_query": f"&provider={provider.pk}" if provider else "",
    }
    template = "fsm/work_orders_print.html" if request.GET.get("print") == "1" else "fsm/work_orders.html"
    return render(request, template, context)


# --- the plant gate -----------------------------------------------------------------------------------

EFFLUENT_PARAMETERS = [
    ("bod_mg_l", "BOD", "mg/L", "effluent_bod_max"), ("cod_mg_l", "COD", "mg/L", "effluent_cod_max"),
    ("tss_mg_l", "TSS", "mg/L", "effluent_tss_max"), ("ecoli_cfu_100ml", "E. coli", "CFU/100 mL", "effluent_ecoli_max"),
    ("ph", "pH", "", None), ("temperature_c", gettext_lazy("Temperature"), "°C", None),
]


def _effluent_rows(tests, config: dict) -> list[dict]:
    rows = []
    for test in tests:
        compliance = services.effluent_test_compliance(test, config=config)
        cells = [{"value": getattr(test, name), "is_pass": compliance.get(name)} for name, *_rest in
                 EFFLUENT_PARAMETERS]
        verdicts = [v for v in compliance.values() if v is not None]
        rows.append({"test": test, "cells": cells, "is_pass": all(verdicts) if verdicts else None,
                     "failed": sum(1 for v in verdicts if v is False)})
    return rows


def _standards(config: dict) -> list[dict]:
    out = []
    for _name, label, unit, limit in EFFLUENT_PARAMETERS:
        if limit:
            text = f"≤ {config[limit]}"
        elif label == "pH":
            text = f"{config['effluent_ph_min']}–{config['effluent_ph_max']}"
        else:
            text = ""
        out.append({"label": label, "unit": unit, "standard": text})
    return out


def _expected_loads() -> list[Application]:
    since = timezone.now() - datetime.timedelta(days=EXPECTED_DAYS)
    return list(Application.objects.filter(status=S.EMPTIED, emptied_at__gte=since)
                .select_related("emptying__vehicle__provider", "ward", "containment", "provider")
                .defer("containment__location", "location")
                .order_by("emptying__vehicle__registration", "emptied_at"))


def _plant_page(request, *, disposal_form=None, effluent_form=None):
    config = _config(request)
    now = timezone.now()
    late_after = now - datetime.timedelta(hours=int(config["disposal_sla_hours"]))
    expected = _expected_loads()
    groups = []
    for vehicle, loads in itertools.groupby(expected, key=lambda a: a.emptying.vehicle):
        loads = list(loads)
        groups.append({"vehicle": vehicle, "loads": [{"application": a, "is_late": a.emptied_at < late_after}
                                                     for a in loads],
                       "volume": sum((a.emptying.volume_m3 for a in loads), Decimal(0))})
    older = Application.objects.filter(status=S.EMPTIED,
                                       emptied_at__lt=now - datetime.timedelta(days=EXPECTED_DAYS)).count()
    can_dispose = has_permission(request, "fsm.dispose")
    if disposal_form is None and can_dispose:
        preselect = request.GET.get("application", "")
        disposal_form = DisposalForm(expected=expected, prefix="disposal",
                                     initial={"applications": [preselect]} if preselect.isdigit() else None)
        if preselect.isdigit():
            chosen = next((a for a in expected if str(a.pk) == preselect), None)
            if chosen is not None:
                disposal_form.initial.update(vehicle=str(chosen.emptying.vehicle_id),
                                             volume_received_m3=chosen.emptying.volume_m3)
    start_of_day = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time.min))
    todays_log = list(Disposal.objects.filter(arrived_at__gte=start_of_day)
                      .select_related("vehicle__provider", "treatment_plant").defer("treatment_plant__location")
                      .prefetch_related("applications").order_by("-arrived_at"))
    tests = EffluentTest.objects.select_related("treatment_plant").defer("treatment_plant__location")[:5]
    return render(request, "fsm/plant.html", {
        "section": "plant", "groups": groups, "expected_count": len(expected), "older_count": older,
        "disposal_form": disposal_form, "can_dispose": can_dispose, "todays_log": todays_log,
        "todays_volume": sum((d.volume_received_m3 for d in todays_log), Decimal(0)),
        "effluent_rows": _effluent_rows(tests, config), "standards": _standards(config),
        "effluent_form": effluent_form or EffluentTestForm(prefix="effluent"),
        "utilisation": plant_utilisation(days=30), "has_plant": TreatmentPlant.objects.exists(),
        "expected_days": EXPECTED_DAYS, "sla_hours": config["disposal_sla_hours"],
    })


@require_GET
@feature_required("fsm")
@permission_required("fsm.plant")
def plant(request):
    return _plant_page(request)


@require_POST
@feature_required("fsm")
@permission_required("fsm.dispose")
def plant_arrival(request):
    form = DisposalForm(request.POST, expected=_expected_loads(), prefix="disposal")
    if form.is_valid():
        try:
            disposal = services.disposal_record(by=request.user, **form.service_arguments())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            numbers = ", ".join(a.number for a in disposal.applications.all())
            messages.success(request, _("Arrival logged: %(volume)s m³%(loads)s.") % {
                "volume": disposal.volume_received_m3, "loads": f" ({numbers})" if numbers else ""})
            return redirect("fsm:plant")
    if not has_permission(request, "fsm.plant"):
        return _forbidden(request, "fsm.plant")
    return _plant_page(request, disposal_form=form)


def _saved(form, user):
    """The record a valid set-up form saved through its service, or None (the form then shows why)."""
    if not form.is_valid():
        return None
    try:
        return form.save_audited(by=user)
    except ValidationError as error:
        add_service_errors(form, error)
        return None


@require_http_methods(["GET", "POST"])
@feature_required("fsm")
@permission_required("fsm.plant")
def effluent_tests(request):
    config = _config(request)
    if request.method == "POST":
        form = EffluentTestForm(request.POST, prefix="effluent")
        test = _saved(form, request.user)
        if test is not None:
            row = _effluent_rows([test], config)[0]
            if row["failed"]:
                messages.warning(request, _("Effluent test saved: %(count)s parameter(s) fail the standard.")
                                 % {"count": row["failed"]})
            else:
                messages.success(request, _("Effluent test saved: within the standards."))
            return redirect(request.POST.get("next") == "plant" and "fsm:plant" or "fsm:effluent_tests")
        if request.POST.get("next") == "plant":
            return _plant_page(request, effluent_form=form)
    else:
        form = EffluentTestForm(prefix="effluent")
    tests = EffluentTest.objects.select_related("treatment_plant").defer("treatment_plant__location")
    page = Paginator(tests, 50).get_page(request.GET.get("page"))
    return render(request, "fsm/effluent_tests.html", {
        "section": "plant", "page": page, "rows": _effluent_rows(page.object_list, config),
        "standards": _standards(config), "effluent_form": form,
    })


# --- set-up: providers, vehicles, crew, price slabs ---------------------------------------------------

@dataclass(frozen=True)
class ConfigKind:
    slug: str
    title: str
    singular: str
    new_label: str
    icon: str
    form_class: type
    table_class: type
    rows: Callable
    hint: str


CONFIG_KINDS = {kind.slug: kind for kind in [
    ConfigKind("providers", gettext_lazy("Service providers"), gettext_lazy("service provider"),
               gettext_lazy("New provider"), "bi-building-gear", ProviderForm, ProviderTable,
               lambda: ServiceProvider.objects.annotate(vehicle_count=Count("vehicles", distinct=True),
                                                        crew_count=Count("crew", distinct=True)).order_by("name"),
               gettext_lazy("The companies and municipal units that empty containments.")),
    ConfigKind("vehicles", gettext_lazy("Vehicles"), gettext_lazy("vehicle"), gettext_lazy("New vehicle"),
               "bi-truck", VehicleForm, VehicleTable,
               lambda: Vehicle.objects.select_related("provider").order_by("registration"),
               gettext_lazy("Vacuum trucks, vacutugs and pumps, with their papers.")),
    ConfigKind("crew", gettext_lazy("Crew"), gettext_lazy("crew member"), gettext_lazy("New crew member"),
               "bi-people", CrewForm, CrewTable,
               lambda: CrewMember.objects.select_related("provider").order_by("provider__name", "name"),
               gettext_lazy("Drivers, emptiers and helpers, their training and protective equipment.")),
    ConfigKind("price-slabs", gettext_lazy("Prices"), gettext_lazy("price slab"), gettext_lazy("New price slab"),
               "bi-cash-stack", PriceSlabForm, PriceSlabTable,
               lambda: PriceSlab.objects.order_by("building_use", "volume_from_m3"),
               gettext_lazy("The fee per trip by containment volume and building use.")),
]}


def _kind_or_404(kind: str) -> ConfigKind:
    if kind not in CONFIG_KINDS:
        raise Http404("Unknown set-up list")
    return CONFIG_KINDS[kind]


@require_GET
@feature_required("fsm")
@permission_required("fsm.configure")
def config_list(request, kind: str):
    spec = _kind_or_404(kind)
    table = spec.table_class(spec.rows())
    _paginate_table(table, request)
    return render(request, "fsm/config_list.html", {"section": "setup", "spec": spec, "kinds": CONFIG_KINDS.values(),
                                                    "table": table})


def _config_form(request, spec: ConfigKind, instance=None):
    kwargs = {"instance": instance}
    if spec.form_class is ProviderForm:
        kwargs["municipality"] = request.municipality
    if request.method == "POST":
        form = spec.form_class(request.POST, **kwargs)
        obj = _saved(form, request.user)
        if obj is not None:
            messages.success(request, _("%(what)s “%(name)s” saved.") % {"what": str(spec.singular).capitalize(),
                                                                        "name": obj})
            return redirect("fsm:config_list", kind=spec.slug)
    else:
        form = spec.form_class(**kwargs)
    return render(request, "fsm/config_form.html", {"section": "setup", "spec": spec, "form": form,
                                                    "instance": instance, "kinds": CONFIG_KINDS.values()})


@require_http_methods(["GET", "POST"])
@feature_required("fsm")
@permission_required("fsm.configure")
def config_create(request, kind: str):
    return _config_form(request, _kind_or_404(kind))


@require_http_methods(["GET", "POST"])
@feature_required("fsm")
@permission_required("fsm.configure")
def config_edit(request, kind: str, pk: int):
    spec = _kind_or_404(kind)
    instance = spec.form_class._meta.model.objects.filter(pk=pk).first()
    if instance is None:
        raise Http404("No such record")
    return _config_form(request, spec, instance)


# --- reports ------------------------------------------------------------------------------------------

def _reports_allowed(request) -> bool:
    return not is_provider_staff(request)


@require_GET
@feature_required("fsm")
@permission_required("fsm.view")
def reports_index(request):
    if not _reports_allowed(request):
        return _forbidden(request, "fsm.view")
    return render(request, "fsm/reports.html", {"section": "reports", "reports": REPORTS.values()})


@require_GET
@feature_required("fsm")
@permission_required("fsm.view")
def report_page(request, name: str):
    if name not in REPORTS:
        raise Http404("Unknown report")
    if not _reports_allowed(request):
        return _forbidden(request, "fsm.view")
    years = fiscal_years_available()
    try:
        fy = int(request.GET.get("fy", ""))
    except ValueError:
        fy = fiscal_year_of(timezone.localdate())
    if fy not in years:
        fy = years[0]
    by = request.GET.get("by", "ward") if request.GET.get("by") in SERVICE_GROUPINGS else "ward"
    report = report_build(name, fy=fy, by=by, config=_config(request))
    output = request.GET.get("format")
    if output == "csv":
        return report_csv(report)
    if output == "pdf":
        return report_pdf(report, municipality=request.municipality)
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "fsm/report.html", {
        "section": "reports", "spec": REPORTS[name], "report": report, "rows": report.display_rows(),
        "totals": report.display_totals(), "years": [(y, fy_label(y)) for y in years], "fy": fy, "by": by,
        "groupings": SERVICE_GROUPINGS.items(), "query": query.urlencode(),
    })
