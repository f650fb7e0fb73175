"""FSM types (feature `fsm`): applications with their emptying, disposals, feedback and timeline; service
providers, vehicles and crew; treatment plants as the FSM sees them.

Read with `fsm.view`. A service provider's people (`fsm.empty` without `fsm.approve`) see only their own
provider's applications, vehicles and crew — in lists and through `node(id:)` alike.
"""

from __future__ import annotations

import datetime

import graphene
from graphene_django import DjangoObjectType

from imis.tenant_apps.fsm.models import (
    Application,
    ApplicationEvent,
    CrewMember,
    DesludgingProgramme,
    Disposal,
    EffluentTest,
    Emptying,
    Feedback,
    PriceSlab,
    ProgrammeVisit,
    ServiceProvider,
    Vehicle,
)
from imis.tenant_apps.registry.models import TreatmentPlant

from ..base import choice_field, enum_from_choices, holds_permission
from ..geometry import PointGeoJSON
from ..registry.types import BuildingFunctionalUse, TreatmentPlantStatus, TreatmentPlantTypeEnum, WardType
from ..relay import CountableConnection, Node, TenantObjectType

FEATURE = "fsm"
VIEW = "fsm.view"

ApplicationStatus = enum_from_choices(Application.Status, "FsmApplicationStatus",
                                      "Where an emptying application is in its chain of custody.")
ApplicationChannel = enum_from_choices(Application.Channel, "FsmApplicationChannel", "How a request came in.")
ApplicationSlot = enum_from_choices(Application.Slot, "FsmTimeSlot", "The part of the day an emptying is booked for.")
ProviderKind = enum_from_choices(ServiceProvider.Kind, "ServiceProviderKind", "Private or municipal operator.")
VehicleSuctionType = enum_from_choices(Vehicle.SuctionType, "VehicleSuctionType", "How a vehicle empties.")
VehicleStatus = enum_from_choices(Vehicle.Status, "VehicleStatus", "Whether a vehicle can be sent out.")
CrewRole = enum_from_choices(CrewMember.Role, "CrewRole", "A crew member's job.")
FeedbackChannel = enum_from_choices(Feedback.Channel, "FsmFeedbackChannel", "How the feedback was taken.")
ProgrammeStatus = enum_from_choices(DesludgingProgramme.Status, "FsmProgrammeStatus",
                                    "Where a scheduled desludging programme stands.")
VisitStatus = enum_from_choices(ProgrammeVisit.Status, "FsmProgrammeVisitStatus", "A household's planned visit.")


def is_provider_staff(request) -> bool:
    """A provider's own people see only their provider's work (as in the staff UI)."""
    return holds_permission(request, "fsm.empty") and not holds_permission(request, "fsm.approve")


def own_provider_ids(request) -> frozenset[int] | None:
    """The providers whose work the caller may see: None for everyone (municipal staff), else their own."""
    if not is_provider_staff(request):
        return None
    ids = getattr(request, "_imis_fsm_provider_ids", None)
    if ids is None:
        ids = frozenset(ServiceProvider.objects.filter(user_ids__contains=[request.user.pk])
                        .values_list("pk", flat=True))
        request._imis_fsm_provider_ids = ids
    return ids


def _own_provider(info, queryset, path: str):
    ids = own_provider_ids(info.context)
    return queryset if ids is None else queryset.filter(**{f"{path}pk__in": ids})


