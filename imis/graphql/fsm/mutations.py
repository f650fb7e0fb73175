"""FSM mutations: every step of an application's chain of custody, calling the same services as the staff UI
(fsm/services.py). Each parses its input (global IDs to objects the caller may see, enums to values, what fits
the columns) and calls one service; a service's ValidationError comes back as `errors: [{field, message, code}]`.
"""

from __future__ import annotations

import graphene
from django.core.exceptions import ValidationError

from imis.tenant_apps.fsm import services
from imis.tenant_apps.fsm.models import Application, CrewMember, Disposal, Emptying, ServiceProvider, Vehicle
from imis.tenant_apps.registry.models import Building, Containment, Holding, TreatmentPlant

from ..base import ServiceMutation, check_date, clean_columns
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
