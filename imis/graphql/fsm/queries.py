"""FSM queries: applications (by inbox, status, ward, date…), providers, vehicles, crew, plants and disposals.

Lists read through the FSM selectors (the staff UI's inboxes), narrowed to a provider's own work for its people,
then load exactly what the query selects (loaders.py).
"""

from __future__ import annotations

import datetime

import graphene
from django.db.models import Q
from django.utils import timezone

from imis.tenant_apps.fsm import programmes, selectors, services
from imis.tenant_apps.fsm.models import (
    CrewMember,
    Disposal,
    EffluentTest,
    PriceSlab,
    ProgrammeVisit,
    ServiceProvider,
    Vehicle,
)
from imis.tenant_apps.registry.models import TreatmentPlant

from ..base import BadUserInput, guarded, order_enum, ordered
from ..geometry import BoundingBox, within_bbox
from ..optimizer import optimized
from ..relay import PagedConnectionField, current_schema, global_id_parse
from . import loaders  # noqa: F401 - registers how FSM fields load
from . import types as t

MAX_SEARCH_LENGTH = 100
DAY_BOUNDS = (datetime.date(1900, 1, 1), datetime.date(2200, 12, 31))

FsmInbox = graphene.Enum("FsmInbox", [
    ("NEW", "new"), ("TO_SCHEDULE", "to_schedule"), ("AWAITING_FEEDBACK", "awaiting_feedback"),
    ("OVERDUE", "overdue"), ("NOT_DISPOSED", "not_disposed"), ("WORK_ORDERS", "work_orders"),
    ("EXPECTED_AT_PLANT", "expected_at_plant"),
], description="The staff UI's inboxes: what waits for whom. `WORK_ORDERS` are the scheduled jobs of `day` "
                "(today by default); `OVERDUE` and `NOT_DISPOSED` follow the municipality's SLA settings.")
ApplicationOrder = order_enum("FsmApplicationOrder", {
    "RECEIVED_AT": "received_at", "NUMBER": "number", "SCHEDULED_DATE": "scheduled_date",
    "EMPTIED_AT": "emptied_at", "STATUS": "status",
}, "Orderings of FSM applications.")
DisposalOrder = order_enum("FsmDisposalOrder", {"ARRIVED_AT": "arrived_at"}, "Orderings of plant arrivals.")


