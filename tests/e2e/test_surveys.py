"""A GIS officer reviews what a surveyor sent from ODK Collect: the queue, then one submission on its map, beside
the registered record, with the field-by-field diff and the photo; approving merges it."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.tenant_apps.registry.models import Building
from tests.tenant_apps.surveys.conftest import Device, Street, building_update_answers, geoshape, submission_xml

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def photo_jpeg() -> bytes:
    """A small photo-like JPEG (a sky over a brick-coloured house front)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (135, 180, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 170, 520, 480), fill=(170, 90, 60))
    for x in (170, 300, 430):
        draw.rectangle((x, 230, x + 60, 300), fill=(240, 235, 220))
    draw.rectangle((290, 360, 350, 480), fill=(90, 60, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def test_gis_officer_reviews_a_building_survey_on_its_map_and_approves_it(tworld, page, tenant_url, screenshot,
                                                                          settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(tworld.khulna):
        Street(tworld)
    connection.set_schema_to_public()
    surveyor = Device(tworld.khulna, "field_surveyor@khulna.test")
    redrawn = building_update_answers(geometry="shape", footprint=geoshape(-1, 9, 14), photo="1700000000001.jpg")
    assert surveyor.send(submission_xml("imis_building_survey", redrawn), {"1700000000001.jpg": photo_jpeg()}) \
        .status_code == 201
    assert surveyor.send(submission_xml("imis_building_survey", building_update_answers(
        building="B-2", floors="4", photo=""))).status_code == 201
    assert surveyor.send(submission_xml("imis_building_survey", building_update_answers(
        building="B-77", photo=""))).status_code == 201
    connection.set_schema_to_public()

    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "favicon" not in
            m.location.get("url", "") else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(tenant_url(tworld.khulna, "/surveys/"))
    page.fill("input[name=login]", "gis_officer@khulna.test")
    page.fill("input[name=password]", "imis-demo")
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("Field surveys: review queue")
    expect(page.locator("[data-stat=staged]")).to_have_text("3")
    expect(page.locator("[data-check=clean]")).to_have_count(2)
    expect(page.locator("[data-check=issues]")).to_contain_text("1 to check")
    screenshot("surveys-queue")

    page.locator("table[data-queue] a", has_text="B-1").click()
    expect(page.locator("h1")).to_have_text("Building survey: B-1")
    expect(page.locator("[data-changed-field=footprint]")).to_be_visible()
    expect(page.locator("[data-changed-field=floors]")).to_contain_text("3")
    expect(page.locator("img[alt='Photo 1700000000001.jpg']")).to_be_visible()
    expect(page.locator(".maplibregl-canvas")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(2000)  # first paint with software WebGL
    screenshot("surveys-review")

    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".alert-success")).to_contain_text("Approved: B-1 is updated in the register.")
    with tenant_context(tworld.khulna):
        building = Building.objects.get(bin="B-1")
        assert building.floors == 3 and building.verification_status == "verified"
    connection.set_schema_to_public()

    page.goto(tenant_url(tworld.khulna, "/surveys/device/"))
    page.fill("#device-name", "Survey tablet 1")
    page.get_by_role("button", name="Create a device key").click()
    expect(page.locator("[data-device-key] img")).to_be_visible()
    screenshot("surveys-device")
    assert errors == []
