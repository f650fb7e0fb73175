"""FSM mutations: every step of an application's chain of custody, calling the same services as the staff UI
(fsm/services.py). Each parses its input (global IDs to objects the caller may see, enums to values, what fits
the columns) and calls one service; a service's ValidationError comes back as `errors: [{field, message, code}]`.
"""

from __future__ import annotations

import graphene
from django.core.exceptions import ValidationError

from imis.tenant_apps.fsm import programmes, services
from imis.tenant_apps.fsm.models import (
    Application,
    CrewMember,
    DesludgingProgramme,
    Disposal,
    EffluentTest,
    Emptying,
    PriceSlab,
    ProgrammeVisit,
    ServiceProvider,
    Vehicle,
)
from imis.tenant_apps.registry.models import Building, Containment, Holding, TreatmentPlant, Ward

from ..base import ServiceMutation, check_date, clean_columns
from ..registry.types import BuildingFunctionalUse
from ..relay import node_in, node_of, nodes_of
from . import types as t

FEATURE = t.FEATURE
MAX_CREW = 20
MAX_DISPOSAL_APPLICATIONS = 50


def _application(info, global_id, field: str = "id") -> Application:
    visible = t.ApplicationType.visible_to(info, Application.objects.all())
    return node_in(visible, global_id, expected="FsmApplication", field=field)


def _crew(info, ids) -> list[CrewMember] | None:
    if ids is None:
        return None
    if len(ids) > MAX_CREW:
        raise ValidationError({"crew": ValidationError(f"At most {MAX_CREW} crew members.", code="too_many")})
    return nodes_of(CrewMember, ids, expected="CrewMember", field="crew")


# --- registering, approval ------------------------------------------------------------------------------

class FsmApplicationRegister(ServiceMutation):
    """Register a request to empty a containment, found by its holding, building or containment."""

    imis_permission = "fsm.register"
    imis_feature = FEATURE

    class Input:
        applicant_name = graphene.String(required=True)
        applicant_phone = graphene.String(description="A mobile number, e.g. 01712345678.")
        channel = t.ApplicationChannel(description="How the request came in; PHONE when left out.")
        holding = graphene.ID(description="Global ID of the holding.")
        building = graphene.ID(description="Global ID of the building.")
        containment = graphene.ID(description="Global ID of the containment to empty.")
        is_emergency = graphene.Boolean()
        address = graphene.String()
        notes = graphene.String()

    application = graphene.Field(t.ApplicationType)

    @classmethod
    def perform(cls, info, holding=None, building=None, containment=None, **data):
        site = {
            "holding": node_of(Holding, holding, expected="Holding", field="holding") if holding else None,
            "building": node_of(Building, building, expected="Building", field="building") if building else None,
            "containment": (node_of(Containment, containment, expected="Containment", field="containment")
                            if containment else None),
        }
        data = clean_columns(Application, data)
        if data.get("channel") == "":
            data.pop("channel")
        application = services.application_register(by=info.context.user, **site, **data)
        return cls.success(application=application)


class FsmApplicationApprove(ServiceMutation):
    """Approve a received application."""

    imis_permission = "fsm.approve"
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        note = graphene.String(description="Shown on the timeline (at most 500 characters).")

    application = graphene.Field(t.ApplicationType)

    @classmethod
    def perform(cls, info, id, note=None):
        application = services.application_approve(application=_application(info, id), by=info.context.user,
                                                   note=(note or "")[:500])
        return cls.success(application=application)


class FsmApplicationReject(ServiceMutation):
    """Reject a received application, saying why."""

    imis_permission = "fsm.approve"
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        reason = graphene.String(required=True)

    application = graphene.Field(t.ApplicationType)

    @classmethod
    def perform(cls, info, id, reason):
        application = services.application_reject(application=_application(info, id), by=info.context.user,
                                                  reason=reason)
        return cls.success(application=application)


# --- scheduling -----------------------------------------------------------------------------------------

