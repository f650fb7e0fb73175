"""Scheduled desludging programmes: candidates, the plan, notifying households, their answers."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.platform.sms import SmsError, sms_gateway
from imis.tenant_apps.registry.models import Containment, Owner

from . import services
from .models import Application, DesludgingProgramme, ProgrammeVisit, SmsMessage, Vehicle
from .scheduling import DEFAULT_VOLUME_M3, Plan, Stop, Truck, plan_programme, working_days

RECENTLY_EMPTIED_DAYS = 365
DECLINED_MEMORY_DAYS = 365
BANGLADESH_WORKWEEK = [6, 0, 1, 2, 3]  # Sunday to Thursday


def programme_create(*, by, name: str, start_date: datetime.date, end_date: datetime.date, treatment_plant,
                     vehicles: list[Vehicle], ward_ids: list[int] | None = None, area=None, trips_per_day: int = 3,
                     working_weekdays: list[int] | None = None,
                     holidays: list[datetime.date] | None = None) -> DesludgingProgramme:
    services._require(by, "fsm.schedule", _("plan desludging programmes"))
    if end_date < start_date:
        raise field_error({"end_date": _("The programme ends before it starts.")}, code="invalid_period")
    if not vehicles:
        raise field_error({"vehicles": _("Choose at least one vehicle.")}, code="required")
    if not ward_ids and area is None:
        raise field_error({"wards": _("Choose wards or draw an area.")}, code="required")
    if not 1 <= trips_per_day <= 10:
        raise field_error({"trips_per_day": _("From 1 to 10 trips a day.")}, code="out_of_range")
    with transaction.atomic():
        programme = DesludgingProgramme.objects.create(
            name=name, start_date=start_date, end_date=end_date, treatment_plant=treatment_plant, area=area,
            trips_per_day=trips_per_day, working_weekdays=working_weekdays or BANGLADESH_WORKWEEK,
            holidays=[day.isoformat() for day in holidays or []], created_by_id=getattr(by, "pk", None),
        )
        programme.vehicles.set(vehicles)
        if ward_ids:
            programme.wards.set(ward_ids)
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
                   seconds_per_day: float = 1.0) -> Plan:
    """Plan (or re-plan) the programme's visits; replaces planned visits that nobody has answered yet."""
    services._require(by, "fsm.schedule", _("plan desludging programmes"))
    trucks = [Truck(key=v.pk, capacity_m3=float(v.capacity_m3), trips_per_day=programme.trips_per_day)
              for v in programme.vehicles.filter(status=Vehicle.Status.AVAILABLE).order_by("pk")]
    days = working_days(programme.start_date, programme.end_date, weekdays=programme.working_weekdays,
                        holidays=[datetime.date.fromisoformat(d) for d in programme.holidays])
    depot = (programme.treatment_plant.location.x, programme.treatment_plant.location.y)
    with transaction.atomic():
        programme = DesludgingProgramme.objects.select_for_update().get(pk=programme.pk)
        programme.visits.filter(status=ProgrammeVisit.Status.PLANNED).delete()
        stops = _stops(programme_candidates(programme))
        plan = plan_programme(stops, trucks=trucks, depot=depot, days=days, method=method,
                              seconds_per_day=seconds_per_day)
        volumes = {stop.key: stop.volume_m3 for stop in stops}
        ProgrammeVisit.objects.bulk_create([
            ProgrammeVisit(programme=programme, containment_id=containment_id, vehicle_id=route.truck,
                           date=route.date, sequence=order, volume_m3=Decimal(str(volumes[containment_id])),
                           distance_from_previous_m=leg)
            for route in plan.routes
            for order, (containment_id, leg) in enumerate(zip(route.stops, route.legs_m, strict=True), start=1)
        ])
        programme.status = DesludgingProgramme.Status.PLANNED
        programme.summary = {"candidates": len(stops), "planned": plan.planned, "waiting": len(plan.unplanned),
                             "days": len(days), "vehicles": len(trucks), "route_length_km": round(plan.length_m / 1000, 1),
                             "method": method}
        programme.save(update_fields=["status", "summary"])
    return plan


