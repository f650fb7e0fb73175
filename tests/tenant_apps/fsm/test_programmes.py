"""Scheduled desludging: candidates, capacity, working days, declines, routes, notification, acceptance."""

import datetime
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from imis.tenant_apps.fsm import programmes
from imis.tenant_apps.fsm.models import Application, ProgrammeVisit, SmsMessage, Vehicle
from imis.tenant_apps.fsm.scheduling import Stop, Truck, plan_programme, working_days
from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.registry.models import Containment
from tests.tenant_apps.registry.factories import point, square

pytestmark = pytest.mark.django_db
SUNDAY = datetime.date(2026, 12, 6)


def test_working_days_follow_the_week_and_holidays():
    days = working_days(SUNDAY, SUNDAY + datetime.timedelta(days=13), weekdays=programmes.BANGLADESH_WORKWEEK,
                        holidays=[datetime.date(2026, 12, 16)])  # Victory Day
    assert len(days) == 9
    assert all(day.weekday() not in (4, 5) for day in days)  # no Friday or Saturday
    assert datetime.date(2026, 12, 16) not in days


def random_stops(count, seed=7, centre=(89.54, 22.84)):
    rng = random.Random(seed)
    return [Stop(key=n, lon=centre[0] + rng.uniform(-0.03, 0.03), lat=centre[1] + rng.uniform(-0.03, 0.03),
                 volume_m3=rng.choice([1.5, 2.0, 3.0, 4.5]),
                 due=datetime.date(2026, 1, 1) + datetime.timedelta(days=rng.randint(0, 600))) for n in range(count)]


def test_plan_respects_capacity_and_urgency_and_beats_the_greedy_plan():
    stops = random_stops(300)
    trucks = [Truck(key=1, capacity_m3=4, trips_per_day=3), Truck(key=2, capacity_m3=3, trips_per_day=3)]
    days = working_days(SUNDAY, SUNDAY + datetime.timedelta(days=20), weekdays=programmes.BANGLADESH_WORKWEEK,
                        holidays=[])
    plan = plan_programme(stops, trucks=trucks, depot=(89.54, 22.84), days=days, seconds_per_day=0.3)
    greedy = plan_programme(stops, trucks=trucks, depot=(89.54, 22.84), days=days, method="nearest")

    volumes = {s.key: s.volume_m3 for s in stops}
    capacity = {t.key: t.daily_capacity_m3 for t in trucks}
    loads = defaultdict(float)
    for route in plan.routes:
        assert route.date in days
        loads[(route.date, route.truck)] += sum(volumes[key] for key in route.stops)
    assert all(load <= capacity[truck] + 1e-9 for (_, truck), load in loads.items())
    planned = {key for route in plan.routes for key in route.stops}
    assert planned.isdisjoint(plan.unplanned) and len(planned) + len(plan.unplanned) == 300
    total_capacity = sum(capacity.values()) * len(days)
    assert sum(volumes[k] for k in planned) <= total_capacity
    due = {s.key: s.due for s in stops}
    if plan.unplanned:  # what waits is never more urgent than what was planned (but what the day routes dropped)
        assert min(due[k] for k in plan.unplanned) >= min(due[k] for k in planned)
    assert plan.length_m < greedy.length_m


def test_lumpy_volumes_are_spread_over_the_days_not_piled_on_the_last():
    """Three 4.8 m³ septic tanks among 1.7 m³ pits: with spare capacity every one of them gets a day."""
    stops = [Stop(key=n, lon=89.54 + 0.0004 * n, lat=22.8402, volume_m3=4.8) for n in range(3)]
    stops += [Stop(key=10 + n, lon=89.5392 + 0.00015 * n, lat=22.8396, volume_m3=1.7) for n in range(24)]
    trucks = [Truck(key=1, capacity_m3=4, trips_per_day=2), Truck(key=2, capacity_m3=2, trips_per_day=2)]
    days = [SUNDAY + datetime.timedelta(days=n) for n in range(9)]
    plan = plan_programme(stops, trucks=trucks, depot=(89.544, 22.8436), days=days, seconds_per_day=0.2)
    assert plan.unplanned == [] and plan.planned == 27
    big = Stop(key=99, lon=89.54, lat=22.84, volume_m3=9.0)  # more than any truck carries in a day: it waits
    assert plan_programme([big], trucks=trucks, depot=(89.544, 22.8436), days=days).unplanned == [99]


