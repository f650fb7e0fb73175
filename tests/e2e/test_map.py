"""The staff map in Chromium, on a small synthetic Khulna (the demo city generator at 2 % of its buildings):
layers, identify, search, analysis 1 on a drain picked on the map with its exports, drawing an area, measuring,
the PNG print, and a phone-sized screen. Plus the map search endpoint through the test client."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import NoReverseMatch, include, path, reverse
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.shared_apps.tenants.demo import demo_figures
from imis.tenant_apps.maps import analyses, search
from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.demo import demo_city
from imis.tenant_apps.registry.models import Building, Drain
from tests.e2e.conftest import SCREENSHOTS
from tests.tenant_apps.registry.factories import road, square, ward

SCALE = 0.02
KHULNA = next(city for city in demo_figures() if city["slug"] == "khulna")


def _urlpatterns_with_search():
    """The tenant URLs with the map search in the maps namespace (used only while maps/urls.py lacks it)."""
    from imis.platform import urls_tenant
    from imis.tenant_apps.maps import urls as maps_urls

    own = [pattern for pattern in urls_tenant.urlpatterns if getattr(pattern, "urlconf_name", None) is not maps_urls]
    maps = [*maps_urls.urlpatterns, path("map/search/", search.map_search, name="search")]
    return [*own, path("", include((maps, "maps")))]


def __getattr__(name):  # this module doubles as a URLconf (see search_url)
    if name == "urlpatterns":
        return _urlpatterns_with_search()
    if name in ("handler404", "handler500"):
        return f"imis.platform.views.error_{name[-3:]}"
    raise AttributeError(name)


@pytest.fixture
def search_url(settings):
    try:
        return reverse("maps:search")
    except NoReverseMatch:
        settings.ROOT_URLCONF = __name__
        return reverse("maps:search")


@pytest.fixture
def rows_without_geometry(monkeypatch):
    """area_summary's rows (one per sanitation system) have no geometry; its JSON needs
    AnalysisResult.feature_collection to take `row.get("geometry")`. Until analyses.py does, patch it here."""
    try:
        analyses.AnalysisResult("probe", ["n"], [{"n": 1}]).feature_collection()
    except KeyError:
        original = analyses.AnalysisResult.feature_collection

        def feature_collection(result):
            rows = [{"geometry": None, **row} for row in result.rows]
            return original(analyses.AnalysisResult(result.name, result.columns, rows, result.summary))

        monkeypatch.setattr(analyses.AnalysisResult, "feature_collection", feature_collection)


def seed_khulna(world) -> dict:
    """The demo city at 2 % (about 3,100 buildings) and what the test clicks: a building, and the drain with the
    most buildings that could connect to it within 30 m."""
    with tenant_context(world.khulna):
        demo_city(municipality=world.khulna, figures=KHULNA, scale=SCALE, seed=42, log=lambda _line: None)
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT d.id FROM registry_drain d JOIN registry_building b
                  ON ST_DWithin(b.footprint::geography, d.geom::geography, 30)
                 AND b.sanitation_system IS DISTINCT FROM 'drain'
                GROUP BY d.id HAVING count(*) BETWEEN 5 AND 150 ORDER BY count(*) DESC, d.id LIMIT 1
            """)
            (drain_id,) = cursor.fetchone()
        drain = Drain.objects.get(pk=drain_id)
        connectable = analyses.buildings_connectable_to_network(network="drain", line_id=drain.pk, distance_m=30)
        building = Building.objects.filter(holding__isnull=False).order_by("bin")[len(connectable.rows)]
    connection.set_schema_to_public()
    return {"drain": drain, "connectable": connectable, "building": building}


def log_in(page, url, role="gis_officer"):
    page.goto(url)
    page.fill("input[name=login]", f"{role}@khulna.test")
    page.fill("input[name=password]", "imis-demo")
    page.click("button[type=submit]")


def wait_for(page, state: str, timeout=30_000):
    """Wait for a data attribute of the map page (a selector: page scripts are not evaluated under the CSP)."""
    expect(page.locator(f"[data-gis]{state}")).to_have_count(1, timeout=timeout)


def wait_idle(page, timeout=30_000):
    wait_for(page, "[data-state=idle]", timeout)


def map_centre(page) -> tuple[float, float]:
    box = page.locator(".gis-map canvas").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def search_and_fly(page, text: str, expected: str):
    page.fill("#gis-search-q", text)
    option = page.locator("[data-gis-search-results] [role=option]").filter(has_text=expected).first
    expect(option).to_be_visible(timeout=10_000)
    option.click()
    page.wait_for_timeout(300)
    wait_idle(page)


