"""In the browser: a resident looks up her holding (holding ID + a bill number), sees what is due — the holding
tax bill, the fee of last week's emptying and her shop's trade licence fee — ticks them and pays in test mode:
the real `stripe` library opens a Checkout Session at the local stand-in of the Stripe API, the "hosted checkout"
is a page the test serves in place of checkout.stripe.com, and back on the municipality's site the return page
says "waiting" until a correctly signed webhook arrives, then turns to paid by itself. She downloads the receipts
as PDF (kept as images beside the screenshots); the tax officer then sees the online payment in the tax screens.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import urllib.request
from urllib.parse import urlparse

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from imis.tenant_apps.payments import services
from tests.e2e.conftest import SCREENSHOTS
from tests.tenant_apps.payments.estate import Estate
from tests.tenant_apps.payments.stripe_standin import StripeStandIn, signed_event
from tests.world import PASSWORD, totp_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SECRET = "whsec_test_khulna_e2e"



def watch_errors(page, errors: list[str]) -> None:
    def console_error(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", console_error)
    page.on("pageerror", lambda error: errors.append(str(error)))


def fetch_pdf(page, url: str) -> bytes:
    """In the page: Chromium resolves *.localhost and sends the portal's session cookie."""
    fetched = page.evaluate("""async (url) => {
        const response = await fetch(url);
        const bytes = new Uint8Array(await response.arrayBuffer());
        let text = "";
        for (const byte of bytes) text += String.fromCharCode(byte);
        return {type: response.headers.get("content-type"), body: btoa(text)};
    }""", url)
    assert fetched["type"] == "application/pdf"
    return base64.b64decode(fetched["body"])


