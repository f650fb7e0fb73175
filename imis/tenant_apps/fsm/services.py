"""FSM workflow: one service per transition, each checking the actor's role, locking the application,
recording an event on its timeline and an audit entry."""

from __future__ import annotations

import datetime
import math
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.shared_apps.accounts.models import Membership
from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.accounts.selectors import actor_permissions
from imis.shared_apps.accounts.services import phone_to_e164
from imis.shared_apps.tenants.features import feature_settings
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.registry.models import Building, Containment, Holding, TreatmentPlant, Ward
from imis.tenant_apps.registry.services import containment_refresh_emptying_due

from .errors import permission_error, transition_error
from .models import (
    Application,
    ApplicationEvent,
    CrewMember,
    Disposal,
    EffluentTest,
    Emptying,
    Feedback,
    PriceSlab,
    ServiceProvider,
    Vehicle,
)

S = Application.Status
OPEN_STATUSES = (S.RECEIVED, S.APPROVED, S.SCHEDULED, S.EMPTIED, S.DISPOSED)
CENT = Decimal("0.01")


def fsm_settings() -> dict:
    return feature_settings(connection.tenant, "fsm")


def _require(by, permission: str, action: str) -> None:
    permissions = actor_permissions(by, connection.tenant)
    if permissions is not None and permission not in permissions:
        raise permission_error(action)


def _locked(application: Application) -> Application:
    return Application.objects.select_for_update().get(pk=application.pk)


def _event(application: Application, *, by, from_status: str, note: str = "", **data) -> None:
    ApplicationEvent.objects.create(
        application=application, at=timezone.now(), from_status=from_status, to_status=application.status,
        actor_id=getattr(by, "pk", None), actor_label=getattr(by, "email", "") or "system", note=note[:500],
        data=data,
    )
    audit_record(actor=by, action=AuditEntry.Action.UPDATE if from_status else AuditEntry.Action.CREATE,
                 instance=application, before={"status": from_status} if from_status else None,
                 after={"status": application.status, **({"note": note} if note else {}), **data})


def _next_number(at: datetime.datetime) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('fsm_application_number_seq')")
        sequence = cursor.fetchone()[0]
    return f"FSM-{at:%Y}-{sequence:06d}"


# --- pricing ------------------------------------------------------------------------------------------

def fsm_fee(*, volume_m3, building_use: str, trips: int, is_emergency: bool, is_low_income: bool) -> tuple[Decimal,
                                                                                                            dict]:
    """The fee and how it was reached: slab by volume and use, × trips, − low-income subsidy, + emergency."""
    volume = Decimal(str(volume_m3 or 0))
    slabs = PriceSlab.objects.filter(volume_from_m3__lte=volume, volume_to_m3__gte=volume)
    slab = slabs.filter(building_use=building_use).first() or slabs.filter(building_use="").first()
    if slab is None:
        raise ValidationError(_("No price is set for a containment of %(volume)s m³. Add a price slab.")
                              % {"volume": volume}, code="no_price")
    config = fsm_settings()
    base = slab.fee_per_trip * trips
    subsidy = (base * Decimal(config["low_income_subsidy_percent"]) / 100) if is_low_income else Decimal(0)
    surcharge = (base * Decimal(config["emergency_surcharge_percent"]) / 100) if is_emergency else Decimal(0)
    total = (base - subsidy + surcharge).quantize(CENT, rounding=ROUND_HALF_UP)
    return total, {"slab": slab.pk, "fee_per_trip": str(slab.fee_per_trip), "trips": trips, "base": str(base),
                   "low_income_subsidy": str(subsidy.quantize(CENT)), "emergency_surcharge": str(surcharge.quantize(CENT)),
                   "total": str(total)}


def _estimate_trips(containment: Containment | None, vehicle: Vehicle | None) -> int:
    if containment is None or not containment.volume_m3 or vehicle is None:
        return 1
    return max(1, math.ceil(Decimal(containment.volume_m3) / vehicle.capacity_m3))


# --- registering --------------------------------------------------------------------------------------

