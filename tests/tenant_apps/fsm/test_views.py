"""FSM staff screens: who may open what, the inbox per role, registering, each transition's form and its error path,
work orders, the plant gate, set-up lists, query bounds and tenant isolation."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.fsm import services
from imis.tenant_apps.fsm.models import (
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

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate

# The inbox and the list cost the same queries whatever their length: about 7 for the platform (tenant, session,
# user, memberships, features), the feature settings, one count per tab, the headline aggregate, the page's rows
# (with their overdue EXISTS) and the table's count. Measured: officer's inbox 15 (five tabs), help desk 12,
# provider 11, the list 10, work orders 11 — at 10 and at 100 rows alike.
PAGE_QUERY_BOUND = 16


# --- helpers ------------------------------------------------------------------------------------------

def register(site, n=0, **kwargs):
    return services.application_register(by=site.user("help_desk"), applicant_name="Rahima Begum",
                                         applicant_phone="01712345678", holding=site.holdings[n], **kwargs)


def approved(site, n=0, **kwargs):
    return services.application_approve(application=register(site, n, **kwargs), by=site.user("sanitation_officer"))


def scheduled(site, n=0, vehicle=None, **kwargs):
    return services.application_schedule(application=approved(site, n, **kwargs), by=site.user("sanitation_officer"),
                                         provider=site.provider, vehicle=vehicle or site.truck, date=TODAY(),
                                         slot="morning", crew=[site.driver, site.emptier])


def emptied(site, n=0, volume="3.5", **kwargs):
    return services.application_record_emptying(application=scheduled(site, n, **kwargs),
                                                by=site.user("service_provider"), emptied_on=TODAY(),
                                                volume_m3=volume, trips=1, is_ppe_worn=True)


def disposed(site, n=0, **kwargs):
    application = emptied(site, n, **kwargs)
    services.disposal_record(by=site.user("plant_operator"), treatment_plant=site.plant, vehicle=site.truck,
                             arrived_at=timezone.localtime(), volume_received_m3="3.4", applications=[application])
    return Application.objects.get(pk=application.pk)


def client_as(world, tenant_client, role, slug="khulna"):
    return tenant_client(getattr(world, slug), world.user(role, slug))


def html(response) -> str:
    return response.content.decode()


def field_error(response, field_id: str) -> str:
    """The error text Bootstrap shows under the field with this id (crispy: <div id="error_1_id_x">)."""
    text = html(response)
    match = re.search(rf'id="error_\d+_{re.escape(field_id)}"[^>]*>\s*<strong>(.*?)</strong>', text, re.S)
    assert match, f"no error beside #{field_id}"
    return match.group(1).strip()


# --- who may open what --------------------------------------------------------------------------------

PAGES = [
    ("/fsm/", ["viewer", "help_desk", "sanitation_officer", "service_provider", "plant_operator"], ["tax_officer",
                                                                                                   "gis_officer"]),
    ("/fsm/applications/", ["viewer", "help_desk", "executive"], ["tax_officer", "water_officer"]),
    ("/fsm/applications/new/", ["help_desk", "sanitation_officer"], ["viewer", "service_provider", "plant_operator"]),
    ("/fsm/work-orders/", ["service_provider", "sanitation_officer"], ["help_desk", "plant_operator", "viewer"]),
    ("/fsm/plant/", ["plant_operator", "sanitation_officer"], ["help_desk", "service_provider", "viewer"]),
    ("/fsm/plant/effluent-tests/", ["plant_operator"], ["help_desk", "service_provider"]),
    ("/fsm/setup/providers/", ["sanitation_officer"], ["help_desk", "service_provider", "plant_operator"]),
    ("/fsm/setup/price-slabs/new/", ["sanitation_officer"], ["help_desk", "viewer"]),
    ("/fsm/reports/", ["executive", "sanitation_officer", "plant_operator"], ["service_provider", "tax_officer"]),
    ("/fsm/reports/monthly/", ["executive", "viewer"], ["service_provider", "gis_officer"]),
]


@pytest.mark.parametrize(("url", "allowed", "forbidden"), PAGES)
def test_each_page_opens_for_its_roles_only(site, world, tenant_client, url, allowed, forbidden):
    for role in allowed:
        response = client_as(world, tenant_client, role).get(url)
        assert response.status_code == 200, (role, url)
    for role in forbidden:
        response = client_as(world, tenant_client, role).get(url)
        assert response.status_code == 403, (role, url)
    assert tenant_client(world.khulna).get(url).status_code == 302  # anonymous: to the login page


def test_application_page_roles_and_provider_scope(site, world, tenant_client):
    with tenant_context(world.khulna):
        mine = scheduled(site, 0)
        theirs = register(site, 1)
    url = f"/fsm/applications/{mine.pk}/"
    for role in ("viewer", "help_desk", "plant_operator", "sanitation_officer", "service_provider"):
        assert client_as(world, tenant_client, role).get(url).status_code == 200, role
    assert client_as(world, tenant_client, "tax_officer").get(url).status_code == 403
    # a provider's people see their own work orders, not every resident's application
    provider = client_as(world, tenant_client, "service_provider")
    assert provider.get(f"/fsm/applications/{theirs.pk}/").status_code == 404
    listed = html(provider.get(f"/fsm/applications/?q={theirs.number[:8]}"))
    assert f'data-application="{mine.number}"' in listed and f'data-application="{theirs.number}"' not in listed


def test_a_khulna_application_is_404_on_jhenaidah(site, world, tenant_client):
    with tenant_context(world.khulna):
        application = register(site)
    url = f"/fsm/applications/{application.pk}/"
    assert client_as(world, tenant_client, "help_desk").get(url).status_code == 200
    assert client_as(world, tenant_client, "help_desk", "jhenaidah").get(url).status_code == 404
    response = client_as(world, tenant_client, "sanitation_officer", "jhenaidah").post(
        f"{url}approve/", {"approve-note": "x"})
    assert response.status_code == 404
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=application.pk).status == "received"


def test_fsm_pages_are_404_where_the_feature_is_off(site, world, tenant_client):
    world.khulna.features.filter(feature_id="fsm").update(is_enabled=False)
    assert client_as(world, tenant_client, "sanitation_officer").get("/fsm/").status_code == 404
    assert client_as(world, tenant_client, "sanitation_officer").get("/fsm/reports/services/").status_code == 404


# --- the inbox ----------------------------------------------------------------------------------------

def tab_counts(response) -> dict[str, int]:
    return {name: int(count) for name, count in re.findall(
        r'data-tab="(\w+)">.*?data-count="(\d+)"', html(response), re.S)}


def test_help_desk_inbox_new_and_awaiting_feedback(site, world, tenant_client):
    with tenant_context(world.khulna):
        first = register(site, 0)
        urgent = register(site, 1, is_emergency=True)
        done = disposed(site, 2)
    client = client_as(world, tenant_client, "help_desk")
    response = client.get("/fsm/")
    assert tab_counts(response) == {"new": 2, "awaiting_feedback": 1}
    rows = re.findall(r'data-application="([^"]+)"', html(response))
    assert rows == [urgent.number, first.number]  # emergency first
    assert "New application" in html(response)
    response = client.get("/fsm/?tab=awaiting_feedback")
    assert re.findall(r'data-application="([^"]+)"', html(response)) == [done.number]


def test_officer_inbox_highlights_overdue_and_not_disposed(site, world, tenant_client):
    with tenant_context(world.khulna):
        late = register(site, 0)
        Application.objects.filter(pk=late.pk).update(received_at=timezone.now() - datetime.timedelta(hours=30))
        fresh = register(site, 1)
        dumped = emptied(site, 2)
        Application.objects.filter(pk=dumped.pk).update(emptied_at=timezone.now() - datetime.timedelta(hours=30))
    client = client_as(world, tenant_client, "sanitation_officer")
    response = client.get("/fsm/")
    counts = tab_counts(response)
    assert counts == {"to_approve": 2, "to_schedule": 0, "overdue": 2, "not_disposed": 1, "awaiting_feedback": 0}
    page = html(response)
    assert re.search(rf'<tr[^>]*class="table-warning[^"]*"[^>]*data-application="{late.number}"', page)
    assert not re.search(rf'<tr[^>]*class="table-warning[^"]*"[^>]*data-application="{fresh.number}"', page)
    assert "New application" in page  # officers register too
    response = client.get("/fsm/?tab=not_disposed")
    assert re.findall(r'data-application="([^"]+)"', html(response)) == [dumped.number]


def test_provider_and_plant_operator_inboxes(site, world, tenant_client):
    with tenant_context(world.khulna):
        order = scheduled(site, 0)
        other = approved(site, 1)
        other = services.application_schedule(application=other, by=site.user("sanitation_officer"),
                                              provider=site.other_provider, vehicle=site.other_truck, date=TODAY(),
                                              slot="afternoon")
        load = emptied(site, 2, vehicle=site.small_truck, volume="1.5")
    provider = client_as(world, tenant_client, "service_provider").get("/fsm/")
    assert tab_counts(provider) == {"work_orders": 1}
    assert re.findall(r'data-application="([^"]+)"', html(provider)) == [order.number]
    assert "New application" not in html(provider)
    plant = client_as(world, tenant_client, "plant_operator").get("/fsm/")
    assert tab_counts(plant) == {"expected_at_plant": 1}
    assert re.findall(r'data-application="([^"]+)"', html(plant)) == [load.number]
    assert other.number not in html(plant)


# --- registering --------------------------------------------------------------------------------------

def test_site_lookup_partial_lists_holdings_buildings_and_containments(site, world, tenant_client):
    client = client_as(world, tenant_client, "help_desk")
    response = client.get("/fsm/applications/site-lookup/?q=1-0001", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    values = re.findall(r'name="site" value="([^"]+)"', html(response))
    assert values == [f"holding:{h.pk}" for h in site.holdings]
    response = client.get("/fsm/applications/site-lookup/?q=C-1")
    assert re.findall(r'name="site" value="([^"]+)"', html(response)) == [f"containment:{site.containments[1].pk}"]
    assert "checked" in html(response)  # one result: picked already
    assert "Nothing in the registry" in html(client.get("/fsm/applications/site-lookup/?q=ZZZ"))


def test_register_by_holding_id_goes_to_the_application_page(site, world, tenant_client):
    client = client_as(world, tenant_client, "help_desk")
    response = client.post("/fsm/applications/new/", {
        "q": "1-0001-00002", "site": f"holding:{site.holdings[1].pk}", "applicant_name": "Karim Uddin",
        "applicant_phone": "01812345678", "channel": "walk_in", "is_emergency": "on", "notes": "Overflowing",
    })
    with tenant_context(world.khulna):
        application = Application.objects.get()
        assert application.containment == site.containments[1] and application.applicant_phone == "+8801812345678"
        assert application.is_emergency and application.channel == "walk_in"
    assert response.status_code == 302 and response["Location"] == f"/fsm/applications/{application.pk}/"
    page = html(client.get(response["Location"]))
    assert application.number in page and "Overflowing" in page and "Emergency" in page


def test_register_without_js_searches_on_enter(site, world, tenant_client):
    response = client_as(world, tenant_client, "help_desk").post("/fsm/applications/new/",
                                                                 {"q": "B-2", "lookup": "1", "applicant_name": ""})
    assert response.status_code == 200
    assert f'value="building:{site.buildings[2].pk}"' in html(response)
    assert "Nothing was saved" not in html(response)


@pytest.mark.parametrize(("data", "field_id", "message"), [
    ({"applicant_name": "", "applicant_phone": "01712345678"}, "id_applicant_name", "Who is asking?"),
    ({"applicant_name": "A", "applicant_phone": "12345"}, "id_applicant_phone", "such as 01712345678"),
])
def test_register_form_errors_beside_fields(site, world, tenant_client, data, field_id, message):
    response = client_as(world, tenant_client, "help_desk").post("/fsm/applications/new/", {
        "site": f"holding:{site.holdings[0].pk}", "channel": "phone", **data})
    assert response.status_code == 200
    assert message in field_error(response, field_id)
    with tenant_context(world.khulna):
        assert not Application.objects.exists()


def test_register_service_error_shows_beside_the_place(site, world, tenant_client):
    with tenant_context(world.khulna):
        first = register(site, 0)
    client = client_as(world, tenant_client, "help_desk")
    response = client.post("/fsm/applications/new/", {
        "q": "C-0", "site": f"containment:{site.containments[0].pk}", "applicant_name": "Someone",
        "channel": "phone"})
    assert response.status_code == 200
    assert re.search(r'id="site-error".*already has an open application', html(response), re.S)
    assert first.number in html(response)
    response = client.post("/fsm/applications/new/", {"applicant_name": "Someone", "channel": "phone"})
    assert re.search(r'id="site-error".*Find the holding', html(response), re.S)
    with tenant_context(world.khulna):
        assert Application.objects.count() == 1


# --- the application page: actions and their errors ---------------------------------------------------

def action_names(response) -> list[str]:
    return re.findall(r'data-action="(\w+)"', html(response))


def test_actions_offered_follow_status_and_role(site, world, tenant_client):
    with tenant_context(world.khulna):
        received = register(site, 0)
        order = scheduled(site, 1)
    url = f"/fsm/applications/{received.pk}/"
    assert action_names(client_as(world, tenant_client, "sanitation_officer").get(url)) == ["approve", "reject",
                                                                                          "cancel"]
    assert action_names(client_as(world, tenant_client, "help_desk").get(url)) == ["cancel"]
    assert action_names(client_as(world, tenant_client, "viewer").get(url)) == []
    url = f"/fsm/applications/{order.pk}/"
    assert action_names(client_as(world, tenant_client, "service_provider").get(url)) == ["empty"]
    assert action_names(client_as(world, tenant_client, "sanitation_officer").get(url)) == ["empty", "reschedule",
                                                                                          "cancel"]


def test_application_page_shows_timeline_map_site_links_and_fee(site, world, tenant_client):
    with tenant_context(world.khulna):
        application = emptied(site, 2)  # the low-income household: 50 % subsidy
    page = html(client_as(world, tenant_client, "sanitation_officer").get(f"/fsm/applications/{application.pk}/"))
    assert re.findall(r'data-event="(\w+)"', page) == ["received", "approved", "scheduled", "emptied"]
    assert "help_desk@khulna.test" in page and "Khulna Sweepers Ltd" in page
    assert f'href="/registry/holdings/{site.holdings[2].pk}/"' in page
    assert f'href="/registry/buildings/{site.buildings[2].pk}/"' in page
    assert f'href="/registry/containments/{site.containments[2].pk}/"' in page
    assert 'id="minimap-data"' in page and '"role": "subject"' in page
    assert "Low-income subsidy" in page and "৳ 750.00" in page and "৳ 1,500.00" in page
    assert "Log its arrival at the plant gate" in page


def test_approve_and_reject_post_to_their_own_urls(site, world, tenant_client):
    with tenant_context(world.khulna):
        first, second = register(site, 0), register(site, 1)
    officer = client_as(world, tenant_client, "sanitation_officer")
    response = officer.post(f"/fsm/applications/{first.pk}/approve/", {"approve-note": "Checked the map"})
    assert response.status_code == 302 and response["Location"] == f"/fsm/applications/{first.pk}/"
    response = officer.post(f"/fsm/applications/{second.pk}/reject/", {"reject-reason": ""})
    assert field_error(response, "id_reject-reason") == "Say why the application is rejected."
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=first.pk).status == "approved"
        assert Application.objects.get(pk=second.pk).status == "received"
        assert ApplicationEvent.objects.filter(application=second).count() == 1


def test_a_stale_transition_shows_the_services_message_and_writes_nothing(site, world, tenant_client):
    with tenant_context(world.khulna):
        application = approved(site, 0)
    response = client_as(world, tenant_client, "sanitation_officer").post(
        f"/fsm/applications/{application.pk}/approve/", {"approve-note": ""})
    assert response.status_code == 200
    assert "is approved: it cannot be approved now" in html(response)
    with tenant_context(world.khulna):
        assert application.events.count() == 2


def test_wrong_role_cannot_post_a_transition(site, world, tenant_client):
    with tenant_context(world.khulna):
        application = register(site, 0)
    response = client_as(world, tenant_client, "help_desk").post(f"/fsm/applications/{application.pk}/approve/", {})
    assert response.status_code == 403
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=application.pk).status == "received"


def schedule_data(site, **overrides):
    data = {"schedule-provider": site.provider.pk, "schedule-vehicle": site.truck.pk,
            "schedule-crew": [site.driver.pk], "schedule-date": TODAY().isoformat(), "schedule-slot": "morning"}
    data.update({f"schedule-{key}": value for key, value in overrides.items()})
    return data


def test_schedule_form_success_and_service_errors_beside_fields(site, world, tenant_client):
    with tenant_context(world.khulna):
        application = approved(site, 0)
    officer = client_as(world, tenant_client, "sanitation_officer")
    url = f"/fsm/applications/{application.pk}/schedule/"
    response = officer.post(url, schedule_data(site, vehicle=site.other_truck.pk))
    assert field_error(response, "id_schedule-vehicle") == f"Vehicle {site.other_truck.registration} belongs to " \
                                                           "another provider."
    yesterday = (TODAY() - datetime.timedelta(days=1)).isoformat()
    response = officer.post(url, schedule_data(site, date=yesterday))
    assert field_error(response, "id_schedule-date") == "The date is in the past."
    response = officer.post(url, schedule_data(site, date="not a date"))
    assert field_error(response, "id_schedule-date") == "Enter a valid date."
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=application.pk).status == "approved"
    response = officer.post(url, schedule_data(site))
    assert response.status_code == 302
    with tenant_context(world.khulna):
        application = Application.objects.get(pk=application.pk)
        assert application.status == "scheduled" and application.vehicle == site.truck
        assert list(application.crew.all()) == [site.driver]


def test_reschedule_needs_a_scheduled_application(site, world, tenant_client):
    with tenant_context(world.khulna):
        application = scheduled(site, 0)
    officer = client_as(world, tenant_client, "sanitation_officer")
    data = {key.replace("schedule-", "reschedule-"): value for key, value in schedule_data(site).items()}
    data["reschedule-date"] = (TODAY() + datetime.timedelta(days=2)).isoformat()
    data["reschedule-reason"] = "Owner away"
    response = officer.post(f"/fsm/applications/{application.pk}/reschedule/",
                            {**data, "reschedule-slot": "midnight"})
    assert "Select a valid choice" in field_error(response, "id_reschedule-slot")
    with tenant_context(world.khulna):
        site.small_truck.status = "maintenance"
        site.small_truck.save()
    response = officer.post(f"/fsm/applications/{application.pk}/reschedule/",
                            {**data, "reschedule-vehicle": site.small_truck.pk})
    assert field_error(response, "id_reschedule-vehicle") == "Vehicle KHULNA-TA-11-0002 is in maintenance."
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=application.pk).times_rescheduled == 0
    assert officer.post(f"/fsm/applications/{application.pk}/reschedule/", data).status_code == 302
    with tenant_context(world.khulna):
        application = Application.objects.get(pk=application.pk)
        assert application.times_rescheduled == 1
        assert application.events.last().note == "Owner away"


def test_emptying_form_over_capacity_error_beside_volume(site, world, tenant_client):
    with tenant_context(world.khulna):
        application = scheduled(site, 0)
    provider = client_as(world, tenant_client, "service_provider")
    url = f"/fsm/applications/{application.pk}/empty/"
    data = {"empty-emptied_on": TODAY().isoformat(), "empty-volume_m3": "9", "empty-trips": "1",
            "empty-vehicle": site.truck.pk, "empty-crew": [site.driver.pk, site.emptier.pk],
            "empty-is_ppe_worn": "on"}
    response = provider.post(url, data)
    assert "does not fit in 1 trip(s)" in field_error(response, "id_empty-volume_m3")
    response = provider.post(url, {**data, "empty-volume_m3": "3", "empty-started_at": "11:00",
                                   "empty-ended_at": "10:00"})
    assert field_error(response, "id_empty-ended_at") == "The end is before the start."
    with tenant_context(world.khulna):
        assert not Emptying.objects.exists()
    response = provider.post(url, {**data, "empty-volume_m3": "3.2"})
    assert response.status_code == 302
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=application.pk).status == "emptied"
        assert Emptying.objects.get().volume_m3 == Decimal("3.20")


def test_feedback_and_cancel_forms(site, world, tenant_client):
    with tenant_context(world.khulna):
        done = disposed(site, 0)
        waiting = register(site, 1)
    desk = client_as(world, tenant_client, "help_desk")
    response = desk.post(f"/fsm/applications/{done.pk}/feedback/", {"feedback-service_quality": "4"})
    assert field_error(response, "id_feedback-rating") == "Choose from 1 (poor) to 5 (excellent)."
    with tenant_context(world.khulna):
        assert not Feedback.objects.exists()
    response = desk.post(f"/fsm/applications/{done.pk}/feedback/", {
        "feedback-rating": "5", "feedback-service_quality": "4", "feedback-is_ppe_worn": "yes",
        "feedback-comments": "Quick and clean"})
    assert response.status_code == 302
    response = desk.post(f"/fsm/applications/{waiting.pk}/cancel/", {"cancel-reason": "  "})
    assert field_error(response, "id_cancel-reason") == "Say why the application is cancelled."
    assert desk.post(f"/fsm/applications/{waiting.pk}/cancel/", {"cancel-reason": "Emptied privately"}
                     ).status_code == 302
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=done.pk).status == "closed"
        assert Feedback.objects.get().is_ppe_worn is True
        assert Application.objects.get(pk=waiting.pk).status == "cancelled"


# --- work orders --------------------------------------------------------------------------------------

def test_work_orders_show_only_the_providers_own_grouped_by_vehicle(site, world, tenant_client):
    with tenant_context(world.khulna):
        big = scheduled(site, 0)
        small = scheduled(site, 1, vehicle=site.small_truck)
        other = approved(site, 2)
        services.application_schedule(application=other, by=site.user("sanitation_officer"),
                                      provider=site.other_provider, vehicle=site.other_truck, date=TODAY(),
                                      slot="morning")
    provider = client_as(world, tenant_client, "service_provider")
    page = html(provider.get("/fsm/work-orders/"))
    assert re.findall(r'<table[^>]*data-vehicle="([^"]+)"', page) == ["KHULNA-TA-11-0001", "KHULNA-TA-11-0002"]
    assert re.findall(r'<tr data-application="([^"]+)"', page) == [big.number, small.number]
    assert other.number not in page
    printable = html(provider.get(f"/fsm/work-orders/?date={TODAY().isoformat()}&print=1"))
    assert "Signature" in printable and "d-print-none" in printable and "app-sidebar" not in printable
    assert big.number in printable and other.number not in printable
    tomorrow = (TODAY() + datetime.timedelta(days=1)).isoformat()
    assert "No job on this day" in html(provider.get(f"/fsm/work-orders/?date={tomorrow}"))
    officer = html(client_as(world, tenant_client, "sanitation_officer").get("/fsm/work-orders/"))
    assert other.number in officer and big.number in officer


# --- the plant gate -----------------------------------------------------------------------------------

def test_plant_gate_logs_an_arrival_and_shows_errors_beside_fields(site, world, tenant_client):
    with tenant_context(world.khulna):
        load = emptied(site, 0)
    operator = client_as(world, tenant_client, "plant_operator")
    page = html(operator.get("/fsm/plant/"))
    assert f'data-application="{load.number}"' in page and "Capacity utilisation" in page
    arrived = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    data = {"disposal-treatment_plant": site.plant.pk, "disposal-vehicle": site.truck.pk,
            "disposal-arrived_at": arrived, "disposal-volume_received_m3": "9", "disposal-applications": [load.pk]}
    response = operator.post("/fsm/plant/arrivals/", data)
    assert "more than the 3.50 m³ emptied" in field_error(response, "id_disposal-volume_received_m3")
    response = operator.post("/fsm/plant/arrivals/", {**data, "disposal-vehicle": "",
                                                      "disposal-volume_received_m3": "3"})
    assert "Choose the vehicle" in field_error(response, "id_disposal-vehicle")
    with tenant_context(world.khulna):
        assert not Disposal.objects.exists()
    response = operator.post("/fsm/plant/arrivals/", {**data, "disposal-volume_received_m3": "3.4"})
    assert response.status_code == 302
    page = html(operator.get("/fsm/plant/"))
    assert re.search(r"data-todays-log.*" + re.escape(load.number), page, re.S)
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=load.pk).status == "disposed"


def test_effluent_tests_pass_fail_per_parameter(site, world, tenant_client):
    operator = client_as(world, tenant_client, "plant_operator")
    response = operator.post("/fsm/plant/effluent-tests/", {"effluent-treatment_plant": site.plant.pk,
                                                             "effluent-sampled_on": TODAY().isoformat()})
    assert field_error(response, "id_effluent-bod_mg_l") == "Enter at least one measured value."
    future = (TODAY() + datetime.timedelta(days=3)).isoformat()
    response = operator.post("/fsm/plant/effluent-tests/", {"effluent-treatment_plant": site.plant.pk,
                                                             "effluent-sampled_on": future, "effluent-ph": "7"})
    assert field_error(response, "id_effluent-sampled_on") == "The sample date is in the future."
    with tenant_context(world.khulna):
        assert not EffluentTest.objects.exists()
    response = operator.post("/fsm/plant/effluent-tests/", {
        "effluent-treatment_plant": site.plant.pk, "effluent-sampled_on": TODAY().isoformat(),
        "effluent-bod_mg_l": "80", "effluent-cod_mg_l": "150", "effluent-ph": "7.2", "next": "plant"})
    assert response.status_code == 302 and response["Location"] == "/fsm/plant/"
    page = html(operator.get("/fsm/plant/effluent-tests/"))
    assert 'data-result="fail"' in page and "1 fails" in page
    with tenant_context(world.khulna):
        assert AuditEntry.objects.filter(model="fsm.effluenttest").count() == 1


# --- set-up lists -------------------------------------------------------------------------------------

def test_setup_lists_and_forms(site, world, tenant_client):
    officer = client_as(world, tenant_client, "sanitation_officer")
    page = html(officer.get("/fsm/setup/vehicles/"))
    assert "KHULNA-TA-11-0001" in page and "New vehicle" in page
    response = officer.post("/fsm/setup/vehicles/new/", {"provider": site.provider.pk, "registration": " khulna-ta 9 ",
                                                          "capacity_m3": "0", "suction_type": "vacutug",
                                                          "width_m": "1.5", "status": "available"})
    assert "greater than or equal to 0.1" in field_error(response, "id_capacity_m3")
    response = officer.post("/fsm/setup/vehicles/new/", {"provider": site.provider.pk, "registration": " khulna-ta 9 ",
                                                          "capacity_m3": "1.2", "suction_type": "vacutug",
                                                          "width_m": "1.5", "status": "available"})
    assert response.status_code == 302
    response = officer.post("/fsm/setup/crew/new/", {"provider": site.provider.pk, "name": "Jamal", "role": "driver",
                                                      "phone": "0171", "is_active": "on"})
    assert "01712345678" in field_error(response, "id_phone")
    assert field_error(response, "id_licence_number") == "A driver needs a driving licence number."
    response = officer.post("/fsm/setup/price-slabs/new/", {"building_use": "", "volume_from_m3": "4",
                                                             "volume_to_m3": "8", "fee_per_trip": "2000"})
    assert "overlaps" in field_error(response, "id_volume_from_m3")
    provider_user = world.user("service_provider", "khulna")
    response = officer.post(f"/fsm/setup/providers/{site.other_provider.pk}/edit/", {
        "name": "Other Co", "kind": "private", "phone": "01712345678", "user_ids": [provider_user.pk],
        "contract_start": "2026-01-01", "contract_end": "2025-01-01", "is_active": "on"})
    assert field_error(response, "id_contract_end") == "The contract cannot end before it starts."
    with tenant_context(world.khulna):
        assert Vehicle.objects.get(registration="KHULNA-TA 9").capacity_m3 == Decimal("1.20")
        assert not CrewMember.objects.filter(name="Jamal").exists()
        assert PriceSlab.objects.count() == 3
        assert ServiceProvider.objects.get(pk=site.other_provider.pk).user_ids == []
        assert AuditEntry.objects.filter(model="fsm.vehicle", action="create").count() == 1


# --- query bounds -------------------------------------------------------------------------------------

def crowd(site, count: int) -> None:
    """`count` applications straight into the table (half emergencies, some scheduled for today)."""
    now = timezone.now()
    Application.objects.bulk_create([
        Application(number=f"FSM-T-{n:05d}", holding=site.holdings[n % 3], building=site.buildings[n % 3],
                    containment=site.containments[n % 3], ward=site.containments[n % 3].ward,
                    applicant_name=f"Applicant {n}", received_at=now - datetime.timedelta(hours=n),
                    is_emergency=n % 2 == 0, status="received" if n % 4 else "scheduled",
                    provider=site.provider if n % 4 == 0 else None, vehicle=site.truck if n % 4 == 0 else None,
                    scheduled_date=TODAY() if n % 4 == 0 else None, scheduled_slot="morning" if n % 4 == 0 else "")
        for n in range(count)
    ])


@pytest.mark.parametrize("count", [10, 100])
@pytest.mark.parametrize(("role", "url"), [
    ("sanitation_officer", "/fsm/?per_page=200"),
    ("help_desk", "/fsm/?per_page=200"),
    ("service_provider", "/fsm/?per_page=200"),
    ("sanitation_officer", "/fsm/applications/?per_page=200&q=FSM"),
    ("sanitation_officer", "/fsm/work-orders/"),
])
def test_pages_cost_the_same_queries_at_10_and_100_rows(site, world, tenant_client, django_assert_max_num_queries,
                                                        count, role, url):
    with tenant_context(world.khulna):
        crowd(site, count)
    client = client_as(world, tenant_client, role)
    client.get("/fsm/")  # the session's first request may do one-off work
    with django_assert_max_num_queries(PAGE_QUERY_BOUND):
        response = client.get(url)
    assert response.status_code == 200
    if "applications" in url:
        assert html(response).count('data-application="FSM-T-') == count


def test_applications_csv_export(site, world, tenant_client):
    with tenant_context(world.khulna):
        application = emptied(site, 0)
    response = client_as(world, tenant_client, "sanitation_officer").get("/fsm/applications/?export=csv")
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert application.number in text and "+8801712345678" in text and "3.50" in text