def _schedule_input(*, reschedule: bool) -> type:
    fields = {
        "id": graphene.ID(required=True, description="Global ID of the application."),
        "provider": graphene.ID(required=True, description="Global ID of the service provider."),
        "vehicle": graphene.ID(required=True, description="Global ID of the vehicle (the provider's)."),
        "date": graphene.Date(required=True, description="The day of the emptying (today or later)."),
        "slot": t.ApplicationSlot(required=True),
        "crew": graphene.List(graphene.NonNull(graphene.ID), description=f"Global IDs, at most {MAX_CREW}."),
        "is_confirmed": graphene.Boolean(description="The resident confirmed the day and slot."),
    }
    if reschedule:
        fields["reason"] = graphene.String(description="Why it moves (shown on the timeline).")
    return type("Input", (), fields)


def _schedule_arguments(info, data: dict) -> dict:
    check_date("date", data["date"])
    return {
        "provider": node_of(ServiceProvider, data["provider"], expected="ServiceProvider", field="provider"),
        "vehicle": node_of(Vehicle, data["vehicle"], expected="Vehicle", field="vehicle"),
        "date": data["date"], "slot": getattr(data["slot"], "value", data["slot"]),
        "crew": _crew(info, data.get("crew")), "is_confirmed": bool(data.get("is_confirmed")),
    }


class FsmApplicationSchedule(ServiceMutation):
    """Book an approved application: provider, vehicle, crew, day and slot (the fee estimate follows)."""

    imis_permission = "fsm.schedule"
    imis_feature = FEATURE
    Input = _schedule_input(reschedule=False)
    application = graphene.Field(t.ApplicationType)

    @classmethod
    def perform(cls, info, **data):
        application = _application(info, data["id"])
        application = services.application_schedule(application=application, by=info.context.user,
                                                    **_schedule_arguments(info, data))
        return cls.success(application=application)


class FsmApplicationReschedule(ServiceMutation):
    """Move a scheduled emptying to another day, slot, vehicle or crew."""

    imis_permission = "fsm.schedule"
    imis_feature = FEATURE
    Input = _schedule_input(reschedule=True)
    application = graphene.Field(t.ApplicationType)

    @classmethod
    def perform(cls, info, **data):
        application = _application(info, data["id"])
        application = services.application_reschedule(application=application, by=info.context.user,
                                                      reason=(data.get("reason") or "")[:500],
                                                      **_schedule_arguments(info, data))
        return cls.success(application=application)


# --- emptying, disposal, feedback, cancellation ----------------------------------------------------------

class FsmApplicationRecordEmptying(ServiceMutation):
    """Record the emptying of a scheduled application (a provider's people: their own work orders only)."""

    imis_permission = "fsm.empty"
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        emptied_on = graphene.Date(required=True, description="Not in the future.")
        volume_m3 = graphene.Float(required=True, description="Cubic metres emptied.")
        trips = graphene.Int(description="Trips the vehicle made; 1 when left out.")
        vehicle = graphene.ID(description="Global ID of the vehicle; the scheduled one when left out.")
        crew = graphene.List(graphene.NonNull(graphene.ID), description="Global IDs; the scheduled crew when left out.")
        is_ppe_worn = graphene.Boolean(description="The whole crew wore protective equipment.")
        started_at = graphene.Time()
        ended_at = graphene.Time()
        receipt_number = graphene.String()
        cost = graphene.Float(description="What was charged on site (BDT).")

    application = graphene.Field(t.ApplicationType)

    @classmethod
    def perform(cls, info, id, crew=None, vehicle=None, **data):
        application = _application(info, id)
        arguments = clean_columns(Emptying, data)
        if arguments.get("trips") is None:
            arguments.pop("trips", None)
        arguments["is_ppe_worn"] = bool(arguments.get("is_ppe_worn"))
        if vehicle is not None:
            arguments["vehicle"] = node_of(Vehicle, vehicle, expected="Vehicle", field="vehicle")
        application = services.application_record_emptying(
            application=application, by=info.context.user, crew=_crew(info, crew), **arguments)
        return cls.success(application=application)