def _resolve_site(*, holding: Holding | None, building: Building | None, containment: Containment | None):
    if containment is not None and building is None:
        building = containment.buildings.order_by("pk").first()
    if building is not None and holding is None:
        holding = building.holding
    if holding is not None and building is None:
        building = holding.buildings.order_by("pk").first()
    if building is not None and containment is None:
        containment = building.containments.order_by("pk").first()
    if holding is None and building is None and containment is None:
        raise field_error({"holding": _("Find the holding, building or containment to be emptied.")}, code="required")
    if building is not None and holding is not None and building.holding_id not in (None, holding.pk):
        raise field_error({"building": _("Building %(bin)s does not belong to holding %(holding)s.")
                           % {"bin": building.bin, "holding": holding.holding_id}}, code="inconsistent_site")
    if containment is not None and building is not None and not containment.buildings.filter(pk=building.pk).exists():
        raise field_error({"containment": _("Containment %(code)s does not serve building %(bin)s.")
                           % {"code": containment.code, "bin": building.bin}}, code="inconsistent_site")
    return holding, building, containment


def application_register(
    *, by, applicant_name: str, channel: str = Application.Channel.PHONE, applicant_phone: str = "",
    holding: Holding | None = None, building: Building | None = None, containment: Containment | None = None,
    is_emergency: bool = False, address: str = "", notes: str = "", received_at: datetime.datetime | None = None,
) -> Application:
    _require(by, "fsm.register", _("register applications"))
    if not (applicant_name or "").strip():
        raise field_error({"applicant_name": _("Who is asking? Enter the applicant's name.")}, code="required")
    if channel not in Application.Channel.values:
        raise field_error({"channel": _("Choose how the request came in.")}, code="invalid_choice")
    holding, building, containment = _resolve_site(holding=holding, building=building, containment=containment)
    phone = phone_to_e164(applicant_phone) if applicant_phone else ""
    with transaction.atomic():
        if containment is not None:
            open_one = (Application.objects.select_for_update().filter(containment=containment,
                                                                        status__in=OPEN_STATUSES).first())
            if open_one is not None:
                raise field_error({"containment": _("Containment %(code)s already has an open application, "
                                                    "%(number)s.") % {"code": containment.code,
                                                                       "number": open_one.number}},
                                  code="open_application_exists")
        received_at = received_at or timezone.now()
        location = containment.location if containment else (building.footprint.point_on_surface if building else None)
        ward = (containment.ward if containment else None) or (building.ward if building else None) or (
            holding.ward if holding else None)
        application = Application.objects.create(
            number=_next_number(received_at), channel=channel, is_emergency=is_emergency, holding=holding,
            building=building, containment=containment, ward=ward, location=location,
            applicant_name=applicant_name.strip(), applicant_phone=phone,
            address=address or (holding.address if holding else ""), notes=notes, received_at=received_at,
        )
        _event(application, by=by, from_status="", note=notes, channel=channel, emergency=is_emergency)
    return application


# --- approval -----------------------------------------------------------------------------------------

def application_approve(*, application: Application, by, note: str = "", role_checked: bool = False) -> Application:
    """`role_checked`: the caller (a programme acceptance) has already checked the actor's authority."""
    if not role_checked:
        _require(by, "fsm.approve", _("approve applications"))
    with transaction.atomic():
        application = _locked(application)
        if application.status != S.RECEIVED:
            raise transition_error(application, _("approved"))
        application.status, application.approved_at = S.APPROVED, timezone.now()
        application.save(update_fields=["status", "approved_at"])
        _event(application, by=by, from_status=S.RECEIVED, note=note)
    return application


def application_reject(*, application: Application, by, reason: str) -> Application:
    _require(by, "fsm.approve", _("reject applications"))
    if not (reason or "").strip():
        raise field_error({"reason": _("Say why the application is rejected.")}, code="required")
    with transaction.atomic():
        application = _locked(application)
        if application.status != S.RECEIVED:
            raise transition_error(application, _("rejected"))
        application.status, application.rejected_at = S.REJECTED, timezone.now()
        application.rejection_reason = reason.strip()[:300]
        application.save(update_fields=["status", "rejected_at", "rejection_reason"])
        _event(application, by=by, from_status=S.RECEIVED, note=reason)
    return application


# --- scheduling ---------------------------------------------------------------------------------------