class Street:
    def __init__(self, site, count=12):
        self.site = site
        officer = site.user("gis_officer")
        self.containments = []
        for n in range(count):
            building = registry.building_create(by=officer, bin=f"B-P{n}", footprint=square(15 * n - 90, -60),
                                                households=2)
            self.containments.append(registry.containment_create(
                by=officer, building_ids=[building.pk], code=f"C-P{n}", type="lined_pit", diameter_m=Decimal("1.2"),
                depth_m=Decimal("1.5"), location=point(15 * n - 85, -45)))


def make_programme(site, **kwargs):
    start = timezone.localdate() + datetime.timedelta(days=1)
    defaults = dict(by=site.user("sanitation_officer"), name="Ward 1 December", start_date=start,
                    end_date=start + datetime.timedelta(days=13), treatment_plant=site.plant,
                    vehicles=[site.truck, site.small_truck], ward_ids=[site.containments[0].ward_id], trips_per_day=1)
    defaults.update(kwargs)
    return programmes.programme_create(**defaults)


def test_candidates_leave_out_recent_open_and_declined(site):
    street = Street(site)
    recent, open_one = street.containments[0], street.containments[1]
    Containment.objects.filter(pk=recent.pk).update(last_emptied_on=timezone.localdate() - datetime.timedelta(days=30))
    from imis.tenant_apps.fsm import services

    services.application_register(by=site.user("help_desk"), applicant_name="X", containment=open_one)
    programme = make_programme(site)
    candidates = set(programmes.programme_candidates(programme).values_list("code", flat=True))
    assert "C-P0" not in candidates and "C-P1" not in candidates and "C-P5" in candidates

    programmes.programme_plan(programme=programme, by=site.user("sanitation_officer"), seconds_per_day=0.2)
    declined = programme.visits.get(containment__code="C-P5")
    programmes.visit_decline(visit=declined, by=site.user("help_desk"), reason="Tank emptied privately")
    assert [v.containment.code for v in programmes.reintegration_list()] == ["C-P5"]
    second = make_programme(site, name="Ward 1 January")
    assert "C-P5" not in set(programmes.programme_candidates(second).values_list("code", flat=True))


def test_plan_writes_daily_routes_within_capacity(site):
    Street(site, count=14)
    programme = make_programme(site)
    plan = programmes.programme_plan(programme=programme, by=site.user("sanitation_officer"), seconds_per_day=0.2)
    programme.refresh_from_db()
    assert programme.status == "planned" and programme.summary["planned"] == plan.planned > 0
    by_day_vehicle = defaultdict(Decimal)
    for visit in programme.visits.select_related("vehicle"):
        assert visit.date.weekday() not in (4, 5)
        by_day_vehicle[(visit.date, visit.vehicle)] += visit.volume_m3
    for (_, vehicle), load in by_day_vehicle.items():
        assert load <= vehicle.capacity_m3 * programme.trips_per_day


def test_notify_sends_sms_and_accept_makes_a_scheduled_application(site):
    street = Street(site, count=3)
    owner_holding = registry.holding_create(by=None, holding_id="1-0009-00001", ward=street.containments[0].ward,
                                            owners=[{"name": "Salma Khatun", "phone": "01812345678"}])
    building = street.containments[0].buildings.get()
    registry.building_update(building=building, by=None, holding=owner_holding)
    programme = make_programme(site, vehicles=[site.truck])
    programmes.programme_plan(programme=programme, by=site.user("sanitation_officer"), seconds_per_day=0.2)
    assert programmes.programme_notify(programme=programme, by=site.user("sanitation_officer")) == 1
    message = SmsMessage.objects.get()
    assert message.to == "+8801812345678" and "C-P0" in message.body

    visit = programme.visits.get(containment=street.containments[0])
    assert visit.status == "notified"
    application = programmes.visit_accept(visit=visit, by=site.user("help_desk"))
    assert application.channel == Application.Channel.SCHEDULED and application.status == "scheduled"
    assert application.applicant_name == "Salma Khatun" and application.vehicle == site.truck
    with pytest.raises(Exception, match="already answered"):
        programmes.visit_decline(visit=visit, by=site.user("help_desk"))


def test_unavailable_vehicles_are_not_planned(site):
    Street(site, count=4)
    Vehicle.objects.filter(pk=site.small_truck.pk).update(status="maintenance")
    programme = make_programme(site)
    programmes.programme_plan(programme=programme, by=site.user("sanitation_officer"), seconds_per_day=0.2)
    assert set(programme.visits.values_list("vehicle_id", flat=True)) == {site.truck.pk}
    assert ProgrammeVisit.objects.filter(vehicle=site.small_truck).count() == 0
