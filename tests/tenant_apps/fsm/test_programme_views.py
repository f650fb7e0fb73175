"""Desludging programme screens: who may do what, creating with per-field errors and nothing half-written, the plan
as a Celery job through a real worker, routes and their map, notifying, households accepting and declining, the
reintegration list, CSV export and isolation between municipalities."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import time

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.fsm import programmes
from imis.tenant_apps.fsm.models import Application, DesludgingProgramme, ProgrammeVisit, SmsMessage, Vehicle
from imis.tenant_apps.fsm.tasks import programme_job_task
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.jobs.services import job_create
from imis.tenant_apps.registry import services as registry

from .conftest import Site
from .test_programmes import Street

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def client_as(world, tenant_client, role, slug="khulna"):
    return tenant_client(getattr(world, slug), world.user(role, slug))


def html(response) -> str:
    return response.content.decode()


def field_error(response, field_id: str) -> str:
    """The error crispy shows under the field with this id (<div id="error_1_id_x">), or on a checkbox group."""
    text = html(response)
    match = re.search(rf'id="error_\d+_{re.escape(field_id)}"[^>]*>\s*<strong>(.*?)</strong>', text, re.S)
    assert match, f"no error beside #{field_id}"
    return match.group(1).strip()


def form_data(site, **overrides) -> dict:
    start = TODAY() + datetime.timedelta(days=1)
    data = {"name": "Ward 1, December", "wards": [str(site.containments[0].ward_id)],
            "start_date": start.isoformat(), "end_date": (start + datetime.timedelta(days=13)).isoformat(),
            "treatment_plant": str(site.plant.pk), "vehicles": [str(site.truck.pk), str(site.small_truck.pk)],
            "trips_per_day": "2", "working_weekdays": ["6", "0", "1", "2", "3"], "holidays": "", "area": ""}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def make_programme(site, **kwargs):
    start = TODAY() + datetime.timedelta(days=1)
    defaults = dict(by=site.user("sanitation_officer"), name="Ward 1 December", start_date=start,
                    end_date=start + datetime.timedelta(days=13), treatment_plant=site.plant,
                    vehicles=[site.truck, site.small_truck], ward_ids=[site.containments[0].ward_id], trips_per_day=2)
    defaults.update(kwargs)
    return programmes.programme_create(**defaults)


def run_plan(site, programme, action="plan", role="sanitation_officer"):
    """The Celery task itself, in this thread (the worker test below runs it through Redis)."""
    job = job_create(kind="fsm.programme", title="t", params={"programme": programme.pk, "action": action})
    programme_job_task(str(job.pk), action, programme.pk, site.user(role).pk)
    return Job.objects.get(pk=job.pk)


@pytest.fixture
def fast_plans(settings):
    settings.IMIS_FSM_PLAN_SECONDS_PER_DAY = 0.1


@pytest.fixture
def planned(site, fast_plans):
    """Site's three households plus a street of twelve, planned over two weeks."""
    with tenant_context(site.world.khulna):
        Street(site)
        programme = make_programme(site)
        job = run_plan(site, programme)
        assert job.status == "succeeded", job.error
        programme.refresh_from_db()
    return programme


# --- who may do what ----------------------------------------------------------------------------------

PAGES = [
    ("/fsm/programmes/", ["sanitation_officer", "help_desk", "municipal_admin"],
     ["viewer", "service_provider", "plant_operator", "tax_officer"]),
    ("/fsm/programmes/new/", ["sanitation_officer", "municipal_admin"], ["help_desk", "viewer", "service_provider"]),
    ("/fsm/programmes/reintegration/", ["sanitation_officer", "help_desk"], ["viewer", "plant_operator"]),
]


@pytest.mark.parametrize(("url", "allowed", "forbidden"), PAGES)
def test_programme_pages_open_for_planning_and_help_desk_roles_only(site, world, tenant_client, url, allowed,
                                                                    forbidden):
    for role in allowed:
        assert client_as(world, tenant_client, role).get(url).status_code == 200, (role, url)
    for role in forbidden:
        assert client_as(world, tenant_client, role).get(url).status_code == 403, (role, url)
    assert tenant_client(world.khulna).get(url).status_code == 302  # anonymous: to the login page