def _check_schedule(*, application, provider: ServiceProvider, vehicle: Vehicle, crew: list[CrewMember],
                    date: datetime.date, slot: str) -> None:
    if not provider.is_active:
        raise field_error({"provider": _("%(name)s is not active.") % {"name": provider.name}}, code="inactive")
    if provider.contract_end and date > provider.contract_end:
        raise field_error({"date": _("%(name)s's contract ends on %(end)s.") % {"name": provider.name,
                                                                               "end": provider.contract_end}},
                          code="contract_ended")
    if application.ward_id and provider.wards.exists() and not provider.wards.filter(pk=application.ward_id).exists():
        raise field_error({"provider": _("%(name)s does not serve this ward.") % {"name": provider.name}},
                          code="ward_not_served")
    if vehicle.provider_id != provider.pk:
        raise field_error({"vehicle": _("Vehicle %(reg)s belongs to another provider.") % {"reg": vehicle.registration}},
                          code="wrong_provider")
    if vehicle.status != Vehicle.Status.AVAILABLE:
        raise field_error({"vehicle": _("Vehicle %(reg)s is %(status)s.") % {
            "reg": vehicle.registration, "status": vehicle.get_status_display().lower()}}, code="vehicle_unavailable")
    for label, valid_until in ((_("fitness certificate"), vehicle.fitness_valid_until),
                               (_("insurance"), vehicle.insurance_valid_until)):
        if valid_until is not None and valid_until < date:
            raise field_error({"vehicle": _("Vehicle %(reg)s's %(what)s expires before %(date)s.") % {
                "reg": vehicle.registration, "what": label, "date": date}}, code="vehicle_papers_expired")
    building = application.building
    if building is not None and building.is_desludging_vehicle_accessible is False and \
            vehicle.suction_type == Vehicle.SuctionType.VACUUM_TRUCK:
        raise field_error({"vehicle": _("A vacuum truck cannot reach building %(bin)s; send a vacutug or manual "
                                        "pump.") % {"bin": building.bin}}, code="not_accessible")
    if any(member.provider_id != provider.pk for member in crew):
        raise field_error({"crew": _("All crew members must work for %(name)s.") % {"name": provider.name}},
                          code="wrong_provider")
    if date < timezone.localdate():
        raise field_error({"date": _("The date is in the past.")}, code="past_date")
    if slot not in Application.Slot.values:
        raise field_error({"slot": _("Choose a time slot.")}, code="invalid_choice")


def _apply_schedule(application, *, provider, vehicle, crew, date, slot, is_confirmed) -> None:
    application.provider, application.vehicle = provider, vehicle
    application.scheduled_date, application.scheduled_slot = date, slot
    application.is_confirmed_with_customer = is_confirmed
    building = application.building
    trips = _estimate_trips(application.containment, vehicle)
    try:
        application.fee_estimate, _breakdown = fsm_fee(
            volume_m3=application.containment.volume_m3 if application.containment else 0,
            building_use=building.functional_use if building else "", trips=trips,
            is_emergency=application.is_emergency, is_low_income=bool(building and building.is_low_income))
    except ValidationError:
        application.fee_estimate = None  # priced when the slabs are set; scheduling goes on
    application.save()
    application.crew.set(crew)


def application_schedule(*, application: Application, by, provider: ServiceProvider, vehicle: Vehicle,
                         date: datetime.date, slot: str, crew: list[CrewMember] | None = None,
                         is_confirmed: bool = False, role_checked: bool = False) -> Application:
    if not role_checked:
        _require(by, "fsm.schedule", _("schedule emptying"))
    crew = list(crew or [])
    with transaction.atomic():
        application = _locked(application)
        if application.status != S.APPROVED:
            raise transition_error(application, _("scheduled"))
        _check_schedule(application=application, provider=provider, vehicle=vehicle, crew=crew, date=date, slot=slot)
        application.status, application.scheduled_at = S.SCHEDULED, timezone.now()
        _apply_schedule(application, provider=provider, vehicle=vehicle, crew=crew, date=date, slot=slot,
                        is_confirmed=is_confirmed)
        _event(application, by=by, from_status=S.APPROVED, provider=provider.name, vehicle=vehicle.registration,
               date=date.isoformat(), slot=slot)
    return application


def application_reschedule(*, application: Application, by, provider: ServiceProvider, vehicle: Vehicle,
                           date: datetime.date, slot: str, crew: list[CrewMember] | None = None,
                           is_confirmed: bool = False, reason: str = "") -> Application:
    _require(by, "fsm.schedule", _("reschedule emptying"))
    crew = list(crew or [])
    with transaction.atomic():
        application = _locked(application)
        if application.status != S.SCHEDULED:
            raise transition_error(application, _("rescheduled"))
        _check_schedule(application=application, provider=provider, vehicle=vehicle, crew=crew, date=date, slot=slot)
        previous = application.scheduled_date
        application.times_rescheduled = F("times_rescheduled") + 1
        _apply_schedule(application, provider=provider, vehicle=vehicle, crew=crew, date=date, slot=slot,
                        is_confirmed=is_confirmed)
        application.refresh_from_db(fields=["times_rescheduled"])
        _event(application, by=by, from_status=S.SCHEDULED, note=reason, rescheduled_from=str(previous),
               date=date.isoformat(), slot=slot, vehicle=vehicle.registration)
    return application


