"""Online payments with the real `stripe` library against a local stand-in of its API, and signed webhooks."""

import time
from decimal import Decimal

import pytest
from django.db.models import Sum
from django_tenants.utils import tenant_context

from imis.tenant_apps.payments import services
from imis.tenant_apps.payments.models import OnlinePayment, ProcessedEvent
from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import Bill, LedgerEntry, Payment
from tests.tenant_apps.tax.conftest import FY, Town

from .stripe_standin import StripeStandIn, signed_event

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "whsec_test_khulna"


@pytest.fixture
def stripe_api():
    standin = StripeStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def town(world, stripe_api):
    with tenant_context(world.khulna):
        town = Town(world, holdings=2)
        tax.bill_run_execute(by=None, fiscal_year=FY, period=1)  # holding 0 owes 500, holding 1 owes 1,000
        services.gateway_configure(by=None, gateway="stripe", secret_key="sk_test_khulna",
                                   webhook_secret=WEBHOOK_SECRET, api_base=stripe_api.url)
        yield town


def start(town, holding=0, amount=None):
    return services.checkout_start_tax(holding=town.holdings[holding], amount=amount,
                                       success_url="http://khulna.localhost/portal/payments/{payment}/",
                                       cancel_url="http://khulna.localhost/portal/payments/{payment}/")


def deliver(client, body, signature):
    return client.post("/payments/webhook/stripe/", body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=signature, HTTP_HOST="khulna.localhost")


def test_checkout_session_is_created_in_minor_units(town, stripe_api):
    payment = start(town)
    session = stripe_api.sessions[payment.gateway_session_id]
    assert session["amount_total"] == 50000 and session["currency"] == "bdt"  # ৳ 500.00 in paisa
    assert payment.checkout_url.startswith("https://checkout.stripe.com/")
    assert session["client_reference_id"] == str(payment.pk)


def test_signed_webhook_settles_once_into_the_ledger(town, stripe_api, client):
    payment = start(town)
    session = stripe_api.complete(payment.gateway_session_id)
    body, signature = signed_event(secret=WEBHOOK_SECRET, event_type="checkout.session.completed", session=session)
    for _ in range(3):
        assert deliver(client, body, signature).status_code == 200
    with tenant_context(town.world.khulna):
        payment.refresh_from_db()
        assert payment.status == "paid" and payment.tax_payment.method == "online"
        assert Payment.objects.count() == 1 and ProcessedEvent.objects.count() == 1
        assert tax.holding_balance(town.holdings[0]) == 0


def test_events_out_of_order_and_resent_make_exactly_one_payment(town, stripe_api, client):
    payment = start(town)
    session = stripe_api.complete(payment.gateway_session_id)
    completed = signed_event(secret=WEBHOOK_SECRET, event_type="checkout.session.completed", session=session)
    expired = signed_event(secret=WEBHOOK_SECRET, event_type="checkout.session.expired",
                           session={**session, "status": "expired"})
    for body, signature in [completed, expired, completed, expired][::-1]:
        deliver(client, body, signature)
    with tenant_context(town.world.khulna):
        assert OnlinePayment.objects.get(pk=payment.pk).status == "paid"
        assert Payment.objects.filter(method="online").count() == 1


@pytest.mark.parametrize("tamper", ["wrong_secret", "stale", "altered_body", "missing"])
def test_forged_webhooks_are_refused_and_write_nothing(town, stripe_api, client, tamper):
    payment = start(town)
    session = stripe_api.complete(payment.gateway_session_id)
    secret = "whsec_attacker" if tamper == "wrong_secret" else WEBHOOK_SECRET
    timestamp = int(time.time()) - 3600 if tamper == "stale" else None
    body, signature = signed_event(secret=secret, event_type="checkout.session.completed", session=session,
                                   timestamp=timestamp)
    if tamper == "altered_body":
        body = body.replace(b'"amount_total": 50000', b'"amount_total": 50')
    if tamper == "missing":
        signature = ""
    assert deliver(client, body, signature).status_code == 400
    with tenant_context(town.world.khulna):
        assert ProcessedEvent.objects.count() == 0 and Payment.objects.count() == 0
        assert OnlinePayment.objects.get(pk=payment.pk).status == "pending"