def test_each_programme_page_and_action_checks_the_role(planned, site, world, tenant_client):
    pk = planned.pk
    with tenant_context(world.khulna):
        visit = planned.visits.first()
        vehicle_day = f"?vehicle={visit.vehicle_id}&date={visit.date.isoformat()}"
    reads = [f"/fsm/programmes/{pk}/", f"/fsm/programmes/{pk}/candidates/", f"/fsm/programmes/{pk}/households/",
             f"/fsm/programmes/{pk}/route/{vehicle_day}", f"/fsm/programmes/{pk}/export.csv"]
    for role in ("sanitation_officer", "help_desk"):
        for url in reads:
            assert client_as(world, tenant_client, role).get(url).status_code == 200, (role, url)
    for role in ("viewer", "service_provider", "plant_operator"):
        for url in reads:
            assert client_as(world, tenant_client, role).get(url).status_code == 403, (role, url)
    help_desk = client_as(world, tenant_client, "help_desk")
    for url in (f"/fsm/programmes/{pk}/plan/", f"/fsm/programmes/{pk}/notify/"):
        assert help_desk.post(url).status_code == 403  # the help desk answers; it does not plan
    provider = client_as(world, tenant_client, "service_provider")
    for action in ("accept", "decline"):
        assert provider.post(f"/fsm/programmes/{pk}/visits/{visit.pk}/{action}/").status_code == 403
    with tenant_context(world.khulna):
        assert Job.objects.filter(kind="fsm.programme").count() == 1  # only the fixture's plan
        assert ProgrammeVisit.objects.filter(status__in=("accepted", "declined")).count() == 0


# --- creating -----------------------------------------------------------------------------------------

def test_officer_creates_a_programme_and_sees_its_candidates_per_ward(site, world, tenant_client):
    with tenant_context(world.khulna):
        Street(site, count=4)
        recent = site.containments[0]
        recent.last_emptied_on = TODAY() - datetime.timedelta(days=20)
        recent.save(update_fields=["last_emptied_on"])
    client = client_as(world, tenant_client, "sanitation_officer")
    assert 'name="working_weekdays" value="6"' in html(client.get("/fsm/programmes/new/"))
    response = client.post("/fsm/programmes/new/", form_data(site, holidays="2099-01-01\n"))
    assert response.status_code == 200  # the holiday is outside the period
    assert "outside the programme" in field_error(response, "id_holidays")
    holiday = TODAY() + datetime.timedelta(days=3)
    response = client.post("/fsm/programmes/new/", form_data(site, holidays=holiday.strftime("%d/%m/%Y")))
    assert response.status_code == 302
    with tenant_context(world.khulna):
        programme = DesludgingProgramme.objects.get()
        assert response["Location"] == f"/fsm/programmes/{programme.pk}/"
        assert programme.status == "draft" and programme.trips_per_day == 2
        assert programme.holidays == [holiday.isoformat()] and programme.working_weekdays == [0, 1, 2, 3, 6]
        assert set(programme.vehicles.all()) == {site.truck, site.small_truck}
        entry = AuditEntry.objects.get(model="fsm.desludgingprogramme", object_id=str(programme.pk))
        assert entry.action == "create" and entry.actor_label == "sanitation_officer@khulna.test"
    page = html(client.get(response["Location"]))
    # 3 site households + 4 on the street, minus the one emptied 20 days ago
    assert re.search(r'data-count="candidates">\s*6\s*<', page)
    assert "No route planned yet" in page
    candidates = html(client.get(f"/fsm/programmes/{programme.pk}/candidates/"))
    assert "C-1" in candidates and "C-P3" in candidates and ">C-0<" not in candidates


def test_help_desk_cannot_create_a_programme(site, world, tenant_client):
    response = client_as(world, tenant_client, "help_desk").post("/fsm/programmes/new/", form_data(site))
    assert response.status_code == 403
    with tenant_context(world.khulna):
        assert DesludgingProgramme.objects.count() == 0


