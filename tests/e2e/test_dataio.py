"""A GIS officer imports a building layer (preview, mapping, check, import) and works through data quality.

Run with the dataio settings until the app is wired in:
DJANGO_SETTINGS_MODULE=imis.platform.settings.test .venv/bin/pytest tests/e2e/test_dataio.py
"""

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.tenant_apps.dataio import tasks
from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.models import Holding, Road, Ward
from tests.tenant_apps.dataio.files import building_rows, buildings_gpkg
from tests.tenant_apps.registry.factories import point, road, square, ward

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def khulna(tworld, monkeypatch):
    with tenant_context(tworld.khulna):
        first = ward(1, -500, -500, 1500, 500)
        ward(2, 1500, -500, 3000, 500)
        road("R-1", (-400, 0), (2900, 0), width_m=6, hierarchy="access")
        holding = Holding.objects.create(holding_id="1-2-3", ward=first)
        Holding.objects.create(holding_id="01-02-003", ward=first)
        old = timezone.now() - datetime.timedelta(days=8 * 365)
        services.building_create(by=None, bin="K-1", footprint=square(600, 20), holding=holding,
                                 sanitation_system="septic_tank", structure_type="pucca", water_source="municipal",
                                 surveyed_at=timezone.now())
        services.building_create(by=None, bin="K-2", footprint=square(2000, 20), surveyed_at=old)
        services.containment_create(by=None, code="C-9", type="lined_pit", location=point(900, 40))
        second = Holding.objects.create(holding_id="2-1-1", ward=Ward.objects.get(number=2), road=Road.objects.get())
        for index in range(9):
            services.building_create(by=None, bin=f"K-2{index}", footprint=square(1700 + 30 * index, 20),
                                     holding=second, sanitation_system="sewer", structure_type="semi_pucca",
                                     water_source="tube_well", surveyed_at=timezone.now())

    def run_now(task):
        def delay(*args, **kwargs):
            with tenant_context(tworld.khulna):
                return task(*args, **kwargs)

        return delay

    for task in (tasks.run_import, tasks.run_export, tasks.run_quality_refresh):
        monkeypatch.setattr(task, "delay", run_now(task))
    return tworld


def log_in(page, url):
    page.goto(url)
    page.fill("input[name=login]", "gis_officer@khulna.test")
    page.fill("input[name=password]", "imis-demo")
    page.click("button[type=submit]")


def test_import_preview_and_data_quality(khulna, page, tenant_url, screenshot, tmp_path):
    rows = building_rows(4)
    rows[0]["holding_id"] = "2-7-15"
    rows[3]["floors"] = 300
    gpkg = buildings_gpkg(tmp_path / "ward-1-survey.gpkg", rows)
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, tenant_url(khulna.khulna, "/data/import/"))
    expect(page.locator("h1")).to_have_text("Import a layer")
    page.select_option("select[name=layer]", "buildings")
    page.set_input_files("input[name=file]", str(gpkg))
    screenshot("dataio-import-upload")
    page.click("main button[type=submit]")

    expect(page.locator("h1")).to_contain_text("Check and map ward-1-survey.gpkg")
    expect(page.locator("[data-features]")).to_contain_text("4 features")
    expect(page.locator("select[name=map__bin]")).to_have_value("bin")
    screenshot("dataio-import-preview")

    page.click("button[name=check]")
    # the check runs in the request here; on a loaded machine it can outlast the default wait (the page polls)
    expect(page.locator("[data-result-message]")).to_contain_text("1 row has problems", timeout=30_000)
    expect(page.locator(".rejects-table")).to_contain_text("must be a whole number from 1 to 200")
    screenshot("dataio-import-check")

    page.click("text=Back to the mapping and options")
    page.check("input[name=skip_bad_rows]")
    page.click("button[name=import]")
    expect(page.locator("[data-inserted]").first).to_have_attribute("data-inserted", "3", timeout=30_000)
    screenshot("dataio-import-result")

    page.goto(tenant_url(khulna.khulna, "/data/quality/"))
    expect(page.locator("h1")).to_have_text("Data quality")
    expect(page.locator("[data-check=duplicate_holding_id] [data-count]")).to_have_text("2")
    screenshot("dataio-quality")
    page.click("[data-check=building_no_holding]")
    expect(page.locator(".problems-table")).to_contain_text("K-2")
    screenshot("dataio-quality-check")

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(tenant_url(khulna.khulna, "/data/quality/"))
    screenshot("dataio-quality-phone")