# --- emptying -----------------------------------------------------------------------------------------

def application_record_emptying(
    *, application: Application, by, emptied_on: datetime.date, volume_m3, trips: int = 1,
    vehicle: Vehicle | None = None, crew: list[CrewMember] | None = None, is_ppe_worn: bool = False,
    started_at: datetime.time | None = None, ended_at: datetime.time | None = None, receipt_number: str = "",
    cost=None,
) -> Application:
    _require(by, "fsm.empty", _("record emptying"))
    with transaction.atomic():
        application = _locked(application)
        if application.status != S.SCHEDULED:
            raise transition_error(application, _("recorded as emptied"))
        permissions = actor_permissions(by, connection.tenant)
        if permissions is not None and "fsm.approve" not in permissions and (
                application.provider is None or by.pk not in (application.provider.user_ids or [])):
            raise permission_error(_("record an emptying for another provider's work order"))
        vehicle = vehicle or application.vehicle
        volume = Decimal(str(volume_m3))
        if volume <= 0:
            raise field_error({"volume_m3": _("Enter the volume emptied.")}, code="required")
        if trips < 1:
            raise field_error({"trips": _("At least one trip.")}, code="invalid")
        if volume > vehicle.capacity_m3 * trips:
            raise field_error({"volume_m3": _("%(volume)s m³ does not fit in %(trips)s trip(s) of %(reg)s "
                                              "(%(capacity)s m³ each).") % {
                "volume": volume, "trips": trips, "reg": vehicle.registration, "capacity": vehicle.capacity_m3}},
                code="over_capacity")
        if emptied_on > timezone.localdate():
            raise field_error({"emptied_on": _("The date is in the future.")}, code="future_date")
        if started_at and ended_at and ended_at < started_at:
            raise field_error({"ended_at": _("The end is before the start.")}, code="invalid_times")
        emptying = Emptying.objects.create(
            application=application, emptied_on=emptied_on, started_at=started_at, ended_at=ended_at,
            volume_m3=volume, trips=trips, vehicle=vehicle, is_ppe_worn=is_ppe_worn,
            receipt_number=receipt_number, cost=cost,
        )
        emptying.crew.set(crew if crew is not None else application.crew.all())
        building = application.building
        try:
            application.fee_amount, application.fee_breakdown = fsm_fee(
                volume_m3=application.containment.volume_m3 if application.containment else volume,
                building_use=building.functional_use if building else "", trips=trips,
                is_emergency=application.is_emergency, is_low_income=bool(building and building.is_low_income))
        except ValidationError:
            application.fee_amount, application.fee_breakdown = cost, {"charged": str(cost) if cost else None}
        application.status, application.emptied_at = S.EMPTIED, timezone.now()
        application.save(update_fields=["status", "emptied_at", "fee_amount", "fee_breakdown"])
        if application.containment_id:
            Containment.objects.filter(pk=application.containment_id).update(
                last_emptied_on=emptied_on, times_emptied=F("times_emptied") + 1)
            containment_refresh_emptying_due(containment=Containment.objects.get(pk=application.containment_id))
        _event(application, by=by, from_status=S.SCHEDULED, volume_m3=str(volume), trips=trips,
               vehicle=vehicle.registration, ppe_worn=is_ppe_worn)
    return application


# --- disposal -----------------------------------------------------------------------------------------

