"""In the browser: the GIS officer uploads a file of disease cases under Outside data, follows the run to its end,
and reads the ward table of cases against unsafe sanitation (screenshots on a laptop and on a phone)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from imis.tenant_apps.links import tasks
from tests.tenant_apps.links.conftest import Place
from tests.tenant_apps.registry.factories import at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def place(tworld, monkeypatch):
    # the run's job goes through Celery's eager apply in the request's thread, in the request's schema
    monkeypatch.setattr(tasks.link_run_task, "delay",
                        lambda *args, **kwargs: tasks.link_run_task.apply(args=args, kwargs=kwargs))
    return Place(tworld)


def test_officer_imports_cases_and_reads_them_against_sanitation(place, page, tenant_url, screenshot, tmp_path):
    near, further = at(10, 10), at(30, 40)
    cases = tmp_path / "cholera-november.csv"
    cases.write_text("date,disease,cases,deaths,lon,lat\n"
                     f"2026-11-20,Cholera,4,0,{near[0]},{near[1]}\n"
                     f"2026-11-22,Cholera,3,1,{further[0]},{further[1]}\n"
                     "2026-11-23,Typhoid,2,0,,\n")  # no place at all: a bad row
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(tenant_url(place.khulna, "/links/"))
    page.fill("input[name=login]", "gis_officer@khulna.test")
    page.fill("input[name=password]", "imis-demo")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Outside data")
    screenshot("links-index")

    page.goto(tenant_url(place.khulna, "/links/health/upload/"))
    page.select_option("select[name=dataset]", "cases")
    page.set_input_files("input[name=file]", str(cases))
    page.click("main button[type=submit]")
    expect(page.locator("main")).to_contain_text("nothing was imported", timeout=30_000)  # all or nothing
    screenshot("links-run-refused")

    page.goto(tenant_url(place.khulna, "/links/health/upload/"))
    page.select_option("select[name=dataset]", "cases")
    page.set_input_files("input[name=file]", str(cases))
    page.check("input[name=skip_bad_rows]")
    page.click("main button[type=submit]")
    expect(page.locator("[data-status]").first).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(page.locator("main")).to_contain_text("1 problem")
    expect(page.locator("[data-table=problems] tr[data-row='4']")).to_contain_text("Give a place")
    screenshot("links-run")

    page.goto(tenant_url(place.khulna, "/links/health/wards/"))
    expect(page.locator("tr[data-ward='1'] [data-cases]")).to_have_attribute("data-cases", "7")
    expect(page.locator("[data-total-cases]")).to_have_attribute("data-total-cases", "7")
    screenshot("links-cases-wards")
    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    screenshot("links-cases-wards-phone")