class FsmType(TenantObjectType, DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        abstract = True


class ServiceProviderType(FsmType):
    kind = choice_field(ProviderKind, "kind", required=True)
    wards = graphene.List(graphene.NonNull(WardType), required=True, description="The wards it serves; none: all.")
    vehicles = graphene.List(graphene.NonNull(lambda: VehicleType), required=True)
    crew = graphene.List(graphene.NonNull(lambda: CrewMemberType), required=True)

    class Meta:
        model = ServiceProvider
        name = "ServiceProvider"
        description = "A company or municipal unit that empties containments (feature `fsm`)."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("name", "kind", "contact_name", "phone", "email", "contract_start", "contract_end", "wards",
                  "is_active")

    @classmethod
    def visible_to(cls, info, queryset):
        ids = own_provider_ids(info.context)
        return queryset if ids is None else queryset.filter(pk__in=ids)

    def resolve_wards(root, info):
        return root.wards.all()

    def resolve_vehicles(root, info):
        return root.vehicles.all()

    def resolve_crew(root, info):
        return root.crew.all()


class VehicleType(FsmType):
    suction_type = choice_field(VehicleSuctionType, "suction_type", required=True)
    status = choice_field(VehicleStatus, "status", required=True)

    class Meta:
        model = Vehicle
        name = "Vehicle"
        description = "A vacuum truck, vacutug or pump of a service provider."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("provider", "registration", "capacity_m3", "suction_type", "width_m", "fitness_valid_until",
                  "insurance_valid_until", "status")

    @classmethod
    def visible_to(cls, info, queryset):
        return _own_provider(info, queryset, "provider__")


class CrewMemberType(FsmType):
    role = choice_field(CrewRole, "role", required=True)

    class Meta:
        model = CrewMember
        name = "CrewMember"
        description = "A driver, emptier or helper of a service provider."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("provider", "name", "role", "phone", "trained_on", "licence_number", "ppe_issued_on", "is_active")

    @classmethod
    def visible_to(cls, info, queryset):
        return _own_provider(info, queryset, "provider__")


class EffluentTestType(FsmType):
    treatment_plant = graphene.Field(lambda: FsmTreatmentPlantType, required=True)

    class Meta:
        model = EffluentTest
        name = "EffluentTest"
        description = "A laboratory test of a plant's treated effluent."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("treatment_plant", "sampled_on", "bod_mg_l", "cod_mg_l", "tss_mg_l", "ecoli_cfu_100ml", "ph",
                  "temperature_c")

    def resolve_treatment_plant(root, info):
        return root.treatment_plant


class FsmTreatmentPlantType(FsmType):
    """The same plants as the registry's `TreatmentPlant`, readable by FSM staff and plant operators."""

    type = choice_field(TreatmentPlantTypeEnum, "type", required=True)
    status = choice_field(TreatmentPlantStatus, "status", required=True)
    capacity_m3_per_day = graphene.Float(description="Capacity in cubic metres per day.")
    effluent_tests = graphene.List(graphene.NonNull(EffluentTestType), required=True,
                                   description="Effluent tests, newest first.")

    class Meta:
        model = TreatmentPlant
        name = "FsmTreatmentPlant"
        description = "A treatment plant receiving faecal sludge (feature `fsm`)."
        interfaces = (Node,)
        connection_class = CountableConnection
        skip_registry = True
        fields = ("name", "type", "status", "location")

    def resolve_capacity_m3_per_day(root, info):
        return None if root.capacity_m3_per_day is None else float(root.capacity_m3_per_day)

    def resolve_effluent_tests(root, info):
        return root.effluent_tests.all()


class EmptyingType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE
    crew = graphene.List(graphene.NonNull(CrewMemberType), required=True)

    class Meta:
        model = Emptying
        name = "FsmEmptying"
        description = "What the crew recorded when they emptied the containment."
        fields = ("emptied_on", "started_at", "ended_at", "volume_m3", "trips", "vehicle", "is_ppe_worn",
                  "receipt_number", "cost", "recorded_at")

    def resolve_crew(root, info):
        return root.crew.all()


class FeedbackType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE
    channel = choice_field(FeedbackChannel, "channel", required=True)

    class Meta:
        model = Feedback
        name = "FsmFeedback"
        description = "The resident's feedback that closed the application."
        fields = ("rating", "service_quality", "is_ppe_worn", "had_spillage", "comments", "channel", "recorded_at")


class ApplicationEventType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE
    from_status = choice_field(ApplicationStatus, "from_status", description="Null for the first event.")
    to_status = choice_field(ApplicationStatus, "to_status", required=True)

    class Meta:
        model = ApplicationEvent
        name = "FsmApplicationEvent"
        description = "One step of an application's timeline."
        fields = ("at", "from_status", "to_status", "actor_label", "note")


class DisposalType(FsmType):
    treatment_plant = graphene.Field(FsmTreatmentPlantType, required=True)
    applications = graphene.List(graphene.NonNull(lambda: ApplicationType), required=True,
                                 description="The applications whose sludge came in this load.")

    class Meta:
        model = Disposal
        name = "FsmDisposal"
        description = "One arrival of a vehicle at a treatment plant."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("vehicle", "unregistered_vehicle", "arrived_at", "exited_at", "volume_received_m3", "notes")

    def resolve_treatment_plant(root, info):
        return root.treatment_plant

    def resolve_applications(root, info):
        ids = own_provider_ids(info.context)
        return [application for application in root.applications.all()
                if ids is None or application.provider_id in ids]


class ApplicationType(FsmType):
    status = choice_field(ApplicationStatus, "status", required=True)
    channel = choice_field(ApplicationChannel, "channel", required=True)
    scheduled_slot = choice_field(ApplicationSlot, "scheduled_slot")
    location = graphene.Field(PointGeoJSON, description="Where the containment (or building) is.")
    crew = graphene.List(graphene.NonNull(CrewMemberType), required=True, description="The crew scheduled.")
    emptying = graphene.Field(EmptyingType, description="Null until the emptying is recorded.")
    disposals = graphene.List(graphene.NonNull(DisposalType), required=True,
                              description="The plant arrivals that brought its sludge.")
    feedback = graphene.Field(FeedbackType, description="Null until the resident's feedback is recorded.")
    events = graphene.List(graphene.NonNull(ApplicationEventType), required=True,
                           description="The timeline, oldest first.")

    class Meta:
        model = Application
        name = "FsmApplication"
        description = ("A request to empty a containment, from receipt to feedback (feature `fsm`). Service "
                       "providers see only their own work orders.")
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = (
            "number", "status", "channel", "is_emergency", "holding", "building", "containment", "ward", "location",
            "applicant_name", "applicant_phone", "address", "notes", "received_at", "approved_at", "rejected_at",
            "rejection_reason", "provider", "vehicle", "scheduled_date", "scheduled_slot",
            "is_confirmed_with_customer", "scheduled_at", "times_rescheduled", "emptied_at", "disposed_at",
            "closed_at", "cancelled_at", "cancel_reason", "fee_estimate", "fee_amount",
        )

    @classmethod
    def visible_to(cls, info, queryset):
        return _own_provider(info, queryset, "provider__")

    def resolve_location(root, info):
        return root.location

    def resolve_crew(root, info):
        return root.crew.all()

    def resolve_emptying(root, info):
        return getattr(root, "emptying", None)

    def resolve_disposals(root, info):
        return root.disposals.all()

    def resolve_feedback(root, info):
        return getattr(root, "feedback", None)

    def resolve_events(root, info):
        return root.events.all()


class PriceSlabType(FsmType):
    building_use = choice_field(BuildingFunctionalUse, "building_use", description="Null: any use.")

    class Meta:
        model = PriceSlab
        name = "FsmPriceSlab"
        description = "The emptying fee per trip for a containment volume range and (optionally) a building use."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("building_use", "volume_from_m3", "volume_to_m3", "fee_per_trip")


PROGRAMME_READ = ("fsm.schedule", "fsm.register")  # as the programme screens: those who plan or take answers


class ProgrammeVisitType(FsmType):
    imis_permission = PROGRAMME_READ
    status = choice_field(VisitStatus, "status", required=True)

    class Meta:
        model = ProgrammeVisit
        name = "FsmProgrammeVisit"
        description = "A containment's planned visit in a programme: its day, vehicle and place in the route."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("programme", "containment", "vehicle", "date", "sequence", "volume_m3",
                  "distance_from_previous_m", "status", "decline_reason", "responded_at", "application")

    @classmethod
    def visible_to(cls, info, queryset):
        return _own_provider(info, queryset, "vehicle__provider__")


class ProgrammeType(FsmType):
    imis_permission = PROGRAMME_READ
    status = choice_field(ProgrammeStatus, "status", required=True)
    treatment_plant = graphene.Field(FsmTreatmentPlantType, required=True)
    wards = graphene.List(graphene.NonNull(WardType), required=True)
    vehicles = graphene.List(graphene.NonNull(VehicleType), required=True)
    working_weekdays = graphene.List(graphene.NonNull(graphene.Int), required=True,
                                     description="0 = Monday … 6 = Sunday.")
    holidays = graphene.List(graphene.NonNull(graphene.Date), required=True)
    summary = graphene.JSONString(required=True, description="The last plan's figures (candidates, planned, …).")

    class Meta:
        model = DesludgingProgramme
        name = "FsmProgramme"
        description = "Scheduled (block) desludging: containments due in some wards over a period, as daily routes."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("name", "status", "start_date", "end_date", "trips_per_day", "created")

    def resolve_treatment_plant(root, info):
        return root.treatment_plant

    def resolve_wards(root, info):
        return root.wards.all()

    def resolve_vehicles(root, info):
        return root.vehicles.all()

    def resolve_working_weekdays(root, info):
        return list(root.working_weekdays or [])

    def resolve_holidays(root, info):
        return [datetime.date.fromisoformat(day) for day in root.holidays or []]

    def resolve_summary(root, info):
        return root.summary or {}


class ProgrammeJob(graphene.ObjectType):
    """A programme's background work (planning or notifying), followed through its status."""

    imis_permission = PROGRAMME_READ
    imis_feature = FEATURE

    id = graphene.ID(required=True, description="The job's ID.")
    title = graphene.String(required=True)
    status = graphene.String(required=True, description="pending, running, done or failed.")
