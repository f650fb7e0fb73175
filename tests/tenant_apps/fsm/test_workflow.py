"""The chain of custody: each transition, who may do it, and what it checks."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.fsm import services
from imis.tenant_apps.fsm.models import Application
from imis.tenant_apps.registry.models import Containment

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today


def register(site, n=0, **kwargs):
    return services.application_register(by=site.user("help_desk"), applicant_name="Rahima Begum",
                                         applicant_phone="01712345678", holding=site.holdings[n], **kwargs)


def schedule(site, application, vehicle=None, date=None):
    return services.application_schedule(application=application, by=site.user("sanitation_officer"),
                                         provider=site.provider, vehicle=vehicle or site.truck,
                                         date=date or TODAY(), slot="morning", crew=[site.driver, site.emptier])


def to_emptied(site, n=0, volume="3.5", vehicle=None):
    application = register(site, n)
    application = services.application_approve(application=application, by=site.user("sanitation_officer"))
    application = schedule(site, application, vehicle=vehicle)
    return services.application_record_emptying(application=application, by=site.user("service_provider"),
                                                 emptied_on=TODAY(), volume_m3=volume, trips=1, is_ppe_worn=True)


def test_full_journey_updates_containment_and_timeline(site):
    application = register(site)
    assert application.number.startswith(f"FSM-{timezone.now():%Y}-")
    assert application.building == site.buildings[0] and application.containment == site.containments[0]
    assert application.applicant_phone == "+8801712345678" and application.ward.number == 1

    application = to_emptied(site, n=1)
    containment = Containment.objects.get(pk=site.containments[1].pk)
    assert containment.last_emptied_on == TODAY() and containment.times_emptied == 1
    assert containment.next_emptying_due > TODAY()
    assert application.fee_amount == Decimal("1500.00")

    services.disposal_record(by=site.user("plant_operator"), treatment_plant=site.plant, vehicle=site.truck,
                             arrived_at=timezone.now(), volume_received_m3="3.4", applications=[application])
    application = services.application_record_feedback(application=application, by=site.user("help_desk"),
                                                        rating=4, service_quality=5, is_ppe_worn=True)
    assert application.status == "closed"
    assert [e.to_status for e in application.events.all()] == [
        "received", "approved", "scheduled", "emptied", "disposed", "closed"]
    assert AuditEntry.objects.filter(model="fsm.application", object_id=str(application.pk)).count() == 6


@pytest.mark.parametrize(
    ("action", "allowed", "forbidden"),
    [
        ("register", ["help_desk", "sanitation_officer", "municipal_admin"], ["viewer", "service_provider",
                                                                              "tax_officer"]),
        ("approve", ["sanitation_officer", "municipal_admin"], ["help_desk", "service_provider", "viewer"]),
        ("schedule", ["sanitation_officer", "municipal_admin"], ["help_desk", "plant_operator"]),
        ("empty", ["service_provider", "sanitation_officer"], ["help_desk", "plant_operator", "municipal_admin"]),
        ("dispose", ["plant_operator", "sanitation_officer"], ["service_provider", "help_desk"]),
        ("feedback", ["help_desk", "sanitation_officer"], ["service_provider", "plant_operator", "viewer"]),
        ("cancel", ["help_desk", "sanitation_officer"], ["service_provider", "viewer"]),
    ],
)
def test_who_may_do_each_transition(site, action, allowed, forbidden):
    def attempt(role, n):
        by = site.user(role)
        if action == "register":
            return services.application_register(by=by, applicant_name="X", holding=site.holdings[n])
        application = register(site, n)
        if action == "approve":
            return services.application_approve(application=application, by=by)
        if action == "cancel":
            return services.application_cancel(application=application, by=by, reason="moved away")
        application = services.application_approve(application=application, by=site.user("sanitation_officer"))
        if action == "schedule":
            return services.application_schedule(application=application, by=by, provider=site.provider,
                                                 vehicle=site.truck, date=TODAY(), slot="morning")
        application = schedule(site, application)
        if action == "empty":
            return services.application_record_emptying(application=application, by=by, emptied_on=TODAY(),
                                                        volume_m3="2", trips=1)
        application = services.application_record_emptying(application=application, by=site.user("service_provider"),
                                                           emptied_on=TODAY(), volume_m3="2", trips=1)
        if action == "dispose":
            return services.disposal_record(by=by, treatment_plant=site.plant, vehicle=site.truck,
                                            arrived_at=timezone.now(), volume_received_m3="2",
                                            applications=[application])
        services.disposal_record(by=site.user("plant_operator"), treatment_plant=site.plant, vehicle=site.truck,
                                 arrived_at=timezone.now(), volume_received_m3="2", applications=[application])
        return services.application_record_feedback(application=application, by=by, rating=5, service_quality=5)

    for role in allowed:
        attempt(role, 0)
        Application.objects.filter(containment=site.containments[0]).update(status="closed")
    for role in forbidden:
        with pytest.raises(ValidationError) as error:
            attempt(role, 1)
        assert error.value.code == "forbidden", role
        Application.objects.filter(containment=site.containments[1]).update(status="closed")


@pytest.mark.parametrize("status", ["received", "approved", "emptied", "disposed", "closed", "cancelled", "rejected"])
def test_scheduling_is_refused_unless_approved(site, status):
    application = register(site)
    Application.objects.filter(pk=application.pk).update(status=status)
    if status == "approved":
        assert schedule(site, application).status == "scheduled"
        return
    with pytest.raises(ValidationError) as error:
        schedule(site, application)
    assert error.value.code == "invalid_transition"


def test_cancel_only_before_emptying_and_with_a_reason(site):
    application = register(site)
    with pytest.raises(ValidationError):
        services.application_cancel(application=application, by=site.user("help_desk"), reason=" ")
    assert services.application_cancel(application=application, by=site.user("help_desk"),
                                       reason="Household moved").status == "cancelled"
    emptied = to_emptied(site, n=1)
    with pytest.raises(ValidationError) as error:
        services.application_cancel(application=emptied, by=site.user("help_desk"), reason="too late")
    assert error.value.code == "invalid_transition"


def test_reject_needs_a_reason_and_ends_the_application(site):
    application = register(site)
    rejected = services.application_reject(application=application, by=site.user("sanitation_officer"),
                                           reason="Sewer-connected building")
    assert rejected.status == "rejected" and rejected.rejection_reason == "Sewer-connected building"
    register(site)  # the containment may be applied for again


def test_one_open_application_per_containment(site):
    register(site)
    with pytest.raises(ValidationError) as error:
        register(site)
    assert error.value.code == "open_application_exists"


def test_provider_may_only_empty_its_own_work_orders(site):
    application = register(site)
    application = services.application_approve(application=application, by=site.user("sanitation_officer"))
    application = services.application_schedule(application=application, by=site.user("sanitation_officer"),
                                                 provider=site.other_provider, vehicle=site.other_truck,
                                                 date=TODAY(), slot="afternoon")
    with pytest.raises(ValidationError) as error:
        services.application_record_emptying(application=application, by=site.user("service_provider"),
                                             emptied_on=TODAY(), volume_m3="2")
    assert error.value.code == "forbidden"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"vehicle": "other_truck"}, "wrong_provider"),
        ({"date": -1}, "past_date"),
        ({"vehicle_status": "maintenance"}, "vehicle_unavailable"),
        ({"insurance": -1}, "vehicle_papers_expired"),
        ({"accessible": False}, "not_accessible"),
    ],
)
def test_schedule_checks_vehicle_date_and_access(site, change, code):
    application = services.application_approve(application=register(site), by=site.user("sanitation_officer"))
    vehicle = getattr(site, change.get("vehicle", "truck"))
    if "vehicle_status" in change:
        vehicle.status = change["vehicle_status"]
        vehicle.save()
    if "insurance" in change:
        vehicle.insurance_valid_until = TODAY() + datetime.timedelta(days=change["insurance"])
        vehicle.save()
    if "accessible" in change:
        site.buildings[0].is_desludging_vehicle_accessible = False
        site.buildings[0].save()
    date = TODAY() + datetime.timedelta(days=change.get("date", 0))
    with pytest.raises(ValidationError) as error:
        services.application_schedule(application=application, by=site.user("sanitation_officer"),
                                      provider=site.provider, vehicle=vehicle, date=date, slot="morning")
    assert error.value.code == code


def test_reschedule_keeps_the_history(site):
    application = schedule(site, services.application_approve(application=register(site),
                                                               by=site.user("sanitation_officer")))
    later = TODAY() + datetime.timedelta(days=3)
    application = services.application_reschedule(application=application, by=site.user("sanitation_officer"),
                                                  provider=site.provider, vehicle=site.small_truck, date=later,
                                                  slot="evening", reason="Customer away")
    assert application.times_rescheduled == 1 and application.scheduled_date == later
    assert application.events.last().data["rescheduled_from"] == TODAY().isoformat()


def test_emptying_volume_must_fit_the_trips(site):
    application = schedule(site, services.application_approve(application=register(site),
                                                               by=site.user("sanitation_officer")),
                           vehicle=site.small_truck)
    with pytest.raises(ValidationError) as error:
        services.application_record_emptying(application=application, by=site.user("service_provider"),
                                             emptied_on=TODAY(), volume_m3="5", trips=2)
    assert error.value.code == "over_capacity"
    done = services.application_record_emptying(application=application, by=site.user("service_provider"),
                                                emptied_on=TODAY(), volume_m3="3.9", trips=2)
    assert done.fee_amount == Decimal("3000.00")  # two trips at 1,500


def test_disposal_checks_volume_vehicle_and_status(site):
    first = to_emptied(site, n=0, volume="2")
    second = to_emptied(site, n=1, volume="1.5")
    operator = site.user("plant_operator")
    with pytest.raises(ValidationError) as error:
        services.disposal_record(by=operator, treatment_plant=site.plant, vehicle=site.truck,
                                 arrived_at=timezone.now(), volume_received_m3="4", applications=[first, second])
    assert error.value.code == "volume_mismatch"  # 3.5 m3 emptied, +10 % tolerance = 3.85
    with pytest.raises(ValidationError) as error:
        services.disposal_record(by=operator, treatment_plant=site.plant, vehicle=site.small_truck,
                                 arrived_at=timezone.now(), volume_received_m3="2", applications=[first])
    assert error.value.code == "wrong_vehicle"
    disposal = services.disposal_record(by=operator, treatment_plant=site.plant, vehicle=site.truck,
                                        arrived_at=timezone.now(), volume_received_m3="3.6",
                                        applications=[first, second])
    assert set(disposal.applications.values_list("status", flat=True)) == {"disposed"}
    with pytest.raises(ValidationError) as error:
        services.disposal_record(by=operator, treatment_plant=site.plant, vehicle=site.truck,
                                 arrived_at=timezone.now(), volume_received_m3="1", applications=[first])
    assert error.value.code == "invalid_transition"


def test_unregistered_vehicles_can_be_logged(site):
    disposal = services.disposal_record(by=site.user("plant_operator"), treatment_plant=site.plant,
                                        unregistered_vehicle="JESSORE-DA-2", arrived_at=timezone.now(),
                                        volume_received_m3="3")
    assert disposal.vehicle is None and disposal.unregistered_vehicle == "JESSORE-DA-2"
    with pytest.raises(ValidationError):
        services.disposal_record(by=site.user("plant_operator"), treatment_plant=site.plant,
                                 arrived_at=timezone.now(), volume_received_m3="3")


@pytest.mark.parametrize(
    ("n", "emergency", "use", "expected"),
    [(0, False, "residential", "1500.00"), (2, False, "residential", "750.00"), (0, True, "residential", "1875.00"),
     (0, False, "commercial", "3000.00"), (2, True, "residential", "1125.00")],
)
def test_pricing_slab_subsidy_and_surcharge(site, n, emergency, use, expected):
    building = site.buildings[n]
    fee, breakdown = services.fsm_fee(volume_m3=site.containments[n].volume_m3, building_use=use, trips=1,
                                      is_emergency=emergency, is_low_income=building.is_low_income)
    assert fee == Decimal(expected)
    assert breakdown["total"] == expected


def test_no_price_slab_is_a_clear_error(site):
    with pytest.raises(ValidationError) as error:
        services.fsm_fee(volume_m3=80, building_use="residential", trips=1, is_emergency=False, is_low_income=False)
    assert error.value.code == "no_price"


def test_overdue_and_emptied_not_disposed_lists(site):
    from imis.tenant_apps.fsm import selectors

    config = services.fsm_settings()
    stale = register(site, 0)
    Application.objects.filter(pk=stale.pk).update(received_at=timezone.now() - datetime.timedelta(hours=30))
    fresh = register(site, 1)
    dumped = to_emptied(site, n=2)
    Application.objects.filter(pk=dumped.pk).update(emptied_at=timezone.now() - datetime.timedelta(hours=25))
    overdue = set(selectors.applications_overdue(config=config).values_list("number", flat=True))
    assert stale.number in overdue and fresh.number not in overdue and dumped.number in overdue
    assert [a.number for a in selectors.applications_emptied_not_disposed(config=config)] == [dumped.number]


def test_effluent_compliance_against_standards(site):
    from imis.tenant_apps.fsm.models import EffluentTest

    test = EffluentTest.objects.create(treatment_plant=site.plant, sampled_on=TODAY(), bod_mg_l=30, cod_mg_l=250,
                                       ph=Decimal("7.2"))
    assert services.effluent_test_compliance(test) == {"bod_mg_l": True, "cod_mg_l": False, "tss_mg_l": None,
                                                       "ecoli_cfu_100ml": None, "ph": True}
