"""Holding tax over GraphQL: counter payments (once per idempotency key), reversal, assessment and objection,
adjustments requested by one person and decided by another; bills, payments and due status read back; who may do
what; the `holding_tax` feature gate; IDs that do not cross municipalities."""

import uuid
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.services import municipality_feature_set
from imis.tenant_apps.tax.models import Adjustment, LedgerEntry, Payment
from tests.graphql.conftest import CALLERS, caller, expect_access, gid, resolve_refs

pytestmark = pytest.mark.django_db

D = Decimal


def _mutate(name: str, fields: str) -> str:
    upper = name[0].upper() + name[1:]
    return f"mutation($i: {upper}Input!) {{ {name}(input: $i) {{ errors {{ field message code }} {fields} }} }}"


def _refs(town, municipality) -> dict:
    return {
        "@holding": town.holdings[0].holding_id,
        "@payment": gid("TaxPayment", municipality, town.payment.pk),
        "@adjustment": gid("TaxAdjustment", municipality, town.adjustment.pk),
        "@assessment": gid("TaxAssessment", municipality, town.assessment.pk),
    }


def test_a_counter_payment_is_taken_once_and_apportioned(world, tax_town, api_for):
    cashier = api_for(world.khulna, "cashier")
    holding = tax_town.holdings[2].holding_id
    document = _mutate("taxPaymentRecord", "payment { id receiptNumber amount method status holding { holdingId } "
                                           "allocations { amount bill { number } } }")
    key = str(uuid.uuid4())
    variables = {"i": {"holdingId": holding.lower(), "amount": "700.00", "method": "CASH", "idempotencyKey": key}}
    first = cashier.data(document, variables)["taxPaymentRecord"]
    assert first["errors"] == []
    payment = first["payment"]
    assert payment["receiptNumber"].startswith("R-") and D(payment["amount"]) == D("700")
    assert payment["method"] == "CASH" and payment["status"] == "VALID" and payment["holding"]["holdingId"] == holding
    assert sum(D(a["amount"]) for a in payment["allocations"]) == D("700")
    retried = cashier.data(document, variables)["taxPaymentRecord"]
    assert retried["payment"]["receiptNumber"] == payment["receiptNumber"]
    with tenant_context(world.khulna):
        assert Payment.objects.filter(holding=tax_town.holdings[2]).count() == 1

    cheque = cashier.data(document, {"i": {"holdingId": holding, "amount": "10", "method": "CHEQUE"}})
    assert cheque["taxPaymentRecord"]["errors"] == [{"field": "reference", "code": "required",
                                                     "message": "Enter the cheque or transfer reference."}]
    huge = cashier.data(document, {"i": {"holdingId": holding, "amount": "1e20", "method": "CASH"}})
    assert huge["taxPaymentRecord"]["errors"][0]["field"] == "amount"
    unknown = cashier.data(document, {"i": {"holdingId": "9-9-9", "amount": "10", "method": "CASH"}})
    assert unknown["taxPaymentRecord"]["errors"][0] == {"field": "holdingId", "code": "not_found",
                                                        "message": "No holding has this ID here."}

    reversed_ = cashier.data(_mutate("taxPaymentReverse", "payment { status reversalReason }"), {"i": {
        "payment": payment["id"], "reason": "Bounced", "status": "DISHONOURED"}})["taxPaymentReverse"]
    assert reversed_ == {"errors": [], "payment": {"status": "DISHONOURED", "reversalReason": "Bounced"}}
    with tenant_context(world.khulna):
        assert LedgerEntry.objects.filter(holding=tax_town.holdings[2], kind="reversal").count() == 1


def test_online_is_no_counter_method(world, tax_town, api_for):
    body = api_for(world.khulna, "cashier").run(
        _mutate("taxPaymentRecord", "clientMutationId"),
        {"i": {"holdingId": tax_town.holdings[0].holding_id, "amount": "10", "method": "ONLINE"}})
    assert "data" not in body and "ONLINE" in body["errors"][0]["message"]  # refused before anything runs


