"""Scheduled desludging programmes: candidates, the plan, notifying households, their answers.

Services (writes) check the actor's permission, write inside one transaction and leave an audit entry; the reads
the programme screens need sit at the end of the module.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Polygon
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.platform.sms import SmsError, sms_gateway
from imis.shared_apps.accounts.services import phone_to_e164
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.registry.models import Building, Containment, Owner, TreatmentPlant, Ward

from . import services
from .models import Application, DesludgingProgramme, ProgrammeVisit, SmsMessage, Vehicle
from .scheduling import DEFAULT_VOLUME_M3, Plan, Stop, Truck, haversine_m, plan_programme, working_days

RECENTLY_EMPTIED_DAYS = 365
DECLINED_MEMORY_DAYS = 365
BANGLADESH_WORKWEEK = [6, 0, 1, 2, 3]  # Sunday to Thursday
MAX_PERIOD_DAYS = 92  # a quarter: longer programmes are planned quarter by quarter
MAX_TRIPS_PER_DAY = 10
PROGRAMME_OPEN = (DesludgingProgramme.Status.DRAFT, DesludgingProgramme.Status.PLANNED)
UNANSWERED = (ProgrammeVisit.Status.PLANNED, ProgrammeVisit.Status.NOTIFIED)

Progress = Callable[[int, int], None]


def _programme_audit(programme: DesludgingProgramme) -> dict:
    return {"name": programme.name, "status": programme.status, "start_date": programme.start_date,
            "end_date": programme.end_date, "treatment_plant": programme.treatment_plant_id,
            "trips_per_day": programme.trips_per_day, "working_weekdays": programme.working_weekdays,
            "holidays": programme.holidays}


def _validated_area(area) -> Polygon | None:
    if area is None:
        return None
    if isinstance(area, str):
        try:
            area = GEOSGeometry(area)
        except (ValueError, TypeError, GEOSException, GDALException) as error:
            raise field_error({"area": _("This is neither GeoJSON nor WKT.")}, code="invalid_geometry") from error
    if area.geom_type == "MultiPolygon" and len(area) == 1:
        area = area[0]
    if area.geom_type != "Polygon":
        raise field_error({"area": _("Draw or paste one polygon.")}, code="invalid_geometry")
    if area.srid is None:
        area.srid = 4326
    if area.srid != 4326:
        area = area.transform(4326, clone=True)
    if not area.valid:
        raise field_error({"area": _("The area's outline crosses itself.")}, code="invalid_geometry")
    return area


def programme_create(*, by, name: str, start_date: datetime.date, end_date: datetime.date, treatment_plant,
                     vehicles: list[Vehicle], ward_ids: list[int] | None = None, area=None, trips_per_day: int = 3,
                     working_weekdays: list[int] | None = None,
                     holidays: list[datetime.date] | None = None) -> DesludgingProgramme:
    """A draft programme: where (wards and/or an area), when, with which vehicles and how many trips a day.

    Every rule is checked before anything is written; the error names the field it is about.
    """
    services._require(by, "fsm.schedule", _("plan desludging programmes"))
    name = (name or "").strip()
    if not name:
        raise field_error({"name": _("Give the programme a name, such as “Ward 5, January”.")}, code="required")
    if start_date is None or end_date is None:
        raise field_error({"start_date" if start_date is None else "end_date": _("Enter the date.")},
                          code="required")
    if start_date < timezone.localdate():
        raise field_error({"start_date": _("The programme cannot start in the past.")}, code="past_date")
    if end_date < start_date:
        raise field_error({"end_date": _("The programme ends before it starts.")}, code="invalid_period")
    if (end_date - start_date).days + 1 > MAX_PERIOD_DAYS:
        raise field_error({"end_date": _("Plan at most %(days)s days at a time.") % {"days": MAX_PERIOD_DAYS}},
                          code="period_too_long")
    if treatment_plant is None:
        raise field_error({"treatment_plant": _("Choose the plant the trucks unload at.")}, code="required")
    if treatment_plant.status != TreatmentPlant.Status.OPERATIONAL:
        raise field_error({"treatment_plant": _("%(name)s is not operational.") % {"name": treatment_plant.name}},
                          code="plant_not_operational")
    vehicles = list(vehicles or [])
    if not vehicles:
        raise field_error({"vehicles": _("Choose at least one vehicle.")}, code="required")
    retired = [v.registration for v in vehicles if v.status == Vehicle.Status.RETIRED]
    if retired:  # a truck in the workshop may be back by then: only the available ones are planned
        raise field_error({"vehicles": _("Retired: %(vehicles)s.") % {"vehicles": ", ".join(retired)}},
                          code="vehicle_retired")
    ward_ids = sorted(set(ward_ids or []))
    area = _validated_area(area)
    if not ward_ids and area is None:
        raise field_error({"wards": _("Choose wards or draw an area.")}, code="required")
    if ward_ids and Ward.objects.filter(pk__in=ward_ids).count() != len(ward_ids):
        raise field_error({"wards": _("A chosen ward no longer exists.")}, code="invalid_choice")
    if trips_per_day is None or not 1 <= trips_per_day <= MAX_TRIPS_PER_DAY:
        raise field_error({"trips_per_day": _("From 1 to %(max)s trips a day.") % {"max": MAX_TRIPS_PER_DAY}},
                          code="out_of_range")
    weekdays = sorted(set(BANGLADESH_WORKWEEK if working_weekdays is None else working_weekdays))
    if not weekdays or any(not 0 <= day <= 6 for day in weekdays):
        raise field_error({"working_weekdays": _("Choose the days of the week the crews work.")}, code="required")
    holidays = sorted(set(holidays or []))
    outside = [day for day in holidays if not start_date <= day <= end_date]
    if outside:
        raise field_error({"holidays": _("%(day)s is outside the programme's period.")
                           % {"day": outside[0].strftime("%d %b %Y")}}, code="holiday_outside_period")
    if not working_days(start_date, end_date, weekdays=weekdays, holidays=holidays):
        raise field_error({"end_date": _("There is no working day in this period.")}, code="no_working_day")
    with transaction.atomic():
        programme = DesludgingProgramme.objects.create(
            name=name[:200], start_date=start_date, end_date=end_date, treatment_plant=treatment_plant, area=area,
            trips_per_day=trips_per_day, working_weekdays=weekdays,
            holidays=[day.isoformat() for day in holidays], created_by_id=getattr(by, "pk", None),
        )
        programme.vehicles.set(vehicles)
        if ward_ids:
            programme.wards.set(ward_ids)
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=programme,
                     after={**_programme_audit(programme), "wards": ward_ids,
                            "vehicles": [v.registration for v in vehicles], "has_area": area is not None})
    return programme


def programme_candidates(programme: DesludgingProgramme) -> QuerySet[Containment]:
    """Due by the programme's end (or never emptied), not emptied or declined recently, no open application."""
    today = timezone.localdate()
    containments = Containment.objects.all()
    ward_ids = list(programme.wards.values_list("pk", flat=True))
    if ward_ids:
        containments = containments.filter(ward_id__in=ward_ids)
    if programme.area is not None:
        containments = containments.filter(location__intersects=programme.area)
    open_application = Application.objects.filter(containment=OuterRef("pk"), status__in=services.OPEN_STATUSES)
    declined = ProgrammeVisit.objects.filter(
        containment=OuterRef("pk"), status=ProgrammeVisit.Status.DECLINED,
        responded_at__gte=timezone.now() - datetime.timedelta(days=DECLINED_MEMORY_DAYS))
    return (containments
            .filter(Q(next_emptying_due__lte=programme.end_date) | Q(last_emptied_on__isnull=True))
            .exclude(last_emptied_on__gte=today - datetime.timedelta(days=RECENTLY_EMPTIED_DAYS))
            .exclude(Exists(open_application)).exclude(Exists(declined))
            .exclude(programme_visits__programme=programme))