def _days(n: int) -> str:
    return (TODAY() + datetime.timedelta(days=n)).isoformat()


BAD_INPUT = [
    ({"name": ""}, "id_name", "Give the programme a name"),
    ({"start_date": _days(-2)}, "id_start_date", "cannot start in the past"),
    ({"end_date": _days(0)}, "id_end_date", "ends before it starts"),
    ({"end_date": _days(200)}, "id_end_date", "at most 92 days"),
    ({"wards": None, "area": ""}, "id_wards", "Choose wards or draw an area"),
    ({"vehicles": None}, "id_vehicles", "Choose at least one vehicle"),
    ({"trips_per_day": "0"}, "id_trips_per_day", "greater than or equal to 1"),
    ({"working_weekdays": None}, "id_working_weekdays", "days of the week the crews work"),
    ({"working_weekdays": ["4"], "end_date": _days(1)}, "id_end_date", "no working day"),
    ({"holidays": "16 Smarch"}, "id_holidays", "is not a date"),
    ({"area": "POLYGON((0 0, 1 1, 1 0"}, "id_area", "neither GeoJSON nor WKT"),
    ({"area": "POINT(89.5 22.8)"}, "id_area", "one polygon"),
]


@pytest.mark.parametrize(("changes", "field_id", "message"), BAD_INPUT)
def test_bad_input_is_shown_beside_its_field_and_writes_nothing(site, world, tenant_client, changes, field_id,
                                                                message):
    if changes.get("working_weekdays") == ["4"]:  # a Friday-only week with no Friday in the period
        start = TODAY() + datetime.timedelta(days=1)
        while start.weekday() == 4 or (start + datetime.timedelta(days=1)).weekday() == 4:
            start += datetime.timedelta(days=1)
        changes = {**changes, "start_date": start.isoformat(),
                   "end_date": (start + datetime.timedelta(days=1)).isoformat()}
    with tenant_context(world.khulna):
        audits = AuditEntry.objects.count()
    response = client_as(world, tenant_client, "sanitation_officer").post("/fsm/programmes/new/",
                                                                          form_data(site, **changes))
    assert response.status_code == 200
    assert message in field_error(response, field_id)
    assert "Nothing was saved" in html(response)
    with tenant_context(world.khulna):
        assert DesludgingProgramme.objects.count() == 0 and AuditEntry.objects.count() == audits


def test_a_retired_vehicle_is_refused_by_the_service(site, world):
    with tenant_context(world.khulna):
        Vehicle.objects.filter(pk=site.small_truck.pk).update(status="retired")
        site.small_truck.refresh_from_db()
        with pytest.raises(Exception, match="Retired: KHULNA-TA-11-0002"):
            make_programme(site)
        assert DesludgingProgramme.objects.count() == 0


def test_an_area_alone_picks_the_containments_inside_it(site, world, tenant_client):
    with tenant_context(world.khulna):
        inside = site.containments[0].location
    square = {"type": "Polygon", "coordinates": [[[inside.x - 0.0001, inside.y - 0.0001],
                                                  [inside.x + 0.0001, inside.y - 0.0001],
                                                  [inside.x + 0.0001, inside.y + 0.0001],
                                                  [inside.x - 0.0001, inside.y + 0.0001],
                                                  [inside.x - 0.0001, inside.y - 0.0001]]]}
    client = client_as(world, tenant_client, "sanitation_officer")
    response = client.post("/fsm/programmes/new/", form_data(site, wards=None, area=json.dumps(square)))
    assert response.status_code == 302
    with tenant_context(world.khulna):
        programme = DesludgingProgramme.objects.get()
        assert programme.area is not None and programme.wards.count() == 0
        assert list(programmes.programme_candidates(programme).values_list("code", flat=True)) == ["C-0"]


