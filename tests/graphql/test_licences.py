"""Trade licences over GraphQL: the life cycle through mutations (apply → inspect → approve → fee and certificate
→ cancel), reading licences and categories, who may do what (a cashier may take the fee), the `trade_licence`
feature gate (Jhenaidah has it off), IDs that do not cross municipalities."""

import pytest
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.services import municipality_feature_set
from imis.tenant_apps.licences.models import Licence
from tests.graphql.conftest import CALLERS, caller, expect_access, gid, resolve_refs

pytestmark = pytest.mark.django_db

LICENCE = "licence { id applicationNumber number status validUntil businessName category { code } }"


def _mutate(name: str, fields: str = LICENCE) -> str:
    upper = name[0].upper() + name[1:]
    return f"mutation($i: {upper}Input!) {{ {name}(input: $i) {{ errors {{ field message code }} {fields} }} }}"


def _refs(licences, municipality) -> dict:
    return {"@holding": gid("Holding", municipality, licences.holding.pk),
            **{f"@{name}": gid("TradeLicence", municipality, getattr(licences, name).pk)
               for name in ("applied", "inspected", "approved", "active")}}


def test_a_licence_goes_from_application_to_certificate(world, licence_world, api_for):
    refs = _refs(licence_world, world.khulna)
    officer, cashier = api_for(world.khulna, "tax_officer"), api_for(world.khulna, "cashier")
    applied = officer.data(_mutate("tradeLicenceApply"), {"i": {
        "businessName": "Rupsha Pharmacy", "category": "R-01", "holding": refs["@holding"],
        "ownerName": "Nasima Akter", "ownerPhone": "01812345678"}})["tradeLicenceApply"]
    assert applied["errors"] == []
    licence = applied["licence"]
    assert licence["status"] == "APPLIED" and licence["number"] is None and licence["category"] == {"code": "R-01"}
    inspected = officer.data(_mutate("tradeLicenceInspect"), {"i": {"id": licence["id"], "passed": True,
                                                                    "notes": "Fire extinguisher present"}})
    assert inspected["tradeLicenceInspect"]["licence"]["status"] == "INSPECTED"
    approved = officer.data(_mutate("tradeLicenceApprove"), {"i": {"id": licence["id"]}})
    assert approved["tradeLicenceApprove"]["licence"]["status"] == "APPROVED"

    due = cashier.data("query($id: ID!) { tradeLicenceFeeDue(licence: $id) { kind fiscalYear fee lateFee amount } }",
                       {"id": licence["id"]})["tradeLicenceFeeDue"]
    assert due == {"kind": "NEW", "fiscalYear": 2026, "fee": "1000.00", "lateFee": "0.00", "amount": "1000.00"}
    paid = cashier.data(_mutate("tradeLicencePay", LICENCE + " certificate { number fiscalYear payment { "
                                                             "receiptNumber amount } }"),
                        {"i": {"id": licence["id"], "method": "CASH"}})["tradeLicencePay"]
    assert paid["errors"] == []
    assert paid["licence"]["status"] == "ACTIVE" and paid["licence"]["number"].startswith("TL-")
    certificate = paid["certificate"]
    assert certificate["number"] == f"{paid['licence']['number']}-2026" and certificate["fiscalYear"] == 2026
    assert certificate["payment"]["receiptNumber"].startswith("TLR-") and certificate["payment"]["amount"] == "1000.00"
    twice = cashier.data(_mutate("tradeLicencePay"), {"i": {"id": licence["id"], "method": "CASH"}})
    assert twice["tradeLicencePay"]["errors"][0]["code"] == "nothing_due"  # renewal opens 60 days before expiry

    cancelled = officer.data(_mutate("tradeLicenceCancel"), {"i": {"id": licence["id"], "reason": "Closed down"}})
    assert cancelled["tradeLicenceCancel"]["licence"]["status"] == "CANCELLED"
    read = officer.data('query($n: String!) { tradeLicence(number: $n) { status closingReason certificates { number }'
                        ' payments { kind amount } events { action } ownerPhone } }',
                        {"n": paid["licence"]["number"]})["tradeLicence"]
    assert read["status"] == "CANCELLED" and read["closingReason"] == "Closed down"
    assert [event["action"] for event in read["events"]] == ["applied", "inspected", "approved", "issued",
                                                              "cancelled"]
    assert read["ownerPhone"] == "+8801812345678" and read["payments"] == [{"kind": "NEW", "amount": "1000.00"}]


