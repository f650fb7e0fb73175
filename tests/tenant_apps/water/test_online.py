"""A water bill paid online: the one checkout flow through the real `stripe` library against the local stand-in,
recorded once by the signed webhook, and a second payment for the same bill held as a credit, not settled twice."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.payments import services as payments
from imis.tenant_apps.payments.models import OnlinePaymentLine
from imis.tenant_apps.water import services
from imis.tenant_apps.water.models import WaterBill, WaterPayment
from tests.tenant_apps.payments.stripe_standin import StripeStandIn, signed_event

pytestmark = pytest.mark.django_db
SECRET = "whsec_test_khulna"
RETURN = "http://khulna.localhost/portal/payments/{payment}/"


@pytest.fixture
def stripe_api():
    standin = StripeStandIn().start()
    yield standin
    standin.stop()


def pay_at_stripe(client, stripe_api, payment):
    session = stripe_api.complete(payment.gateway_session_id)
    body, signature = signed_event(secret=SECRET, event_type="checkout.session.completed", session=session)
    return client.post("/payments/webhook/stripe/", body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=signature, HTTP_HOST="khulna.localhost")


def test_a_water_bill_paid_online_is_recorded_once(town, world, stripe_api, client):
    payments.gateway_configure(by=None, gateway="stripe", secret_key="sk_test_khulna", webhook_secret=SECRET,
                               api_base=stripe_api.url)
    connection = town.active(is_metered=False)
    services.bills_generate(by=None, period=datetime.date(2026, 9, 1))
    bill = WaterBill.objects.get(connection=connection, period=datetime.date(2026, 9, 1))
    item = ("water", f"bill:{bill.pk}", None)
    first = payments.checkout_start(holding=town.holding, items=[item], success_url=RETURN, cancel_url=RETURN)
    second = payments.checkout_start(holding=town.holding, items=[item], success_url=RETURN, cancel_url=RETURN)
    assert first.kind == "water" and first.amount == Decimal("300.00")
    assert stripe_api.sessions[first.gateway_session_id]["amount_total"] == 30000
    response = pay_at_stripe(client, stripe_api, first)
    assert response.status_code == 200 and "WSR-00000002" in response.content.decode()  # 1 was the fee
    pay_at_stripe(client, stripe_api, second)
    with tenant_context(world.khulna):
        bill.refresh_from_db()
        payment = WaterPayment.objects.get(bill=bill)
        assert bill.status == "paid" and payment.method == "online" and payment.amount == Decimal("300.00")
        assert OnlinePaymentLine.objects.get(payment=second).status == "credit"
        assert WaterPayment.objects.filter(bill=bill).count() == 1