def disposal_record(
    *, by, treatment_plant: TreatmentPlant, arrived_at: datetime.datetime, volume_received_m3,
    applications: list[Application] | None = None, vehicle: Vehicle | None = None, unregistered_vehicle: str = "",
    exited_at: datetime.datetime | None = None, notes: str = "",
) -> Disposal:
    """Log a vehicle at the plant gate; the applications it brings become disposed."""
    _require(by, "fsm.dispose", _("log disposals"))
    volume = Decimal(str(volume_received_m3))
    if volume <= 0:
        raise field_error({"volume_received_m3": _("Enter the volume received.")}, code="required")
    if vehicle is None and not unregistered_vehicle.strip():
        raise field_error({"vehicle": _("Choose the vehicle or type the registration of an unregistered one.")},
                          code="required")
    if exited_at and exited_at < arrived_at:
        raise field_error({"exited_at": _("The vehicle cannot leave before it arrived.")}, code="invalid_times")
    if treatment_plant.status != TreatmentPlant.Status.OPERATIONAL:
        raise field_error({"treatment_plant": _("%(name)s is not operational.") % {"name": treatment_plant.name}},
                          code="plant_not_operational")
    applications = applications or []
    with transaction.atomic():
        locked = list(Application.objects.select_for_update(of=("self",)).filter(pk__in=[a.pk for a in applications])
                      .select_related("emptying"))
        emptied_volume = Decimal(0)
        for application in locked:
            if application.status != S.EMPTIED:
                raise transition_error(application, _("disposed"))
            if vehicle is not None and application.emptying.vehicle_id != vehicle.pk:
                raise field_error({"applications": _("%(number)s was emptied by another vehicle.")
                                   % {"number": application.number}}, code="wrong_vehicle")
            if timezone.localdate(arrived_at) < application.emptying.emptied_on:
                raise field_error({"arrived_at": _("The sludge of %(number)s cannot arrive before it was emptied.")
                                   % {"number": application.number}}, code="before_emptying")
            emptied_volume += application.emptying.volume_m3
        if locked:
            tolerance = Decimal(fsm_settings()["disposal_volume_tolerance_percent"]) / 100
            if volume > emptied_volume * (1 + tolerance):
                raise field_error({"volume_received_m3": _(
                    "%(volume)s m³ received is more than the %(emptied)s m³ emptied for these applications.")
                    % {"volume": volume, "emptied": emptied_volume}}, code="volume_mismatch")
        if vehicle is not None:
            trips = max([a.emptying.trips for a in locked] or [1])
            if volume > vehicle.capacity_m3 * trips:
                raise field_error({"volume_received_m3": _("%(volume)s m³ is more than %(reg)s can carry.")
                                   % {"volume": volume, "reg": vehicle.registration}}, code="over_capacity")
        disposal = Disposal.objects.create(
            treatment_plant=treatment_plant, vehicle=vehicle, unregistered_vehicle=unregistered_vehicle.strip(),
            arrived_at=arrived_at, exited_at=exited_at, volume_received_m3=volume,
            recorded_by_id=getattr(by, "pk", None), notes=notes,
        )
        disposal.applications.set(locked)
        now = timezone.now()
        for application in locked:
            application.status, application.disposed_at = S.DISPOSED, now
            application.save(update_fields=["status", "disposed_at"])
            _event(application, by=by, from_status=S.EMPTIED, plant=treatment_plant.name, disposal=disposal.pk,
                   volume_received_m3=str(volume))
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=disposal,
                     after={"plant": treatment_plant.pk, "volume": str(volume),
                            "applications": [a.number for a in locked],
                            "vehicle": vehicle.registration if vehicle else unregistered_vehicle})
    return disposal


# --- feedback, cancellation ---------------------------------------------------------------------------

def application_record_feedback(
    *, application: Application, by, rating: int, service_quality: int, is_ppe_worn: bool | None = None,
    had_spillage: bool = False, comments: str = "", channel: str = Feedback.Channel.HELP_DESK,
) -> Application:
    if channel != Feedback.Channel.ONLINE:
        _require(by, "fsm.feedback", _("record feedback"))
    for name, value in (("rating", rating), ("service_quality", service_quality)):
        if not 1 <= int(value) <= 5:
            raise field_error({name: _("Choose from 1 (poor) to 5 (excellent).")}, code="out_of_range")
    with transaction.atomic():
        application = _locked(application)
        if application.status != S.DISPOSED:
            raise transition_error(application, _("given feedback"))
        Feedback.objects.create(application=application, rating=rating, service_quality=service_quality,
                                is_ppe_worn=is_ppe_worn, had_spillage=had_spillage, comments=comments,
                                channel=channel)
        application.status, application.closed_at = S.CLOSED, timezone.now()
        application.save(update_fields=["status", "closed_at"])
        _event(application, by=by, from_status=S.DISPOSED, note=comments, rating=rating, spillage=had_spillage)
    return application


def application_cancel(*, application: Application, by, reason: str) -> Application:
    _require(by, "fsm.cancel", _("cancel applications"))
    if not (reason or "").strip():
        raise field_error({"reason": _("Say why the application is cancelled.")}, code="required")
    with transaction.atomic():
        application = _locked(application)
        if application.status not in (S.RECEIVED, S.APPROVED, S.SCHEDULED):
            raise transition_error(application, _("cancelled"))
        previous = application.status
        application.status, application.cancelled_at = S.CANCELLED, timezone.now()
        application.cancel_reason = reason.strip()[:300]
        application.save(update_fields=["status", "cancelled_at", "cancel_reason"])
        _event(application, by=by, from_status=previous, note=reason)
    return application