class FsmDisposalRecord(ServiceMutation):
    """Log a vehicle at a plant's gate; the applications whose sludge it brings become disposed."""

    imis_permission = "fsm.dispose"
    imis_feature = FEATURE

    class Input:
        treatment_plant = graphene.ID(required=True, description="Global ID (FsmTreatmentPlant or TreatmentPlant).")
        arrived_at = graphene.DateTime(required=True)
        exited_at = graphene.DateTime()
        volume_received_m3 = graphene.Float(required=True)
        applications = graphene.List(graphene.NonNull(graphene.ID),
                                     description=f"Global IDs of the emptied applications, at most "
                                                 f"{MAX_DISPOSAL_APPLICATIONS}.")
        vehicle = graphene.ID(description="Global ID of the vehicle.")
        unregistered_vehicle = graphene.String(description="Registration of a vehicle not in the register.")
        notes = graphene.String()

    disposal = graphene.Field(t.DisposalType)

    @classmethod
    def perform(cls, info, treatment_plant, applications=None, vehicle=None, **data):
        plant = node_in(TreatmentPlant.objects.all(), treatment_plant,
                        expected=("FsmTreatmentPlant", "TreatmentPlant"), field="treatment_plant")
        if applications is not None and len(applications) > MAX_DISPOSAL_APPLICATIONS:
            raise ValidationError({"applications": ValidationError(
                f"At most {MAX_DISPOSAL_APPLICATIONS} applications in one load.", code="too_many")})
        loads = nodes_of(Application, applications or [], expected="FsmApplication", field="applications")
        arguments = clean_columns(Disposal, data)
        if vehicle is not None:
            arguments["vehicle"] = node_of(Vehicle, vehicle, expected="Vehicle", field="vehicle")
        disposal = services.disposal_record(by=info.context.user, treatment_plant=plant, applications=loads,
                                            **arguments)
        return cls.success(disposal=disposal)


class FsmApplicationRecordFeedback(ServiceMutation):
    """Record the resident's feedback on a disposed application (help desk); it closes the application."""

    imis_permission = "fsm.feedback"
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        rating = graphene.Int(required=True, description="Overall, 1 (poor) to 5 (excellent).")
        service_quality = graphene.Int(required=True, description="1 (poor) to 5 (excellent).")
        is_ppe_worn = graphene.Boolean(description="The crew wore protective equipment; null when not known.")
        had_spillage = graphene.Boolean()
        comments = graphene.String()

    application = graphene.Field(t.ApplicationType)

    @classmethod
    def perform(cls, info, id, **data):
        application = _application(info, id)
        arguments = dict(data)
        arguments["had_spillage"] = bool(arguments.get("had_spillage"))
        arguments["comments"] = arguments.get("comments") or ""
        application = services.application_record_feedback(application=application, by=info.context.user,
                                                           **arguments)
        return cls.success(application=application)


class FsmApplicationCancel(ServiceMutation):
    """Cancel an application that is not emptied yet, saying why."""

    imis_permission = "fsm.cancel"
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        reason = graphene.String(required=True)

    application = graphene.Field(t.ApplicationType)

    @classmethod
    def perform(cls, info, id, reason):
        application = services.application_cancel(application=_application(info, id), by=info.context.user,
                                                  reason=reason)
        return cls.success(application=application)


class FsmMutation(graphene.ObjectType):
    fsm_application_register = FsmApplicationRegister.Field()
    fsm_application_approve = FsmApplicationApprove.Field()
    fsm_application_reject = FsmApplicationReject.Field()
    fsm_application_schedule = FsmApplicationSchedule.Field()
    fsm_application_reschedule = FsmApplicationReschedule.Field()
    fsm_application_record_emptying = FsmApplicationRecordEmptying.Field()
    fsm_disposal_record = FsmDisposalRecord.Field()
    fsm_application_record_feedback = FsmApplicationRecordFeedback.Field()
    fsm_application_cancel = FsmApplicationCancel.Field()