def _search(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_SEARCH_LENGTH:
        raise BadUserInput(f"`search` is longer than {MAX_SEARCH_LENGTH} characters.")
    return text


def _value(enum_value) -> str:
    return getattr(enum_value, "value", enum_value) or ""


def _pk_of(global_id, expected: tuple[str, ...], name: str) -> int:
    """The primary key behind a filter's global ID; 0 (nothing matches) when it is another municipality's."""
    type_name, schema, pk = global_id_parse(global_id)
    if type_name not in expected:
        raise BadUserInput(f"`{name}` must be the ID of a {' or '.join(expected)}.")
    return pk if schema == current_schema() else 0


def _day(value: datetime.date | None, name: str) -> datetime.date | None:
    if value is not None and not DAY_BOUNDS[0] <= value <= DAY_BOUNDS[1]:
        raise BadUserInput(f"`{name}` must be a date from {DAY_BOUNDS[0].year} to {DAY_BOUNDS[1].year}.")
    return value


def _page(queryset, info, order_by, default_order):
    return optimized(ordered(queryset, order_by, default_order), info)


class FsmQuery(graphene.ObjectType):
    fsm_applications = PagedConnectionField(
        t.ApplicationType, description="Emptying applications (a service provider's people: their own only).",
        inbox=graphene.Argument(FsmInbox, description="One of the staff UI's inboxes (its own order applies)."),
        day=graphene.Date(description="The day of `WORK_ORDERS`; today when left out."),
        status=graphene.List(graphene.NonNull(t.ApplicationStatus), description="Any of these statuses."),
        ward=graphene.Int(description="Ward number."),
        provider=graphene.ID(description="Global ID of the service provider."),
        is_emergency=graphene.Boolean(),
        received_from=graphene.Date(description="Received on or after this day."),
        received_until=graphene.Date(description="Received on or before this day."),
        scheduled_date=graphene.Date(),
        search=graphene.String(description="Application number (prefix), applicant name or phone, holding ID."),
        bbox=BoundingBox(description="Only applications located in this longitude/latitude rectangle."),
        order_by=graphene.List(graphene.NonNull(ApplicationOrder), description="Sort keys; overrides the inbox's."),
    )
    fsm_application = graphene.Field(t.ApplicationType, number=graphene.String(required=True),
                                     description="An application by its number, e.g. FSM-2026-000123.")
    service_providers = PagedConnectionField(t.ServiceProviderType, description="Service providers.",
                                             is_active=graphene.Boolean())
    vehicles = PagedConnectionField(
        t.VehicleType, description="Desludging vehicles.", status=graphene.Argument(t.VehicleStatus),
        provider=graphene.ID(description="Global ID of the service provider."))
    crew_members = PagedConnectionField(
        t.CrewMemberType, description="Crew members.", is_active=graphene.Boolean(),
        provider=graphene.ID(description="Global ID of the service provider."))
    fsm_treatment_plants = PagedConnectionField(t.FsmTreatmentPlantType,
                                                description="Treatment plants that receive sludge.")
    fsm_disposals = guarded(PagedConnectionField(
        t.DisposalType, description="Arrivals at the plants' gates (needs fsm.plant).",
        treatment_plant=graphene.ID(description="Global ID of the plant (FsmTreatmentPlant or TreatmentPlant)."),
        arrived_from=graphene.Date(), arrived_until=graphene.Date(),
        order_by=graphene.List(graphene.NonNull(DisposalOrder)),
    ), permission="fsm.plant")
    fsm_price_slabs = PagedConnectionField(t.PriceSlabType, description="The emptying fee per trip, by building use "
                                                                         "then volume.")
    fsm_effluent_tests = PagedConnectionField(
        t.EffluentTestType, description="Effluent tests, newest sample first.",
        treatment_plant=graphene.ID(description="Global ID of the plant (FsmTreatmentPlant or TreatmentPlant)."),
        sampled_from=graphene.Date(), sampled_until=graphene.Date())
    fsm_programmes = PagedConnectionField(t.ProgrammeType, description="Scheduled desludging programmes, latest "
                                                                        "start first.",
                                          status=graphene.Argument(t.ProgrammeStatus))
    fsm_programme_visits = PagedConnectionField(
        t.ProgrammeVisitType, description="A programme's planned visits, by day, vehicle and route order.",
        programme=graphene.ID(required=True, description="Global ID of the programme."),
        date=graphene.Date(), status=graphene.Argument(t.VisitStatus))

    @staticmethod
    def resolve_fsm_applications(root, info, inbox=None, day=None, status=None, ward=None, provider=None,
                                 is_emergency=None, received_from=None, received_until=None, scheduled_date=None,
                                 search=None, bbox=None, order_by=None, **_paging):
        day, received_from, received_until, scheduled_date = (
            _day(day, "day"), _day(received_from, "receivedFrom"), _day(received_until, "receivedUntil"),
            _day(scheduled_date, "scheduledDate"))
        if inbox is not None:
            applications = selectors.inbox(name=_value(inbox), config=services.fsm_settings(), day=day)
        else:
            applications = selectors.applications_listed()
        applications = t.ApplicationType.visible_to(info, applications)
        if status:
            applications = applications.filter(status__in=[_value(item) for item in status])
        if ward is not None:
            applications = applications.filter(ward__number=ward)
        if provider is not None:
            applications = applications.filter(provider_id=_pk_of(provider, ("ServiceProvider",), "provider"))
        if is_emergency is not None:
            applications = applications.filter(is_emergency=is_emergency)
        if received_from is not None:
            applications = applications.filter(received_at__date__gte=received_from)
        if received_until is not None:
            applications = applications.filter(received_at__date__lte=received_until)
        if scheduled_date is not None:
            applications = applications.filter(scheduled_date=scheduled_date)
        text = _search(search)
        if text:
            applications = applications.filter(
                Q(number__istartswith=text) | Q(applicant_name__icontains=text)
                | Q(applicant_phone__contains=text) | Q(holding__holding_id__istartswith=text))
        applications = within_bbox(applications, "location", bbox)
        if inbox is not None and not order_by:
            return optimized(applications.order_by(*applications.query.order_by, "pk"), info)
        return _page(applications, info, order_by, ["-received_at"])

    @staticmethod
    def resolve_fsm_application(root, info, number):
        applications = t.ApplicationType.visible_to(info, selectors.applications_listed())
        return optimized(applications.filter(number=number.strip().upper()), info).first()

    @staticmethod
    def resolve_service_providers(root, info, is_active=None, **_paging):
        providers = t.ServiceProviderType.visible_to(info, ServiceProvider.objects.all())
        if is_active is not None:
            providers = providers.filter(is_active=is_active)
        return _page(providers, info, None, ["name"])

    @staticmethod
    def resolve_vehicles(root, info, status=None, provider=None, **_paging):
        vehicles = t.VehicleType.visible_to(info, Vehicle.objects.all())
        if status:
            vehicles = vehicles.filter(status=_value(status))
        if provider is not None:
            vehicles = vehicles.filter(provider_id=_pk_of(provider, ("ServiceProvider",), "provider"))
        return _page(vehicles, info, None, ["registration"])

    @staticmethod
    def resolve_crew_members(root, info, is_active=None, provider=None, **_paging):
        crew = t.CrewMemberType.visible_to(info, CrewMember.objects.all())
        if is_active is not None:
            crew = crew.filter(is_active=is_active)
        if provider is not None:
            crew = crew.filter(provider_id=_pk_of(provider, ("ServiceProvider",), "provider"))
        return _page(crew, info, None, ["provider__name", "name"])

    @staticmethod
    def resolve_fsm_treatment_plants(root, info, **_paging):
        return _page(TreatmentPlant.objects.all(), info, None, ["name"])

    @staticmethod
    def resolve_fsm_disposals(root, info, treatment_plant=None, arrived_from=None, arrived_until=None,
                              order_by=None, **_paging):
        arrived_from, arrived_until = _day(arrived_from, "arrivedFrom"), _day(arrived_until, "arrivedUntil")
        disposals = Disposal.objects.all()
        if treatment_plant is not None:
            disposals = disposals.filter(treatment_plant_id=_pk_of(
                treatment_plant, ("FsmTreatmentPlant", "TreatmentPlant"), "treatmentPlant"))
        if arrived_from is not None:
            disposals = disposals.filter(arrived_at__gte=_day_start(arrived_from))
        if arrived_until is not None:
            disposals = disposals.filter(arrived_at__lt=_day_start(arrived_until + datetime.timedelta(days=1)))
        return _page(disposals, info, order_by, ["-arrived_at"])

    @staticmethod
    def resolve_fsm_price_slabs(root, info, **_paging):
        return _page(PriceSlab.objects.all(), info, None, ["building_use", "volume_from_m3"])

    @staticmethod
    def resolve_fsm_effluent_tests(root, info, treatment_plant=None, sampled_from=None, sampled_until=None,
                                   **_paging):
        tests = EffluentTest.objects.all()
        if treatment_plant is not None:
            tests = tests.filter(treatment_plant_id=_pk_of(
                treatment_plant, ("FsmTreatmentPlant", "TreatmentPlant"), "treatmentPlant"))
        if sampled_from is not None:
            tests = tests.filter(sampled_on__gte=_day(sampled_from, "sampledFrom"))
        if sampled_until is not None:
            tests = tests.filter(sampled_on__lte=_day(sampled_until, "sampledUntil"))
        return _page(tests, info, None, ["-sampled_on"])

    @staticmethod
    def resolve_fsm_programmes(root, info, status=None, **_paging):
        listed = programmes.programmes_listed()
        if status:
            listed = listed.filter(status=_value(status))
        return _page(listed, info, None, ["-start_date"])

    @staticmethod
    def resolve_fsm_programme_visits(root, info, programme, date=None, status=None, **_paging):
        visits = t.ProgrammeVisitType.visible_to(info, ProgrammeVisit.objects.filter(
            programme_id=_pk_of(programme, ("FsmProgramme",), "programme")))
        if date is not None:
            visits = visits.filter(date=_day(date, "date"))
        if status:
            visits = visits.filter(status=_value(status))
        return _page(visits, info, None, ["date", "vehicle_id", "sequence"])


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
