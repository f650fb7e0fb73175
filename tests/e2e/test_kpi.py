"""The KPI dashboard in a browser: open it, change the ward filter, see the ward's numbers, keep a screenshot."""

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.tenant_apps.kpi.conftest import FY, Scene

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_executive_filters_the_dashboard_by_ward(tworld, page, tenant_url, screenshot):
    cache.clear()
    with tenant_context(tworld.khulna):
        Scene(tworld)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(tenant_url(tworld.khulna, f"/kpi/?year={FY}"))
    page.fill("input[name=login]", "executive@khulna.test")
    page.fill("input[name=password]", "imis-demo")
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_contain_text("Key performance indicators")
    card = page.locator('[data-kpi="FSM-1"] [data-kpi-value]')
    expect(card).to_have_text("60.0 %")
    expect(page.locator('[data-kpi="FSM-9"] [data-kpi-value]')).to_have_text("1")
    expect(page.get_by_role("link", name="Reports")).to_be_visible()  # the sidebar item, now that the URL exists
    screenshot("kpi-dashboard-city")

    page.select_option("#kpi-ward", "2")  # the filter form submits itself
    page.wait_for_url("**ward=2**")
    expect(page.locator("h1")).to_contain_text("Ward 2")
    expect(page.locator('[data-kpi="FSM-1"] [data-kpi-value]')).to_have_text("50.0 %")
    expect(page.locator('[data-kpi="SF-1a"] [data-kpi-value]')).to_have_text("0.0 %")
    page.wait_for_timeout(800)  # charts, when the bundle is built, draw after load
    screenshot("kpi-dashboard-ward")
    assert errors == []
