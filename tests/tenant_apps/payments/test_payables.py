"""Desludging fees and trade licence fees in the one payment flow: listed as dues, paid online through the real
`stripe` library against the local stand-in, recorded once by signed webhooks (repeats and reordering harmless),
amount mismatches flagged, a due paid meanwhile turned into a credit, the counter, receipts as PDF with Bangla
that extracts, the QR verify page, and another holding's or municipality's dues out of reach."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from imis.tenant_apps.fsm.models import ApplicationEvent
from imis.tenant_apps.licences.models import Certificate, Licence, LicencePayment
from imis.tenant_apps.payments import payables, services
from imis.tenant_apps.payments.models import FeePayment, OnlinePayment, OnlinePaymentLine, ProcessedEvent
from imis.tenant_apps.tax.models import Payment

from .estate import Estate
from .stripe_standin import StripeStandIn, signed_event

pytestmark = pytest.mark.django_db
SECRET = "whsec_test_khulna"
RETURN = "http://khulna.localhost/portal/payments/{payment}/"


@pytest.fixture
def stripe_api():
    standin = StripeStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def estate(world, stripe_api):
    cache.clear()
    with tenant_context(world.khulna):
        estate = Estate(world)
        services.gateway_configure(by=None, gateway="stripe", secret_key="sk_test_khulna", webhook_secret=SECRET,
                                   api_base=stripe_api.url)
        yield estate
    cache.clear()


def fsm_item(estate):
    return ("fsm_fee", str(estate.application.pk), None)


def licence_item(estate):
    return ("licence_fee", f"{estate.licence.pk}:{estate.licence_year}", None)


def start(estate, *items):
    return services.checkout_start(holding=estate.holding, items=list(items), success_url=RETURN, cancel_url=RETURN)


def deliver(client, body, signature, host="khulna.localhost"):
    return client.post("/payments/webhook/stripe/", body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=signature, HTTP_HOST=host)


def pay_at_stripe(client, stripe_api, payment, times=1, **tamper):
    session = stripe_api.complete(payment.gateway_session_id, **tamper)
    body, signature = signed_event(secret=SECRET, event_type="checkout.session.completed", session=session)
    return [deliver(client, body, signature) for _ in range(times)]


def test_a_holding_lists_its_fees_with_their_amounts(estate):
    dues = {due.kind: due for due in payables.holding_dues(estate.holding)}
    assert set(dues) == {"holding_tax", "fsm_fee", "licence_fee"}
    assert dues["fsm_fee"].amount == estate.application.fee_amount > 0
    assert dues["fsm_fee"].title == f"Desludging {estate.application.number}"
    assert dues["licence_fee"].amount == Decimal("1000.00") and "Karim Store" in dues["licence_fee"].title
    assert dues["holding_tax"].amount == Decimal("500.00") and dues["holding_tax"].is_partial_allowed
    assert payables.holding_dues(estate.holdings[1]) == []  # nothing emptied, billed or licensed there


def test_fsm_fee_paid_online_is_recorded_once(estate, stripe_api, client):
    payment = start(estate, fsm_item(estate))
    fee = estate.application.fee_amount
    assert stripe_api.sessions[payment.gateway_session_id]["amount_total"] == int(fee * 100)
    responses = pay_at_stripe(client, stripe_api, payment, times=3)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert responses[0].content.decode() == "paid, receipt FSR-00000001"
    assert {r.content for r in responses[1:]} == {b"duplicate event"}
    with tenant_context(estate.world.khulna):
        receipt = FeePayment.objects.get()
        assert (receipt.receipt_number, receipt.amount, receipt.method) == ("FSR-00000001", fee, "online")
        assert receipt.fsm_application == estate.application and receipt.holding == estate.holding
        assert OnlinePayment.objects.get(pk=payment.pk).status == "paid"
        assert OnlinePaymentLine.objects.get().receipt_number == "FSR-00000001"
        assert ProcessedEvent.objects.count() == 1
        assert [due.kind for due in payables.holding_dues(estate.holding)] == ["holding_tax", "licence_fee"]
        assert ApplicationEvent.objects.filter(application=estate.application, data__receipt="FSR-00000001").exists()


def test_licence_fee_paid_online_issues_one_certificate_whatever_the_order_of_events(estate, stripe_api, client):
    payment = start(estate, licence_item(estate))
    session = stripe_api.complete(payment.gateway_session_id)
    completed = signed_event(secret=SECRET, event_type="checkout.session.completed", session=session)
    expired = signed_event(secret=SECRET, event_type="checkout.session.expired", session={**session,
                                                                                         "status": "expired"})
    for body, signature in [expired, completed, expired, completed]:
        assert deliver(client, body, signature).status_code == 200
    with tenant_context(estate.world.khulna):
        licence = Licence.objects.get(pk=estate.licence.pk)
        assert licence.status == "active" and licence.number == "TL-000001"
        certificate = Certificate.objects.get()
        assert certificate.fiscal_year == estate.licence_year and certificate.payment.method == "online"
        assert certificate.payment.receipt_number == "TLR-00000001" and certificate.payment.amount == 1000
        assert LicencePayment.objects.count() == 1
        assert OnlinePayment.objects.get(pk=payment.pk).status == "paid"


def test_several_dues_in_one_checkout_each_get_their_receipt(estate, stripe_api, client):
    payment = start(estate, ("holding_tax", str(estate.holding.pk), "200"), fsm_item(estate), licence_item(estate))
    fee = estate.application.fee_amount
    assert payment.kind == "several" and payment.amount == Decimal("1200.00") + fee
    assert stripe_api.sessions[payment.gateway_session_id]["amount_total"] == int((Decimal("1200") + fee) * 100)
    pay_at_stripe(client, stripe_api, payment)
    with tenant_context(estate.world.khulna):
        lines = {line.kind: line for line in OnlinePaymentLine.objects.filter(payment=payment)}
        assert {k: line.receipt_number for k, line in lines.items()} == {
            "holding_tax": "R-00000001", "fsm_fee": "FSR-00000001", "licence_fee": "TLR-00000001"}
        assert Payment.objects.get().amount == Decimal("200.00")
        assert OnlinePayment.objects.get(pk=payment.pk).tax_payment.receipt_number == "R-00000001"
        dues = payables.holding_dues(estate.holding)
        assert [(due.kind, due.amount) for due in dues] == [("holding_tax", Decimal("300.00"))]


def test_fee_amount_mismatch_is_flagged_and_nothing_is_recorded(estate, stripe_api, client):
    fsm_payment = start(estate, fsm_item(estate))
    pay_at_stripe(client, stripe_api, fsm_payment, amount_total=100)
    licence_payment = start(estate, licence_item(estate))
    pay_at_stripe(client, stripe_api, licence_payment, currency="usd")
    with tenant_context(estate.world.khulna):
        for payment in (fsm_payment, licence_payment):
            payment.refresh_from_db()
            assert payment.status == "flagged" and "asked" in payment.status_reason
            assert payment.lines.get().status == "pending"
        assert FeePayment.objects.count() == 0 and LicencePayment.objects.count() == 0
        assert Licence.objects.get(pk=estate.licence.pk).status == "approved"
        assert {due.kind for due in payables.holding_dues(estate.holding)} == {"holding_tax", "fsm_fee",
                                                                                "licence_fee"}


def test_a_fee_paid_at_the_counter_meanwhile_becomes_a_credit_to_refund(estate, stripe_api, client):
    payment = start(estate, fsm_item(estate), licence_item(estate))
    with tenant_context(estate.world.khulna):
        counter = services.counter_take(by=estate.user("cashier"), holding=estate.holding,
                                        items=[fsm_item(estate), licence_item(estate)], method="cash")
        assert [s.receipt_number for s in counter] == ["FSR-00000001", "TLR-00000001"]
    assert "2 credit(s)" in pay_at_stripe(client, stripe_api, payment)[0].content.decode()
    with tenant_context(estate.world.khulna):
        payment.refresh_from_db()
        assert payment.status == "paid" and payment.status_reason.startswith("Credit to refund")
        assert set(payment.lines.values_list("status", flat=True)) == {"credit"}
        assert FeePayment.objects.count() == 1 and LicencePayment.objects.count() == 1  # no second settlement
        with pytest.raises(ValidationError):  # a settled licence fee is not taken back here ...
            services.refund_request(by=estate.user("cashier"), payment=payment, amount=payment.amount + 1,
                                    reason="x")
        refund = services.refund_request(by=estate.user("cashier"), payment=payment, amount=payment.amount,
                                         reason="Paid twice")  # ... but money never applied goes back
        services.refund_approve(by=estate.user("municipal_admin"), refund=refund)
        assert stripe_api.refunds[0]["amount"] == int(payment.amount * 100)
        assert FeePayment.objects.get().status == "valid" and Licence.objects.get().status == "active"


def test_counter_needs_a_collecting_role_and_a_reference_for_cheques(estate):
    with tenant_context(estate.world.khulna):
        with pytest.raises(ValidationError) as refused:
            services.counter_take(by=estate.user("viewer"), holding=estate.holding, items=[fsm_item(estate)],
                                  method="cash")
        assert refused.value.code == "forbidden"
        with pytest.raises(ValidationError) as no_reference:
            services.counter_take(by=estate.user("cashier"), holding=estate.holding, items=[fsm_item(estate)],
                                  method="cheque")
        assert no_reference.value.code == "required"
        with pytest.raises(ValidationError) as partial:
            services.counter_take(by=estate.user("cashier"), holding=estate.holding,
                                  items=[("fsm_fee", str(estate.application.pk), "100")], method="cash")
        assert partial.value.code == "partial_not_allowed"
        assert FeePayment.objects.count() == 0


def test_another_holdings_or_municipalitys_payable_is_out_of_reach(estate, stripe_api, client):
    with tenant_context(estate.world.khulna):
        neighbour = estate.emptied(1)  # holding 1's own fee
        for items in ([("fsm_fee", str(neighbour.pk), None)], [("licence_fee", f"{estate.licence.pk}:1999", None)],
                      [("fsm_fee", "999999", None)], [("water_bill", "1", None)], []):
            with pytest.raises(ValidationError):
                start(estate, *items)
        assert OnlinePayment.objects.count() == 0
    with tenant_context(estate.world.jhenaidah):  # the same ids mean nothing in another municipality
        from imis.tenant_apps.registry import services as registry
        from tests.tenant_apps.registry.factories import ward

        holding = registry.holding_create(by=None, holding_id="1-0001-00001", ward=ward(1, -500, -500, 500, 500))
        for item in (fsm_item(estate), licence_item(estate)):
            with pytest.raises(ValidationError):
                services.checkout_start(holding=holding, items=[item], success_url=RETURN, cancel_url=RETURN)
        assert payables.holding_dues(holding) == [] and OnlinePayment.objects.count() == 0
    # a resident signed in to holding 0 cannot pay holding 1's fee through the portal either
    client.post("/portal/", {"holding_id": estate.holding.holding_id, "second_factor": estate.bill.number},
                HTTP_HOST="khulna.localhost")
    response = client.post("/portal/pay/", {"due": f"fsm_fee:{neighbour.pk}"}, HTTP_HOST="khulna.localhost")
    assert response.status_code == 302 and response["Location"] == "/portal/holding/"
    with tenant_context(estate.world.khulna):
        assert OnlinePayment.objects.count() == 0


def test_portal_lists_fees_pays_them_and_serves_the_receipts(estate, stripe_api, client):
    looked_up = client.post("/portal/", {"holding_id": estate.holding.holding_id, "second_factor": estate.bill.number},
                            HTTP_HOST="khulna.localhost")
    assert looked_up.status_code == 302
    page = client.get("/portal/holding/", HTTP_HOST="khulna.localhost").content.decode()
    assert f'data-payable="fsm_fee:{estate.application.pk}"' in page and "Karim Store" in page
    assert f'data-application="{estate.application.number}"' in page
    response = client.post("/portal/pay/", {"due": [f"fsm_fee:{estate.application.pk}",
                                                    f"licence_fee:{estate.licence.pk}:{estate.licence_year}"]},
                           HTTP_HOST="khulna.localhost")
    assert response.status_code == 302 and response["Location"].startswith("https://checkout.stripe.com/")
    with tenant_context(estate.world.khulna):
        payment = OnlinePayment.objects.get()
    status = client.get(f"/portal/payments/{payment.pk}/", HTTP_HOST="khulna.localhost").content.decode()
    assert 'data-payment-status="pending"' in status and 'hx-trigger="every 3s"' in status
    pay_at_stripe(client, stripe_api, payment)
    status = client.get(f"/portal/payments/{payment.pk}/", HTTP_HOST="khulna.localhost",
                        HTTP_HX_REQUEST="true").content.decode()
    assert 'data-payment-status="paid"' in status and "FSR-00000001" in status and "TLR-00000001" in status
    assert "<html" not in status  # the polled fragment only
    page = client.get("/portal/holding/", HTTP_HOST="khulna.localhost").content.decode()
    assert 'data-receipt="FSR-00000001"' in page and 'data-receipt="TLR-00000001"' in page
    pdf = client.get("/portal/receipts/FSR-00000001/receipt.pdf", HTTP_HOST="khulna.localhost")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    # not this holding's, not this municipality's
    assert client.get(f"/portal/receipts/{estate.bill.number}/receipt.pdf",
                      HTTP_HOST="khulna.localhost").status_code == 404
    assert client.get("/portal/receipts/FSR-00000001/receipt.pdf", HTTP_HOST="jhenaidah.localhost").status_code == 404


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")
def test_fee_receipts_in_bangla_extract_right(estate, stripe_api, client):
    pay_at_stripe(client, stripe_api, start(estate, fsm_item(estate), licence_item(estate)))
    client.post("/portal/", {"holding_id": estate.holding.holding_id, "second_factor": estate.bill.number},
                HTTP_HOST="khulna.localhost")
    folder = Path(__file__).resolve().parents[3] / "artifacts" / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    fee = f"{estate.application.fee_amount:,.2f}".translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    for number, expected in (("FSR-00000001", ("সেপটিক ট্যাংক খালি করার ফি", f"৳ {fee}", "অনলাইন")),
                             ("TLR-00000001", ("ট্রেড লাইসেন্স ফি", "৳ ১,০০০.০০", "Karim Store"))):
        response = client.get(f"/portal/receipts/{number}/receipt.pdf", {"lang": "bn"}, HTTP_HOST="khulna.localhost")
        path = folder / f"fee-receipt-{number}-bn.pdf"
        path.write_bytes(response.content)
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        for snippet in (number, "খুলনা সিটি কর্পোরেশন", "টাকা প্রাপ্তির রসিদ", "1-0001-00001", *expected):
            assert snippet in text, (number, snippet)
        assert f"/portal/verify/{number}/" in text


def test_fee_receipts_verify_from_their_qr_code_without_the_owner(estate, stripe_api, client):
    pay_at_stripe(client, stripe_api, start(estate, fsm_item(estate), licence_item(estate)))
    fsm_page = client.get("/portal/verify/FSR-00000001/", HTTP_HOST="khulna.localhost")
    assert fsm_page.status_code == 200
    html = fsm_page.content.decode()
    assert 'data-status="valid"' in html and estate.application.number in html and "1-0001-00001" in html
    assert "Resident 0" not in html
    licence_page = client.get("/portal/verify/TLR-00000001/", HTTP_HOST="khulna.localhost").content.decode()
    assert f"TL-000001-{estate.licence_year}" in licence_page and "Abdul Karim" not in licence_page
    assert client.get("/portal/verify/FSR-99999999/", HTTP_HOST="khulna.localhost").status_code == 404
    assert client.get("/portal/verify/FSR-00000001/", HTTP_HOST="jhenaidah.localhost").status_code == 404


def test_the_counter_page_takes_fees_with_numbered_receipts(estate, world, tenant_client):
    cashier = tenant_client(world.khulna, estate.user("cashier"))
    page = cashier.get("/payments/counter/", {"holding": estate.holding.holding_id}).content.decode()
    assert f'data-payable="fsm_fee:{estate.application.pk}"' in page and 'data-payable="licence_fee:' in page
    cheque = cashier.post("/payments/counter/", {"holding": estate.holding.holding_id, "method": "cheque",
                                                 "due": f"fsm_fee:{estate.application.pk}"}).content.decode()
    assert "Enter the cheque or transfer reference." in cheque
    done = cashier.post("/payments/counter/", {"holding": estate.holding.holding_id, "method": "cash",
                                               "due": f"fsm_fee:{estate.application.pk}"}).content.decode()
    assert 'data-receipt="FSR-00000001"' in done
    with tenant_context(world.khulna):
        assert FeePayment.objects.get().cashier_label == "cashier@khulna.test"
    pdf = cashier.get("/payments/receipts/FSR-00000001/receipt.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert tenant_client(world.khulna, estate.user("service_provider")).get(
        "/payments/counter/", {"holding": estate.holding.holding_id}).status_code == 403
    assert tenant_client(world.jhenaidah, world.user("cashier", "jhenaidah")).get(
        "/payments/receipts/FSR-00000001/receipt.pdf").status_code == 404


def test_the_portal_page_runs_a_bounded_number_of_queries(estate, client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.post("/portal/", {"holding_id": estate.holding.holding_id, "second_factor": estate.bill.number},
                HTTP_HOST="khulna.localhost")
    with CaptureQueriesContext(connection) as few:
        client.get("/portal/holding/", HTTP_HOST="khulna.localhost")
    with tenant_context(estate.world.khulna):
        for n in (1, 2):  # more services on the same holding: the page does not grow a query per service
            application = estate.emptied(n)
            application.holding = estate.holding
            application.save(update_fields=["holding"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/portal/holding/", HTTP_HOST="khulna.localhost").content.decode()
    assert page.count('data-payable="fsm_fee:') == 3


def test_reconciliation_records_a_fee_whose_webhook_never_came(estate, stripe_api):
    payment = start(estate, fsm_item(estate))
    stripe_api.complete(payment.gateway_session_id)
    with tenant_context(estate.world.khulna):
        report = services.payments_reconcile(hours=1)
        assert report["repaired"] == [{"session": payment.gateway_session_id, "outcome": "paid, receipt FSR-00000001"}]
        assert services.payments_reconcile(hours=1)["repaired"] == [] and FeePayment.objects.count() == 1


def test_refunding_a_desludging_fee_makes_it_due_again(estate, stripe_api, client):
    payment = start(estate, fsm_item(estate))
    pay_at_stripe(client, stripe_api, payment)
    with tenant_context(estate.world.khulna):
        payment.refresh_from_db()
        refund = services.refund_request(by=estate.user("cashier"), payment=payment, amount=payment.amount,
                                         reason="Crew did not come back for the second trip")
        services.refund_approve(by=estate.user("municipal_admin"), refund=refund)
        assert FeePayment.objects.get().status == "reversed"
        assert OnlinePayment.objects.get(pk=payment.pk).status == "refunded"
        assert "fsm_fee" in {due.kind for due in payables.holding_dues(estate.holding)}