def _household_phone(containment: Containment) -> str:
    owner = (Owner.objects.filter(holding__buildings__containments=containment).exclude(phone="")
             .order_by("pk").first())
    return owner.phone if owner else ""


def programme_notify(*, programme: DesludgingProgramme, by) -> int:
    """Tell each planned household its day by SMS; returns how many messages went out."""
    services._require(by, "fsm.schedule", _("notify households"))
    gateway = sms_gateway()
    sent = 0
    municipality = connection.tenant
    for visit in programme.visits.filter(status=ProgrammeVisit.Status.PLANNED).select_related("containment"):
        phone = _household_phone(visit.containment)
        if not phone:
            continue
        body = _("%(municipality)s: your septic tank/pit %(code)s will be emptied on %(date)s. Reply or call the "
                 "help desk to accept or decline.") % {"municipality": municipality.name,
                                                       "code": visit.containment.code,
                                                       "date": visit.date.strftime("%d %b %Y")}
        try:
            reference = gateway.send(phone, body)
            status = "sent"
        except SmsError as error:
            reference, status = str(error)[:100], "failed"
        SmsMessage.objects.create(to=phone, body=body, gateway=getattr(gateway, "name", "sms"), status=status,
                                  reference=reference)
        if status == "sent":
            visit.status = ProgrammeVisit.Status.NOTIFIED
            visit.save(update_fields=["status"])
            sent += 1
    DesludgingProgramme.objects.filter(pk=programme.pk).update(status=DesludgingProgramme.Status.NOTIFIED)
    return sent


def visit_accept(*, visit: ProgrammeVisit, by, applicant_name: str = "") -> Application:
    """The household agrees: an application (channel "scheduled programme"), approved and scheduled at once.

    The programme was approved and planned by an officer; recording the household's answer is the help desk's.
    """
    services._require(by, "fsm.register", _("record a household's answer"))
    with transaction.atomic():
        visit = ProgrammeVisit.objects.select_for_update().select_related("containment", "vehicle__provider",
                                                                          "programme").get(pk=visit.pk)
        if visit.status not in (ProgrammeVisit.Status.PLANNED, ProgrammeVisit.Status.NOTIFIED):
            raise field_error({"visit": _("This visit was already answered.")}, code="already_answered")
        owner = Owner.objects.filter(holding__buildings__containments=visit.containment).order_by("pk").first()
        application = services.application_register(
            by=by, applicant_name=applicant_name or (owner.name if owner else _("Household")),
            applicant_phone="", channel=Application.Channel.SCHEDULED, containment=visit.containment,
            notes=_("Programme: %(name)s") % {"name": visit.programme.name})
        application = services.application_approve(application=application, by=by, role_checked=True,
                                                   note=_("Accepted a programme visit"))
        date = max(visit.date, timezone.localdate())
        application = services.application_schedule(application=application, by=by, provider=visit.vehicle.provider,
                                                    vehicle=visit.vehicle, date=date, slot=Application.Slot.MORNING,
                                                    is_confirmed=True, role_checked=True)
        visit.status, visit.responded_at, visit.application = (ProgrammeVisit.Status.ACCEPTED, timezone.now(),
                                                               application)
        visit.save(update_fields=["status", "responded_at", "application"])
    return application


def visit_decline(*, visit: ProgrammeVisit, by, reason: str = "") -> ProgrammeVisit:
    """The household says no: it goes to the reintegration list and is left out of programmes for a year."""
    services._require(by, "fsm.register", _("record a household's answer"))
    with transaction.atomic():
        visit = ProgrammeVisit.objects.select_for_update().get(pk=visit.pk)
        if visit.status not in (ProgrammeVisit.Status.PLANNED, ProgrammeVisit.Status.NOTIFIED):
            raise field_error({"visit": _("This visit was already answered.")}, code="already_answered")
        visit.status, visit.responded_at, visit.decline_reason = (ProgrammeVisit.Status.DECLINED, timezone.now(),
                                                                  reason[:300])
        visit.save(update_fields=["status", "responded_at", "decline_reason"])
    return visit


def reintegration_list() -> QuerySet[ProgrammeVisit]:
    return (ProgrammeVisit.objects.filter(status=ProgrammeVisit.Status.DECLINED)
            .select_related("containment", "programme").order_by("-responded_at"))