def close_popups(page):
    for button in page.locator(".maplibregl-popup-close-button").all():
        button.click()


@pytest.fixture
def console_errors(page):
    errors = []

    def console_error(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", console_error)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_planner_toggles_layers_identifies_a_building_and_runs_analysis_1(
        tworld, page, tenant_url, screenshot, search_url, rows_without_geometry, console_errors):
    seeded = seed_khulna(tworld)
    drain, connectable, building = seeded["drain"], seeded["connectable"], seeded["building"]
    page.set_viewport_size({"width": 1366, "height": 860})
    log_in(page, tenant_url(tworld.khulna, "/map/"))
    expect(page.locator(".gis-map .maplibregl-canvas")).to_be_visible(timeout=20_000)
    wait_for(page, "[data-ready=true]")
    wait_idle(page)

    # the layer switcher: groups, legends, toggles that fetch the layer's own tiles
    layers = page.locator("[data-gis-layers]")
    expect(layers.get_by_role("heading", name="Base map")).to_be_visible()
    expect(layers.get_by_role("checkbox", name="Buildings", exact=True)).to_be_checked()
    expect(layers.get_by_role("checkbox", name="Drains", exact=True)).to_be_checked()
    with page.expect_response(re.compile(r"/tiles/buildings_sanitation/\d+/\d+/\d+\.mvt")) as tile:
        layers.get_by_role("checkbox", name="Buildings by sanitation system", exact=True).check()
    assert tile.value.status == 200
    expect(layers.get_by_role("list", name="Buildings by sanitation system")).to_contain_text("Septic tank")
    with page.expect_response(re.compile(r"/tiles/containments/\d+/\d+/\d+\.mvt")):
        layers.get_by_role("checkbox", name="Containments", exact=True).check()
    layers.get_by_role("checkbox", name="Wards", exact=True).uncheck()
    wait_idle(page)
    layers.get_by_role("checkbox", name="Wards", exact=True).check()
    wait_idle(page)
    screenshot("map-khulna")

    # search by BIN, fly there, click the building: the popup shows it and links to its record
    layers.get_by_role("checkbox", name="Containments", exact=True).uncheck()
    search_and_fly(page, building.bin, building.bin)
    page.mouse.click(*map_centre(page))
    popup = page.locator(".maplibregl-popup .gis-popups")
    expect(popup).to_contain_text(building.bin)
    expect(popup).to_contain_text("Sanitation")
    expect(popup.get_by_role("link", name="Open record")).to_have_attribute(
        "href", f"/registry/buildings/{building.pk}/")
    screenshot("map-identify")
    close_popups(page)

    # analysis 1: pick the drain on the map, run, see the buildings highlighted and listed, export them
    page.get_by_role("tab", name="Analyse").click()
    expect(page.locator("#gis-analysis")).to_have_value("connectable")
    search_and_fly(page, drain.code, drain.code)
    page.mouse.click(*map_centre(page))
    expect(page.locator("[data-gis-line-label]")).to_contain_text(f"Selected: drain {drain.code}")
    page.fill("#gis-connect-distance", "30")
    page.get_by_role("button", name="Run analysis").click()
    wait_for(page, "[data-analysis=done]")
    results = page.locator("[data-gis-results]")
    expect(results.get_by_role("heading")).to_have_text("Buildings that could connect")
    expect(results.locator("tbody tr")).to_have_count(len(connectable.rows))
    expect(results.locator("[data-gis-results-summary]")).to_contain_text(str(len(connectable.rows)))
    expect(results.locator("tbody tr").first).to_contain_text(connectable.rows[0]["bin"])
    close_popups(page)
    page.wait_for_timeout(1000)
    wait_idle(page)
    screenshot("map-analysis-connectable")
    with page.expect_download() as download:
        results.get_by_role("button", name="CSV").click()
    assert download.value.suggested_filename == "connectable_buildings.csv"
    csv_text = open(download.value.path(), encoding="utf-8-sig").read()
    assert csv_text.splitlines()[0].startswith("bin,holding_id,ward")
    assert len(csv_text.strip().splitlines()) == len(connectable.rows) + 1
    with page.expect_download() as download:
        results.get_by_role("button", name="GeoPackage").click()
    assert download.value.suggested_filename == "connectable_buildings.gpkg"

    # draw an area and summarise what is in it
    page.select_option("#gis-analysis", "area_summary")
    page.get_by_role("button", name="Draw an area").click()
    x, y = map_centre(page)
    corners = [(x - 120, y - 90), (x + 120, y - 90), (x + 120, y + 90), (x - 120, y + 90)]
    for corner in corners:
        page.mouse.click(*corner)
        page.wait_for_timeout(150)
    page.mouse.click(*corners[0])  # closing the polygon finishes it
    expect(page.locator("[data-gis-area-label]")).to_contain_text("Drawn area")
    expect(page.locator("#gis-analysis")).to_have_value("area_summary")
    page.get_by_role("button", name="Run analysis").click()
    wait_for(page, "[data-analysis=done]")
    expect(results.get_by_role("heading")).to_have_text("What is in the area")
    expect(results.locator("[data-gis-results-summary]")).to_contain_text("Households")
    screenshot("map-area-summary")

    # measure a distance
    page.get_by_role("tab", name="Measure").click()
    page.get_by_role("button", name="Distance").click()
    page.mouse.click(x - 100, y + 120)
    page.mouse.click(x + 100, y + 120)
    page.keyboard.press("Enter")
    expect(page.locator("[data-gis-measure]")).to_contain_text(re.compile(r"Distance\s*[\d,.]+ (m|km)"))

    # print: a PNG of the view with its title and legend
    with page.expect_download() as download:
        page.locator("[data-gis-control=print]").click()
    assert download.value.suggested_filename.endswith(".png")
    png = open(download.value.path(), "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    (SCREENSHOTS / "map-print.png").write_bytes(png)  # kept beside the screenshots
    assert console_errors == []  # no script error, no CSP violation (worker, fonts, styles)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_map_on_a_phone(tworld, page, tenant_url, screenshot, search_url, console_errors):
    seed_khulna(tworld)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, tenant_url(tworld.khulna, "/map/"), role="sanitation_officer")
    expect(page.locator(".gis-map .maplibregl-canvas")).to_be_visible(timeout=20_000)
    wait_idle(page)
    toggle = page.locator("[data-gis-panel-toggle]")
    expect(toggle).to_have_attribute("aria-expanded", "false")  # the map first; the panel is a bottom sheet
    canvas = page.locator(".gis-map canvas").bounding_box()
    assert canvas["width"] == pytest.approx(390, abs=2) and canvas["height"] > 500
    screenshot("map-phone")
    toggle.click()
    expect(page.get_by_role("tab", name="Layers")).to_be_visible()
    expect(page.locator("[data-gis-layers]").get_by_role("checkbox", name="Buildings", exact=True)).to_be_visible()
    page.wait_for_timeout(500)
    screenshot("map-phone-panel")
    assert console_errors == []