def test_assessment_objection_and_adjustment_decisions(world, tax_town, api_for):
    refs = _refs(tax_town, world.khulna)
    officer, executive = api_for(world.khulna, "tax_officer"), api_for(world.khulna, "executive")
    reassessed = officer.data(_mutate("taxAssessmentCreate", "assessment { version isCurrent annualValue basis }"),
                              {"i": {"holdingId": refs["@holding"], "fiscalYear": 2026, "basis": "RENT",
                                     "monthlyRent": "2500", "reason": "New tenant"}})["taxAssessmentCreate"]
    assert reassessed["errors"] == []
    assert reassessed["assessment"] == {"version": 2, "isCurrent": True, "annualValue": "25000.00", "basis": "RENT"}
    no_reason = officer.data(_mutate("taxAssessmentCreate", "assessment { version }"), {"i": {
        "holdingId": refs["@holding"], "fiscalYear": 2026, "basis": "RENT", "monthlyRent": "3000"}})
    assert no_reason["taxAssessmentCreate"]["errors"][0]["code"] == "required"

    current = officer.data("query($h: String) { taxAssessments(holdingId: $h) { edges { node { id version } } } }",
                           {"h": refs["@holding"]})["taxAssessments"]["edges"]
    assert [edge["node"]["version"] for edge in current] == [2]
    filed = officer.data(_mutate("taxObjectionFile", "objection { id status grounds }"), {"i": {
        "assessment": current[0]["node"]["id"], "grounds": "Rent is lower"}})["taxObjectionFile"]
    assert filed["objection"]["status"] == "PENDING"
    decided = executive.data(_mutate("taxObjectionDecide", "objection { status revisedAnnualValue }"), {"i": {
        "objection": filed["objection"]["id"], "upheld": True, "decision": "Agreed",
        "revisedAnnualValue": "20000"}})["taxObjectionDecide"]
    assert decided == {"errors": [], "objection": {"status": "UPHELD", "revisedAnnualValue": "20000.00"}}

    requested = officer.data(_mutate("taxAdjustmentRequest", "adjustment { id status kind amount }"), {"i": {
        "holdingId": refs["@holding"], "kind": "CORRECTION", "amount": "-50", "reason": "Arithmetic"}})
    adjustment = requested["taxAdjustmentRequest"]["adjustment"]
    assert adjustment["status"] == "PENDING" and adjustment["kind"] == "CORRECTION"
    approved = executive.data(_mutate("taxAdjustmentDecide", "adjustment { status }"), {"i": {
        "adjustment": adjustment["id"], "approve": True}})
    assert approved["taxAdjustmentDecide"] == {"errors": [], "adjustment": {"status": "APPROVED"}}
    again = executive.data(_mutate("taxAdjustmentDecide", "adjustment { status }"), {"i": {
        "adjustment": adjustment["id"], "approve": False}})
    assert again["taxAdjustmentDecide"]["errors"][0]["code"] == "already_decided"