# --- set-up: service providers, vehicles, crew, price slabs (fsm.configure) -----------------------------------

def _given(data: dict, model) -> dict:
    """Update input: only the fields the client sent, parsed like a form would (an explicit null is refused where
    the column cannot hold it)."""
    return clean_columns(model, data)


def _provider_input(data: dict) -> dict:
    wards = data.pop("wards", None)
    if "user_ids" in data:
        data["user_ids"] = list(data["user_ids"] or [])
    data = _given(data, ServiceProvider)
    if wards is not None:
        if len(wards) > MAX_WARDS:
            raise ValidationError({"wards": ValidationError(f"At most {MAX_WARDS} wards.", code="too_many")})
        data["wards"] = nodes_of(Ward, wards, expected="Ward", field="wards")
    return data


MAX_WARDS = 200


def _provider_fields(*, create: bool) -> dict:
    return {
        "name": graphene.String(required=create),
        "kind": t.ProviderKind(description="PRIVATE when left out." if create else None),
        "contact_name": graphene.String(),
        "phone": graphene.String(description="A mobile number, e.g. 01712345678."),
        "email": graphene.String(),
        "contract_start": graphene.Date(),
        "contract_end": graphene.Date(),
        "wards": graphene.List(graphene.NonNull(graphene.ID), description="Global IDs of the wards served; none: "
                                                                          "all wards."),
        "user_ids": graphene.List(graphene.NonNull(graphene.Int),
                                  description="Service-provider accounts (user IDs) that see its work orders."),
        "is_active": graphene.Boolean(),
    }


class ServiceProviderCreate(ServiceMutation):
    """Add a service provider (a company or municipal unit that empties containments)."""

    imis_permission = "fsm.configure"
    imis_feature = FEATURE
    Input = type("Input", (), _provider_fields(create=True))

    provider = graphene.Field(t.ServiceProviderType)

    @classmethod
    def perform(cls, info, **data):
        data = {key: value for key, value in _provider_input(data).items() if value is not None}
        return cls.success(provider=services.provider_create(by=info.context.user, **data))


class ServiceProviderUpdate(ServiceMutation):
    """Change a service provider: only the fields given."""

    imis_permission = "fsm.configure"
    imis_feature = FEATURE
    Input = type("Input", (), {"id": graphene.ID(required=True, description="Global ID of the provider."),
                               **_provider_fields(create=False)})

    provider = graphene.Field(t.ServiceProviderType)

    @classmethod
    def perform(cls, info, id, **data):
        provider = node_of(ServiceProvider, id, expected="ServiceProvider", field="id")
        return cls.success(provider=services.provider_update(by=info.context.user, provider=provider,
                                                             **_provider_input(data)))


def _vehicle_fields(*, create: bool) -> dict:
    return {
        "provider": graphene.ID(required=create, description="Global ID of the service provider."),
        "registration": graphene.String(required=create, description="Kept upper-case; unique."),
        "capacity_m3": graphene.Decimal(required=create, description="At least 0.1 m³."),
        "suction_type": t.VehicleSuctionType(),
        "width_m": graphene.Decimal(description="For narrow lanes; 2.5 m when left out." if create else None),
        "fitness_valid_until": graphene.Date(),
        "insurance_valid_until": graphene.Date(),
        "status": t.VehicleStatus(),
    }


def _with_provider(data: dict, model) -> dict:
    provider = data.pop("provider", None)
    data = _given(data, model)
    if provider is not None:
        data["provider"] = node_of(ServiceProvider, provider, expected="ServiceProvider", field="provider")
    return data


class VehicleCreate(ServiceMutation):
    """Add a provider's vacuum truck, vacutug or pump."""

    imis_permission = "fsm.configure"
    imis_feature = FEATURE
    Input = type("Input", (), _vehicle_fields(create=True))

    vehicle = graphene.Field(t.VehicleType)

    @classmethod
    def perform(cls, info, **data):
        data = {key: value for key, value in _with_provider(data, Vehicle).items() if value is not None}
        return cls.success(vehicle=services.vehicle_create(by=info.context.user, **data))


