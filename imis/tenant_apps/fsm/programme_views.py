"""Scheduled (block) desludging screens: programmes, their candidates, the plan (a Celery job with a progress bar),
each vehicle-day route with its map, notifying households, their answers, the reintegration list, CSV export.

Who: the sanitation officer (and the municipal admin) plans and notifies (`fsm.schedule`); the help desk records
the households' answers (`fsm.register`); both read. Providers, plant operators and read-only roles are refused.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import uuid
from decimal import Decimal
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_tenants.utils import tenant_context

from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission
from imis.shared_apps.tenants.features import feature_required
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.jobs.services import job_progress_of
from imis.tenant_apps.registry.forms import add_service_errors

from . import programmes
from .models import DesludgingProgramme, ProgrammeVisit, Vehicle
from .programme_forms import WEEKDAYS, AcceptForm, DeclineForm, ProgrammeForm
from .scheduling import working_days

JOB_KIND = "fsm.programme"
PER_PAGE = 50
CSV_CHUNK = 2000
PROGRAMME_TONES = {"draft": "status-archived", "planned": "status-suspended", "notified": "status-active",
                   "closed": "status-archived"}
VISIT_TONES = {"planned": "status-archived", "notified": "status-suspended", "accepted": "status-active",
               "declined": "status-archived"}
PLANT_HALF_SIDE_M = 18  # the plant is drawn as a small square so it stands out from the stops


def _forbidden(request, permission: str):
    return render(request, "errors/403.html", {"reason": "role", "permission": permission}, status=403)


def _may_read(request) -> bool:
    return has_permission(request, "fsm.schedule") or has_permission(request, "fsm.register")


def programme_view(permission: str | None = None):
    """fsm feature on, a member with fsm.view, and either the given permission or (to read) plan/answer rights."""

    def decorator(view):
        @feature_required("fsm")
        @permission_required(permission or "fsm.view")
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if permission is None and not _may_read(request):
                return _forbidden(request, "fsm.schedule")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _programme_or_404(pk: int) -> DesludgingProgramme:
    programme = (DesludgingProgramme.objects.select_related("treatment_plant").prefetch_related("wards", "vehicles")
                 .filter(pk=pk).first())
    if programme is None:
        raise Http404("No such programme")
    return programme


def _visit_or_404(programme: DesludgingProgramme, visit_pk: int) -> ProgrammeVisit:
    visit = programme.visits.filter(pk=visit_pk).first()
    if visit is None:
        raise Http404("No such visit")
    return visit


def _badge(programme: DesludgingProgramme) -> str:
    return format_html('<span class="status-badge status-{} {}">{}</span>', programme.status,
                       PROGRAMME_TONES[programme.status], programme.get_status_display())


def _visit_badge(visit: ProgrammeVisit) -> str:
    return format_html('<span class="status-badge status-{} {}">{}</span>', visit.status, VISIT_TONES[visit.status],
                       visit.get_status_display())


def _latest_job(programme: DesludgingProgramme) -> Job | None:
    return Job.objects.filter(kind=JOB_KIND, params__programme=programme.pk).order_by("-created").first()


def _where(programme: DesludgingProgramme) -> str:
    numbers = sorted(w.number for w in programme.wards.all())
    parts = [ngettext("ward %(numbers)s", "wards %(numbers)s", len(numbers)) % {
        "numbers": ", ".join(str(n) for n in numbers)}] if numbers else []
    if programme.area is not None:
        parts.append(_("a drawn area"))
    return " + ".join(parts)


# --- the list ------------------------------------------------------------------------------------------

@require_GET
@programme_view()
def programme_list(request):
    rows = list(programmes.programmes_listed()[:200])
    for programme in rows:
        programme.badge = _badge(programme)
        programme.where = _where(programme)
    return render(request, "fsm/programme_list.html", {
        "section": "programmes", "programmes": rows, "can_plan": has_permission(request, "fsm.schedule"),
        "declined_count": ProgrammeVisit.objects.filter(status=ProgrammeVisit.Status.DECLINED).count(),
    })


# --- creating ------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@programme_view("fsm.schedule")
def programme_create(request):
    if request.method == "POST":
        form = ProgrammeForm(request.POST)
        if form.is_valid():
            try:
                programme = programmes.programme_create(by=request.user, **form.service_arguments())
            except ValidationError as error:
                add_service_errors(form, error, field_names={"ward_ids": "wards"})
            else:
                messages.success(request, _("Programme “%(name)s” created. Check the candidates, then plan the "
                                            "routes.") % {"name": programme.name})
                return redirect("fsm:programme_detail", pk=programme.pk)
    else:
        form = ProgrammeForm()
    return render(request, "fsm/programme_form.html", {"section": "programmes", "form": form})


# --- the programme page ----------------------------------------------------------------------------------

def _capacity(programme: DesludgingProgramme) -> dict:
    vehicles = [v for v in programme.vehicles.all() if v.status == Vehicle.Status.AVAILABLE]
    days = working_days(programme.start_date, programme.end_date, weekdays=programme.working_weekdays,
                        holidays=[datetime.date.fromisoformat(d) for d in programme.holidays])
    per_day = sum((v.capacity_m3 for v in vehicles), Decimal(0)) * programme.trips_per_day
    return {"days": len(days), "per_day": per_day, "total": per_day * len(days), "vehicles": vehicles}


@require_GET
@programme_view()
def programme_detail(request, pk: int):
    programme = _programme_or_404(pk)
    wards = programmes.programme_ward_counts(programme)
    totals = {key: sum((row[key] for row in wards), 0) for key in
              ("candidates", "candidate_volume", "visits", "planned", "notified", "accepted", "declined")}
    job = _latest_job(programme)
    can_plan = has_permission(request, "fsm.schedule")
    is_open = programme.status in programmes.PROGRAMME_OPEN and not totals["accepted"]
    weekday_names = dict(WEEKDAYS)
    return render(request, "fsm/programme_detail.html", {
        "section": "programmes", "programme": programme, "badge": _badge(programme), "where": _where(programme),
        "wards": wards, "totals": totals, "capacity": _capacity(programme),
        "routes": programmes.programme_routes(programme) if totals["visits"] else [],
        "job": job, "job_running": job is not None and not job.is_done,
        "job_progress": job_progress_of(job) if job is not None else None,
        "can_plan": can_plan and is_open, "can_notify": can_plan and programme.status in (
            DesludgingProgramme.Status.PLANNED, DesludgingProgramme.Status.NOTIFIED) and totals["planned"] > 0,
        "can_answer": has_permission(request, "fsm.register"),
        "weekdays": [weekday_names[d] for d, _label in WEEKDAYS if d in programme.working_weekdays],
        "holidays": [datetime.date.fromisoformat(d) for d in programme.holidays],
        "nonce": request.POST.get("nonce") or _nonce(),
    })


def _nonce() -> str:
    return uuid.uuid4().hex


def _start_job(request, programme: DesludgingProgramme, action: str):
    running = Job.objects.filter(kind=JOB_KIND, params__programme=programme.pk,
                                 status__in=(Job.Status.PENDING, Job.Status.RUNNING)).first()
    if running is not None:
        messages.info(request, _("“%(title)s” is already running.") % {"title": running.title})
        return redirect("fsm:programme_detail", pk=programme.pk)
    try:  # the same form sent again gets the job it started
        programmes.programme_job_start(programme=programme, by=request.user, action=action,
                                       nonce=request.POST.get("nonce") or "")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("fsm:programme_detail", pk=programme.pk)


@require_POST
@programme_view("fsm.schedule")
def programme_plan(request, pk: int):
    programme = _programme_or_404(pk)
    if programme.status not in programmes.PROGRAMME_OPEN:
        messages.error(request, _("Households have been told their day: this plan can no longer change."))
        return redirect("fsm:programme_detail", pk=programme.pk)
    if programme.visits.filter(status=ProgrammeVisit.Status.ACCEPTED).exists():
        messages.error(request, _("Households have accepted their day: this plan can no longer change."))
        return redirect("fsm:programme_detail", pk=programme.pk)
    return _start_job(request, programme, "plan")


@require_POST
@programme_view("fsm.schedule")
def programme_notify(request, pk: int):
    programme = _programme_or_404(pk)
    if not programme.visits.filter(status=ProgrammeVisit.Status.PLANNED).exists():
        messages.error(request, _("No household waits for a message: plan the programme first."))
        return redirect("fsm:programme_detail", pk=programme.pk)
    return _start_job(request, programme, "notify")


@require_GET
@programme_view()
def programme_progress(request, pk: int):
    """The progress bar the programme page polls (htmx); when the job ends the page reloads to show the result."""
    programme = _programme_or_404(pk)
    job = _latest_job(programme)
    if not request.htmx:
        return redirect("fsm:programme_detail", pk=programme.pk)
    if job is None or job.is_done:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("fsm:programme_detail", kwargs={"pk": programme.pk})
        return response
    return render(request, "fsm/_programme_progress.html", {"programme": programme, "job": job,
                                                            "job_progress": job_progress_of(job)})


# --- one route -------------------------------------------------------------------------------------------

def _route_map(programme: DesludgingProgramme, stops: list[ProgrammeVisit], *, can_link: bool) -> dict:
    plant = programme.treatment_plant.location
    d_lat = PLANT_HALF_SIDE_M / 111_320
    d_lon = PLANT_HALF_SIDE_M / (111_320 * max(math.cos(math.radians(plant.y)), 0.01))
    square = [[plant.x - d_lon, plant.y - d_lat], [plant.x + d_lon, plant.y - d_lat],
              [plant.x + d_lon, plant.y + d_lat], [plant.x - d_lon, plant.y + d_lat], [plant.x - d_lon, plant.y - d_lat]]
    path = [[plant.x, plant.y]] + [[v.containment.location.x, v.containment.location.y] for v in stops] + [
        [plant.x, plant.y]]
    features = [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": path},
         "properties": {"role": "road", "label": _("Route")}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square]},
         "properties": {"role": "subject", "label": programme.treatment_plant.name}},
    ]
    for visit in stops:
        properties = {"role": "containment", "label": f"{visit.sequence}. {visit.containment.code} · "
                                                      f"{visit.volume_m3} m³"}
        if can_link:
            properties["url"] = reverse("registry:containment_detail", kwargs={"pk": visit.containment_id})
        features.append({"type": "Feature", "properties": properties,
                         "geometry": json.loads(visit.containment.location.json)})
    return {"type": "FeatureCollection", "features": features}


@require_GET
@programme_view()
def programme_route(request, pk: int):
    programme = _programme_or_404(pk)
    try:
        date = datetime.date.fromisoformat(request.GET.get("date", ""))
        vehicle = Vehicle.objects.get(pk=int(request.GET.get("vehicle", "")))
    except (ValueError, Vehicle.DoesNotExist) as error:
        raise Http404("No such route") from error
    stops = programmes.programme_route(programme, vehicle=vehicle, date=date)
    if not stops:
        raise Http404("No such route")
    capacity = vehicle.capacity_m3 * programme.trips_per_day
    load = Decimal(0)
    rows = []
    for visit in stops:
        load += visit.volume_m3
        rows.append({"visit": visit, "badge": _visit_badge(visit), "load": load,
                     "km": round(visit.distance_from_previous_m / 1000, 2)})
    groups = programmes.programme_routes(programme)
    routes = [(day["date"], group["vehicle"]) for group in groups for day in group["days"]]
    routes.sort(key=lambda item: (item[0], item[1].registration))
    index = next(n for n, (d, v) in enumerate(routes) if d == date and v.pk == vehicle.pk)
    summary = next(day for group in groups if group["vehicle"].pk == vehicle.pk
                   for day in group["days"] if day["date"] == date)
    plant_name = programme.treatment_plant.name

    def link(item):
        return f"?vehicle={item[1].pk}&date={item[0].isoformat()}" if item else ""

    return render(request, "fsm/programme_route.html", {
        "section": "programmes", "programme": programme, "vehicle": vehicle, "date": date, "rows": rows,
        "capacity": capacity, "load": load, "percent": int(min(100, round(100 * load / capacity))) if capacity else 0,
        "km": summary["km"], "return_km": round((summary["metres"] - sum(v.distance_from_previous_m for v in stops))
                                                / 1000, 2),
        "previous": link(routes[index - 1] if index > 0 else None),
        "next": link(routes[index + 1] if index + 1 < len(routes) else None),
        "map_data": _route_map(programme, stops, can_link=has_permission(request, "registry.view")),
        "map_label": _("Route of %(vehicle)s on %(date)s") % {"vehicle": vehicle.registration,
                                                               "date": date.strftime("%d %b %Y")},
        "legend": [{"icon": "bi-square-fill text-primary", "label": plant_name},
                   {"icon": "bi-circle-fill text-warning-emphasis", "label": _("Stops (hover for the order)")},
                   {"icon": "bi-dash-lg text-secondary", "label": _("Route, from the plant and back")}],
    })


# --- candidates ------------------------------------------------------------------------------------------

@require_GET
@programme_view()
def programme_candidates(request, pk: int):
    programme = _programme_or_404(pk)
    candidates = programmes.programme_candidates_listed(programme)
    ward = request.GET.get("ward", "")
    if ward.isdigit():
        candidates = candidates.filter(ward__number=int(ward))
    page = Paginator(candidates, PER_PAGE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    return render(request, "fsm/programme_candidates.html", {
        "section": "programmes", "programme": programme, "page": page, "today": today,
        "wards": programmes.programme_ward_counts(programme), "ward": int(ward) if ward.isdigit() else None,
        "ward_query": f"ward={int(ward)}" if ward.isdigit() else "",
    })


# --- households: notify, accept, decline -----------------------------------------------------------------

VISIT_FILTERS = {"unanswered": programmes.UNANSWERED, "planned": (ProgrammeVisit.Status.PLANNED,),
                 "notified": (ProgrammeVisit.Status.NOTIFIED,), "accepted": (ProgrammeVisit.Status.ACCEPTED,),
                 "declined": (ProgrammeVisit.Status.DECLINED,)}


def _households_page(request, programme: DesludgingProgramme, *, failed: tuple[int, str, object] | None = None):
    visits = programmes.programme_visits_listed(programme)
    show = request.GET.get("show", "unanswered")
    show = show if show in VISIT_FILTERS or show == "all" else "unanswered"
    if show != "all":
        visits = visits.filter(status__in=VISIT_FILTERS[show])
    day = request.GET.get("date", "")
    try:
        day = datetime.date.fromisoformat(day) if day else None
    except ValueError:
        day = None
    if day:
        visits = visits.filter(date=day)
    q = request.GET.get("q", "").strip()[:40]
    if q:
        visits = visits.filter(Q(containment__code__istartswith=q) | Q(holding_id__istartswith=q))
    if failed is not None:
        visits = programmes.programme_visits_listed(programme).filter(pk=failed[0])
    page = Paginator(visits, PER_PAGE).get_page(request.GET.get("page"))
    can_answer = has_permission(request, "fsm.register")
    rows = []
    for visit in page.object_list:
        is_failed = failed is not None and failed[0] == visit.pk
        rows.append({
            "visit": visit, "badge": _visit_badge(visit),
            "is_open": visit.status in programmes.UNANSWERED and can_answer,
            "accept_form": failed[2] if is_failed and failed[1] == "accept" else AcceptForm(prefix=f"a{visit.pk}"),
            "decline_form": failed[2] if is_failed and failed[1] == "decline" else DeclineForm(
                prefix=f"d{visit.pk}"),
            "failed": failed[1] if is_failed else "",
            "errors": [str(message) for messages_ in failed[2].errors.values() for message in messages_]
            if is_failed else [],
        })
    counts = dict(programme.visits.order_by().values_list("status").annotate(n=Count("pk")))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "fsm/programme_households.html", {
        "section": "programmes", "programme": programme, "page": page, "rows": rows, "show": show, "day": day,
        "q": q, "counts": counts, "filters": [
            ("unanswered", _("Waiting for an answer"), counts.get("planned", 0) + counts.get("notified", 0)),
            ("accepted", _("Accepted"), counts.get("accepted", 0)), ("declined", _("Declined"), counts.get(
                "declined", 0)), ("all", _("All"), sum(counts.values()))],
        "query": query.urlencode(), "can_answer": can_answer, "has_failed": failed is not None,
    })


@require_GET
@programme_view()
def programme_households(request, pk: int):
    return _households_page(request, _programme_or_404(pk))


@require_POST
@programme_view("fsm.register")
def visit_accept(request, pk: int, visit_pk: int):
    programme = _programme_or_404(pk)
    visit = _visit_or_404(programme, visit_pk)
    form = AcceptForm(request.POST, prefix=f"a{visit.pk}")
    if form.is_valid():
        try:
            application = programmes.visit_accept(visit=visit, by=request.user,
                                                  applicant_name=form.cleaned_data["applicant_name"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Accepted: application %(number)s is scheduled for %(date)s.") % {
                "number": application.number, "date": application.scheduled_date.strftime("%d %b %Y")})
            return redirect(reverse("fsm:programme_households", kwargs={"pk": programme.pk}) + _back(request))
    return _households_page(request, programme, failed=(visit.pk, "accept", form))


@require_POST
@programme_view("fsm.register")
def visit_decline(request, pk: int, visit_pk: int):
    programme = _programme_or_404(pk)
    visit = _visit_or_404(programme, visit_pk)
    form = DeclineForm(request.POST, prefix=f"d{visit.pk}")
    if form.is_valid():
        try:
            programmes.visit_decline(visit=visit, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Declined: containment %(code)s is on the reintegration list.") % {
                "code": visit.containment.code})
            return redirect(reverse("fsm:programme_households", kwargs={"pk": programme.pk}) + _back(request))
    return _households_page(request, programme, failed=(visit.pk, "decline", form))


def _back(request) -> str:
    """Back to the same filtered page of the list."""
    back = request.POST.get("back", "")
    return "?" + back if back and "\n" not in back and len(back) < 300 else ""


@require_GET
@programme_view()
def reintegration(request):
    visits = programmes.reintegration_list()
    page = Paginator(visits, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "fsm/programme_reintegration.html", {
        "section": "programmes", "page": page,
        "can_register": has_permission(request, "fsm.register"),
        "memory_days": programmes.DECLINED_MEMORY_DAYS,
    })


# --- CSV export ------------------------------------------------------------------------------------------

def _safe(value):
    if isinstance(value, str) and value.startswith(("=", "@", "+", "\t", "\r", "-")):
        return "'" + value
    return "" if value is None else value


@require_GET
@programme_view()
def programme_export(request, pk: int):
    programme = _programme_or_404(pk)
    statuses = dict(ProgrammeVisit.Status.choices)
    header = [_("Date"), _("Vehicle"), _("Stop"), _("Containment"), _("Ward"), _("Holding ID"), _("Address"),
              _("Volume (m³)"), _("From the previous stop (km)"), _("Status"), _("Application"),
              _("Reason declined")]
    rows = (programmes.programme_visits_listed(programme)
            .values_list("date", "vehicle__registration", "sequence", "containment__code", "containment__ward__number",
                         "holding_id", "address", "volume_m3", "distance_from_previous_m", "status",
                         "application__number", "decline_reason"))
    tenant = connection.tenant

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def stream():
        yield "\ufeff"
        yield writer.writerow(header)
        with tenant_context(tenant):
            for row in rows.iterator(chunk_size=CSV_CHUNK):
                row = list(row)
                row[0] = row[0].isoformat()
                row[8] = f"{row[8] / 1000:.2f}"
                row[9] = statuses.get(row[9], row[9])
                yield writer.writerow([_safe(value) for value in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="fsm-programme-{programme.pk}-plan.csv"'
    return response