def test_failed_inspection_rejects_and_bad_input_writes_nothing(world, licence_world, api_for):
    refs = _refs(licence_world, world.khulna)
    officer = api_for(world.khulna, "tax_officer")
    failed = officer.data(_mutate("tradeLicenceInspect"), {"i": {"id": refs["@applied"], "passed": False,
                                                                 "notes": "No fire exit"}})
    assert failed["tradeLicenceInspect"]["licence"]["status"] == "REJECTED"
    wrong_step = officer.data(_mutate("tradeLicenceApprove"), {"i": {"id": refs["@applied"]}})
    assert wrong_step["tradeLicenceApprove"]["errors"][0]["code"] == "invalid_transition"
    unknown = officer.data(_mutate("tradeLicenceApply"), {"i": {
        "businessName": "X", "category": "NOPE", "holding": refs["@holding"], "ownerName": "Y"}})
    assert unknown["tradeLicenceApply"]["errors"] == [{"field": "category", "code": "not_found",
                                                       "message": "No business category has this code."}]
    blank = officer.data(_mutate("tradeLicenceApply"), {"i": {
        "businessName": " ", "category": "R-01", "holding": refs["@holding"], "ownerName": "Y" * 201}})
    assert blank["tradeLicenceApply"]["errors"][0]["field"] == "ownerName"
    with tenant_context(world.khulna):
        assert Licence.objects.count() == 4


def test_lists_status_filters_and_national_id(world, licence_world, api_for):
    viewer = api_for(world.khulna, "viewer")
    data = viewer.data("""{ all: tradeLicences { totalCount }
        open: tradeLicences(status: OPEN) { totalCount }
        valid: tradeLicences(status: ACTIVE) { edges { node { businessName validUntil holding { holdingId } } } }
        search: tradeLicences(search: "inspected") { edges { node { status } } }
        businessCategories { edges { node { code name nameBn isActive } } } }""")
    assert data["all"]["totalCount"] == 4 and data["open"]["totalCount"] == 3
    assert data["valid"]["edges"][0]["node"]["businessName"] == "Active Store"
    assert data["search"]["edges"] == [{"node": {"status": "INSPECTED"}}]
    assert data["businessCategories"]["edges"] == [{"node": {"code": "R-01", "name": "Grocery (retail)",
                                                             "nameBn": "মুদি দোকান", "isActive": True}}]
    hidden = viewer.run("{ tradeLicences(first: 1) { edges { node { ownerName ownerNationalId } } } }")
    assert hidden["data"]["tradeLicences"]["edges"][0]["node"]["ownerNationalId"] is None
    assert hidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    shown = api_for(world.khulna, "tax_officer").data(
        "{ tradeLicences(first: 1) { edges { node { ownerNationalId } } } }")
    assert shown["tradeLicences"]["edges"][0]["node"]["ownerNationalId"] == "1990123456789"


# --- the access matrix -------------------------------------------------------------------------------------------