def _stops(containments: QuerySet[Containment]) -> list[Stop]:
    rows = containments.values_list("pk", "location", "volume_m3", "next_emptying_due")
    return [Stop(key=pk, lon=location.x, lat=location.y, volume_m3=float(volume or DEFAULT_VOLUME_M3), due=due)
            for pk, location, volume, due in rows]


def programme_plan(*, programme: DesludgingProgramme, by, method: str = "ortools",
                   seconds_per_day: float = 1.0, progress: Progress | None = None) -> Plan:
    """Plan (or re-plan) the programme's visits; replaces planned visits that nobody has answered yet.

    Once households are notified the plan is what they were told: it is no longer re-planned.
    `progress(done, total)` is called after each working day is routed.
    """
    services._require(by, "fsm.schedule", _("plan desludging programmes"))
    with transaction.atomic():
        programme = (DesludgingProgramme.objects.select_for_update().select_related("treatment_plant")
                     .get(pk=programme.pk))
        if programme.status not in PROGRAMME_OPEN:
            raise field_error({"programme": _("Households have been told their day: this plan can no longer "
                                              "change.")}, code="programme_notified")
        if programme.visits.filter(status=ProgrammeVisit.Status.ACCEPTED).exists():
            raise field_error({"programme": _("Households have accepted their day: this plan can no longer "
                                              "change.")}, code="programme_answered")
        trucks = [Truck(key=v.pk, capacity_m3=float(v.capacity_m3), trips_per_day=programme.trips_per_day)
                  for v in programme.vehicles.filter(status=Vehicle.Status.AVAILABLE).order_by("pk")]
        if not trucks:
            raise field_error({"vehicles": _("None of the programme's vehicles is available.")},
                              code="vehicle_unavailable")
        days = working_days(programme.start_date, programme.end_date, weekdays=programme.working_weekdays,
                            holidays=[datetime.date.fromisoformat(d) for d in programme.holidays])
        depot = (programme.treatment_plant.location.x, programme.treatment_plant.location.y)
        before = {"status": programme.status, "summary": programme.summary}
        programme.visits.filter(status=ProgrammeVisit.Status.PLANNED).delete()
        stops = _stops(programme_candidates(programme))
        plan = plan_programme(stops, trucks=trucks, depot=depot, days=days, method=method,
                              seconds_per_day=seconds_per_day, progress=progress)
        volumes = {stop.key: stop.volume_m3 for stop in stops}
        ProgrammeVisit.objects.bulk_create([
            ProgrammeVisit(programme=programme, containment_id=containment_id, vehicle_id=route.truck,
                           date=route.date, sequence=order, volume_m3=Decimal(str(volumes[containment_id])),
                           distance_from_previous_m=leg)
            for route in plan.routes
            for order, (containment_id, leg) in enumerate(zip(route.stops, route.legs_m, strict=True), start=1)
        ], batch_size=2000)
        programme.status = DesludgingProgramme.Status.PLANNED
        programme.summary = {"candidates": len(stops), "planned": plan.planned, "waiting": len(plan.unplanned),
                             "days": len(days), "vehicles": len(trucks), "route_length_km": round(plan.length_m / 1000, 1),
                             "routes": len(plan.routes), "method": method,
                             "planned_at": timezone.now().isoformat(timespec="seconds")}
        programme.save(update_fields=["status", "summary"])
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=programme, before=before,
                     after={"status": programme.status, "summary": programme.summary})
    return plan