# --- the plan as a job ----------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_plan_job_runs_through_the_worker_to_a_plan(tworld, tenant_client, settings):
    from celery.contrib.testing.worker import start_worker

    from imis import celery_app

    settings.IMIS_FSM_PLAN_SECONDS_PER_DAY = 0.1
    with tenant_context(tworld.khulna):
        site = Site(tworld)
        Street(site)
        programme = make_programme(site)
    client = client_as(tworld, tenant_client, "sanitation_officer")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]):
        response = client.post(f"/fsm/programmes/{programme.pk}/plan/", {"nonce": "n1"})
        assert response.status_code == 302
        with tenant_context(tworld.khulna):
            job = Job.objects.get(kind="fsm.programme")
            assert job.params == {"programme": programme.pk, "action": "plan"}
            deadline = time.monotonic() + 90
            while not Job.objects.get(pk=job.pk).is_done and time.monotonic() < deadline:
                time.sleep(0.2)
            job.refresh_from_db()
        assert job.status == "succeeded", job.error
    assert client.post(f"/fsm/programmes/{programme.pk}/plan/", {"nonce": "n1"}).status_code == 302  # resent
    progress = client.get(f"/fsm/programmes/{programme.pk}/progress/", HTTP_HX_REQUEST="true")
    assert progress.status_code == 204 and progress["HX-Redirect"] == f"/fsm/programmes/{programme.pk}/"
    with tenant_context(tworld.khulna):
        assert Job.objects.filter(kind="fsm.programme").count() == 1  # the same form sent twice runs once
        programme.refresh_from_db()
        assert programme.status == "planned" and programme.summary["planned"] == job.result["planned"] == 15
        assert programme.visits.count() == 15
        assert AuditEntry.objects.filter(model="fsm.desludgingprogramme", action="update").count() == 1
    page = html(client.get(f"/fsm/programmes/{programme.pk}/"))
    assert "KHULNA-TA-11-0001" in page and "Plan the routes again" in page and "Notify households" in page


