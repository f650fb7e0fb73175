"""Sewer connections over GraphQL: the life cycle through mutations (apply → survey → approve → fee → connected;
rejected, cancelled), the campaign list, bad input per field, who may do what, the `sewer` feature gate, IDs that do
not cross municipalities, and a list whose SQL does not grow with the page."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.sewer.models import SewerConnection, SewerConnectionEvent
from tests.graphql.conftest import CALLERS, build_city, caller, expect_access, gid, resolve_refs
from tests.tenant_apps.sewer.test_sewer import Town, sewer_enable

pytestmark = pytest.mark.django_db

CONNECTION = "connection { id applicationNumber status isOpen feeAmount surveyDistanceM sewer { code } }"


def _mutate(name: str, fields: str = CONNECTION) -> str:
    upper = name[0].upper() + name[1:]
    return f"mutation($i: {upper}Input!) {{ {name}(input: $i) {{ errors {{ field message code }} {fields} }} }}"


@pytest.fixture
def town(world):
    sewer_enable(world.khulna)
    cache.clear()
    with tenant_context(world.khulna):
        made = Town(world)
        made.applied = made.apply(building=made.ward2)
        made.approved_one = made.approved()
    connection.set_schema_to_public()
    yield made
    cache.clear()


def _refs(town, municipality) -> dict:
    return {"@far": gid("Building", municipality, town.far.pk), "@sewer": gid("Sewer", municipality, town.sewer.pk),
            "@applied": gid("SewerConnectionApplication", municipality, town.applied.pk),
            "@approved": gid("SewerConnectionApplication", municipality, town.approved_one.pk)}


def test_an_application_goes_from_survey_to_connected(world, town, api_for):
    refs = _refs(town, world.khulna)
    officer, cashier = api_for(world.khulna, "sanitation_officer"), api_for(world.khulna, "cashier")
    surveyed = officer.data(_mutate("sewerConnectionSurvey"), {"i": {
        "id": refs["@applied"], "isFeasible": True, "notes": "Manhole at the corner", "distanceM": "31.5"}})
    assert surveyed["sewerConnectionSurvey"]["connection"]["status"] == "SURVEYED"
    assert surveyed["sewerConnectionSurvey"]["connection"]["surveyDistanceM"] == "31.5"
    approved = officer.data(_mutate("sewerConnectionApprove"), {"i": {"id": refs["@applied"], "feeAmount": "4000"}})
    assert approved["sewerConnectionApprove"]["connection"]["status"] == "APPROVED"
    assert approved["sewerConnectionApprove"]["connection"]["feeAmount"] == "4000.00"
    early = officer.data(_mutate("sewerConnectionConnect"), {"i": {"id": refs["@applied"]}})
    assert early["sewerConnectionConnect"]["errors"][0]["code"] == "invalid_transition"
    paid = cashier.data(_mutate("sewerConnectionPay", "clientMutationId"),  # a cashier does not read sewer data
                        {"i": {"id": refs["@applied"], "method": "CASH"}})["sewerConnectionPay"]
    assert paid["errors"] == []
    hidden = cashier.run(_mutate("sewerConnectionPay", CONNECTION), {"i": {"id": refs["@approved"], "method": "CASH"}})
    assert hidden["data"]["sewerConnectionPay"]["connection"] is None
    assert hidden["errors"][0]["extensions"] == {"code": "FORBIDDEN", "permission": "sewer.view"}
    fee = officer.data('query($n: String!) { sewerConnection(applicationNumber: $n) { status payment { '
                       'receiptNumber amount method } } }', {"n": town.applied.application_number})
    assert fee["sewerConnection"]["status"] == "FEE_PAID"
    assert fee["sewerConnection"]["payment"]["receiptNumber"].startswith("SCR-")
    assert fee["sewerConnection"]["payment"]["amount"] == "4000.00"
    twice = cashier.data(_mutate("sewerConnectionPay", "clientMutationId"), {"i": {"id": refs["@applied"], "method": "CASH"}})
    assert twice["sewerConnectionPay"]["errors"][0]["code"] == "nothing_due"
    connected = officer.data(_mutate("sewerConnectionConnect"), {"i": {"id": refs["@applied"], "note": "Joined"}})
    assert connected["sewerConnectionConnect"]["connection"]["status"] == "CONNECTED"
    assert connected["sewerConnectionConnect"]["connection"]["isOpen"] is False
    with tenant_context(world.khulna):
        assert Building.objects.get(pk=town.ward2.pk).sanitation_system == "sewer"
    read = officer.data('query($n: String!) { sewerConnection(applicationNumber: $n) { status building { bin } '
                        'payment { receiptNumber } events { action } } }',
                        {"n": town.applied.application_number.lower()})["sewerConnection"]
    assert read["building"] == {"bin": "B-W2"} and read["payment"]["receiptNumber"].startswith("SCR-")
    assert [event["action"] for event in read["events"]] == ["applied", "surveyed", "approved", "fee_paid",
                                                             "connected"]

    applied = officer.data(_mutate("sewerConnectionApply"), {"i": {
        "building": refs["@far"], "applicantName": "Karim", "sewer": refs["@sewer"]}})["sewerConnectionApply"]
    assert applied["errors"] == [] and applied["connection"]["sewer"] == {"code": "SW-1"}
    cancelled = officer.data(_mutate("sewerConnectionCancel"), {"i": {"id": applied["connection"]["id"],
                                                                      "reason": "Moved away"}})
    assert cancelled["sewerConnectionCancel"]["connection"]["status"] == "CANCELLED"


def test_bad_input_is_answered_per_field_and_writes_nothing(world, town, api_for):
    refs = _refs(town, world.khulna)
    officer = api_for(world.khulna, "sanitation_officer")
    with tenant_context(world.khulna):
        before = (SewerConnection.objects.count(), SewerConnectionEvent.objects.count())
    duplicate = officer.data(_mutate("sewerConnectionApply"), {"i": {
        "building": gid("Building", world.khulna, town.ward2.pk), "applicantName": "Again"}})
    assert duplicate["sewerConnectionApply"]["errors"][0]["code"] == "duplicate_application"
    on_sewer = officer.data(_mutate("sewerConnectionApply"), {"i": {
        "building": gid("Building", world.khulna, town.on_sewer.pk), "applicantName": "X"}})
    assert on_sewer["sewerConnectionApply"]["errors"][0]["field"] == "building"
    phone = officer.data(_mutate("sewerConnectionApply"), {"i": {"building": refs["@far"], "applicantName": "X",
                                                                 "applicantPhone": "12"}})
    assert phone["sewerConnectionApply"]["errors"][0]["field"] == "applicantPhone"
    negative = officer.data(_mutate("sewerConnectionSurvey"), {"i": {
        "id": refs["@applied"], "isFeasible": True, "notes": "x", "distanceM": "-3"}})
    assert negative["sewerConnectionSurvey"]["errors"][0]["field"] == "distanceM"
    wrong_sewer = officer.data(_mutate("sewerConnectionSurvey"), {"i": {
        "id": refs["@applied"], "isFeasible": True, "notes": "x", "distanceM": "3", "sewer": refs["@far"]}})
    assert wrong_sewer["sewerConnectionSurvey"]["errors"][0] == {
        "field": "sewer", "code": "not_found", "message": "No Sewer with this ID exists here."}
    fee = officer.data(_mutate("sewerConnectionApprove"), {"i": {"id": refs["@applied"], "feeAmount": "10"}})
    assert fee["sewerConnectionApprove"]["errors"][0]["code"] == "invalid_transition"
    reference = api_for(world.khulna, "cashier").data(_mutate("sewerConnectionPay", "clientMutationId"), {"i": {
        "id": refs["@approved"], "method": "CHEQUE"}})
    assert reference["sewerConnectionPay"]["errors"][0] == {
        "field": "reference", "code": "required", "message": "Enter the cheque or transfer reference."}
    reject = officer.data(_mutate("sewerConnectionReject"), {"i": {"id": refs["@approved"], "reason": "x"}})
    assert reject["sewerConnectionReject"]["errors"][0]["code"] == "invalid_transition"  # approved: cancel it
    with tenant_context(world.khulna):
        assert (SewerConnection.objects.count(), SewerConnectionEvent.objects.count()) == before


def test_lists_and_the_campaign(world, town, api_for):
    viewer = api_for(world.khulna, "viewer")
    document = ('query($s: SewerConnectionListStatus, $w: Int, $b: BoundingBox) { sewerConnections(status: $s, '
                'ward: $w, bbox: $b) { totalCount edges { node { applicationNumber status building { bin } } } } }')
    assert viewer.data(document)["sewerConnections"]["totalCount"] == 2
    assert viewer.data(document, {"s": "APPROVED"})["sewerConnections"]["edges"][0]["node"]["building"] == {
        "bin": "B-NEAR"}
    assert viewer.data(document, {"w": 2})["sewerConnections"]["edges"][0]["node"]["building"] == {"bin": "B-W2"}
    far = {"west": 10.0, "south": 10.0, "east": 10.1, "north": 10.1}
    assert viewer.data(document, {"b": far})["sewerConnections"]["totalCount"] == 0
    campaign = viewer.data('{ sewerCampaign(distanceM: 50) { buildings population withApplication '
                           'byWard { ward buildings withApplication } rows { bin ward sewerCode distanceM '
                           'applicationNumber buildingId } } }')["sewerCampaign"]
    assert [(row["bin"], row["ward"], row["sewerCode"]) for row in campaign["rows"]] == [
        ("B-NEAR", 1, "SW-1"), ("B-W2", 2, "SW-1")]
    assert campaign["withApplication"] == 2 and campaign["buildings"] == 2
    assert campaign["rows"][1]["applicationNumber"] == town.applied.application_number
    assert campaign["rows"][1]["buildingId"] == gid("Building", world.khulna, town.ward2.pk)
    one = viewer.data('query($s: ID) { sewerCampaign(distanceM: 50, sewer: $s, ward: 2, limit: 5) { buildings rows '
                      '{ bin } } }', {"s": _refs(town, world.khulna)["@sewer"]})["sewerCampaign"]
    assert one == {"buildings": 1, "rows": [{"bin": "B-W2"}]}
    for bad in ('{ sewerCampaign(distanceM: -1) { buildings } }', '{ sewerCampaign(limit: 5000) { buildings } }',
                '{ sewerCampaign(sewer: "bad") { buildings } }'):
        body = viewer.run(bad)
        assert body["data"]["sewerCampaign"] is None and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- who may do what ------------------------------------------------------------------------------------------

QUERIES = {
    "sewerConnections": ("{ sewerConnections { totalCount } }", ("cashier", "viewer")),
    "sewerCampaign": ("{ sewerCampaign(distanceM: 50) { buildings } }", ("help_desk", "water_officer")),
}
MUTATIONS = {
    "sewerConnectionApply": ({"building": "@far", "applicantName": "A"}, ("water_officer", "sanitation_officer")),
    "sewerConnectionSurvey": ({"id": "@applied", "isFeasible": True, "notes": "ok", "distanceM": "12"},
                              ("viewer", "sanitation_officer")),
    "sewerConnectionPay": ({"id": "@approved", "method": "CASH"}, ("water_officer", "cashier")),
    "sewerConnectionReject": ({"id": "@applied", "reason": "no"}, ("executive", "municipal_admin")),
    "sewerConnectionCancel": ({"id": "@approved", "reason": "no"}, ("help_desk", "sanitation_officer")),
}


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(QUERIES))
def test_query_permission_matrix(world, town, api_for, operation, kind):
    document, roles = QUERIES[operation]
    expect_access(caller(world, api_for, kind, roles).post(document), kind, operation)


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(MUTATIONS))
def test_mutation_permission_matrix(world, town, api_for, operation, kind):
    payload, roles = MUTATIONS[operation]
    response = caller(world, api_for, kind, roles).post(_mutate(operation, "clientMutationId"),
                                                        {"i": resolve_refs(payload, _refs(town, world.khulna))})
    expect_access(response, kind, operation)


# --- the feature gate, IDs across municipalities ----------------------------------------------------------------

def test_without_the_feature_everything_sewer_is_refused(world, town, api_for):
    body = api_for(world.jhenaidah, "municipal_admin").run("{ sewerConnections { totalCount } }")
    assert body["data"]["sewerConnections"] is None
    assert body["errors"][0]["extensions"] == {"code": "FEATURE_NOT_ENABLED", "feature": "sewer"}
    approved = _refs(town, world.khulna)["@approved"]
    admin = api_for(world.khulna, "municipal_admin")
    assert admin.data("query($id: ID!) { node(id: $id) { ... on SewerConnectionApplication { status } } }",
                      {"id": approved}) == {"node": {"status": "APPROVED"}}
    sewer_enable(world.khulna, False)
    cache.clear()
    for document, variables in (("query($id: ID!) { node(id: $id) { id } }", {"id": approved}),
                                ("{ sewerCampaign { buildings } }", None),
                                (_mutate("sewerConnectionCancel", "clientMutationId"),
                                 {"i": {"id": approved, "reason": "x"}})):
        body = admin.run(document, variables)
        assert body["errors"][0]["extensions"]["code"] == "FEATURE_NOT_ENABLED"
    with tenant_context(world.khulna):
        assert SewerConnection.objects.get(pk=town.approved_one.pk).status == "approved"


def test_ids_of_another_municipality_reach_nothing(world, town, api_for):
    foreign = gid("SewerConnectionApplication", world.jhenaidah, town.approved_one.pk)
    admin = api_for(world.khulna, "municipal_admin")
    assert admin.data("query($id: ID!) { node(id: $id) { id } }", {"id": foreign}) == {"node": None}
    body = admin.data(_mutate("sewerConnectionCancel"), {"i": {"id": foreign, "reason": "x"}})
    assert body["sewerConnectionCancel"]["errors"][0]["code"] == "not_found"
    body = admin.run('query($s: ID) { sewerCampaign(sewer: $s) { buildings } }',
                     {"s": gid("Sewer", world.jhenaidah, town.sewer.pk)})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    with tenant_context(world.khulna):
        assert SewerConnection.objects.get(pk=town.approved_one.pk).status == "approved"


# --- no N+1 -----------------------------------------------------------------------------------------------------

CONNECTIONS = """query($n: Int) { sewerConnections(first: $n) { totalCount edges { node {
    applicationNumber status building { bin ward { number } } holding { holdingId } sewer { code }
    payment { receiptNumber } events { action } } } } }"""


@pytest.fixture
def busy_sewer(world):
    from django.contrib.gis.geos import LineString
    from django.utils import timezone

    from imis.tenant_apps.registry.models import Sewer
    from imis.tenant_apps.sewer.models import SewerConnectionPayment
    from tests.tenant_apps.registry.factories import at

    sewer_enable(world.khulna)
    city = build_city(world.khulna, containments=50, buildings_per_containment=2)
    now = timezone.now()
    with tenant_context(world.khulna):
        sewer = Sewer.objects.create(code="SW-9", geom=LineString(at(0, 0), at(1000, 0), srid=4326))
        connections = SewerConnection.objects.bulk_create([
            SewerConnection(application_number=f"SCA-2026-{n:06d}", status="fee_paid", building=city.buildings[n],
                            holding=city.holdings[n], sewer=sewer, applicant_name=f"Resident {n}",
                            applied_on="2026-09-01", fee_amount=Decimal("100.00")) for n in range(100)])
        SewerConnectionPayment.objects.bulk_create([
            SewerConnectionPayment(connection=c, amount=Decimal("100.00"), method="cash",
                                   receipt_number=f"SCR-{n:08d}", received_at=now)
            for n, c in enumerate(connections)])
        SewerConnectionEvent.objects.bulk_create([SewerConnectionEvent(connection=c, at=now, action="applied")
                                                  for c in connections])
    connection.set_schema_to_public()
    yield
    cache.clear()


def test_the_list_runs_a_bounded_number_of_statements(world, busy_sewer, api_for, django_assert_max_num_queries):
    api = api_for(world.khulna, "municipal_admin")
    api.run("{ __typename }")
    counts = []
    for size in (10, 100):
        with CaptureQueriesContext(connection) as captured:
            body = api.run(CONNECTIONS, {"n": size})
        assert "errors" not in body, body["errors"]
        assert len(body["data"]["sewerConnections"]["edges"]) == size
        counts.append(len(captured.captured_queries))
    # 7 per request + COUNT, the page (building, its ward, holding, sewer joined), payments, events
    assert counts[0] == counts[1] <= 11, counts
    node = body["data"]["sewerConnections"]["edges"][0]["node"]
    assert node["payment"]["receiptNumber"].startswith("SCR-") and node["events"] == [{"action": "applied"}]
    assert node["sewer"] == {"code": "SW-9"}
