"""The water supply thematic layer in Chromium: a municipality with water_supply on (the demo city and its water
demo, as Gazipur gets them), the layer toggled on from the switcher with its legend, a click on a connected
building showing its water status, and a screenshot."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.shared_apps.tenants.demo import demo_figures
from imis.tenant_apps.registry.demo import demo_city
from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.water.demo import demo_water
from imis.tenant_apps.water.models import WaterConnection
from tests.e2e.test_map import log_in, map_centre, search_and_fly, wait_for, wait_idle
from tests.tenant_apps.water.town import feature_switch

SCALE = 0.005
GAZIPUR = next(city for city in demo_figures() if city["slug"] == "gazipur")


@pytest.fixture
def browser_errors(page):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_water_layer_shows_each_buildings_connection(tworld, page, tenant_url, screenshot, browser_errors):
    feature_switch(tworld.khulna, True)
    with tenant_context(tworld.khulna):
        demo_city(municipality=tworld.khulna, figures=GAZIPUR, scale=SCALE, seed=42, log=lambda _line: None)
        demo_water(municipality=tworld.khulna, figures=GAZIPUR, scale=SCALE, seed=42, log=lambda _line: None)
        water = WaterConnection.objects.filter(status="active", building__isnull=False).order_by("pk").first()
        building = Building.objects.get(pk=water.building_id)  # the demo's connection marked it connected
        assert (building.water_source, building.water_customer_id) == ("municipal", water.customer_id)
    connection.set_schema_to_public()

    page.set_viewport_size({"width": 1366, "height": 860})
    log_in(page, tenant_url(tworld.khulna, "/map/"), role="water_officer")
    expect(page.locator(".gis-map .maplibregl-canvas")).to_be_visible(timeout=20_000)
    wait_for(page, "[data-ready=true]")
    wait_idle(page)

    layers = page.locator("[data-gis-layers]")
    toggle = layers.get_by_role("checkbox", name="Buildings by water connection", exact=True)
    expect(toggle).not_to_be_checked()
    search_and_fly(page, building.bin, building.bin)  # close enough (zoom ≥ 14) for the layer's tiles
    with page.expect_response(re.compile(r"/tiles/buildings_water/\d+/\d+/\d+\.mvt")) as tile:
        toggle.check()
    assert tile.value.status == 200
    legend = layers.get_by_role("list", name="Buildings by water connection")
    expect(legend).to_contain_text("Municipal supply, connected")
    expect(legend).to_contain_text("Not recorded")
    wait_idle(page)

    page.mouse.click(*map_centre(page))
    popup = page.locator(".maplibregl-popup .gis-popups")
    expect(popup.locator(".gis-popup-title").first).to_have_text("Buildings by water connection")
    expect(popup).to_contain_text(building.bin)
    expect(popup).to_contain_text("Municipal supply, connected")
    page.wait_for_timeout(300)
    path = screenshot("water-map")
    assert path.stat().st_size > 20_000
    assert browser_errors == []