# --- plant --------------------------------------------------------------------------------------------

EFFLUENT_LIMITS = (("bod_mg_l", "effluent_bod_max"), ("cod_mg_l", "effluent_cod_max"),
                   ("tss_mg_l", "effluent_tss_max"), ("ecoli_cfu_100ml", "effluent_ecoli_max"))


def effluent_test_compliance(test, *, config: dict | None = None) -> dict[str, bool | None]:
    """Each measured parameter against the municipality's standards (None when not measured)."""
    config = config or fsm_settings()
    result: dict[str, bool | None] = {}
    for field, limit in EFFLUENT_LIMITS:
        value = getattr(test, field)
        result[field] = None if value is None else Decimal(value) <= Decimal(str(config[limit]))
    result["ph"] = None if test.ph is None else (
        Decimal(str(config["effluent_ph_min"])) <= Decimal(test.ph) <= Decimal(str(config["effluent_ph_max"])))
    return result


def effluent_test_record(*, by, treatment_plant: TreatmentPlant, sampled_on: datetime.date, bod_mg_l=None,
                         cod_mg_l=None, tss_mg_l=None, ecoli_cfu_100ml=None, ph=None,
                         temperature_c=None) -> EffluentTest:
    """A laboratory result of a plant's treated effluent: at least one value, none negative, not in the future."""
    _require(by, "fsm.plant", _("record effluent tests"))
    values = {"bod_mg_l": bod_mg_l, "cod_mg_l": cod_mg_l, "tss_mg_l": tss_mg_l, "ecoli_cfu_100ml": ecoli_cfu_100ml,
              "ph": ph, "temperature_c": temperature_c}
    if sampled_on is not None and sampled_on > timezone.localdate():
        raise field_error({"sampled_on": _("The sample date is in the future.")}, code="future_date")
    if all(value is None for value in values.values()):
        raise field_error({"bod_mg_l": _("Enter at least one measured value.")}, code="required")
    negative = {name: _("A concentration cannot be negative.") for name, _setting in EFFLUENT_LIMITS
                if values[name] is not None and Decimal(values[name]) < 0}
    if negative:
        raise field_error(negative, code="negative")
    return _record_save(by=by, instance=EffluentTest(treatment_plant=treatment_plant, sampled_on=sampled_on),
                        data=values)


# --- set-up records: service providers, vehicles, crew, price slabs --------------------------------------
#
# Plain records, but every change is validated here (the model's own rules, then the domain's), written in one
# transaction and audited — for the set-up screens and the API alike.

def _plain(value):
    """What an audit entry stores: ids for records, lists for sets of records, text for dates and numbers."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set | models.QuerySet):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.date | Decimal):
        return str(value)
    return value


def _record_save(*, by, instance: models.Model, data: dict, many: dict | None = None):
    """Set `data` (columns) and `many` (many-to-many: name -> objects) on a new or locked record, check it with the
    model's validation (types, choices, ranges, unique values), save it and audit the change."""
    many = many or {}
    is_new = instance.pk is None
    before = None
    if not is_new:
        before = {name: _plain(getattr(instance, name)) for name in data}
        before.update({name: sorted(getattr(instance, name).values_list("pk", flat=True)) for name in many})
    for name, value in data.items():
        setattr(instance, name, value)
    instance.full_clean()
    with transaction.atomic():
        instance.save()
        for name, objects in many.items():
            getattr(instance, name).set(objects)
        after = {name: _plain(value) for name, value in data.items()}
        after.update({name: sorted(_plain(list(objects))) for name, objects in many.items()})
        audit_record(actor=by, action=AuditEntry.Action.CREATE if is_new else AuditEntry.Action.UPDATE,
                     instance=instance, before=before, after=after)
    instance.refresh_from_db(fields=list(data))  # as stored: numbers at their column's scale
    return instance


def _locked_record(instance: models.Model) -> models.Model:
    return type(instance).objects.select_for_update().get(pk=instance.pk)


def _phone_field(value: str | None, name: str = "phone") -> str:
    try:
        return phone_to_e164((value or "").strip())
    except ValidationError as error:
        raise field_error({name: error.messages[0]}, code="invalid_phone") from error


def _changes(values: dict, allowed: tuple[str, ...]) -> dict:
    unknown = set(values) - set(allowed)
    if unknown:
        raise TypeError(f"Unknown fields: {', '.join(sorted(unknown))}")
    return values


