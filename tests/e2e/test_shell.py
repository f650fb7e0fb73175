import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.tenant_apps.registry.models import Ward

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_khulna_officer_logs_in_and_reads_home_in_english_and_bangla(tworld, page, tenant_url, screenshot):
    with tenant_context(tworld.khulna):
        Ward.objects.bulk_create([Ward(number=n, name=f"Ward {n}") for n in range(1, 32)])

    page.goto(tenant_url(tworld.khulna, "/"))
    expect(page).to_have_url(tenant_url(tworld.khulna, "/accounts/login/?next=/"))
    page.fill("input[name=login]", "sanitation_officer@khulna.test")
    page.fill("input[name=password]", "imis-demo")
    screenshot("login")
    page.click("button[type=submit]")

    expect(page.locator("h1")).to_have_text("Khulna City Corporation")
    expect(page.locator("[data-stat=wards]")).to_have_text("31")
    expect(page.locator(".app-sidebar")).to_contain_text("Faecal sludge")
    expect(page.locator(".app-sidebar")).not_to_contain_text("Holding tax")
    screenshot("home-en")

    page.select_option("#language-select", "bn")
    expect(page.locator("html")).to_have_attribute("lang", "bn")
    expect(page.locator("h1")).to_have_text("খুলনা সিটি কর্পোরেশন")
    expect(page.locator("[data-stat=wards]")).to_have_text("৩১")
    screenshot("home-bn")

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(tenant_url(tworld.khulna, "/"))
    screenshot("home-bn-phone")
