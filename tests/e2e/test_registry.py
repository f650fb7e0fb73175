import re
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.tenant_apps.registry import services
from tests.tenant_apps.registry.factories import point, road, square, ward

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

USES = ["residential", "residential", "commercial", "mixed", "residential", "educational"]
SANITATION = ["septic_tank", "pit", "septic_tank", "sewer", "septic_tank", "pit"]
VERIFICATION = ["verified", "unverified", "needs_review"]


def make_neighbourhood(world):
    """Two wards with a road each side of a row of houses, their holdings, owners and septic tanks."""
    by = world.user("gis_officer", "khulna")
    with tenant_context(world.khulna):
        wards = [ward(1, 0, -300, 390, 300), ward(2, 390, -300, 800, 300)]
        road("KH-R-001", (0, 0), (800, 0), name="KDA Avenue", hierarchy="primary")
        road("KH-R-002", (0, 60), (800, 60), name="Sonadanga Lane", hierarchy="lane")
        buildings = []
        for n in range(12):
            x = 20 + n * 60 + (40 if n >= 6 else 0)
            number = 1 if n < 6 else 2
            holding = services.holding_create(
                holding_id=f"{number}-0012-{n + 1:05d}", ward=wards[number - 1], by=by,
                address=f"{n + 1} KDA Avenue",
                owners=[{"name": f"Owner {n + 1}", "phone": f"0171234{n:04d}", "gender": "female"}],
            )
            for side, y in enumerate((12, 35)):
                building = services.building_create(
                    by=by, bin=f"KHL-{n + 1:03d}{'AB'[side]}", footprint=square(x + side * 18, y, 14),
                    holding=holding, functional_use=USES[n % 6], sanitation_system=SANITATION[n % 6],
                    verification_status=VERIFICATION[n % 3], floors=1 + n % 4, households=1 + n % 3,
                    population_female=3, population_male=3,
                )
                buildings.append(building)
            services.containment_create(
                by=by, code=f"KHL-ST-{n + 1:03d}", type="septic_tank", location=point(x + 16, 30),
                length_m=Decimal("2"), width_m=Decimal("1.5"), depth_m=Decimal("1.8"),
                building_ids=[b.pk for b in buildings[-2:]],
            )
    return buildings


def test_gis_officer_filters_buildings_and_opens_one_on_its_map(tworld, page, tenant_url, screenshot):
    make_neighbourhood(tworld)
    errors = []

    def console_error(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", console_error)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(tenant_url(tworld.khulna, "/registry/buildings/"))
    page.fill("input[name=login]", "gis_officer@khulna.test")
    page.fill("input[name=password]", "imis-demo")
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("Buildings")
    expect(page.locator("table.registry-table tbody tr")).to_have_count(24)
    expect(page.get_by_role("link", name="New building")).to_be_visible()

    page.select_option("#id_ward", "1")
    page.select_option("#id_sanitation_system", "septic_tank")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("[data-total]")).to_contain_text("match the filters")
    rows = page.locator("table.registry-table tbody tr")
    expect(rows).to_have_count(6)  # KHL-001A/B, KHL-003A/B, KHL-005A/B
    expect(rows.first).to_contain_text("Septic tank")
    screenshot("registry-buildings")

    page.get_by_role("link", name="KHL-001A").click()
    expect(page.locator("h1")).to_have_text("Building KHL-001A")
    expect(page.locator(".status-badge").first).to_have_text("Verified")
    expect(page.locator("[data-stat=area]")).to_contain_text(re.compile(r"19[5-7] m²"))
    page.get_by_role("tab", name="Map").click()
    expect(page.locator(".maplibregl-canvas")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(1500)  # first paint with software WebGL
    screenshot("registry-building")

    page.get_by_role("tab", name="History").click()
    expect(page.locator("#tab-history")).to_contain_text("gis_officer@khulna.test")
    assert errors == []  # no script error, no Content-Security-Policy violation (the worker, the map's CSS)