PROVIDER_FIELDS = ("name", "kind", "contact_name", "phone", "email", "contract_start", "contract_end", "wards",
                   "user_ids", "is_active")


def _provider_save(*, by, provider: ServiceProvider, values: dict) -> ServiceProvider:
    values = dict(values)
    wards = values.pop("wards", None)
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
    if "phone" in values:
        values["phone"] = _phone_field(values["phone"])
    start = values.get("contract_start", provider.contract_start)
    end = values.get("contract_end", provider.contract_end)
    if start and end and end < start:
        raise field_error({"contract_end": _("The contract cannot end before it starts.")}, code="invalid_period")
    if "user_ids" in values:
        ids = sorted({int(pk) for pk in values["user_ids"] or []})
        allowed = set(Membership.objects.filter(municipality=connection.tenant, role=Role.SERVICE_PROVIDER,
                                                is_active=True, user_id__in=ids).values_list("user_id", flat=True))
        if set(ids) - allowed:
            raise field_error({"user_ids": _("Only active service-provider accounts of this municipality can be "
                                             "linked.")}, code="invalid_choice")
        values["user_ids"] = ids
    many = {}
    if wards is not None:
        wards = list(wards)
        if any(not isinstance(ward, Ward) for ward in wards):
            found = Ward.objects.in_bulk([getattr(ward, "pk", ward) for ward in wards])
            if len(found) != len({getattr(ward, "pk", ward) for ward in wards}):
                raise field_error({"wards": _("A chosen ward no longer exists.")}, code="invalid_choice")
            wards = list(found.values())
        many["wards"] = wards
    return _record_save(by=by, instance=provider, data=values, many=many)


def provider_create(*, by, name: str, kind: str = ServiceProvider.Kind.PRIVATE, contact_name: str = "",
                    phone: str = "", email: str = "", contract_start: datetime.date | None = None,
                    contract_end: datetime.date | None = None, wards=(), user_ids=(),
                    is_active: bool = True) -> ServiceProvider:
    """A company or municipal unit that empties containments; `wards` it serves (none: all), `user_ids` the
    service-provider accounts that see its work orders."""
    _require(by, "fsm.configure", _("set up service providers"))
    return _provider_save(by=by, provider=ServiceProvider(), values={
        "name": name, "kind": kind, "contact_name": contact_name, "phone": phone, "email": email,
        "contract_start": contract_start, "contract_end": contract_end, "wards": wards, "user_ids": user_ids,
        "is_active": is_active})


def provider_update(*, by, provider: ServiceProvider, **changes) -> ServiceProvider:
    """Change some of a provider's fields (those of `provider_create`)."""
    _require(by, "fsm.configure", _("set up service providers"))
    with transaction.atomic():
        return _provider_save(by=by, provider=_locked_record(provider), values=_changes(changes, PROVIDER_FIELDS))


VEHICLE_FIELDS = ("provider", "registration", "capacity_m3", "suction_type", "width_m", "fitness_valid_until",
                  "insurance_valid_until", "status")


def _vehicle_save(*, by, vehicle: Vehicle, values: dict) -> Vehicle:
    values = dict(values)
    if "registration" in values:
        values["registration"] = " ".join((values["registration"] or "").upper().split())
    if values.get("provider", vehicle.provider if vehicle.provider_id else None) is None:
        raise field_error({"provider": _("Choose the vehicle's service provider.")}, code="required")
    return _record_save(by=by, instance=vehicle, data=values)


def vehicle_create(*, by, provider: ServiceProvider, registration: str, capacity_m3,
                   suction_type: str = Vehicle.SuctionType.VACUUM_TRUCK, width_m=Decimal("2.5"),
                   fitness_valid_until: datetime.date | None = None, insurance_valid_until: datetime.date | None = None,
                   status: str = Vehicle.Status.AVAILABLE) -> Vehicle:
    """A provider's vacuum truck, vacutug or pump; the registration is kept upper-case and unique."""
    _require(by, "fsm.configure", _("set up vehicles"))
    return _vehicle_save(by=by, vehicle=Vehicle(), values={
        "provider": provider, "registration": registration, "capacity_m3": capacity_m3,
        "suction_type": suction_type, "width_m": width_m, "fitness_valid_until": fitness_valid_until,
        "insurance_valid_until": insurance_valid_until, "status": status})


