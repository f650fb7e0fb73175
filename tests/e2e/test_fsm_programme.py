"""Scheduled desludging in a browser: the sanitation officer creates a programme for ward 1, checks its candidates,
plans it (a Celery job with a progress bar, through a real worker), reads the plan per vehicle and day, opens one
route on its map; the help desk records one household's acceptance and another's refusal."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Count
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.tenant_apps.fsm.models import Application, DesludgingProgramme, ProgrammeVisit
from tests.tenant_apps.fsm.conftest import Site
from tests.tenant_apps.fsm.test_programmes import Street
from tests.world import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, url: str, email: str) -> None:
    page.context.clear_cookies()
    page.goto(url)
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def watch_errors(page) -> list[str]:
    errors: list[str] = []

    def console_error(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", console_error)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    return errors


def test_officer_plans_a_programme_and_sees_the_routes(tworld, page, tenant_url, screenshot, settings):
    from celery.contrib.testing.worker import start_worker

    from imis import celery_app

    settings.IMIS_FSM_PLAN_SECONDS_PER_DAY = 0.2

    def shot(name: str) -> None:
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(name)

    with tenant_context(tworld.khulna):
        site = Site(tworld)
        Street(site, count=24)
    khulna = tworld.khulna
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    start = timezone.localdate() + datetime.timedelta(days=2)
    holiday = start + datetime.timedelta(days=2)

    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]):
        # 1. the officer opens Programmes and creates one for ward 1 over two weeks
        log_in(page, tenant_url(khulna, "/fsm/programmes/"), "sanitation_officer@khulna.test")
        expect(page.locator("h1")).to_have_text("Desludging programmes")
        expect(page.locator(".empty-state")).to_contain_text("No programme yet")
        page.locator(".page-actions").get_by_role("link", name="New programme").click()
        expect(page.locator("h1")).to_have_text("New desludging programme")
        page.fill("#id_name", "Ward 1, first fortnight")
        page.locator("input[name=wards]").first.check()
        page.fill("#id_start_date", start.isoformat())
        page.fill("#id_end_date", (start + datetime.timedelta(days=13)).isoformat())
        expect(page.locator("#id_treatment_plant")).to_have_value(str(site.plant.pk))  # the only plant
        page.check(f"input[name=vehicles][value='{site.truck.pk}']")
        page.check(f"input[name=vehicles][value='{site.small_truck.pk}']")
        page.fill("#id_trips_per_day", "2")
        page.fill("#id_holidays", holiday.isoformat())
        shot("fsm-programme-new")
        page.get_by_role("button", name="Create the programme").click()

        # 2. the programme page: candidates per ward, nothing planned yet
        expect(page.locator("h1")).to_contain_text("Ward 1, first fortnight")
        expect(page.locator(".alert-success")).to_contain_text("created")
        expect(page.locator("[data-stat=candidates]")).to_have_text("27")  # 3 households + 24 on the street
        expect(page.locator("[data-ward-counts] [data-count=candidates]")).to_have_text("27")

        # 3. plan the routes: a job with a progress bar; the page shows the plan when it ends
        page.get_by_role("button", name="Plan the routes").click()
        expect(page.locator("#programme-job progress, [data-vehicle]").first).to_be_visible()
        expect(page.locator("[data-vehicle]").first).to_be_visible(timeout=90_000)
        expect(page.locator("[data-stat=visits]")).to_have_text("27")
        expect(page.locator("[data-stat=km]")).to_contain_text("km")
        expect(page.locator("[data-vehicle=KHULNA-TA-11-0001]")).to_be_visible()
        expect(page.get_by_role("button", name="Plan the routes again")).to_be_visible()
        shot("fsm-programme-plan")

        # 4. the busiest vehicle-day on the map, its stops in order with the tank's load
        with tenant_context(khulna):
            busiest = (ProgrammeVisit.objects.values("vehicle_id", "date").annotate(n=Count("pk"))
                       .order_by("-n", "date").first())
        day = busiest["date"]
        page.locator(f"[data-vehicle] a[href$='vehicle={busiest['vehicle_id']}&date={day.isoformat()}']").click()
        expect(page.locator("h1")).to_contain_text(" on ")
        expect(page.locator("[data-stops] [data-stop]")).to_have_count(busiest["n"])
        expect(page.locator("[data-minimap] canvas")).to_be_visible(timeout=20_000)
        page.wait_for_timeout(1500)  # software WebGL paints the route after the canvas appears
        shot("fsm-programme-route")

    # 5. the help desk records two answers: one accepts, one declines
    with tenant_context(khulna):
        programme = DesludgingProgramme.objects.get()
        accept = programme.visits.select_related("containment").order_by("date", "sequence").first()
        decline = (programme.visits.select_related("containment").exclude(pk=accept.pk)
                   .order_by("date", "sequence").first())
    log_in(page, tenant_url(khulna, f"/fsm/programmes/{programme.pk}/households/"), "help_desk@khulna.test")
    expect(page.locator("h1")).to_have_text("Households' answers")
    page.locator(f"[data-visit='{accept.containment.code}']").get_by_role("button", name="Accept").click()
    expect(page.locator(".alert-success")).to_contain_text("is scheduled for")
    row = page.locator(f"[data-visit='{decline.containment.code}']")
    row.locator("summary", has_text="Decline").click()
    row.locator("input[name$=reason]").fill("Emptied privately last month")
    row.get_by_role("button", name="Move to the reintegration list").click()
    expect(page.locator(".alert-success")).to_contain_text("reintegration list")
    page.locator("[data-filter=accepted]").click()
    expect(page.locator(f"[data-visit='{accept.containment.code}']")).to_contain_text("FSM-")
    shot("fsm-programme-households")
    page.goto(tenant_url(khulna, "/fsm/programmes/reintegration/"))
    expect(page.locator(f"[data-declined='{decline.containment.code}']")).to_contain_text(
        "Emptied privately last month")
    shot("fsm-programme-reintegration")

    with tenant_context(khulna):
        application = Application.objects.get()
        assert application.channel == "scheduled" and application.status == "scheduled"
        assert ProgrammeVisit.objects.get(pk=decline.pk).status == "declined"
    assert errors == []