def test_bills_payments_and_due_status_read_back(world, tax_town, api_for):
    api = api_for(world.khulna, "viewer")
    holding = tax_town.holdings[0].holding_id
    data = api.data("""query($h: String!) {
        taxBills(holdingId: $h) { totalCount edges { node { number fiscalYear period currentAmount paid left
                                                             heads { code amount } holding { holdingId } } } }
        taxPayments(holdingId: $h) { edges { node { receiptNumber amount allocations { amount bill { number } } } } }
        taxAdjustments(status: PENDING) { edges { node { kind amount reason holding { holdingId } } } }
        taxHoldingDue(holdingId: $h) { holdingId wardNumber balance yearsDue overdue credit holding { address } }
        owing: taxHoldingDue(holdingId: "1-0010-00003") { balance yearsDue }
        taxDues(order: BALANCE_DESC) { totalCount balanceTotal edges { node { holdingId balance
                                                                                           yearsDue } } }
        ward2: taxDues(ward: 2) { totalCount }
    }""", {"h": holding})
    bill = data["taxBills"]["edges"][0]["node"] if data["taxBills"]["totalCount"] == 1 else None
    assert bill is not None and bill["fiscalYear"] == 2026 and bill["period"] == 1
    assert D(bill["paid"]) == D("500") and D(bill["left"]) == D(bill["currentAmount"]) - D("500")
    assert {head["code"] for head in bill["heads"]} == {"holding_tax", "conservancy", "lighting", "water"}
    assert sum(D(head["amount"]) for head in bill["heads"]) == D(bill["currentAmount"])
    payment = data["taxPayments"]["edges"][0]["node"]
    assert payment["allocations"] == [{"amount": "500.00", "bill": {"number": bill["number"]}}]
    assert data["taxAdjustments"]["edges"][0]["node"]["reason"] == "Flood damage"
    due = data["taxHoldingDue"]
    assert due["holdingId"] == holding and due["wardNumber"] == 1 and due["yearsDue"] == 0  # paid its first bill
    assert D(due["balance"]) == D(bill["left"]) == 0 and due["credit"] == "0.00"
    assert due["holding"]["address"] is not None
    assert data["owing"] == {"balance": "1500.00", "yearsDue": 1}  # 30,000 a year × 20 % ÷ 4
    dues = data["taxDues"]
    assert dues["totalCount"] == 4 and D(dues["balanceTotal"]) == sum(D(e["node"]["balance"]) for e in dues["edges"])
    balances = [D(edge["node"]["balance"]) for edge in dues["edges"]]
    assert balances == sorted(balances, reverse=True)
    assert data["ward2"]["totalCount"] == 2
    assert api.data('{ taxHoldingDue(holdingId: "no-such") { balance } }') == {"taxHoldingDue": None}


# --- the access matrix -------------------------------------------------------------------------------------------

QUERIES = {
    "taxAssessments": ("{ taxAssessments { totalCount } }", ("sanitation_officer", "viewer")),
    "taxObjections": ("{ taxObjections { totalCount } }", ("gis_officer", "tax_officer")),
    "taxBills": ("{ taxBills { totalCount } }", ("help_desk", "cashier")),
    "taxPayments": ("{ taxPayments { totalCount } }", ("service_provider", "executive")),
    "taxAdjustments": ("{ taxAdjustments { totalCount } }", ("water_officer", "municipal_admin")),
    "taxDues": ("{ taxDues { totalCount balanceTotal } }", ("field_surveyor", "cashier")),
    "taxHoldingDue": ('{ taxHoldingDue(holdingId: "1-0010-00001") { balance } }', ("gis_officer", "tax_officer")),
}
MUTATIONS = {
    "taxPaymentRecord": ({"holdingId": "@holding", "amount": "100", "method": "CASH"}, ("viewer", "cashier")),
    "taxPaymentReverse": ({"payment": "@payment", "reason": "Wrong holding"}, ("executive", "tax_officer")),
    "taxAssessmentCreate": ({"holdingId": "@holding", "fiscalYear": 2027, "basis": "RENT", "monthlyRent": "900"},
                            ("cashier", "tax_officer")),
    "taxObjectionFile": ({"assessment": "@assessment", "grounds": "Too high"}, ("cashier", "municipal_admin")),
    "taxAdjustmentRequest": ({"holdingId": "@holding", "kind": "WRITE_OFF", "amount": "10", "reason": "Poor"},
                             ("executive", "tax_officer")),
    "taxAdjustmentDecide": ({"adjustment": "@adjustment", "approve": False}, ("tax_officer", "executive")),
}


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(QUERIES))
def test_query_permission_matrix(world, api_for, request, operation, kind):
    document, roles = QUERIES[operation]
    if operation == "taxHoldingDue" and kind == "right role":
        request.getfixturevalue("tax_town")
    expect_access(caller(world, api_for, kind, roles).post(document), kind, operation)


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(MUTATIONS))
def test_mutation_permission_matrix(world, api_for, request, operation, kind):
    payload, roles = MUTATIONS[operation]
    refs = {}
    if kind in ("wrong role", "right role"):
        refs = _refs(request.getfixturevalue("tax_town"), world.khulna)
    response = caller(world, api_for, kind, roles).post(_mutate(operation, "clientMutationId"),
                                                        {"i": resolve_refs(payload, refs)})
    expect_access(response, kind, operation)