class VehicleUpdate(ServiceMutation):
    """Change a vehicle: only the fields given (e.g. `status: MAINTENANCE`)."""

    imis_permission = "fsm.configure"
    imis_feature = FEATURE
    Input = type("Input", (), {"id": graphene.ID(required=True, description="Global ID of the vehicle."),
                               **_vehicle_fields(create=False)})

    vehicle = graphene.Field(t.VehicleType)

    @classmethod
    def perform(cls, info, id, **data):
        vehicle = node_of(Vehicle, id, expected="Vehicle", field="id")
        return cls.success(vehicle=services.vehicle_update(by=info.context.user, vehicle=vehicle,
                                                           **_with_provider(data, Vehicle)))


def _crew_fields(*, create: bool) -> dict:
    return {
        "provider": graphene.ID(required=create, description="Global ID of the service provider."),
        "name": graphene.String(required=create),
        "role": t.CrewRole(required=create),
        "phone": graphene.String(description="A mobile number, e.g. 01712345678."),
        "trained_on": graphene.Date(),
        "licence_number": graphene.String(description="Driving licence; required for a driver."),
        "ppe_issued_on": graphene.Date(),
        "is_active": graphene.Boolean(),
    }


class CrewMemberCreate(ServiceMutation):
    """Add a driver, emptier or helper to a provider's crew."""

    imis_permission = "fsm.configure"
    imis_feature = FEATURE
    Input = type("Input", (), _crew_fields(create=True))

    crew_member = graphene.Field(t.CrewMemberType)

    @classmethod
    def perform(cls, info, **data):
        data = {key: value for key, value in _with_provider(data, CrewMember).items() if value is not None}
        return cls.success(crew_member=services.crew_member_create(by=info.context.user, **data))


class CrewMemberUpdate(ServiceMutation):
    """Change a crew member: only the fields given."""

    imis_permission = "fsm.configure"
    imis_feature = FEATURE
    Input = type("Input", (), {"id": graphene.ID(required=True, description="Global ID of the crew member."),
                               **_crew_fields(create=False)})

    crew_member = graphene.Field(t.CrewMemberType)

    @classmethod
    def perform(cls, info, id, **data):
        member = node_of(CrewMember, id, expected="CrewMember", field="id")
        return cls.success(crew_member=services.crew_member_update(by=info.context.user, member=member,
                                                                   **_with_provider(data, CrewMember)))


def _slab_fields(*, create: bool) -> dict:
    return {
        "building_use": BuildingFunctionalUse(description="The building use it prices; any use when null."),
        "volume_from_m3": graphene.Decimal(description="0 when left out." if create else None),
        "volume_to_m3": graphene.Decimal(required=create),
        "fee_per_trip": graphene.Decimal(required=create, description="Taka per trip."),
    }


def _slab_input(data: dict) -> dict:
    if "building_use" in data and data["building_use"] is None:
        data["building_use"] = ""
    return _given(data, PriceSlab)


class FsmPriceSlabCreate(ServiceMutation):
    """Add a price slab: the fee per trip for a volume range (ranges of one building use do not overlap)."""

    imis_permission = "fsm.configure"
    imis_feature = FEATURE
    Input = type("Input", (), _slab_fields(create=True))

    price_slab = graphene.Field(t.PriceSlabType)

    @classmethod
    def perform(cls, info, **data):
        data = {key: value for key, value in _slab_input(data).items() if value is not None}
        return cls.success(price_slab=services.price_slab_create(by=info.context.user, **data))


class FsmPriceSlabUpdate(ServiceMutation):
    """Change a price slab: only the fields given."""

    imis_permission = "fsm.configure"
    imis_feature = FEATURE
    Input = type("Input", (), {"id": graphene.ID(required=True, description="Global ID of the slab."),
                               **_slab_fields(create=False)})

    price_slab = graphene.Field(t.PriceSlabType)

    @classmethod
    def perform(cls, info, id, **data):
        slab = node_of(PriceSlab, id, expected="FsmPriceSlab", field="id")
        return cls.success(price_slab=services.price_slab_update(by=info.context.user, slab=slab,
                                                                 **_slab_input(data)))


