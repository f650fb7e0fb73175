"""In the browser: a support team member (with the authenticator code) onboards a new municipality end to end —
creates it, uploads its first GIS package (a GeoPackage with several layers, written here with GDAL), watches the
import job run on a real Celery worker, invites the municipal admin and reads the checklist of what is missing.
No browser console error under the strict Content-Security-Policy."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context
from playwright.sync_api import expect

from imis.shared_apps.tenants.models import Municipality
from imis.tenant_apps.registry.models import Building, Containment, Road, Ward
from tests.shared_apps.test_console_package import gis_package
from tests.world import PASSWORD, totp_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLUG = "magura"
CENTRE = (89.4194, 23.4873)



def _drop_schema() -> None:
    connection.set_schema_to_public()
    if schema_exists(SLUG):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{SLUG}" CASCADE')


@pytest.fixture
def fresh_slug(tworld, settings, tmp_path):
    """The test creates Magura; a schema left by an earlier run (a flush keeps schemas) is dropped first and
    after."""
    settings.MEDIA_ROOT = tmp_path / "media"
    _drop_schema()
    yield tworld
    Municipality.objects.filter(slug=SLUG).delete()
    _drop_schema()


@pytest.fixture
def errors(page):
    found: list[str] = []

    def console_error(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            found.append(f"{message.text} {message.location}")

    page.on("console", console_error)
    page.on("pageerror", lambda error: found.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    return found


def test_support_onboards_a_municipality_end_to_end(fresh_slug, page, live_server, screenshot, errors, tmp_path):
    from celery.contrib.testing.worker import start_worker

    from imis import celery_app

    console = live_server.url.replace("127.0.0.1", "localhost")
    package = gis_package(tmp_path / "magura-initial.gpkg", CENTRE)
    page.set_viewport_size({"width": 1366, "height": 900})

    # the support team member logs in with the authenticator code
    page.goto(f"{console}/console/")
    page.fill("input[name=login]", "support@imis.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("input[name=code]", totp_now())
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Municipalities")

    # step 1: name, address and services
    page.click("text=Onboard a municipality >> nth=0")
    expect(page.locator("h1")).to_have_text("Onboard a municipality")
    page.fill("input[name=name]", "Magura Paurashava")
    page.fill("input[name=name_bn]", "মাগুরা পৌরসভা")
    page.fill("input[name=slug]", SLUG)
    page.check("input[name=features][value=fsm]")
    page.check("input[name=features][value=holding_tax]")
    page.fill("input[name=centroid_lon]", str(CENTRE[0]))
    page.fill("input[name=centroid_lat]", str(CENTRE[1]))
    screenshot("console-onboarding-create")
    page.get_by_role("button", name="Create").click()

    # step 2: the initial GIS package, imported by the worker as one job
    expect(page.locator(".alert-success")).to_contain_text("Magura Paurashava is ready")
    expect(page.locator(".wizard-steps [aria-current=step]")).to_contain_text("GIS data")
    page.set_input_files("input[name=file]", str(package))
    screenshot("console-onboarding-gis")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]):
        page.click("form[data-package-form] button[type=submit]")
        expect(page.locator("#package-status")).to_be_visible()
        expect(page.locator("[data-result-message]")).to_have_attribute("data-landed", "yes", timeout=60_000)
    report = page.locator("[data-package-report]")
    for layer, inserted in (("wards", "2"), ("roads", "2"), ("buildings", "6"), ("containments", "3")):
        expect(report.locator(f"tr[data-layer={layer}] [data-inserted]")).to_have_attribute("data-inserted",
                                                                                            inserted)
    expect(report.locator("tr[data-ignored=survey_notes]")).to_contain_text("Left out")
    screenshot("console-onboarding-gis-report")
    magura = Municipality.objects.get(slug=SLUG)
    with tenant_context(magura):
        assert (Ward.objects.count(), Road.objects.count(), Building.objects.count(),
                Containment.objects.count()) == (2, 2, 6, 3)

    # step 3: invite the municipal administrator
    page.click("text=Next: invite the administrator")
    expect(page.locator(".wizard-steps [aria-current=step]")).to_contain_text("Invite the administrator")
    page.fill("input[name=email]", "admin@magura.gov.bd")
    page.fill("input[name=full_name]", "Magura Admin")
    screenshot("console-onboarding-invite")
    page.get_by_role("button", name="Send invitation").click()

    # step 4: the checklist from Magura's own data
    expect(page.locator(".alert-success")).to_contain_text("Invitation sent to admin@magura.gov.bd")
    expect(page.locator(".wizard-steps [aria-current=step]")).to_contain_text("Checklist")
    for key in ("created", "wards", "roads", "buildings", "holdings", "containments", "admin"):
        expect(page.locator(f"[data-check={key}]")).to_have_attribute("data-done", "yes")
    for key in ("users", "plants", "providers", "vehicles", "prices", "rates"):
        expect(page.locator(f"[data-check={key}]")).to_have_attribute("data-done", "no")
    expect(page.locator("[data-check=licence_fees]")).to_have_count(0)  # trade licence is off
    port = live_server.url.rsplit(":", 1)[1]
    expect(page.locator("[data-check=providers] a")).to_have_attribute(
        "href", f"http://magura.localhost:{port}/fsm/setup/providers/")
    expect(page.locator("[data-check=buildings] [data-count]")).to_have_text("6")
    screenshot("console-onboarding-checklist")
    assert len(mail.outbox) == 1 and f"http://magura.localhost:{port}/accounts/password/reset/key/" in \
        mail.outbox[0].body

    # the console list shows Magura's own figures
    page.goto(f"{console}/console/?q=magura")
    row = page.locator("tr[data-slug=magura]")
    expect(row.locator("[data-buildings]")).to_have_attribute("data-buildings", "6")
    expect(row.locator("[data-containments]")).to_have_attribute("data-containments", "3")
    expect(row.locator("[data-holdings]")).to_have_attribute("data-holdings", "6")
    expect(row.locator("[data-open-applications]")).to_have_attribute("data-open-applications", "0")
    expect(row).to_contain_text("magura.localhost")
    expect(page.locator("tr[data-slug]")).to_have_count(1)
    screenshot("console-municipalities")

    # the municipality's page keeps the checklist
    page.click("tr[data-slug=magura] a")
    expect(page.locator("[data-check=buildings]")).to_have_attribute("data-done", "yes")
    expect(page.locator("[data-figures]")).to_contain_text("Open applications")
    screenshot("console-municipality")

    assert errors == []  # no script error and no CSP violation on any page of the wizard
