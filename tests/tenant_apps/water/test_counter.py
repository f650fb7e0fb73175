"""The cashier counter (/payments/counter/) for water: who may open it, which dues each role may tick and take —
a water officer takes water dues but not holding tax, a cashier both — with the feature and the municipality
respected."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import Payment
from imis.tenant_apps.water import services
from imis.tenant_apps.water.models import WaterBill, WaterPayment

from .town import feature_switch

pytestmark = pytest.mark.django_db
FY = 2026


@pytest.fixture
def owed(town):
    """The holding owes a September water bill (৳ 300, flat rate) and a quarter's holding tax."""
    town.active(is_metered=False)
    services.bills_generate(by=None, period=datetime.date(2026, 9, 1))
    tax.rate_schedule_set(by=None, fiscal_year=FY, effective_from=datetime.date(2026, 7, 1),
                          heads={"holding_tax": 7, "conservancy": 7, "lighting": 3, "water": 3},
                          surcharge_percent=5, rebate_percent=0, instalments=4)
    tax.assessment_create(by=None, holding=town.holding, fiscal_year=FY, basis="rent", monthly_rent=1000)
    tax.bill_run_execute(by=None, fiscal_year=FY, period=1)
    town.bill = WaterBill.objects.get()
    assert tax.holding_balance(town.holding) > 0
    return town


def counter(tenant_client, world, town, role):
    return tenant_client(world.khulna, town.user(role))


# role → (may open the counter, may take water, may take holding tax)
MATRIX = {
    "water_officer": (True, True, False),
    "municipal_admin": (True, True, False),
    "cashier": (True, True, True),
    "tax_officer": (True, True, True),
    "sanitation_officer": (True, False, False),  # desludging fees only
    "viewer": (False, False, False),
    "help_desk": (False, False, False),
    "gis_officer": (False, False, False),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_who_sees_and_ticks_which_dues(owed, world, tenant_client, role):
    may_open, takes_water, takes_tax = MATRIX[role]
    response = counter(tenant_client, world, owed, role).get("/payments/counter/",
                                                             {"holding": owed.holding.holding_id})
    assert response.status_code == (200 if may_open else 403)
    if not may_open:
        return
    page = response.content.decode()
    water, holding_tax = f"water:bill:{owed.bill.pk}", f"holding_tax:{owed.holding.pk}"
    assert (f'data-payable="{water}"' in page) is takes_water
    assert (f'data-other-payable="{water}"' in page) is not takes_water
    assert (f'data-payable="{holding_tax}"' in page) is takes_tax
    assert (f'data-other-payable="{holding_tax}"' in page) is not takes_tax


def test_a_water_officer_takes_a_water_bill_but_not_the_tax(owed, world, tenant_client):
    officer = counter(tenant_client, world, owed, "water_officer")
    assert 'href="/payments/counter/" data-link="counter"' in officer.get("/water/").content.decode()
    assert 'data-link="counter"' not in counter(tenant_client, world, owed, "viewer").get("/water/").content.decode()
    holding_id = owed.holding.holding_id
    page = officer.post("/payments/counter/", {"holding": holding_id, "method": "cash",
                                               "due": [f"water:bill:{owed.bill.pk}",
                                                       f"holding_tax:{owed.holding.pk}"]}).content.decode()
    assert "Your role does not allow taking Holding tax." in page  # all or nothing: nothing taken
    with tenant_context(world.khulna):
        assert WaterPayment.objects.filter(bill__isnull=False).count() == 0 and Payment.objects.count() == 0
    page = officer.post("/payments/counter/", {"holding": holding_id, "method": "cash",
                                               "due": f"water:bill:{owed.bill.pk}"}).content.decode()
    with tenant_context(world.khulna):
        payment = WaterPayment.objects.get(bill=owed.bill)
        owed.bill.refresh_from_db()
    assert f'data-receipt="{payment.receipt_number}"' in page and owed.bill.status == "paid"
    assert payment.amount == D("300.00") and payment.cashier_label == owed.user("water_officer").email
    assert f'data-other-payable="holding_tax:{owed.holding.pk}"' in page  # the tax is still due, elsewhere
    receipt = officer.get(f"/payments/receipts/{payment.receipt_number}/receipt.pdf")
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    again = officer.post("/payments/counter/", {"holding": holding_id, "method": "cash",
                                                "due": f"water:bill:{owed.bill.pk}"}).content.decode()
    assert "it may have been paid already" in again and "Nothing due here is for your desk." in again
    with tenant_context(world.khulna):
        assert WaterPayment.objects.filter(bill=owed.bill).count() == 1


def test_a_cashier_takes_both_on_one_visit(owed, world, tenant_client):
    cashier = counter(tenant_client, world, owed, "cashier")
    with tenant_context(world.khulna):
        balance = tax.holding_balance(owed.holding)
    page = cashier.post("/payments/counter/", {
        "holding": owed.holding.holding_id, "method": "cash",
        "due": [f"water:bill:{owed.bill.pk}", f"holding_tax:{owed.holding.pk}"],
        f"amount-holding_tax:{owed.holding.pk}": str(balance)}).content.decode()
    with tenant_context(world.khulna):
        water, holding_tax = WaterPayment.objects.get(bill=owed.bill), Payment.objects.get()
        assert tax.holding_balance(owed.holding) == 0
    assert f'data-receipt="{water.receipt_number}"' in page and f'data-receipt="{holding_tax.receipt_number}"' in page


def test_without_the_water_feature_the_water_officer_has_no_counter(owed, world, tenant_client):
    feature_switch(world.khulna, False)
    assert counter(tenant_client, world, owed, "water_officer").get("/payments/counter/").status_code == 403
    page = counter(tenant_client, world, owed, "cashier").get(
        "/payments/counter/", {"holding": owed.holding.holding_id}).content.decode()
    assert "water:bill:" not in page and f'data-payable="holding_tax:{owed.holding.pk}"' in page


def test_another_municipalitys_water_officer_finds_nothing_here(owed, world, tenant_client):
    feature_switch(world.jhenaidah, True)
    other = tenant_client(world.jhenaidah, world.user("water_officer", "jhenaidah"))
    page = other.get("/payments/counter/", {"holding": owed.holding.holding_id}).content.decode()
    assert "No holding with this ID." in page and "water:bill:" not in page
    page = other.post("/payments/counter/", {"holding": owed.holding.holding_id, "method": "cash",
                                             "due": f"water:bill:{owed.bill.pk}"}).content.decode()
    with tenant_context(world.khulna):
        owed.bill.refresh_from_db()
        assert owed.bill.status == "issued"
    with tenant_context(world.jhenaidah):
        assert WaterPayment.objects.count() == 0