# --- the plant's effluent tests (fsm.plant) ---------------------------------------------------------------------

class FsmEffluentTestRecord(ServiceMutation):
    """Record a laboratory test of a plant's treated effluent (at least one value)."""

    imis_permission = "fsm.plant"
    imis_feature = FEATURE

    class Input:
        treatment_plant = graphene.ID(required=True, description="Global ID of the plant (FsmTreatmentPlant or "
                                                                 "TreatmentPlant).")
        sampled_on = graphene.Date(required=True)
        bod_mg_l = graphene.Decimal()
        cod_mg_l = graphene.Decimal()
        tss_mg_l = graphene.Decimal()
        ecoli_cfu_100ml = graphene.Decimal()
        ph = graphene.Decimal()
        temperature_c = graphene.Decimal()

    effluent_test = graphene.Field(t.EffluentTestType)

    @classmethod
    def perform(cls, info, treatment_plant, **data):
        plant = node_in(TreatmentPlant.objects.defer("location"), treatment_plant,
                        expected=("FsmTreatmentPlant", "TreatmentPlant"), field="treatment_plant")
        test = services.effluent_test_record(by=info.context.user, treatment_plant=plant,
                                             **clean_columns(EffluentTest, data))
        return cls.success(effluent_test=test)


# --- scheduled desludging programmes (fsm.schedule; households' answers: fsm.register) --------------------------

MAX_PROGRAMME_VEHICLES = 50
MAX_HOLIDAYS = 100


class FsmProgrammeCreate(ServiceMutation):
    """A draft programme: where (wards and/or an area), when, with which vehicles and trips a day."""

    imis_permission = "fsm.schedule"
    imis_feature = FEATURE

    class Input:
        name = graphene.String(required=True)
        start_date = graphene.Date(required=True, description="Today or later.")
        end_date = graphene.Date(required=True, description="At most 92 days after the start.")
        treatment_plant = graphene.ID(required=True, description="Global ID of the operational plant.")
        vehicles = graphene.List(graphene.NonNull(graphene.ID), required=True, description="Global IDs.")
        wards = graphene.List(graphene.NonNull(graphene.ID), description="Global IDs of the wards covered.")
        area = graphene.String(description="A polygon, as GeoJSON or WKT (longitude/latitude).")
        trips_per_day = graphene.Int(description="Per vehicle, 1 to 10; 3 when left out.")
        working_weekdays = graphene.List(graphene.NonNull(graphene.Int),
                                         description="0 = Monday … 6 = Sunday; Sunday to Thursday when left out.")
        holidays = graphene.List(graphene.NonNull(graphene.Date), description="Days off within the period.")

    programme = graphene.Field(t.ProgrammeType)

    @classmethod
    def perform(cls, info, name, start_date, end_date, treatment_plant, vehicles, wards=None, area=None,
                trips_per_day=None, working_weekdays=None, holidays=None):
        for field, value in (("start_date", start_date), ("end_date", end_date)):
            check_date(field, value)
        if len(vehicles) > MAX_PROGRAMME_VEHICLES:
            raise ValidationError({"vehicles": ValidationError(f"At most {MAX_PROGRAMME_VEHICLES} vehicles.",
                                                               code="too_many")})
        if len(holidays or []) > MAX_HOLIDAYS or len(wards or []) > MAX_WARDS or len(area or "") > 1_000_000:
            raise ValidationError(ValidationError("The input is too large.", code="too_large"))
        plant = node_in(TreatmentPlant.objects.all(), treatment_plant,
                        expected=("FsmTreatmentPlant", "TreatmentPlant"), field="treatment_plant")
        ward_ids = [ward.pk for ward in nodes_of(Ward, wards, expected="Ward", field="wards")] if wards else None
        programme = programmes.programme_create(
            by=info.context.user, name=name[:200], start_date=start_date, end_date=end_date, treatment_plant=plant,
            vehicles=nodes_of(Vehicle, vehicles, expected="Vehicle", field="vehicles") if vehicles else [],
            ward_ids=ward_ids, area=area or None, trips_per_day=3 if trips_per_day is None else trips_per_day,
            working_weekdays=working_weekdays, holidays=holidays)
        return cls.success(programme=programme)