def test_objection_decision_needs_tax_approve(world, tax_town, api_for):
    officer = api_for(world.khulna, "tax_officer")
    filed = officer.data(_mutate("taxObjectionFile", "objection { id }"), {"i": {
        "assessment": _refs(tax_town, world.khulna)["@assessment"], "grounds": "Too high"}})
    variables = {"i": {"objection": filed["taxObjectionFile"]["objection"]["id"], "upheld": False,
                       "decision": "No"}}
    expect_access(officer.post(_mutate("taxObjectionDecide", "clientMutationId"), variables), "wrong role",
                  "taxObjectionDecide")
    expect_access(api_for(world.khulna, "executive").post(_mutate("taxObjectionDecide", "clientMutationId"),
                                                          variables), "right role", "taxObjectionDecide")


def test_nobody_decides_their_own_adjustment(world, tax_town, api_for):
    admin = api_for(world.khulna, "municipal_admin")  # holds tax.manage and tax.approve
    requested = admin.data(_mutate("taxAdjustmentRequest", "adjustment { id }"), {"i": {
        "holdingId": tax_town.holdings[0].holding_id, "kind": "WRITE_OFF", "amount": "10", "reason": "Poor"}})
    own = requested["taxAdjustmentRequest"]["adjustment"]["id"]
    body = admin.data(_mutate("taxAdjustmentDecide", "adjustment { status }"), {"i": {"adjustment": own,
                                                                                     "approve": True}})
    assert body["taxAdjustmentDecide"]["errors"][0]["code"] == "same_person"


# --- the feature gate, IDs across municipalities ----------------------------------------------------------------

def test_with_holding_tax_off_every_field_and_mutation_answers_feature_not_enabled(world, tax_town, api_for):
    municipality_feature_set(municipality=world.khulna, code="holding_tax", is_enabled=False)
    api = api_for(world.khulna, "municipal_admin")
    for field, (document, _roles) in QUERIES.items():
        body = api.run(document)
        assert body["data"][field] is None
        assert body["errors"][0]["extensions"] == {"code": "FEATURE_NOT_ENABLED", "feature": "holding_tax"}
    cashier = api_for(world.khulna, "cashier")
    body = cashier.run(_mutate("taxPaymentRecord", "clientMutationId"), {"i": {
        "holdingId": tax_town.holdings[0].holding_id, "amount": "100", "method": "CASH"}})
    assert body["data"]["taxPaymentRecord"] is None
    assert body["errors"][0]["extensions"]["code"] == "FEATURE_NOT_ENABLED"
    with tenant_context(world.khulna):
        assert Payment.objects.count() == 1


def test_ids_of_another_municipality_reach_nothing(world, tax_town, api_for):
    foreign = gid("TaxAdjustment", world.jhenaidah, tax_town.adjustment.pk)
    executive = api_for(world.khulna, "executive")
    assert executive.data("query($id: ID!) { node(id: $id) { id } }", {"id": foreign}) == {"node": None}
    body = executive.data(_mutate("taxAdjustmentDecide", "adjustment { id }"), {"i": {"adjustment": foreign,
                                                                                      "approve": True}})
    assert body["taxAdjustmentDecide"]["errors"][0]["code"] == "not_found"
    with tenant_context(world.khulna):
        assert Adjustment.objects.get(pk=tax_town.adjustment.pk).status == "pending"