def test_a_running_job_shows_a_progress_bar_that_polls(planned, site, world, tenant_client):
    with tenant_context(world.khulna):
        job = job_create(kind="fsm.programme", title="Plan routes: again", by=site.user("sanitation_officer"),
                         params={"programme": planned.pk, "action": "plan"})
    client = client_as(world, tenant_client, "sanitation_officer")
    page = html(client.get(f"/fsm/programmes/{planned.pk}/"))
    assert f'hx-get="/fsm/programmes/{planned.pk}/progress/"' in page and "<progress" in page
    assert "Plan the routes again" not in page  # one job at a time
    partial = client.get(f"/fsm/programmes/{planned.pk}/progress/", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and 'data-job-status="pending"' in html(partial)
    assert client.post(f"/fsm/programmes/{planned.pk}/plan/").status_code == 302
    with tenant_context(world.khulna):
        assert Job.objects.filter(kind="fsm.programme").count() == 2  # the fixture's and this one: no third
        Job.objects.filter(pk=job.pk).update(status="failed", error="None of the programme's vehicles is available.")
    page = html(client.get(f"/fsm/programmes/{planned.pk}/"))
    assert "None of the programme&#x27;s vehicles is available." in page


def test_a_plan_that_cannot_run_fails_the_job_with_the_reason(site, world, fast_plans):
    with tenant_context(world.khulna):
        programme = make_programme(site)
        Vehicle.objects.update(status="maintenance")
        job = run_plan(site, programme)
        assert job.status == "failed" and "None of the programme's vehicles is available." in job.error
        assert ProgrammeVisit.objects.count() == 0


def test_the_plan_page_shows_each_vehicle_day_by_day(planned, site, world, tenant_client,
                                                     django_assert_max_num_queries):
    client = client_as(world, tenant_client, "sanitation_officer")
    # ~10 for the platform (tenant, session, user, memberships, features, session save) and ~11 for the page:
    # programme + wards + vehicles, candidates and visits per ward, the last job, the routes in one query.
    with django_assert_max_num_queries(22):
        page = html(client.get(f"/fsm/programmes/{planned.pk}/"))
    with tenant_context(world.khulna):
        routes = programmes.programme_routes(planned)
        assert sum(group["stops"] for group in routes) == 15
        for group in routes:
            for day in group["days"]:
                assert day["volume"] <= group["capacity"] and day["date"].weekday() not in (4, 5)
                assert f'data-route-day="{day["date"].isoformat()}"' in page
        total_km = sum(group["km"] for group in routes)
        assert abs(total_km - planned.summary["route_length_km"]) <= 0.1 * len(routes) + 0.1
    assert "KHULNA-TA-11-0001" in page and "m³ a day" in page


def test_a_route_page_lists_the_stops_in_order_with_a_map(planned, site, world, tenant_client):
    with tenant_context(world.khulna):
        visit = planned.visits.order_by("date", "vehicle", "sequence").first()
        stops = list(planned.visits.filter(vehicle=visit.vehicle, date=visit.date).order_by("sequence")
                     .values_list("containment__code", flat=True))
    client = client_as(world, tenant_client, "help_desk")
    response = client.get(f"/fsm/programmes/{planned.pk}/route/?vehicle={visit.vehicle_id}&date={visit.date}")
    page = html(response)
    assert re.findall(r'data-stop="([^"]+)"', page) == stops
    data = json.loads(re.search(r'<script id="minimap-data" type="application/json">(.*?)</script>', page,
                                re.S).group(1))
    roles = [f["properties"]["role"] for f in data["features"]]
    assert roles.count("containment") == len(stops) and roles.count("road") == 1 and roles.count("subject") == 1
    line = next(f for f in data["features"] if f["properties"]["role"] == "road")["geometry"]["coordinates"]
    assert line[0] == line[-1] and len(line) == len(stops) + 2  # from the plant, every stop, back to the plant
    assert "src/minimap" in page or "minimap" in page
    for bad in ("?vehicle=x&date=2026-01-01", f"?vehicle={visit.vehicle_id}&date=soon",
                f"?vehicle={visit.vehicle_id}&date=1999-01-01", ""):
        assert client.get(f"/fsm/programmes/{planned.pk}/route/{bad}").status_code == 404


def test_the_plan_exports_as_csv(planned, world, tenant_client):
    response = client_as(world, tenant_client, "sanitation_officer").get(f"/fsm/programmes/{planned.pk}/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["Date", "Vehicle", "Stop", "Containment"]
    assert len(rows) == 16
    assert {row[3] for row in rows[1:]} == {"C-0", "C-1", "C-2"} | {f"C-P{n}" for n in range(12)}
    assert any(row[5] == "1-0001-00001" for row in rows[1:])  # the holding ID of the household
    with tenant_context(world.khulna):
        first = planned.visits.order_by("date", "vehicle__registration", "sequence").first()
    assert rows[1][0] == first.date.isoformat() and rows[1][2] == str(first.sequence)


# --- notifying and answering ----------------------------------------------------------------------------

def test_notify_runs_as_a_job_records_each_sms_and_freezes_the_plan(planned, site, world, tenant_client):
    client = client_as(world, tenant_client, "sanitation_officer")
    with tenant_context(world.khulna):
        owner = registry.holding_create(by=None, holding_id="1-0009-00001", ward=site.containments[0].ward,
                                        owners=[{"name": "Salma Khatun", "phone": "01812345678"}])
        registry.building_update(building=site.buildings[0], by=None, holding=owner)
        job = run_plan(site, planned, action="notify")
        assert job.status == "succeeded" and job.result["sent"] == 1
        message = SmsMessage.objects.get()
        assert message.to == "+8801812345678" and "C-0" in message.body and message.status == "sent"
        planned.refresh_from_db()
        assert planned.status == "notified"
        assert planned.visits.get(containment=site.containments[0]).status == "notified"
        entry = AuditEntry.objects.filter(model="fsm.desludgingprogramme").latest("pk")
        assert entry.after["sms_sent"] == 1 and entry.after["without_phone"] == 14
        visits = planned.visits.count()
    page = html(client.get(f"/fsm/programmes/{planned.pk}/"))
    assert "Plan the routes again" not in page
    response = client.post(f"/fsm/programmes/{planned.pk}/plan/", follow=True)
    assert "can no longer change" in html(response)
    with tenant_context(world.khulna):
        assert planned.visits.count() == visits and Job.objects.filter(kind="fsm.programme").count() == 2


def test_accepting_makes_a_scheduled_application_with_the_programme_channel(planned, site, world, tenant_client):
    with tenant_context(world.khulna):
        visit = planned.visits.get(containment=site.containments[1])
    client = client_as(world, tenant_client, "help_desk")
    households = html(client.get(f"/fsm/programmes/{planned.pk}/households/"))
    assert 'data-visit="C-1"' in households
    response = client.post(f"/fsm/programmes/{planned.pk}/visits/{visit.pk}/accept/",
                           {"back": "show=unanswered"})
    assert response.status_code == 302
    assert response["Location"] == f"/fsm/programmes/{planned.pk}/households/?show=unanswered"
    with tenant_context(world.khulna):
        visit.refresh_from_db()
        application = visit.application
        assert visit.status == "accepted" and application.channel == Application.Channel.SCHEDULED
        assert application.status == "scheduled" and application.vehicle_id == visit.vehicle_id
        assert application.scheduled_date == visit.date and application.containment == site.containments[1]
        assert application.holding == site.holdings[1] and application.is_confirmed_with_customer
        assert AuditEntry.objects.filter(model="fsm.programmevisit", object_id=str(visit.pk)).exists()
        assert application.events.count() == 3  # received, approved, scheduled: each with its audit entry
    accepted = html(client.get(f"/fsm/programmes/{planned.pk}/households/?show=accepted"))
    assert application.number in accepted
    again = client.post(f"/fsm/programmes/{planned.pk}/visits/{visit.pk}/accept/")
    assert "already answered" in html(again)


def test_once_a_household_accepted_the_plan_is_not_replanned(planned, site, world, tenant_client):
    with tenant_context(world.khulna):
        visit = planned.visits.get(containment=site.containments[0])
        programmes.visit_accept(visit=visit, by=site.user("help_desk"))
        before = sorted(planned.visits.values_list("pk", "date", "vehicle_id", "sequence"))
    client = client_as(world, tenant_client, "sanitation_officer")
    assert "Plan the routes again" not in html(client.get(f"/fsm/programmes/{planned.pk}/"))
    response = client.post(f"/fsm/programmes/{planned.pk}/plan/", follow=True)
    assert "Households have accepted their day" in html(response)
    with tenant_context(world.khulna):
        job = run_plan(site, planned)  # the service refuses too, whoever calls it
        assert job.status == "failed" and "accepted their day" in job.error
        assert sorted(planned.visits.values_list("pk", "date", "vehicle_id", "sequence")) == before


def test_the_households_page_costs_the_same_queries_whatever_its_length(planned, site, world, tenant_client,
                                                                        django_assert_max_num_queries):
    client = client_as(world, tenant_client, "help_desk")
    with django_assert_max_num_queries(18):
        page = html(client.get(f"/fsm/programmes/{planned.pk}/households/?show=all"))
    assert page.count("data-visit=") == 15
    with django_assert_max_num_queries(18):
        client.get(f"/fsm/programmes/{planned.pk}/candidates/")
    with django_assert_max_num_queries(18):
        client.get("/fsm/programmes/")


def test_an_acceptance_that_cannot_be_scheduled_writes_nothing(planned, site, world, tenant_client):
    with tenant_context(world.khulna):
        visit = planned.visits.filter(vehicle=site.truck).first()
        Vehicle.objects.filter(pk=site.truck.pk).update(fitness_valid_until=TODAY())
        applications, audits = Application.objects.count(), AuditEntry.objects.count()
    response = client_as(world, tenant_client, "help_desk").post(
        f"/fsm/programmes/{planned.pk}/visits/{visit.pk}/accept/")
    assert response.status_code == 200
    error = re.search(r"data-row-error>(.*?)</div>", html(response), re.S).group(1)
    assert "fitness certificate expires" in error and "Nothing was saved" in html(response)
    with tenant_context(world.khulna):
        visit.refresh_from_db()
        assert visit.status == "planned" and visit.application is None
        assert Application.objects.count() == applications and AuditEntry.objects.count() == audits


def test_declining_moves_the_household_to_the_reintegration_list(planned, site, world, tenant_client):
    with tenant_context(world.khulna):
        visit = planned.visits.get(containment=site.containments[2])
    client = client_as(world, tenant_client, "help_desk")
    assert "Nobody declined" in html(client.get("/fsm/programmes/reintegration/"))
    response = client.post(f"/fsm/programmes/{planned.pk}/visits/{visit.pk}/decline/",
                           {f"d{visit.pk}-reason": "Emptied privately last month"})
    assert response.status_code == 302
    page = html(client.get("/fsm/programmes/reintegration/"))
    assert 'data-declined="C-2"' in page and "Emptied privately last month" in page and "1-0001-00003" in page
    with tenant_context(world.khulna):
        visit.refresh_from_db()
        assert visit.status == "declined" and Application.objects.count() == 0
        entry = AuditEntry.objects.get(model="fsm.programmevisit", object_id=str(visit.pk))
        assert entry.after == {"status": "declined", "reason": "Emptied privately last month"}
        later = make_programme(site, name="Ward 1, next quarter")
        assert site.containments[2] not in programmes.programme_candidates(later)
    too_long = client.post(f"/fsm/programmes/{planned.pk}/visits/{visit.pk}/decline/",
                           {f"d{visit.pk}-reason": "x" * 301})
    assert "at most 300 characters" in html(too_long)


# --- isolation ------------------------------------------------------------------------------------------

def test_another_municipalitys_programme_is_not_found(planned, site, world, tenant_client):
    with tenant_context(world.khulna):
        visit = planned.visits.first()
    jhenaidah = client_as(world, tenant_client, "sanitation_officer", "jhenaidah")
    with tenant_context(world.jhenaidah):
        assert not DesludgingProgramme.objects.filter(pk=planned.pk).exists()
    pk = planned.pk
    for url in (f"/fsm/programmes/{pk}/", f"/fsm/programmes/{pk}/candidates/", f"/fsm/programmes/{pk}/households/",
                f"/fsm/programmes/{pk}/route/?vehicle={visit.vehicle_id}&date={visit.date}",
                f"/fsm/programmes/{pk}/export.csv"):
        response = jhenaidah.get(url)
        assert response.status_code == 404, url
    for url in (f"/fsm/programmes/{pk}/plan/", f"/fsm/programmes/{pk}/notify/",
                f"/fsm/programmes/{pk}/visits/{visit.pk}/accept/", f"/fsm/programmes/{pk}/visits/{visit.pk}/decline/"):
        assert jhenaidah.post(url).status_code == 404, url
    # a Khulna member from Jhenaidah's host, and Jhenaidah's member on Khulna's host: refused
    khulna_from_jhenaidah = tenant_client(world.khulna, world.user("sanitation_officer", "jhenaidah"))
    assert khulna_from_jhenaidah.get(f"/fsm/programmes/{pk}/").status_code in (403, 404)
    with tenant_context(world.khulna):
        assert ProgrammeVisit.objects.filter(status__in=("accepted", "declined")).count() == 0
        assert Job.objects.filter(kind="fsm.programme").count() == 1


def test_a_visit_of_another_programme_is_not_found(planned, site, world, tenant_client):
    with tenant_context(world.khulna):
        other = make_programme(site, name="Other", ward_ids=[site.containments[0].ward_id])
        visit = planned.visits.first()
    client = client_as(world, tenant_client, "help_desk")
    assert client.post(f"/fsm/programmes/{other.pk}/visits/{visit.pk}/accept/").status_code == 404
    assert client.post(f"/fsm/programmes/{other.pk}/visits/{visit.pk}/decline/").status_code == 404
    with tenant_context(world.khulna):
        visit.refresh_from_db()
        assert visit.status == "planned"
