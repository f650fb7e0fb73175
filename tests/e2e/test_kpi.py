"""The KPI dashboard in a browser: open it, see every chart drawn (SVG, under the strict CSP, no console error),
change the ward filter, see the ward's numbers and charts, keep screenshots (English and Bangla)."""

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.tenant_apps.kpi.conftest import FY, Scene

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHARTS = ("monthly", "quarters", "wards", "choropleth", "providers")


def expect_charts_drawn(page) -> None:
    for name in CHARTS:
        chart = page.locator(f'[data-chart="{name}"]')
        expect(chart.locator("svg")).to_have_count(1)
        # drawn, not an empty canvas: bars, lines or ward shapes, and some text (axes, legend)
        expect(chart.locator("svg path").first).to_be_attached()
        assert chart.locator("svg path").count() >= 3, name
        assert chart.locator("svg text").count() >= 1, name
        assert chart.evaluate("el => el.getBoundingClientRect().height") > 100, name


def log_in(page, url: str) -> None:
    page.goto(url)
    page.fill("input[name=login]", "executive@khulna.test")
    page.fill("input[name=password]", "imis-demo")
    page.click("button[type=submit]")


def collect_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error} {error.stack}"))
    # CSP violations (an inline style or script the browser refused) are console errors
    def on_console(message) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    return errors


def test_executive_filters_the_dashboard_by_ward(tworld, page, tenant_url, screenshot):
    cache.clear()
    with tenant_context(tworld.khulna):
        Scene(tworld)
    errors = collect_errors(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, tenant_url(tworld.khulna, f"/kpi/?year={FY}"))

    expect(page.locator("h1")).to_contain_text("Key performance indicators")
    card = page.locator('[data-kpi="FSM-1"] [data-kpi-value]')
    expect(card).to_have_text("60.0 %")
    expect(page.locator('[data-kpi="FSM-9"] [data-kpi-value]')).to_have_text("1")
    expect(page.get_by_role("link", name="Reports")).to_be_visible()  # the sidebar item, now that the URL exists
    expect_charts_drawn(page)
    # the ward map names its wards; the ward bars and the quarter line are labelled
    expect(page.locator('[data-chart="wards"] svg text', has_text="Ward 2")).to_have_count(1)
    expect(page.locator('[data-chart="quarters"] svg text', has_text="Q1")).to_have_count(1)
    expect(page.locator('[data-chart="providers"] svg text', has_text="Emptyings")).not_to_have_count(0)
    screenshot("kpi-dashboard-city")

    page.select_option("[data-chart-select]", "FSM-2")  # another indicator in the quarter/ward/map charts
    expect(page.locator('[data-chart="wards"] svg text', has_text="Ward 1")).to_have_count(1)

    page.select_option("#kpi-ward", "2")  # the filter form submits itself
    page.wait_for_url("**ward=2**")
    expect(page.locator("h1")).to_contain_text("Ward 2")
    expect(page.locator('[data-kpi="FSM-1"] [data-kpi-value]')).to_have_text("50.0 %")
    expect(page.locator('[data-kpi="SF-1a"] [data-kpi-value]')).to_have_text("0.0 %")
    expect_charts_drawn(page)
    screenshot("kpi-dashboard-ward")
    assert errors == [], errors


def test_dashboard_in_bangla(tworld, page, tenant_url, screenshot):
    cache.clear()
    with tenant_context(tworld.khulna):
        Scene(tworld)
    errors = collect_errors(page)
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, tenant_url(tworld.khulna, f"/kpi/?year={FY}"))
    expect(page.locator("h1")).to_contain_text("Key performance indicators")
    page.select_option("#language-select", "bn")
    expect(page.locator("html")).to_have_attribute("lang", "bn")
    expect_charts_drawn(page)
    # Bangla month names and digits on the axes, Bangla ward labels
    monthly = page.locator('[data-chart="monthly"] svg text').all_text_contents()
    assert any("জুল" in text and "২০২৫" in text for text in monthly), monthly
    expect(page.locator('[data-chart="wards"] svg text', has_text="ওয়ার্ড ২")).to_have_count(1)
    screenshot("kpi-dashboard-bn")
    assert errors == [], errors