def _programme(global_id) -> DesludgingProgramme:
    return node_of(DesludgingProgramme, global_id, expected="FsmProgramme", field="id")


class _ProgrammeJobStart(ServiceMutation):
    class Meta:
        abstract = True

    imis_permission = "fsm.schedule"
    imis_feature = FEATURE
    action = ""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the programme.")
        nonce = graphene.String(description="Any text unique to this request: sending it again starts nothing new.")

    programme = graphene.Field(t.ProgrammeType)
    job = graphene.Field(t.ProgrammeJob, description="Follow it until `done` (or `failed`).")

    @classmethod
    def perform(cls, info, id, nonce=None):
        programme = _programme(id)
        job = programmes.programme_job_start(programme=programme, by=info.context.user, action=cls.action,
                                             nonce=(nonce or "")[:80])
        return cls.success(programme=programme, job=t.ProgrammeJob(id=str(job.pk), title=job.title,
                                                                   status=job.status))


class FsmProgrammePlan(_ProgrammeJobStart):
    """Plan (or re-plan) the programme's daily routes in the background, until households are told their day."""

    action = "plan"


class FsmProgrammeNotify(_ProgrammeJobStart):
    """Text the planned households their day, in the background."""

    action = "notify"


def _visit(info, global_id) -> ProgrammeVisit:
    visible = t.ProgrammeVisitType.visible_to(info, ProgrammeVisit.objects.all())
    return node_in(visible, global_id, expected="FsmProgrammeVisit", field="id")


class FsmProgrammeVisitAccept(ServiceMutation):
    """The household agrees: an application, approved and scheduled for the visit's day."""

    imis_permission = "fsm.register"
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the visit.")
        applicant_name = graphene.String(description="The owner's name when left out.")

    application = graphene.Field(t.ApplicationType)

    @classmethod
    def perform(cls, info, id, applicant_name=None):
        name = clean_columns(Application, {"applicant_name": applicant_name or ""})["applicant_name"]
        application = programmes.visit_accept(visit=_visit(info, id), by=info.context.user, applicant_name=name)
        return cls.success(application=application)


class FsmProgrammeVisitDecline(ServiceMutation):
    """The household says no: it goes to the reintegration list."""

    imis_permission = "fsm.register"
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the visit.")
        reason = graphene.String()

    visit = graphene.Field(t.ProgrammeVisitType)

    @classmethod
    def perform(cls, info, id, reason=None):
        return cls.success(visit=programmes.visit_decline(visit=_visit(info, id), by=info.context.user,
                                                          reason=(reason or "")[:300]))


class FsmSetupMutation(graphene.ObjectType):
    service_provider_create = ServiceProviderCreate.Field()
    service_provider_update = ServiceProviderUpdate.Field()
    vehicle_create = VehicleCreate.Field()
    vehicle_update = VehicleUpdate.Field()
    crew_member_create = CrewMemberCreate.Field()
    crew_member_update = CrewMemberUpdate.Field()
    fsm_price_slab_create = FsmPriceSlabCreate.Field()
    fsm_price_slab_update = FsmPriceSlabUpdate.Field()
    fsm_effluent_test_record = FsmEffluentTestRecord.Field()
    fsm_programme_create = FsmProgrammeCreate.Field()
    fsm_programme_plan = FsmProgrammePlan.Field()
    fsm_programme_notify = FsmProgrammeNotify.Field()
    fsm_programme_visit_accept = FsmProgrammeVisitAccept.Field()
    fsm_programme_visit_decline = FsmProgrammeVisitDecline.Field()