def vehicle_update(*, by, vehicle: Vehicle, **changes) -> Vehicle:
    _require(by, "fsm.configure", _("set up vehicles"))
    with transaction.atomic():
        return _vehicle_save(by=by, vehicle=_locked_record(vehicle), values=_changes(changes, VEHICLE_FIELDS))


CREW_FIELDS = ("provider", "name", "role", "phone", "trained_on", "licence_number", "ppe_issued_on", "is_active")


def _crew_save(*, by, member: CrewMember, values: dict) -> CrewMember:
    values = dict(values)
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
    if "phone" in values:
        values["phone"] = _phone_field(values["phone"])
    if "licence_number" in values:
        values["licence_number"] = (values["licence_number"] or "").strip()
    if values.get("provider", member.provider if member.provider_id else None) is None:
        raise field_error({"provider": _("Choose the crew member's service provider.")}, code="required")
    role = values.get("role", member.role)
    if role == CrewMember.Role.DRIVER and not values.get("licence_number", member.licence_number):
        raise field_error({"licence_number": _("A driver needs a driving licence number.")}, code="required")
    return _record_save(by=by, instance=member, data=values)


def crew_member_create(*, by, provider: ServiceProvider, name: str, role: str, phone: str = "",
                       trained_on: datetime.date | None = None, licence_number: str = "",
                       ppe_issued_on: datetime.date | None = None, is_active: bool = True) -> CrewMember:
    """A driver (with a driving licence), emptier or helper of a provider."""
    _require(by, "fsm.configure", _("set up crews"))
    return _crew_save(by=by, member=CrewMember(), values={
        "provider": provider, "name": name, "role": role, "phone": phone, "trained_on": trained_on,
        "licence_number": licence_number, "ppe_issued_on": ppe_issued_on, "is_active": is_active})


def crew_member_update(*, by, member: CrewMember, **changes) -> CrewMember:
    _require(by, "fsm.configure", _("set up crews"))
    with transaction.atomic():
        return _crew_save(by=by, member=_locked_record(member), values=_changes(changes, CREW_FIELDS))


PRICE_SLAB_FIELDS = ("building_use", "volume_from_m3", "volume_to_m3", "fee_per_trip")


def _price_slab_save(*, by, slab: PriceSlab, values: dict) -> PriceSlab:
    values = dict(values)
    if values.get("building_use") is None and "building_use" in values:
        values["building_use"] = ""
    use = values.get("building_use", slab.building_use)
    low, high = values.get("volume_from_m3", slab.volume_from_m3), values.get("volume_to_m3", slab.volume_to_m3)
    fee = values.get("fee_per_trip", slab.fee_per_trip)
    if fee is not None and Decimal(fee) < 0:
        raise field_error({"fee_per_trip": _("Enter an amount of zero or more.")}, code="invalid_amount")
    if low is not None and high is not None:
        low, high = Decimal(low), Decimal(high)
        if high <= low:
            raise field_error({"volume_to_m3": _("The upper volume must be above the lower one.")},
                              code="invalid_range")
        with transaction.atomic():
            # one slab change at a time, so that two overlapping ranges cannot both pass the check
            list(PriceSlab.objects.select_for_update().filter(building_use=use))
            overlap = (PriceSlab.objects.filter(building_use=use, volume_from_m3__lte=high, volume_to_m3__gte=low)
                       .exclude(pk=slab.pk).first())
            if overlap is not None:
                raise field_error({"volume_from_m3": _("This range overlaps the slab %(low)s–%(high)s m³ for the "
                                                       "same use.") % {"low": overlap.volume_from_m3,
                                                                      "high": overlap.volume_to_m3}},
                                  code="overlapping_slab")
            return _record_save(by=by, instance=slab, data=values)
    return _record_save(by=by, instance=slab, data=values)


def price_slab_create(*, by, volume_to_m3, fee_per_trip, volume_from_m3=Decimal(0),
                      building_use: str = "") -> PriceSlab:
    """The fee per trip for a containment volume range and (optionally, "" for any) a building use; the ranges of
    one use do not overlap."""
    _require(by, "fsm.configure", _("set prices"))
    return _price_slab_save(by=by, slab=PriceSlab(), values={
        "building_use": building_use, "volume_from_m3": volume_from_m3, "volume_to_m3": volume_to_m3,
        "fee_per_trip": fee_per_trip})


def price_slab_update(*, by, slab: PriceSlab, **changes) -> PriceSlab:
    _require(by, "fsm.configure", _("set prices"))
    with transaction.atomic():
        return _price_slab_save(by=by, slab=_locked_record(slab), values=_changes(changes, PRICE_SLAB_FIELDS))