@pytest.mark.django_db
def test_map_search_finds_holdings_buildings_roads_and_wards(world, tenant_client, search_url):
    officer = world.user("gis_officer", "khulna")
    with tenant_context(world.khulna):
        wards = [ward(7, 0, 0, 500, 500)]
        road("KH-R-100", (0, 50), (400, 50), name="Sonadanga Main Road", hierarchy="primary")
        road("KH-R-101", (400, 50), (800, 50), name="Sonadanga Main Road", hierarchy="primary")
        holding = services.holding_create(holding_id="7-0001-00042", ward=wards[0], by=officer, owners=[])
        building = services.building_create(by=officer, bin="KHL-9001", footprint=square(100, 100), holding=holding)
    client = tenant_client(world.khulna, world.user("viewer", "khulna"))

    def found(query):
        response = client.get(search_url, {"q": query})
        assert response.status_code == 200
        return response.json()["results"]

    [match] = found("khl-90")
    assert (match["kind"], match["label"], match["url"]) == ("building", "KHL-9001", f"/registry/buildings/{building.pk}/")
    lon, lat = match["center"]
    minx, miny, maxx, maxy = match["bbox"]
    assert minx <= lon <= maxx and miny <= lat <= maxy and match["geometry"]["type"] == "Polygon"
    [match] = found("7-0001")
    assert (match["kind"], match["url"]) == ("holding", f"/registry/holdings/{holding.pk}/")
    [match] = found("sonadanga")
    assert (match["kind"], match["label"], match["detail"]) == ("road", "Sonadanga Main Road", "KH-R-100, KH-R-101")
    assert match["geometry"]["type"] == "MultiLineString"
    assert [(m["kind"], m["label"]) for m in found("Ward 7")] == [("ward", "7")]
    assert found("%") == [] and found("zz-nothing") == []
    provider = tenant_client(world.khulna, world.user("service_provider", "khulna"))
    assert provider.get(search_url, {"q": "KHL-9001"}).json()["results"][0]["url"] == ""  # no registry access