PROGRAMME_JOB_KIND = "fsm.programme"
PROGRAMME_JOB_ACTIONS = ("plan", "notify")


def programme_job_start(*, programme: DesludgingProgramme, by, action: str, nonce: str = ""):
    """Plan the programme's routes (`plan`) or text its households (`notify`) in the background: a job with progress
    (jobs app). While a job of the programme is pending or running, that job is returned instead of a second one;
    so is the job already started with the same `nonce` (a form or request sent twice)."""
    from imis.tenant_apps.jobs.models import Job
    from imis.tenant_apps.jobs.services import job_create, job_enqueue

    from .tasks import programme_job_task

    services._require(by, "fsm.schedule", _("plan desludging programmes") if action != "notify"
                      else _("notify households"))
    if action not in PROGRAMME_JOB_ACTIONS:
        raise field_error({"action": _("Plan or notify.")}, code="invalid_choice")
    if action == "plan":
        if programme.status not in PROGRAMME_OPEN:
            raise field_error({"programme": _("Households have been told their day: this plan can no longer "
                                              "change.")}, code="programme_notified")
        if programme.visits.filter(status=ProgrammeVisit.Status.ACCEPTED).exists():
            raise field_error({"programme": _("Households have accepted their day: this plan can no longer "
                                              "change.")}, code="programme_answered")
    elif not programme.visits.filter(status=ProgrammeVisit.Status.PLANNED).exists():
        raise field_error({"programme": _("No household waits for a message: plan the programme first.")},
                          code="nothing_to_notify")
    running = Job.objects.filter(kind=PROGRAMME_JOB_KIND, params__programme=programme.pk,
                                 status__in=(Job.Status.PENDING, Job.Status.RUNNING)).first()
    if running is not None:
        return running
    nonce = (nonce or "")[:80]
    key = f"{action}-{programme.pk}-{nonce}" if nonce else ""
    existing = Job.objects.filter(kind=PROGRAMME_JOB_KIND, idempotency_key=key).first() if key else None
    if existing is not None:
        return existing
    title = (_("Plan routes: %(name)s") if action == "plan" else _("Notify households: %(name)s")) % {
        "name": programme.name}
    job = job_create(kind=PROGRAMME_JOB_KIND, title=title, by=by, params={"programme": programme.pk,
                                                                        "action": action}, idempotency_key=key)
    job_enqueue(job=job, task=programme_job_task, action=action, programme_id=programme.pk,
                user_id=getattr(by, "pk", None))
    return job


