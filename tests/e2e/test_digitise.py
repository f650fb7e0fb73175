"""Digitising in Chromium: a GIS officer opens /map/digitise/ over the municipality's imagery (a GeoTIFF made here
and converted by the imagery service), draws a building footprint beside the existing ones,
fills its form, saves it, opens it again (form and history), draws and undoes a second one, and finds the first
in the building list as "digitised, not verified"."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.tenant_apps.imagery.services import imagery_convert_run, imagery_upload
from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.models import Building
from tests.e2e.test_map import log_in
from tests.tenant_apps.imagery.files import geotiff, upload_of
from tests.tenant_apps.registry.factories import at, road, square, ward


@pytest.fixture
def browser_errors(page):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def wait_digitise(page, state: str, timeout=30_000):
    expect(page.locator(f"[data-digitise]{state}")).to_have_count(1, timeout=timeout)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_draw_a_building_fill_its_form_save_and_find_it_in_the_list(tworld, page, tenant_url, screenshot,
                                                                     browser_errors, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(tworld.khulna):
        ward(1, -500, -500, 500, 500)
        road("R-1", (-500, 0), (500, 0), name="KDA Avenue", hierarchy="primary")
        for index in range(4):
            services.building_create(by=None, bin=f"KH-{index + 1}", footprint=square(-60 + index * 14, 8, 12))
        image = geotiff(tmp_path / "drone.tif", size_px=200, pixel_m=2.0)
        imagery = imagery_upload(upload=upload_of(image), name="Drone survey", by=tworld.user("gis_officer", "khulna"))
        imagery = imagery_convert_run(job_id=imagery.job_id, imagery_id=imagery.pk)  # the job, run here
        assert imagery.status == imagery.Status.READY
    connection.set_schema_to_public()
    lon, lat = at(30, 30)

    page.set_viewport_size({"width": 1366, "height": 860})
    log_in(page, tenant_url(tworld.khulna, "/map/digitise/"))
    wait_digitise(page, "[data-ready=true]")
    page.goto(tenant_url(tworld.khulna, f"/map/digitise/#view=19/{lat}/{lon}"))
    expect(page.locator("#digitise-map .maplibregl-canvas")).to_be_visible(timeout=20_000)
    wait_digitise(page, "[data-ready=true]")
    wait_digitise(page, "[data-state=idle]")

    with page.expect_response(re.compile(rf"/imagery/tiles/{imagery.pk}/\d+/\d+/\d+\.png")) as tile:
        page.locator("[data-digitise-imagery]").select_option(label="Drone survey")
    assert tile.value.status == 200
    wait_digitise(page, "[data-state=idle]")

    page.get_by_role("button", name="Draw").click()
    box = page.locator("#digitise-map canvas").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(cx - 60, cy - 40), (cx + 60, cy - 40), (cx + 60, cy + 40), (cx - 60, cy + 40), (cx - 60, cy - 40)]
    for x, y in corners:
        page.mouse.move(x, y, steps=4)
        page.mouse.click(x, y)
    form = page.locator("[data-digitise-form]")
    expect(form).to_be_visible(timeout=10_000)
    expect(page.locator("[data-digitise-measure]")).to_contain_text("m²")
    form.locator("[name=f-functional_use]").select_option("commercial")
    form.locator("[name=f-floors]").fill("3")
    form.locator("[name=f-households]").fill("2")
    page.locator("[data-digitise-layer]").scroll_into_view_if_needed()  # the tools, the area and the shape
    screenshot("digitise")
    form.locator("[data-digitise-save]").click()
    expect(page.locator("[data-digitise-saved]")).to_contain_text("B-0000001", timeout=10_000)
    expect(form).to_be_hidden()

    with tenant_context(tworld.khulna):
        building = Building.objects.get(bin="B-0000001")
        assert building.verification_status == Building.Verification.DIGITISED
        assert building.floors == 3 and building.functional_use == "commercial"
        assert building.ward.number == 1
        assert 120 < services.footprint_area_m2(building.footprint) < 260  # 120 × 80 px at zoom 19
    connection.set_schema_to_public()

    # Click the new building: its form (with its BIN) and its history open beside it.
    page.mouse.click(cx, cy)
    expect(form.locator("[name=f-bin]")).to_have_value("B-0000001", timeout=10_000)
    expect(page.locator("[data-digitise-history-list] li")).to_have_count(1)
    # Reshape: drag its south-east corner 30 px further out, and save.
    page.mouse.move(cx + 60, cy + 40, steps=4)
    page.mouse.down()
    page.mouse.move(cx + 90, cy + 60, steps=30)
    page.mouse.up()
    expect(page.locator("[data-digitise-measure]")).not_to_contain_text("181")
    form.locator("[data-digitise-save]").click()
    expect(page.locator("[data-digitise-saved]")).to_contain_text("B-0000001", timeout=10_000)
    expect(form).to_be_hidden()
    with tenant_context(tworld.khulna):
        reshaped = services.footprint_area_m2(Building.objects.get(bin="B-0000001").footprint)
        assert reshaped > services.footprint_area_m2(building.footprint) * 1.05
    connection.set_schema_to_public()

    # A second one, drawn and saved, then undone: within the session, Undo takes the last save back.
    page.get_by_role("button", name="Draw").click()
    for x, y in [(cx + 100, cy - 40), (cx + 180, cy - 40), (cx + 180, cy + 40), (cx + 100, cy + 40),
                 (cx + 100, cy - 40)]:
        page.mouse.move(x, y, steps=4)
        page.mouse.click(x, y)
    expect(form).to_be_visible(timeout=10_000)
    form.locator("[data-digitise-save]").click()
    expect(page.locator("[data-digitise-saved]")).to_contain_text("B-0000002", timeout=10_000)
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("[data-digitise-hint]")).to_have_text("Undone.", timeout=10_000)
    with tenant_context(tworld.khulna):
        assert not Building.objects.filter(bin="B-0000002").exists()
    connection.set_schema_to_public()

    page.goto(tenant_url(tworld.khulna, "/registry/buildings/?verification_status=digitised"))
    expect(page.locator("table")).to_contain_text("B-0000001")
    expect(page.locator("table")).to_contain_text("Digitised, not verified")
    screenshot("digitise-building-list")
    assert browser_errors == []
