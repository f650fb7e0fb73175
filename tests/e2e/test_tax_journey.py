"""In the browser: the tax officer (with the authenticator code) runs the bills for one ward as a job and watches
it finish; the cashier takes a payment at the counter and gets the numbered receipt (page, and its PDF as an
image); the holding then shows as paid; a resident's scan of the receipt's QR code verifies it."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS
from tests.tenant_apps.tax.conftest import FY, Town
from tests.world import PASSWORD, totp_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def log_in(page, url: str, email: str) -> None:
    page.goto(url)
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("input[name=code]", totp_now())
    page.click("button[type=submit]")


def watch_errors(page, errors: list[str]) -> None:
    def console_error(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", console_error)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions


def test_bill_run_then_counter_payment_then_paid(tworld, page, browser, tenant_url, screenshot):
    from celery.contrib.testing.worker import start_worker

    from imis import celery_app

    with tenant_context(tworld.khulna):
        Town(tworld, holdings=6)
    errors: list[str] = []
    watch_errors(page, errors)
    page.set_viewport_size({"width": 1366, "height": 900})

    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]):
        # the tax officer bills ward 1 for the first quarter
        log_in(page, tenant_url(tworld.khulna, "/tax/bill-runs/"), "tax_officer@khulna.test")
        expect(page.locator("h1")).to_have_text("Bill runs")
        page.select_option("#id_fiscal_year", str(FY))
        page.fill("#id_period", "1")
        page.select_option("#id_ward", "1")
        page.get_by_role("button", name="Run bills").click()
        expect(page.locator("h1")).to_contain_text("Bill run 2026-27, instalment 1, ward 1")
        expect(page.locator("#job-progress[data-status=succeeded]")).to_be_visible(timeout=30_000)
        expect(page.locator("#job-progress")).to_contain_text("100%")
        screenshot("tax-bill-run-job")
        page.goto(tenant_url(tworld.khulna, "/tax/bill-runs/"))
        expect(page.locator("table[data-table=bill-runs] tbody tr").first).to_contain_text("3")
        screenshot("tax-bill-runs")

    # the cashier takes the payment at the counter
    cashier_context = browser.new_context(viewport={"width": 1366, "height": 900})
    counter = cashier_context.new_page()
    watch_errors(counter, errors)
    log_in(counter, tenant_url(tworld.khulna, "/tax/pay/"), "cashier@khulna.test")
    expect(counter.locator("h1")).to_have_text("Take a payment")
    counter.fill("#id_holding", "1-0010-00001")
    counter.get_by_role("button", name="Look up").click()
    expect(counter.locator("[data-balance]")).to_have_text("৳ 500.00")
    expect(counter.locator("#id_amount")).to_have_value("500.00")
    screenshot_path = SCREENSHOTS / "tax-counter-payment.png"
    counter.screenshot(path=str(screenshot_path), full_page=True)
    counter.get_by_role("button", name="Record payment and print receipt").click()
    expect(counter.locator("h1")).to_have_text("Receipt R-00000001")
    expect(counter.locator("[data-amount]")).to_have_text("৳ 500.00")
    expect(counter.locator("[data-balance]")).to_have_text("৳ 0.00")
    counter.screenshot(path=str(SCREENSHOTS / "tax-receipt.png"), full_page=True)

    # the receipt's PDF, as the resident gets it, kept as an image beside the screenshots
    pdf_url = counter.locator("[data-receipt-pdf]").get_attribute("href")
    fetched = counter.evaluate("""async (url) => {
        const response = await fetch(url);
        const bytes = new Uint8Array(await response.arrayBuffer());
        let text = "";
        for (const byte of bytes) text += String.fromCharCode(byte);
        return {type: response.headers.get("content-type"), body: btoa(text)};
    }""", pdf_url)  # in the page: Chromium resolves *.localhost, Playwright's own HTTP client does not
    assert fetched["type"] == "application/pdf"
    receipt_pdf = SCREENSHOTS / "tax-receipt.pdf"
    receipt_pdf.write_bytes(base64.b64decode(fetched["body"]))
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "110", "-singlefile", str(receipt_pdf),
                        str(SCREENSHOTS / "tax-receipt-pdf")], check=True)
        text = subprocess.run(["pdftotext", str(receipt_pdf), "-"], capture_output=True, text=True).stdout
        assert "R-00000001" in text and "৳ 500.00" in text

    # the holding is paid up
    counter.get_by_role("link", name="1-0010-00001").first.click()
    expect(counter.locator("h1")).to_have_text("Holding 1-0010-00001")
    expect(counter.locator("[data-stat=balance]")).to_have_text("৳ 0.00")
    expect(counter.locator("[data-years-due='0']").first).to_contain_text("Paid up")
    counter.get_by_role("tab", name=re.compile("Payments")).click()
    expect(counter.locator("#tab-payments")).to_contain_text("R-00000001")
    counter.screenshot(path=str(SCREENSHOTS / "tax-holding-paid.png"), full_page=True)

    # a resident scans the QR code: no login, no owner's name
    resident = browser.new_context().new_page()
    resident.goto(tenant_url(tworld.khulna, "/tax/verify/R-00000001/"))
    expect(resident.locator("[data-status=valid]")).to_be_visible()
    expect(resident.locator("body")).not_to_contain_text("Owner 0")
    resident.screenshot(path=str(SCREENSHOTS / "tax-verify.png"), full_page=True)
    cashier_context.close()
    assert errors == []