def _household_phones(containment_ids: list[int]) -> dict[int, str]:
    """The first owner with a phone of a building each containment serves (one query for all)."""
    phones: dict[int, str] = {}
    rows = (Owner.objects.filter(holding__buildings__containments__in=containment_ids).exclude(phone="")
            .values_list("holding__buildings__containments", "phone").order_by("pk"))
    for containment_id, phone in rows:
        phones.setdefault(containment_id, phone)
    return phones


def _household_owner(containment: Containment) -> Owner | None:
    return Owner.objects.filter(holding__buildings__containments=containment).order_by("pk").first()


def programme_notify(*, programme: DesludgingProgramme, by, progress: Progress | None = None) -> int:
    """Tell each planned household its day by SMS; returns how many messages went out.

    Every message (sent or failed) is kept in the SMS outbox; a visit counts as notified when its message went.
    Households with no phone on record are left "planned" for the help desk to call. Sending again only reaches
    those not notified yet.
    """
    services._require(by, "fsm.schedule", _("notify households"))
    programme = DesludgingProgramme.objects.get(pk=programme.pk)
    if programme.status not in (DesludgingProgramme.Status.PLANNED, DesludgingProgramme.Status.NOTIFIED):
        raise field_error({"programme": _("Plan the programme first.")}, code="not_planned")
    visits = list(programme.visits.filter(status=ProgrammeVisit.Status.PLANNED).select_related("containment")
                  .defer("containment__location"))
    phones = _household_phones([v.containment_id for v in visits])
    gateway = sms_gateway()
    sent = failed = 0
    municipality = connection.tenant
    for done, visit in enumerate(visits, start=1):
        phone = phones.get(visit.containment_id, "")
        if phone:
            body = _("%(municipality)s: your septic tank/pit %(code)s will be emptied on %(date)s. Reply or call "
                     "the help desk to accept or decline.") % {"municipality": municipality.name,
                                                               "code": visit.containment.code,
                                                               "date": visit.date.strftime("%d %b %Y")}
            try:
                reference = gateway.send(phone, body)
                status = "sent"
            except SmsError as error:
                reference, status = str(error)[:100], "failed"
            with transaction.atomic():  # one household at a time: a crash half-way re-sends to nobody twice
                SmsMessage.objects.create(to=phone, body=body, gateway=getattr(gateway, "name", "sms"),
                                          status=status, reference=reference)
                if status == "sent":
                    ProgrammeVisit.objects.filter(pk=visit.pk).update(status=ProgrammeVisit.Status.NOTIFIED)
                    sent += 1
                else:
                    failed += 1
        if progress is not None:
            progress(done, len(visits))
    with transaction.atomic():
        DesludgingProgramme.objects.filter(pk=programme.pk).update(status=DesludgingProgramme.Status.NOTIFIED)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=programme,
                     before={"status": programme.status},
                     after={"status": DesludgingProgramme.Status.NOTIFIED, "sms_sent": sent, "sms_failed": failed,
                            "without_phone": len(visits) - sent - failed})
    return sent


