"""Holding tax screens: who may open what, the counter payment and its receipt, reversal, adjustments, the due
status (years due by the apportionment rule), defaulters, the cash book, bill runs as jobs, the public verify page,
feature gate and isolation between municipalities."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.tax import selectors
from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import Adjustment, Bill, Payment

from .conftest import FY

pytestmark = pytest.mark.django_db
D = Decimal


def client_as(world, tenant_client, role, slug="khulna"):
    return tenant_client(getattr(world, slug), world.user(role, slug))


def billed(town, *periods):
    for period in periods or (1,):
        tax.bill_run_execute(by=town.user("tax_officer"), fiscal_year=FY, period=period)


PAGES = [
    ("/tax/", {"municipal_admin", "executive", "tax_officer", "cashier", "viewer"}, {"sanitation_officer"}),
    ("/tax/due/", {"tax_officer", "viewer"}, {"help_desk"}),
    ("/tax/defaulters/", {"executive", "cashier"}, {"gis_officer"}),
    ("/tax/bill-runs/", {"tax_officer", "viewer"}, {"field_surveyor"}),
    ("/tax/rates/", {"tax_officer"}, {"service_provider"}),
    ("/tax/rates/new/", {"tax_officer", "municipal_admin"}, {"cashier", "viewer"}),
    ("/tax/notices/", {"tax_officer"}, {"cashier"}),
    ("/tax/pay/", {"cashier", "tax_officer"}, {"viewer", "executive", "municipal_admin"}),
    ("/tax/cash-book/", {"cashier", "executive", "tax_officer"}, {"viewer"}),
    ("/tax/adjustments/", {"viewer", "executive"}, {"plant_operator"}),
    ("/tax/objections/", {"viewer"}, {"water_officer"}),
]


@pytest.mark.parametrize(("url", "allowed", "forbidden"), PAGES)
def test_each_page_opens_for_its_roles_only(town, world, tenant_client, url, allowed, forbidden):
    for role in allowed:
        assert client_as(world, tenant_client, role).get(url).status_code == 200, (url, role)
    for role in forbidden:
        assert client_as(world, tenant_client, role).get(url).status_code == 403, (url, role)
    assert tenant_client(world.khulna).get(url).status_code == 302  # anonymous: to the login page


def test_home_shows_totals_in_taka_with_lakh_grouping(town, world, tenant_client):
    with tenant_context(world.khulna):
        for n in range(3):
            tax.assessment_create(by=None, holding=town.holdings[n], fiscal_year=FY, basis="rent",
                                  monthly_rent=D(250_000), reason="Shopping centre")
        billed(town)
    response = client_as(world, tenant_client, "executive").get(f"/tax/?fy={FY}")
    html = response.content.decode()
    # annual values 3 × 25,00,000 + 40,000 at 20 %, a quarter: 3 × 1,25,000 + 2,000 = 3,77,000.00
    assert re.search(r'data-stat="billed">৳ 3,77,000<', html)
    assert "2026-27" in html
    bangla = client_as(world, tenant_client, "executive")
    bangla.cookies["django_language"] = "bn"
    assert "৳ ৩,৭৭,০০০" in bangla.get(f"/tax/?fy={FY}").content.decode()


def test_counter_payment_gives_a_numbered_receipt_and_updates_the_statement(town, world, tenant_client):
    with tenant_context(world.khulna):
        billed(town)
    client = client_as(world, tenant_client, "cashier")
    page = client.get("/tax/pay/", {"holding": "1-0010-00001"})
    html = page.content.decode()
    assert "৳ 500.00" in html and 'name="nonce"' in html
    nonce = re.search(r'name="nonce" value="([0-9a-f]+)"', html).group(1)
    form = {"holding": "1-0010-00001", "nonce": nonce, "amount": "500", "method": "cash", "reference": ""}
    response = client.post("/tax/pay/", form)
    assert response.status_code == 302 and response["Location"] == "/tax/receipts/R-00000001/"
    again = client.post("/tax/pay/", form)  # the button pressed twice: one payment, the same receipt
    assert again["Location"] == "/tax/receipts/R-00000001/"
    with tenant_context(world.khulna):
        assert Payment.objects.count() == 1
        assert tax.holding_balance(town.holdings[0]) == 0
    receipt = client.get("/tax/receipts/R-00000001/").content.decode()
    assert "data:image/svg+xml" in receipt and "/tax/verify/R-00000001/" in receipt
    statement = client.get(f"/tax/holdings/{town.holdings[0].pk}/").content.decode()
    assert 'data-years-due="0"' in statement and "R-00000001" in statement


def test_payment_form_errors_stay_beside_the_fields(town, world, tenant_client):
    with tenant_context(world.khulna):
        billed(town)
    client = client_as(world, tenant_client, "cashier")
    response = client.post("/tax/pay/", {"holding": "1-0010-00001", "nonce": "a1", "amount": "300",
                                         "method": "cheque", "reference": " "})
    assert response.status_code == 200
    assert "Enter the cheque or transfer reference." in response.content.decode()
    unknown = client.get("/tax/pay/", {"holding": "9-9999-99999"})
    assert "No holding has this ID" in unknown.content.decode()
    with tenant_context(world.khulna):
        assert not Payment.objects.exists()


def test_reversal_needs_a_reason_and_restores_the_due(town, world, tenant_client):
    with tenant_context(world.khulna):
        billed(town)
        payment = tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=500, method="cheque",
                                     reference="SONALI 1")
    client = client_as(world, tenant_client, "cashier")
    url = f"/tax/receipts/{payment.receipt_number}/reverse/"
    assert "Reverse the payment" in client.get(url).content.decode()
    assert client.post(url, {"status": "dishonoured", "reason": ""}).status_code == 200
    response = client.post(url, {"status": "dishonoured", "reason": "Cheque bounced"})
    assert response.status_code == 302
    with tenant_context(world.khulna):
        assert Payment.objects.get().status == "dishonoured"
        assert tax.holding_balance(town.holdings[0]) == D("500.00")
    assert client_as(world, tenant_client, "viewer").post(url, {"status": "cancelled", "reason": "x"}).status_code == 403


def test_adjustment_request_and_approval_by_someone_else(town, world, tenant_client):
    with tenant_context(world.khulna):
        billed(town)
    officer = client_as(world, tenant_client, "tax_officer")
    response = officer.post(f"/tax/holdings/{town.holdings[0].pk}/adjust/",
                            {"kind": "write_off", "amount": "100", "reason": "Flood relief"})
    assert response.status_code == 302
    with tenant_context(world.khulna):
        adjustment = Adjustment.objects.get()
    assert officer.post(f"/tax/adjustments/{adjustment.pk}/decide/", {"decision": "approve"}).status_code == 403
    admin = client_as(world, tenant_client, "municipal_admin")
    assert "Flood relief" in admin.get("/tax/adjustments/").content.decode()
    admin.post(f"/tax/adjustments/{adjustment.pk}/decide/", {"decision": "approve"})
    with tenant_context(world.khulna):
        assert tax.holding_balance(town.holdings[0]) == D("400.00")


def test_years_due_count_the_newest_years_that_hold_the_balance(town, world, django_capture_on_commit_callbacks):
    """Bills of three fiscal years; payments settle the oldest first, so the balance sits in the newest."""
    with tenant_context(world.khulna):
        officer, cashier = town.user("tax_officer"), town.user("cashier")
        for year in (FY - 2, FY - 1):
            tax.rate_schedule_set(by=None, fiscal_year=year, effective_from=datetime.date(year, 7, 1),
                                  heads={"holding_tax": 20}, surcharge_percent=0, rebate_percent=0, instalments=1)
            for holding in town.holdings:
                tax.assessment_create(by=None, holding=holding, fiscal_year=year, basis="rent", monthly_rent=1000)
            tax.bill_run_execute(by=officer, fiscal_year=year, period=1)  # 2,000 a year each
        tax.rate_schedule_set(by=None, fiscal_year=FY, effective_from=datetime.date(FY, 7, 1),
                              heads={"holding_tax": 20}, surcharge_percent=0, rebate_percent=0, instalments=1)
        tax.bill_run_execute(by=officer, fiscal_year=FY, period=1)
        # owed: 2,000 + 2,000 + this year's 2,000 / 4,000 / 6,000 / 8,000
        h0, h1, h2, h3 = town.holdings
        tax.payment_record(by=cashier, holding=h0, amount=D("6000"), method="cash")  # all paid: 0 years
        tax.payment_record(by=cashier, holding=h1, amount=D("6000"), method="cash")  # 2,000 of this year: 1
        tax.payment_record(by=cashier, holding=h2, amount=D("1000"), method="cash")  # 9,000 reaches 2024-25: 3
        tax.payment_record(by=cashier, holding=h3, amount=D("4000"), method="cash")  # exactly this year's 8,000: 1
        tax.payment_record(by=cashier, holding=h3, amount=D("0.01"), method="cash")  # 7,999.99: still 1
        assert selectors.holding_due(h0).years_due == 0
        assert selectors.holding_due(h1).years_due == 1
        h2_due = selectors.holding_due(h2)
        assert (h2_due.balance, h2_due.years_due) == (D("9000.00"), 3)
        assert selectors.holding_due(h3).years_due == 1
        assert selectors.holdings_years_due() == {h0.pk: 0, h1.pk: 1, h2.pk: 3, h3.pk: 1}
        with django_capture_on_commit_callbacks(execute=True):  # the payment commits: a new data version
            tax.payment_record(by=cashier, holding=h2, amount=D("1000"), method="cash")  # 8,000 = 6,000 + 2,000: 2
        assert selectors.holding_due(h2).years_due == 2
        assert selectors.holdings_years_due()[h2.pk] == 2
        assert selectors.holdings_years_due(ward=2)[h3.pk] == 1 and h0.pk not in selectors.holdings_years_due(ward=2)
        # a ward on its own (no city table cached) reads the same rows as the city table's slice
        from django.core.cache import cache

        city = selectors.due_table()
        for ward in (1, 2):
            cache.clear()
            assert sorted(selectors.due_table(ward=ward)) == sorted(row for row in city if row[2] == ward)


def test_due_list_filters_and_csv(town, world, tenant_client):
    with tenant_context(world.khulna):
        billed(town)
        tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=500, method="cash")
    client = client_as(world, tenant_client, "viewer")
    html = client.get("/tax/due/").content.decode()
    assert 'data-total="4"' in html
    html = client.get("/tax/due/", {"years_due": "1"}).content.decode()
    assert 'data-total="3"' in html and "1-0010-00001" not in html
    html = client.get("/tax/due/", {"ward": "1"}).content.decode()
    assert 'data-total="2"' in html and "2-0010-00002" not in html
    csv_text = b"".join(client.get("/tax/due/", {"ward": "2", "format": "csv"}).streaming_content).decode()
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("\ufeffHolding ID") and len(lines) == 3 and "2-0010-00002,2,Owner 1,1000.00,1" in lines[1]


def test_defaulters_are_those_owing_past_the_due_date(town, world, tenant_client):
    with tenant_context(world.khulna):
        billed(town)
        Bill.objects.filter(holding__in=town.holdings[2:]).update(due_date=timezone.localdate())  # not late yet
        tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=200, method="cash")
    client = client_as(world, tenant_client, "executive")
    html = client.get("/tax/defaulters/").content.decode()
    assert 'data-total="2"' in html and "৳ 300.00" in html and "৳ 1,000.00" in html
    assert "3-0010" not in html
    csv_text = b"".join(client.get("/tax/defaulters/", {"format": "csv"}).streaming_content).decode()
    assert "+8801711000000" in csv_text and "2026-27" in csv_text


def test_cash_book_totals_by_method_and_own_receipts_only(town, world, tenant_client):
    with tenant_context(world.khulna):
        billed(town)
        cashier, officer = town.user("cashier"), town.user("tax_officer")
        tax.payment_record(by=cashier, holding=town.holdings[0], amount=500, method="cash")
        tax.payment_record(by=cashier, holding=town.holdings[1], amount=1000, method="cheque", reference="IBBL 7")
        bounced = tax.payment_record(by=cashier, holding=town.holdings[2], amount=700, method="bank", reference="T9")
        tax.payment_reverse(by=cashier, payment=bounced, reason="Transfer recalled")
        tax.payment_record(by=officer, holding=town.holdings[3], amount=100, method="cash")
    html = client_as(world, tenant_client, "cashier").get("/tax/cash-book/").content.decode()
    assert re.search(r'data-method="cash">৳ 500.00<', html)
    assert re.search(r'data-method="cheque">৳ 1,000.00<', html)
    assert re.search(r'data-stat="total">৳ 1,500.00<', html) and "R-00000004" not in html
    supervisor = client_as(world, tenant_client, "executive").get("/tax/cash-book/").content.decode()
    assert re.search(r'data-stat="total">৳ 1,600.00<', supervisor)
    day = timezone.localdate().isoformat()
    csv_text = b"".join(client_as(world, tenant_client, "cashier").get(
        "/tax/cash-book/", {"day": day, "format": "csv"}).streaming_content).decode()
    assert csv_text.count("\n") == 4  # header + three receipts, the reversed one marked
    assert "Dishonoured" not in csv_text and "Cancelled" in csv_text


def test_bill_run_form_starts_a_job_and_checks_the_instalment(town, world, tenant_client):
    from imis.tenant_apps.jobs.models import Job

    client = client_as(world, tenant_client, "tax_officer")
    response = client.post("/tax/bill-runs/", {"fiscal_year": FY, "period": 7, "ward": "", "nonce": "n1"})
    assert response.status_code == 200 and "Choose an instalment from 1 to 4" in response.content.decode()
    response = client.post("/tax/bill-runs/", {"fiscal_year": FY + 1, "period": 1, "ward": "", "nonce": "n2"})
    assert "No tax rates are set for 2027-28" in response.content.decode()
    response = client.post("/tax/bill-runs/", {"fiscal_year": FY, "period": 1, "ward": "1", "nonce": "n3"})
    with tenant_context(world.khulna):
        job = Job.objects.get(kind="tax.bill_run")
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.params == {"fiscal_year": FY, "period": 1, "ward": 1}
    assert client.post("/tax/bill-runs/", {"fiscal_year": FY, "period": 1, "ward": "1", "nonce": "n3"})[
        "Location"] == f"/jobs/{job.pk}/"  # sent twice: the same job
    with tenant_context(world.khulna):
        assert Job.objects.filter(kind="tax.bill_run").count() == 1
    assert client_as(world, tenant_client, "cashier").post(
        "/tax/bill-runs/", {"fiscal_year": FY, "period": 1, "nonce": "n4"}).status_code == 403


def test_rates_and_assessment_forms_call_the_services(town, world, tenant_client):
    client = client_as(world, tenant_client, "tax_officer")
    response = client.post("/tax/rates/new/", {
        "fiscal_year": FY, "effective_from": "2026-07-01", "holding_tax": "8", "conservancy": "7", "lighting": "3",
        "water": "", "surcharge_percent": "5", "rebate_percent": "10", "instalments": "4"})
    assert response.status_code == 302
    assert "Holding tax 8" in client.get("/tax/rates/").content.decode()
    holding = town.holdings[0]
    response = client.post(f"/tax/holdings/{holding.pk}/assess/", {
        "fiscal_year": FY, "basis": "rent", "monthly_rent": "2000", "exemption": "", "reason": ""})
    assert response.status_code == 200 and "Say why the holding is reassessed." in response.content.decode()
    response = client.post(f"/tax/holdings/{holding.pk}/assess/", {
        "fiscal_year": FY, "basis": "rent", "monthly_rent": "2000", "exemption": "", "reason": "New lease"})
    assert response.status_code == 302
    with tenant_context(world.khulna):
        assert holding.assessments.get(is_current=True).annual_value == D("20000.00")


def test_objection_filed_then_decided(town, world, tenant_client):
    with tenant_context(world.khulna):
        assessment = town.holdings[1].assessments.get()
    officer = client_as(world, tenant_client, "tax_officer")
    officer.post(f"/tax/assessments/{assessment.pk}/object/", {"grounds": "Ground floor vacant"})
    with tenant_context(world.khulna):
        objection = assessment.objections.get()
    assert officer.get(f"/tax/objections/{objection.pk}/decide/").status_code == 403
    admin = client_as(world, tenant_client, "municipal_admin")
    response = admin.post(f"/tax/objections/{objection.pk}/decide/",
                          {"upheld": "yes", "decision": "Verified", "revised_annual_value": "15000"})
    assert response.status_code == 302
    with tenant_context(world.khulna):
        assert town.holdings[1].assessments.get(is_current=True).annual_value == D("15000.00")


def test_verify_page_is_public_and_shows_no_owner(town, world, tenant_client):
    with tenant_context(world.khulna):
        billed(town)
        payment = tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=200, method="cash")
        bill = Bill.objects.get(holding=town.holdings[0])
    anonymous = tenant_client(world.khulna)
    html = anonymous.get(f"/tax/verify/{payment.receipt_number}/").content.decode()
    assert "1-0010-00001" in html and "৳ 200.00" in html and 'data-status="valid"' in html
    assert "Owner 0" not in html and "01711000000" not in html and "+880" not in html
    html = anonymous.get(f"/tax/verify/{bill.number}/").content.decode()
    assert 'data-status="part_paid"' in html and "৳ 500.00" in html and "Owner 0" not in html
    assert anonymous.get("/tax/verify/R-99999999/").status_code == 404
    # another municipality's number is not found there
    assert tenant_client(world.jhenaidah).get(f"/tax/verify/{payment.receipt_number}/").status_code == 404


def test_tax_pages_are_404_where_the_feature_is_off(town, world, tenant_client):
    from imis.shared_apps.tenants.models import MunicipalityFeature

    MunicipalityFeature.objects.filter(municipality=world.khulna, feature_id="holding_tax").update(is_enabled=False)
    try:
        assert client_as(world, tenant_client, "tax_officer").get("/tax/").status_code == 404
        assert tenant_client(world.khulna).get("/tax/verify/R-00000001/").status_code == 404
    finally:
        MunicipalityFeature.objects.filter(municipality=world.khulna, feature_id="holding_tax").update(
            is_enabled=True)


def test_a_khulna_holding_is_404_on_jhenaidah(town, world, tenant_client):
    url = f"/tax/holdings/{town.holdings[0].pk}/"
    assert client_as(world, tenant_client, "tax_officer").get(url).status_code == 200
    assert client_as(world, tenant_client, "tax_officer", "jhenaidah").get(url).status_code == 404
    assert client_as(world, tenant_client, "cashier", "jhenaidah").get(
        "/tax/pay/", {"holding": "1-0010-00001"}).content.decode().count("No holding has this ID") == 1


def test_holding_page_costs_a_bounded_number_of_queries(town, world, tenant_client, django_assert_max_num_queries):
    with tenant_context(world.khulna):
        billed(town, 1, 2)
        tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=700, method="cash")
    client = client_as(world, tenant_client, "tax_officer")
    url = f"/tax/holdings/{town.holdings[0].pk}/"
    client.get(url)
    with django_assert_max_num_queries(25):
        assert client.get(url).status_code == 200