def test_resident_pays_fees_online_and_the_tax_officer_sees_it(tworld, page, browser, tenant_url, live_server):
    standin = StripeStandIn().start()
    errors: list[str] = []
    try:
        with tenant_context(tworld.khulna):
            estate = Estate(tworld)
            services.gateway_configure(by=None, gateway="stripe", secret_key="sk_test_khulna", webhook_secret=SECRET,
                                       api_base=standin.url)
            holding_id, bill_number = estate.holding.holding_id, estate.bill.number
            fee = estate.application.fee_amount

        # Stripe's hosted checkout page, played by the test: it shows the session and sends the resident back
        def hosted_checkout(route):
            session = standin.sessions[urlparse(route.request.url).path.rsplit("/", 1)[1]]
            route.fulfill(status=200, content_type="text/html", body=(
                "<!doctype html><title>Checkout (test mode)</title><h1>Test mode</h1>"
                f"<p id=amount>{session['amount_total']} {session['currency']}</p>"
                f"<a id=pay href=\"{session['success_url']}\">Pay</a>"))

        page.route("https://checkout.stripe.com/**", hosted_checkout)
        watch_errors(page, errors)
        page.set_viewport_size({"width": 390, "height": 844})  # a phone

        # look up the holding with a bill number as the second factor
        page.goto(tenant_url(tworld.khulna, "/portal/"))
        page.fill("#holding_id", holding_id)
        page.fill("#second_factor", bill_number)
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("h1")).to_have_text(f"Holding {holding_id}")
        dues = page.locator("[data-payable]")
        expect(dues).to_have_count(3)
        expect(page.locator("#dues")).to_contain_text(f"Desludging {estate.application.number}")
        expect(page.locator("#dues")).to_contain_text("Karim Store")
        expect(page.locator("#fsm")).to_contain_text(estate.application.number)
        page.screenshot(path=str(SCREENSHOTS / "portal-dues.png"), full_page=True)

        # pay all three in one checkout
        page.get_by_role("button", name="Pay the ticked dues online").click()
        expect(page.locator("h1")).to_have_text("Test mode")
        total = int((fee + 1500) * 100)  # ৳ 500 tax + ৳ 1,000 licence + the desludging fee, in paisa
        expect(page.locator("#amount")).to_have_text(f"{total} bdt")
        page.click("#pay")

        # back on the municipality's site: pending, because no webhook has come yet
        expect(page.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "pending")
        expect(page.locator("h1")).to_have_text("Waiting for confirmation")
        page.screenshot(path=str(SCREENSHOTS / "portal-return-pending.png"), full_page=True)

        # Stripe settles and signs its webhook; the page notices by itself
        session_id = next(iter(standin.sessions))
        body, signature = signed_event(secret=SECRET, event_type="checkout.session.completed",
                                       session=standin.complete(session_id))
        port = live_server.url.rsplit(":", 1)[1]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/payments/webhook/stripe/", data=body, method="POST",
                                         headers={"Host": f"khulna.localhost:{port}", "Stripe-Signature": signature,
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:  # noqa: S310 - http to the live server
            assert response.status == 200
        expect(page.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "paid", timeout=15_000)
        expect(page.locator("h1")).to_have_text("Payment received")
        receipts = page.locator("[data-receipt-number]")
        expect(receipts).to_have_text(["R-00000001", "FSR-00000001", "TLR-00000001"])
        page.screenshot(path=str(SCREENSHOTS / "portal-return-paid.png"), full_page=True)

        # the receipts, as PDF (the desludging one in Bangla too), kept as images
        for number, language in (("FSR-00000001", "en"), ("FSR-00000001", "bn"), ("TLR-00000001", "en"),
                                 ("R-00000001", "en")):
            content = fetch_pdf(page, f"/portal/receipts/{number}/receipt.pdf?lang={language}")
            path = SCREENSHOTS / f"portal-receipt-{number}-{language}.pdf"
            path.write_bytes(content)
            if shutil.which("pdftoppm"):
                subprocess.run(["pdftoppm", "-png", "-r", "110", "-singlefile", str(path),
                                str(SCREENSHOTS / f"portal-receipt-{number}-{language}")], check=True)
                text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
                assert number in text
                if language == "bn":
                    assert "টাকা প্রাপ্তির রসিদ" in text and "অনলাইন" in text

        # the holding page lists the receipts and nothing is due any more
        page.get_by_role("link", name="Back to the holding").click()
        expect(page.locator("[data-nothing-due]")).to_be_visible()
        expect(page.locator("[data-receipt]")).to_have_count(3)

        # the QR code on the fee receipt opens its verify page, for anyone
        stranger = browser.new_context().new_page()
        stranger.goto(tenant_url(tworld.khulna, "/portal/verify/FSR-00000001/"))
        expect(stranger.locator("[data-status=valid]")).to_be_visible()
        expect(stranger.locator("body")).to_contain_text(estate.application.number)
        stranger.screenshot(path=str(SCREENSHOTS / "portal-verify-fee.png"), full_page=True)
        stranger.context.close()

        # the tax officer sees the online payment in the tax screens
        officer_context = browser.new_context(viewport={"width": 1366, "height": 900})
        officer = officer_context.new_page()
        watch_errors(officer, errors)
        officer.goto(tenant_url(tworld.khulna, f"/tax/holdings/{estate.holding.pk}/"))
        officer.fill("input[name=login]", "tax_officer@khulna.test")
        officer.fill("input[name=password]", PASSWORD)
        officer.click("button[type=submit]")
        officer.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        officer.fill("input[name=code]", totp_now())
        officer.click("button[type=submit]")
        expect(officer.locator("h1")).to_have_text(f"Holding {holding_id}")
        expect(officer.locator("[data-stat=balance]")).to_have_text("৳ 0.00")
        officer.get_by_role("tab", name=re.compile("Payments")).click()
        expect(officer.locator("#tab-payments")).to_contain_text("R-00000001")
        expect(officer.locator("#tab-payments")).to_contain_text("Online")
        officer.screenshot(path=str(SCREENSHOTS / "portal-tax-officer-holding.png"), full_page=True)
        officer.goto(tenant_url(tworld.khulna, "/payments/online/"))
        for number in ("R-00000001", "FSR-00000001", "TLR-00000001"):
            expect(officer.locator(f"[data-receipt='{number}']")).to_be_visible()
        officer.screenshot(path=str(SCREENSHOTS / "portal-tax-officer-online.png"), full_page=True)
        officer_context.close()
    finally:
        standin.stop()
    assert errors == []
