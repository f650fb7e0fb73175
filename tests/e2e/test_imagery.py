"""Imagery in Chromium: a GIS officer uploads a GeoTIFF made here over Khulna, a real Celery worker converts it
while the page shows the progress bar, then the map offers it as a base layer; the opacity slider fades it."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.tenant_apps.imagery.models import Imagery
from tests.e2e.test_map import log_in, wait_for, wait_idle
from tests.tenant_apps.imagery.files import geotiff
from tests.tenant_apps.registry.factories import ward


@pytest.fixture
def browser_errors(page):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_imagery_and_show_it_under_the_map(tworld, page, tenant_url, screenshot, browser_errors, tmp_path,
                                                  settings):
    from celery.contrib.testing.worker import start_worker

    from imis import celery_app

    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(tworld.khulna):
        ward(1, -1000, -800, 0, 800)
        ward(2, 0, -800, 1000, 800)
    connection.set_schema_to_public()
    image = geotiff(tmp_path / "ward-1-2-drone.tif", size_px=500, pixel_m=4.0)

    page.set_viewport_size({"width": 1366, "height": 860})
    log_in(page, tenant_url(tworld.khulna, "/imagery/"))
    expect(page.locator("[data-empty]")).to_be_visible()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]):
        page.get_by_label("Name").first.fill("Drone survey, wards 1-2")
        page.get_by_label("Georeferenced image (GeoTIFF)").set_input_files(str(image))
        page.locator("[data-imagery-upload] button[type=submit]").click()
        expect(page.locator("[data-imagery-list]")).to_contain_text("Drone survey, wards 1-2")
        # the progress bar runs, then the page reloads itself with the image ready
        expect(page.locator("[data-imagery][data-status=ready]")).to_have_count(1, timeout=60_000)
    screenshot("imagery-list")
    with tenant_context(tworld.khulna):
        imagery = Imagery.objects.get()
    connection.set_schema_to_public()

    page.goto(tenant_url(tworld.khulna, "/map/"))
    expect(page.locator(".gis-map .maplibregl-canvas")).to_be_visible(timeout=20_000)
    wait_for(page, "[data-ready=true]")
    wait_idle(page)
    section = page.locator("[data-gis-imagery]")
    expect(section).to_be_visible()
    slider = page.get_by_label("Imagery opacity")
    expect(slider).to_be_disabled()
    with page.expect_response(re.compile(rf"/imagery/tiles/{imagery.pk}/\d+/\d+/\d+\.png")) as tile:
        section.get_by_label("Drone survey, wards 1-2").check()
    assert tile.value.status == 200
    expect(section).to_have_attribute("data-chosen", str(imagery.pk))
    wait_idle(page)
    expect(slider).to_be_enabled()
    slider.fill("70")
    expect(slider).to_have_value("70")
    wait_idle(page)
    page.wait_for_timeout(300)
    path = screenshot("imagery-map")
    assert path.stat().st_size > 20_000
    assert browser_errors == []