QUERIES = {
    "tradeLicences": ("{ tradeLicences { totalCount } }", ("sanitation_officer", "viewer")),
    "businessCategories": ("{ businessCategories { totalCount } }", ("gis_officer", "cashier")),
}
MUTATIONS = {
    "tradeLicenceApply": ({"businessName": "Tea stall", "category": "R-01", "holding": "@holding",
                           "ownerName": "Rafiq"}, ("cashier", "tax_officer")),
    "tradeLicenceInspect": ({"id": "@applied", "passed": True, "notes": "Fine"}, ("executive", "tax_officer")),
    "tradeLicenceApprove": ({"id": "@inspected"}, ("viewer", "municipal_admin")),
    "tradeLicenceReject": ({"id": "@approved", "reason": "Forged papers"}, ("cashier", "tax_officer")),
    "tradeLicencePay": ({"id": "@approved", "method": "CASH"}, ("executive", "cashier")),
    "tradeLicenceCancel": ({"id": "@active", "reason": "Closed"}, ("cashier", "municipal_admin")),
}


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(QUERIES))
def test_query_permission_matrix(world, api_for, operation, kind):
    document, roles = QUERIES[operation]
    expect_access(caller(world, api_for, kind, roles).post(document), kind, operation)


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(MUTATIONS))
def test_mutation_permission_matrix(world, api_for, request, operation, kind):
    payload, roles = MUTATIONS[operation]
    refs = _refs(request.getfixturevalue("licence_world"), world.khulna) if kind in ("wrong role", "right role") \
        else {}
    response = caller(world, api_for, kind, roles).post(_mutate(operation, "clientMutationId"),
                                                        {"i": resolve_refs(payload, refs)})
    expect_access(response, kind, operation)


def test_fee_due_needs_licence_view(world, licence_world, api_for):
    document = "query($id: ID!) { tradeLicenceFeeDue(licence: $id) { amount } }"
    variables = {"id": _refs(licence_world, world.khulna)["@approved"]}
    expect_access(api_for(world.khulna, "help_desk").post(document, variables), "wrong role", "tradeLicenceFeeDue")
    expect_access(api_for(world.khulna, "cashier").post(document, variables), "right role", "tradeLicenceFeeDue")


# --- the feature gate, IDs across municipalities ----------------------------------------------------------------

def test_jhenaidah_has_no_trade_licence_feature(world, api_for):
    api = api_for(world.jhenaidah, "municipal_admin")
    for field in ("tradeLicences", "businessCategories"):
        body = api.run(QUERIES[field][0])
        assert body["data"][field] is None
        assert body["errors"][0]["extensions"] == {"code": "FEATURE_NOT_ENABLED", "feature": "trade_licence"}
    body = api.run(_mutate("tradeLicenceApprove", "clientMutationId"), {"i": {"id": "x"}})
    assert body["data"]["tradeLicenceApprove"] is None
    assert body["errors"][0]["extensions"]["code"] == "FEATURE_NOT_ENABLED"


def test_switching_the_feature_off_hides_licences_by_id_too(world, licence_world, api_for):
    licence_id = _refs(licence_world, world.khulna)["@active"]
    api = api_for(world.khulna, "municipal_admin")
    assert api.data("query($id: ID!) { node(id: $id) { ... on TradeLicence { status } } }",
                    {"id": licence_id}) == {"node": {"status": "ACTIVE"}}
    municipality_feature_set(municipality=world.khulna, code="trade_licence", is_enabled=False)
    body = api.run("query($id: ID!) { node(id: $id) { id } }", {"id": licence_id})
    assert body["data"]["node"] is None and body["errors"][0]["extensions"]["code"] == "FEATURE_NOT_ENABLED"


def test_ids_of_another_municipality_reach_nothing(world, licence_world, api_for):
    foreign = gid("TradeLicence", world.jhenaidah, licence_world.approved.pk)
    admin = api_for(world.khulna, "municipal_admin")
    assert admin.data("query($id: ID!) { node(id: $id) { id } }", {"id": foreign}) == {"node": None}
    body = admin.data(_mutate("tradeLicenceReject"), {"i": {"id": foreign, "reason": "x"}})
    assert body["tradeLicenceReject"]["errors"][0]["code"] == "not_found"
    fee = admin.run("query($id: ID!) { tradeLicenceFeeDue(licence: $id) { amount } }", {"id": foreign})
    assert fee["data"]["tradeLicenceFeeDue"] is None and fee["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    with tenant_context(world.khulna):
        assert Licence.objects.get(pk=licence_world.approved.pk).status == "approved"
