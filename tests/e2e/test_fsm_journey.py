"""The chain of custody in a browser: help desk registers by holding ID → officer approves and schedules → provider
records the emptying → plant logs the disposal → help desk records feedback; screenshots along the way."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.tenant_apps.fsm.models import Application, Disposal
from tests.tenant_apps.fsm.conftest import Site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, tenant_url, municipality, role, path="/fsm/"):
    page.context.clear_cookies()
    page.goto(tenant_url(municipality, path))
    page.fill("input[name=login]", f"{role}@khulna.test")
    page.fill("input[name=password]", "imis-demo")
    page.click("button[type=submit]")


def watch_errors(page) -> list[str]:
    errors: list[str] = []

    def console_error(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", console_error)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_application_from_call_to_feedback(tworld, page, tenant_url, screenshot):
    def shot(name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")  # a full-page capture of a scrolled page repeats the fixed top bar
        screenshot(name)

    with tenant_context(tworld.khulna):
        site = Site(tworld)
    khulna = tworld.khulna
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1366, "height": 900})

    # 1. the help desk takes a call and finds the house by its holding ID
    log_in(page, tenant_url, khulna, "help_desk")
    expect(page.locator("h1")).to_have_text("Faecal sludge management")
    page.get_by_role("link", name="New application").first.click()
    expect(page.locator("h1")).to_have_text("New emptying application")
    page.fill("#id_q", "1-0001-00002")
    results = page.locator("[data-site-results] input[type=radio]")
    expect(results).to_have_count(1)
    expect(results.first).to_be_checked()  # the only match is picked already
    page.fill("#id_applicant_name", "Rahima Begum")
    page.fill("#id_applicant_phone", "01712345678")
    page.select_option("#id_channel", "phone")
    page.check("#id_is_emergency")
    page.fill("#id_notes", "Tank overflowing into the yard since yesterday.")
    shot("fsm-register")
    page.get_by_role("button", name="Register application").click()
    expect(page.locator("h1")).to_contain_text("Application FSM-")
    expect(page.locator(".page-header")).to_contain_text("Emergency")
    number = page.locator("h1").inner_text().removeprefix("Application ").strip()

    # 2. the sanitation officer approves it and sends a truck today
    log_in(page, tenant_url, khulna, "sanitation_officer")
    expect(page.locator("[data-tab=to_approve] [data-count]")).to_have_text("1")
    shot("fsm-officer-inbox")
    page.get_by_role("link", name=number).click()
    page.fill("#id_approve-note", "Emergency: send today.")
    page.locator("#action-approve").get_by_role("button", name="Approve").click()
    expect(page.locator(".alert-success")).to_contain_text(f"Application {number} approved.")
    schedule = page.locator("#action-schedule")
    expect(schedule).to_be_visible()
    schedule.locator("#id_schedule-provider").select_option(str(site.provider.pk))
    schedule.locator("#id_schedule-vehicle").select_option(str(site.truck.pk))
    schedule.locator("#id_schedule-crew").select_option([str(site.driver.pk), str(site.emptier.pk)])
    schedule.locator("#id_schedule-date").fill(timezone.localdate().isoformat())
    schedule.locator("#id_schedule-slot").select_option("afternoon")
    schedule.locator("#id_schedule-is_confirmed").check()
    schedule.get_by_role("button", name="Schedule the emptying").click()
    expect(page.locator(".alert-success")).to_contain_text("scheduled")

    # 3. the provider sees it in today's work orders and records the emptying
    log_in(page, tenant_url, khulna, "service_provider")
    expect(page.locator("[data-tab=work_orders] [data-count]")).to_have_text("1")
    page.goto(tenant_url(khulna, "/fsm/work-orders/"))
    expect(page.locator("table[data-vehicle='KHULNA-TA-11-0001'] tbody tr")).to_have_count(1)
    shot("fsm-work-orders")
    page.get_by_role("link", name=number).click()
    emptying = page.locator("#action-empty")
    emptying.locator("#id_empty-volume_m3").fill("9")  # more than the 4 m³ truck holds in one trip
    emptying.get_by_role("button", name="Record the emptying").click()
    expect(page.locator("#action-empty .invalid-feedback")).to_contain_text("does not fit in 1 trip(s)")
    shot("fsm-emptying-error")
    page.locator("#id_empty-volume_m3").fill("3.2")
    page.locator("#id_empty-started_at").fill("14:10")
    page.locator("#id_empty-ended_at").fill("14:55")
    page.locator("#id_empty-is_ppe_worn").check()
    page.locator("#action-empty").get_by_role("button", name="Record the emptying").click()
    expect(page.locator(".alert-success")).to_contain_text("Emptying of")

    # 4. the plant operator logs the truck at the gate
    log_in(page, tenant_url, khulna, "plant_operator")
    page.goto(tenant_url(khulna, "/fsm/plant/"))
    expect(page.locator(f"[data-application='{number}']")).to_be_visible()
    page.select_option("#id_disposal-vehicle", str(site.truck.pk))
    page.fill("#id_disposal-volume_received_m3", "3.1")
    page.get_by_label(re.compile(re.escape(number))).check()
    shot("fsm-plant")
    page.get_by_role("button", name="Log the arrival").click()
    expect(page.locator(".alert-success")).to_contain_text(f"Arrival logged: 3.1 m³ ({number})")
    expect(page.locator("[data-todays-log]")).to_contain_text(number)

    # 5. the help desk calls the resident back and closes it
    log_in(page, tenant_url, khulna, "help_desk")
    page.get_by_role("link", name=re.compile("Awaiting feedback")).click()
    page.get_by_role("link", name=number).click()
    feedback = page.locator("#action-feedback")
    feedback.locator("#id_feedback-rating_4").check()  # 5 of 5
    feedback.locator("#id_feedback-service_quality_3").check()  # 4 of 5
    feedback.locator("#id_feedback-is_ppe_worn").select_option("yes")
    feedback.locator("#id_feedback-comments").fill("Came on time and left the lane clean.")
    feedback.get_by_role("button", name="Record the resident's feedback").click()
    expect(page.locator(".alert-success")).to_contain_text(f"application {number} is closed")
    expect(page.locator(".page-header .status-badge")).to_have_text("Closed")
    timeline = page.locator("[data-timeline] [data-event]")
    expect(timeline).to_have_count(6)
    assert [timeline.nth(n).get_attribute("data-event") for n in range(6)] == [
        "received", "approved", "scheduled", "emptied", "disposed", "closed"]
    expect(page.locator("#timeline")).to_contain_text("service_provider of khulna")
    expect(page.locator(".maplibregl-canvas")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(1200)  # first paint with software WebGL
    shot("fsm-timeline")

    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    shot("fsm-application-phone")
    with tenant_context(khulna):
        application = Application.objects.get(number=number)
        assert application.status == "closed" and application.feedback.rating == 5
        assert Disposal.objects.get().volume_received_m3 == Decimal("3.10")
    assert errors == []


def test_demo_history_fills_the_inboxes_reports_and_plant(tworld, page, tenant_url, screenshot):
    """The seed_demo history on a small Khulna: what the officer, the provider and the plant see on day one."""
    from imis.shared_apps.tenants.demo import demo_figures
    from imis.tenant_apps.fsm.demo import demo_fsm_history
    from imis.tenant_apps.registry.demo import demo_city

    figures = next(city for city in demo_figures() if city["slug"] == "khulna")
    with tenant_context(tworld.khulna):
        demo_city(municipality=tworld.khulna, figures=figures, scale=0.01, seed=42, log=lambda _line: None)
        demo_fsm_history(municipality=tworld.khulna, figures=figures, scale=0.01, seed=42, log=lambda _line: None)
    khulna = tworld.khulna
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1366, "height": 900})

    log_in(page, tenant_url, khulna, "sanitation_officer")
    expect(page.locator("[data-tab=overdue] [data-count]")).not_to_have_text("0")
    page.get_by_role("link", name=re.compile("Overdue")).click()
    expect(page.locator("tr.table-warning").first).to_be_visible()
    screenshot("fsm-demo-overdue")
    page.goto(tenant_url(khulna, "/fsm/reports/services/?by=ward"))
    expect(page.locator("table[data-report=services] tbody tr").first).to_be_visible()
    screenshot("fsm-report-services")
    page.goto(tenant_url(khulna, "/fsm/reports/plant/"))
    screenshot("fsm-report-plant")
    page.goto(tenant_url(khulna, "/fsm/applications/?status=closed"))
    expect(page.locator("[data-total]")).to_contain_text("match the filters")
    screenshot("fsm-applications")
    page.goto(tenant_url(khulna, "/fsm/setup/vehicles/"))
    expect(page.locator("table tbody tr").first).to_be_visible()
    screenshot("fsm-setup-vehicles")
    page.goto(tenant_url(khulna, "/fsm/applications/new/?q=15-0008-0000"))
    expect(page.locator("[data-site-results] input[type=radio]").first).to_be_visible()
    screenshot("fsm-register-holdings")

    log_in(page, tenant_url, khulna, "service_provider", "/fsm/work-orders/?print=1")
    expect(page.locator("table[data-vehicle] tbody tr").first).to_be_visible()
    screenshot("fsm-work-orders-print")

    log_in(page, tenant_url, khulna, "plant_operator", "/fsm/plant/")
    expect(page.locator("svg rect").first).to_be_attached()
    expect(page.locator("[data-effluent-tests] [data-result]").first).to_be_visible()
    screenshot("fsm-demo-plant")
    assert errors == []