def visit_accept(*, visit: ProgrammeVisit, by, applicant_name: str = "") -> Application:
    """The household agrees: an application (channel "scheduled programme"), approved and scheduled at once.

    The programme was approved and planned by an officer; recording the household's answer is the help desk's.
    If the schedule cannot stand (the vehicle went to the workshop, its papers expired), nothing is written.
    """
    services._require(by, "fsm.register", _("record a household's answer"))
    with transaction.atomic():
        visit = ProgrammeVisit.objects.select_for_update().select_related("containment", "vehicle__provider",
                                                                          "programme").get(pk=visit.pk)
        if visit.status not in UNANSWERED:
            raise field_error({"visit": _("This visit was already answered.")}, code="already_answered")
        owner = _household_owner(visit.containment)
        try:
            phone = phone_to_e164(owner.phone) if owner and owner.phone else ""
        except ValidationError:
            phone = ""
        application = services.application_register(
            by=by, applicant_name=applicant_name or (owner.name if owner else _("Household")),
            applicant_phone=phone, channel=Application.Channel.SCHEDULED, containment=visit.containment,
            notes=_("Programme: %(name)s") % {"name": visit.programme.name})
        application = services.application_approve(application=application, by=by, role_checked=True,
                                                   note=_("Accepted a programme visit"))
        date = max(visit.date, timezone.localdate())
        application = services.application_schedule(application=application, by=by, provider=visit.vehicle.provider,
                                                    vehicle=visit.vehicle, date=date, slot=Application.Slot.MORNING,
                                                    is_confirmed=True, role_checked=True)
        before = {"status": visit.status}
        visit.status, visit.responded_at, visit.application = (ProgrammeVisit.Status.ACCEPTED, timezone.now(),
                                                               application)
        visit.save(update_fields=["status", "responded_at", "application"])
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=visit, before=before,
                     after={"status": visit.status, "application": application.number})
    return application


def visit_decline(*, visit: ProgrammeVisit, by, reason: str = "") -> ProgrammeVisit:
    """The household says no: it goes to the reintegration list and is left out of programmes for a year."""
    services._require(by, "fsm.register", _("record a household's answer"))
    with transaction.atomic():
        visit = ProgrammeVisit.objects.select_for_update().get(pk=visit.pk)
        if visit.status not in UNANSWERED:
            raise field_error({"visit": _("This visit was already answered.")}, code="already_answered")
        before = {"status": visit.status}
        visit.status, visit.responded_at, visit.decline_reason = (ProgrammeVisit.Status.DECLINED, timezone.now(),
                                                                  (reason or "").strip()[:300])
        visit.save(update_fields=["status", "responded_at", "decline_reason"])
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=visit, before=before,
                     after={"status": visit.status, "reason": visit.decline_reason})
    return visit


# --- reads for the programme screens -------------------------------------------------------------------

def _holding_of(containment_ref: str):
    """The holding ID of the first building a containment serves (a correlated subquery, no N+1)."""
    return Subquery(Building.objects.filter(containments=OuterRef(containment_ref)).order_by("pk")
                    .values("holding__holding_id")[:1])


def _address_of(containment_ref: str):
    return Subquery(Building.objects.filter(containments=OuterRef(containment_ref)).order_by("pk")
                    .values("holding__address")[:1])


def reintegration_list() -> QuerySet[ProgrammeVisit]:
    return (ProgrammeVisit.objects.filter(status=ProgrammeVisit.Status.DECLINED)
            .select_related("containment", "containment__ward", "programme")
            .defer("containment__location", "programme__area")
            .annotate(holding_id=_holding_of("containment"))
            .order_by("-responded_at"))


def programmes_listed() -> QuerySet[DesludgingProgramme]:
    return (DesludgingProgramme.objects.select_related("treatment_plant").defer("area", "treatment_plant__location")
            .prefetch_related("wards")
            .annotate(visit_count=Count("visits", distinct=True),
                      accepted_count=Count("visits", filter=Q(visits__status=ProgrammeVisit.Status.ACCEPTED),
                                           distinct=True),
                      declined_count=Count("visits", filter=Q(visits__status=ProgrammeVisit.Status.DECLINED),
                                           distinct=True))
            .order_by("-start_date", "-pk"))


def programme_candidates_listed(programme: DesludgingProgramme) -> QuerySet[Containment]:
    """The candidates a clerk reads: most overdue first (never emptied counts as most overdue)."""
    return (programme_candidates(programme).select_related("ward").defer("location")
            .annotate(holding_id=_holding_of("pk"))
            .order_by(F("next_emptying_due").asc(nulls_first=True), "code"))