def test_amount_or_currency_mismatch_is_flagged_not_settled(town, stripe_api, client):
    payment = start(town)
    session = stripe_api.complete(payment.gateway_session_id, amount_total=100)
    deliver(client, *signed_event(secret=WEBHOOK_SECRET, event_type="checkout.session.completed", session=session))
    other = start(town, holding=1)
    session = stripe_api.complete(other.gateway_session_id, currency="usd")
    deliver(client, *signed_event(secret=WEBHOOK_SECRET, event_type="checkout.session.completed", session=session))
    with tenant_context(town.world.khulna):
        assert OnlinePayment.objects.get(pk=payment.pk).status == "flagged"
        assert OnlinePayment.objects.get(pk=other.pk).status == "flagged"
        assert Payment.objects.count() == 0 and tax.holding_balance(town.holdings[0]) == Decimal("500.00")


def test_paying_an_already_paid_bill_becomes_a_credit(town, stripe_api, client):
    first, second = start(town), start(town)
    for payment in (first, second):
        session = stripe_api.complete(payment.gateway_session_id)
        deliver(client, *signed_event(secret=WEBHOOK_SECRET, event_type="checkout.session.completed",
                                      session=session))
    with tenant_context(town.world.khulna):
        assert tax.holding_balance(town.holdings[0]) == Decimal("-500.00")  # a credit for the next bill
        bill = Bill.objects.get(holding=town.holdings[0])
        assert bill.allocations.filter(payment__status="valid").aggregate(t=Sum("amount"))["t"] == Decimal("500.00")


def test_reconciliation_repairs_a_missed_webhook(town, stripe_api):
    payment = start(town, holding=1)
    stripe_api.complete(payment.gateway_session_id)  # paid at Stripe, webhook never arrived
    with tenant_context(town.world.khulna):
        report = services.payments_reconcile(hours=1)
        assert [r["session"] for r in report["repaired"]] == [payment.gateway_session_id]
        assert OnlinePayment.objects.get(pk=payment.pk).status == "paid"
        assert services.payments_reconcile(hours=1)["repaired"] == []


def test_refund_needs_an_approver_and_reverses_the_ledger(town, stripe_api, client):
    payment = start(town)
    deliver(client, *signed_event(secret=WEBHOOK_SECRET, event_type="checkout.session.completed",
                                  session=stripe_api.complete(payment.gateway_session_id)))
    with tenant_context(town.world.khulna):
        payment.refresh_from_db()
        refund = services.refund_request(by=town.user("cashier"), payment=payment, amount="500",
                                         reason="Paid twice at the counter")
        services.refund_approve(by=town.user("municipal_admin"), refund=refund)
        assert stripe_api.refunds[0]["amount"] == 50000 and stripe_api.refunds[0]["payment_intent"].startswith("pi_")
        assert tax.holding_balance(town.holdings[0]) == Decimal("500.00")
        assert OnlinePayment.objects.get(pk=payment.pk).status == "refunded"
        assert LedgerEntry.objects.filter(kind="reversal").count() == 1


def test_gateway_keys_are_stored_encrypted(town):
    from imis.tenant_apps.payments.models import GatewayConfig

    with tenant_context(town.world.khulna):
        config = GatewayConfig.objects.get()
        assert "sk_test_khulna" not in config.secret_key_encrypted and config.secret_key == "sk_test_khulna"
        assert WEBHOOK_SECRET not in config.webhook_secret_encrypted


def test_a_webhook_for_another_municipalitys_session_changes_nothing_there(town, stripe_api, client):
    payment = start(town)
    session = stripe_api.complete(payment.gateway_session_id)
    with tenant_context(town.world.jhenaidah):
        services.gateway_configure(by=None, gateway="stripe", secret_key="sk_j", webhook_secret="whsec_j",
                                   api_base=stripe_api.url)
    body, signature = signed_event(secret="whsec_j", event_type="checkout.session.completed", session=session)
    response = client.post("/payments/webhook/stripe/", body, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=signature, HTTP_HOST="jhenaidah.localhost")
    assert response.content == b"no such payment"
    with tenant_context(town.world.khulna):
        assert OnlinePayment.objects.get(pk=payment.pk).status == "pending"


@pytest.mark.django_db(transaction=True)
def test_periodic_reconciliation_visits_each_municipality(tworld):
    from imis.tenant_apps.payments.tasks import reconcile_all_municipalities

    standin = StripeStandIn().start()
    try:
        with tenant_context(tworld.khulna):
            town = Town(tworld, holdings=1)
            tax.bill_run_execute(by=None, fiscal_year=FY, period=1)
            services.gateway_configure(by=None, gateway="stripe", secret_key="sk_k", webhook_secret="whsec_k",
                                       api_base=standin.url)
            payment = start(town)
            standin.complete(payment.gateway_session_id)
        reports = reconcile_all_municipalities()
        assert list(reports) == ["khulna"] and len(reports["khulna"]["repaired"]) == 1
    finally:
        standin.stop()