def programme_ward_counts(programme: DesludgingProgramme) -> list[dict]:
    """Per ward: candidates still waiting for a visit, and the programme's visits by answer (two queries)."""
    rows: dict[int | None, dict] = defaultdict(lambda: {"candidates": 0, "candidate_volume": Decimal(0),
                                                        "planned": 0, "notified": 0, "accepted": 0, "declined": 0})
    for ward_id, count, volume in (programme_candidates(programme).order_by().values("ward_id")
                                   .annotate(n=Count("pk"), v=Sum("volume_m3")).values_list("ward_id", "n", "v")):
        rows[ward_id]["candidates"] = count
        rows[ward_id]["candidate_volume"] = volume or Decimal(0)
    for ward_id, status, count in (programme.visits.order_by().values("containment__ward_id", "status")
                                   .annotate(n=Count("pk")).values_list("containment__ward_id", "status", "n")):
        rows[ward_id][status] = count
    wards = {w.pk: w for w in Ward.objects.filter(pk__in=[k for k in rows if k]).defer("boundary")}
    out = []
    for ward_id, row in rows.items():
        out.append({"ward": wards.get(ward_id), **row,
                    "visits": row["planned"] + row["notified"] + row["accepted"] + row["declined"]})
    out.sort(key=lambda r: (r["ward"] is None, r["ward"].number if r["ward"] else 0))
    return out


def programme_routes(programme: DesludgingProgramme) -> list[dict]:
    """Per vehicle, day by day: stops, volume against the day's capacity and kilometres (plant and back).

    One query over the visits (locations included, for the drive back to the plant).
    """
    plant = programme.treatment_plant.location
    depot = (plant.x, plant.y)
    vehicles = {v.pk: v for v in Vehicle.objects.filter(programme_visits__programme=programme).distinct()}
    days: dict[int, dict] = {}
    rows = (programme.visits.order_by("vehicle_id", "date", "sequence")
            .values_list("vehicle_id", "date", "sequence", "volume_m3", "distance_from_previous_m", "status",
                         "containment__location"))
    for vehicle_id, date, _sequence, volume, leg, status, location in rows:
        vehicle_days = days.setdefault(vehicle_id, {})
        day = vehicle_days.setdefault(date, {"date": date, "stops": 0, "volume": Decimal(0), "metres": 0,
                                             "last": None, "accepted": 0, "declined": 0})
        day["stops"] += 1
        day["volume"] += volume
        day["metres"] += leg
        day["last"] = (location.x, location.y)
        if status in (ProgrammeVisit.Status.ACCEPTED, ProgrammeVisit.Status.DECLINED):
            day[status] += 1
    out = []
    for vehicle_id, vehicle_days in days.items():
        vehicle = vehicles[vehicle_id]
        capacity = vehicle.capacity_m3 * programme.trips_per_day
        day_rows = []
        for day in vehicle_days.values():
            day["metres"] += haversine_m(day.pop("last"), depot)
            day["km"] = round(day["metres"] / 1000, 1)
            day["capacity"] = capacity
            day["percent"] = int(min(100, round(100 * day["volume"] / capacity))) if capacity else 0
            day_rows.append(day)
        out.append({"vehicle": vehicle, "capacity": capacity, "days": day_rows,
                    "stops": sum(d["stops"] for d in day_rows), "volume": sum((d["volume"] for d in day_rows),
                                                                              Decimal(0)),
                    "km": round(sum(d["metres"] for d in day_rows) / 1000, 1)})
    out.sort(key=lambda r: r["vehicle"].registration)
    return out


def programme_route(programme: DesludgingProgramme, *, vehicle: Vehicle, date: datetime.date
                    ) -> list[ProgrammeVisit]:
    """One vehicle's stops on one day, in order, with what a crew needs to find the place."""
    return list(programme.visits.filter(vehicle=vehicle, date=date)
                .select_related("containment", "containment__ward", "application")
                .annotate(holding_id=_holding_of("containment"), address=_address_of("containment"))
                .order_by("sequence"))


def programme_visits_listed(programme: DesludgingProgramme) -> QuerySet[ProgrammeVisit]:
    return (programme.visits.select_related("containment", "containment__ward", "vehicle", "application")
            .defer("containment__location")
            .annotate(holding_id=_holding_of("containment"), address=_address_of("containment"))
            .order_by("date", "vehicle__registration", "sequence"))
