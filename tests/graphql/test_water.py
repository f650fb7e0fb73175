"""Water supply over GraphQL: the life cycle through mutations (apply → inspect → approve → fee → activate →
readings → bills → disconnect/reconnect), bad input answered per field, who may do what, the `water_supply` feature
gate, IDs that do not cross municipalities, and lists whose SQL does not grow with the page."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from imis.tenant_apps.water.models import ConnectionEvent, MeterReading, WaterBill, WaterConnection
from tests.graphql.conftest import CALLERS, build_city, caller, expect_access, gid, resolve_refs
from tests.tenant_apps.water.town import Town, feature_switch

pytestmark = pytest.mark.django_db

CONNECTION = "connection { id customerId status size isMetered connectionFee feePaidOn meterNumber dueStatus billsDue }"


def _mutate(name: str, fields: str = CONNECTION) -> str:
    upper = name[0].upper() + name[1:]
    return f"mutation($i: {upper}Input!) {{ {name}(input: $i) {{ errors {{ field message code }} {fields} }} }}"


@pytest.fixture
def town(world):
    feature_switch(world.khulna, True)
    with tenant_context(world.khulna):
        made = Town(world)
        made.applied = made.apply()
        made.live = made.active(holding=made.other_holding)
    connection.set_schema_to_public()
    yield made
    cache.clear()


def _refs(town, municipality) -> dict:
    return {"@holding": gid("Holding", municipality, town.holding.pk),
            "@building": gid("Building", municipality, town.building.pk),
            "@applied": gid("WaterConnection", municipality, town.applied.pk),
            "@live": gid("WaterConnection", municipality, town.live.pk)}


def test_a_connection_goes_from_application_to_supply_and_bills(world, town, api_for):
    refs = _refs(town, world.khulna)
    officer, cashier = api_for(world.khulna, "water_officer"), api_for(world.khulna, "cashier")
    applied = officer.data(_mutate("waterConnectionApply"), {"i": {
        "holding": refs["@holding"], "building": refs["@building"], "applicantName": "Nasima Akter",
        "applicantPhone": "01812345678", "size": "THREE_QUARTER_INCH"}})["waterConnectionApply"]
    assert applied["errors"] == []
    made = applied["connection"]
    assert made["status"] == "APPLIED" and made["size"] == "THREE_QUARTER_INCH" and made["customerId"].startswith("WC-")
    inspected = officer.data(_mutate("waterConnectionInspect"), {"i": {"id": made["id"], "passed": True,
                                                                       "notes": "Main within 10 m"}})
    assert inspected["waterConnectionInspect"]["connection"]["status"] == "INSPECTED"
    approved = officer.data(_mutate("waterConnectionApprove"), {"i": {"id": made["id"]}})["waterConnectionApprove"]
    assert approved["connection"]["status"] == "APPROVED" and approved["connection"]["connectionFee"] == "2500.00"
    assert approved["connection"]["dueStatus"] == "DUE"

    too_early = officer.data(_mutate("waterConnectionActivate"), {"i": {"id": made["id"], "meterNumber": "M-9",
                                                                        "initialReading": "5"}})
    assert too_early["waterConnectionActivate"]["errors"][0]["code"] == "fee_unpaid"
    paid = cashier.data(_mutate("waterPaymentTake", CONNECTION + " receiptNumber"),
                        {"i": {"connection": made["id"], "method": "CASH"}})["waterPaymentTake"]
    assert paid["errors"] == [] and paid["receiptNumber"].startswith("WSR-")
    assert paid["connection"]["feePaidOn"] is not None and paid["connection"]["dueStatus"] == "CLEAR"
    again = cashier.data(_mutate("waterPaymentTake"), {"i": {"connection": made["id"], "method": "CASH"}})
    assert again["waterPaymentTake"]["errors"][0]["code"] in ("nothing_due", "not_found")

    active = officer.data(_mutate("waterConnectionActivate"), {"i": {
        "id": made["id"], "meterNumber": "M-9", "initialReading": "5", "activatedOn": "2026-08-25"}})
    assert active["waterConnectionActivate"]["connection"]["status"] == "ACTIVE"
    reading = officer.data(_mutate("waterReadingRecord", "reading { reading readOn source } " + CONNECTION),
                           {"i": {"connection": made["id"], "readOn": "2026-09-30", "reading": "30"}})
    assert reading["waterReadingRecord"]["reading"] == {"reading": "30.00", "readOn": "2026-09-30",
                                                        "source": "MANUAL"}
    lower = officer.data(_mutate("waterReadingRecord", "reading { reading }"),
                         {"i": {"connection": made["id"], "readOn": "2026-10-10", "reading": "20"}})
    assert lower["waterReadingRecord"]["errors"][0] == {
        "field": "reading", "code": "invalid_reading",
        "message": "20.00 m³ is less than the last reading (30.00 m³); if the meter was replaced, say so."}

    run = officer.data(_mutate("waterBillsGenerate", "bills total"), {"i": {"period": "2026-09-15"}})
    assert run["waterBillsGenerate"]["errors"] == [] and run["waterBillsGenerate"]["bills"] == 2
    bills = officer.data('query($c: String) { waterBills(customerId: $c) { totalCount edges { node { id number '
                         'period consumption amount status isOverdue connection { customerId } } } } }',
                         {"c": made["customerId"]})["waterBills"]
    assert bills["totalCount"] == 1
    bill = bills["edges"][0]["node"]
    assert bill["period"] == "2026-09-01" and bill["consumption"] == "25.00" and bill["amount"] == "260.00"  # 10 × 8 + 10 × 10.5 + 5 × 15
    assert bill["status"] == "ISSUED" and bill["isOverdue"] is True  # due on 20 October
    paid_bill = cashier.data(_mutate("waterPaymentTake", CONNECTION + " receiptNumber"),
                             {"i": {"bill": bill["id"], "method": "BANK", "reference": "TRX-1"}})["waterPaymentTake"]
    assert paid_bill["errors"] == [] and paid_bill["connection"]["billsDue"] == "0.00"

    cut = officer.data(_mutate("waterConnectionDisconnect"), {"i": {"id": made["id"], "reason": "Leaking pipe"}})
    assert cut["waterConnectionDisconnect"]["connection"]["status"] == "DISCONNECTED"
    back = officer.data(_mutate("waterConnectionReconnect"), {"i": {"id": made["id"]}})
    assert back["waterConnectionReconnect"]["connection"]["status"] == "ACTIVE"
    read = officer.data('query($c: String!) { waterConnection(customerId: $c) { status holding { holdingId } '
                        'building { bin } events { action } readings { reading source } bills { number } '
                        'payments { kind amount receiptNumber } } }', {"c": made["customerId"]})["waterConnection"]
    assert read["holding"] == {"holdingId": "1-0001-00001"} and read["building"] == {"bin": "B-1"}
    actions = [event["action"] for event in read["events"]]
    assert actions[:3] == ["applied", "inspected", "approved"] and actions[-2:] == ["disconnected", "reconnected"]
    assert "activated" in actions and "billed" in actions
    assert [row["reading"] for row in read["readings"]] == ["5.00", "30.00"]
    assert sorted(payment["kind"] for payment in read["payments"]) == ["BILL", "CONNECTION_FEE"]


def test_bad_input_is_answered_per_field_and_writes_nothing(world, town, api_for):
    refs = _refs(town, world.khulna)
    officer = api_for(world.khulna, "water_officer")
    with tenant_context(world.khulna):
        before = (WaterConnection.objects.count(), ConnectionEvent.objects.count(), MeterReading.objects.count())
    phone = officer.data(_mutate("waterConnectionApply"), {"i": {"holding": refs["@holding"], "applicantName": "X",
                                                                 "applicantPhone": "0171"}})
    assert phone["waterConnectionApply"]["errors"][0]["field"] == "applicantPhone"
    assert phone["waterConnectionApply"]["connection"] is None
    blank = officer.data(_mutate("waterConnectionApply"), {"i": {"holding": refs["@holding"], "applicantName": " "}})
    assert blank["waterConnectionApply"]["errors"][0] == {"field": "applicantName", "code": "required",
                                                          "message": "Enter the applicant's name."}
    other_building = officer.data(_mutate("waterConnectionApply"), {"i": {
        "holding": gid("Holding", world.khulna, town.other_holding.pk), "building": refs["@building"],
        "applicantName": "X"}})
    assert other_building["waterConnectionApply"]["errors"][0]["code"] == "wrong_building"
    wrong_step = officer.data(_mutate("waterConnectionApprove"), {"i": {"id": refs["@applied"]}})
    assert wrong_step["waterConnectionApprove"]["errors"][0]["code"] == "invalid_transition"
    wrong_type = officer.data(_mutate("waterConnectionInspect"), {"i": {"id": refs["@holding"], "passed": True,
                                                                        "notes": "x"}})
    assert wrong_type["waterConnectionInspect"]["errors"][0] == {
        "field": "id", "code": "not_found", "message": "No WaterConnection with this ID exists here."}
    garbage = officer.data(_mutate("waterConnectionReject"), {"i": {"id": "not-an-id", "reason": "x"}})
    assert garbage["waterConnectionReject"]["errors"][0]["code"] == "invalid_id"
    future = officer.data(_mutate("waterReadingRecord", "reading { reading }"), {"i": {
        "connection": refs["@live"], "readOn": (datetime.date.today() + datetime.timedelta(days=3)).isoformat(),
        "reading": "200"}})
    assert future["waterReadingRecord"]["errors"][0]["field"] == "readOn"
    huge = officer.data(_mutate("waterReadingRecord", "reading { reading }"), {"i": {
        "connection": refs["@live"], "readOn": "2026-09-01", "reading": "1e20"}})
    assert huge["waterReadingRecord"]["errors"][0]["field"] == "reading"
    both = api_for(world.khulna, "cashier").data(_mutate("waterPaymentTake"), {"i": {
        "connection": refs["@applied"], "bill": refs["@applied"], "method": "CASH"}})
    assert both["waterPaymentTake"]["errors"][0]["code"] == "required"
    month = officer.data(_mutate("waterBillsGenerate", "bills"), {"i": {"period": datetime.date.today().isoformat()}})
    assert month["waterBillsGenerate"]["errors"][0]["code"] == "month_not_over"
    slabs = officer.data(_mutate("waterTariffSet", "tariff { fiscalYear }"), {"i": {
        "fiscalYear": 2027, "slabs": "20:8, 10:9", "flatMonthlyRate": "300", "connectionFee": "2500"}})
    assert slabs["waterTariffSet"]["errors"][0]["field"] == "slabs"
    with tenant_context(world.khulna):
        assert (WaterConnection.objects.count(), ConnectionEvent.objects.count(),
                MeterReading.objects.count()) == before


def test_lists_filter_like_the_staff_ui(world, town, api_for):
    viewer = api_for(world.khulna, "viewer")
    document = ('query($s: WaterConnectionListStatus, $h: String, $m: Boolean, $b: BoundingBox) { '
                'waterConnections(status: $s, holdingId: $h, isMetered: $m, bbox: $b) { totalCount '
                'edges { node { customerId status dueStatus } } } }')
    assert viewer.data(document)["waterConnections"]["totalCount"] == 2
    assert viewer.data(document, {"s": "OPEN"})["waterConnections"]["edges"][0]["node"]["customerId"] == \
        town.applied.customer_id
    assert viewer.data(document, {"h": "1-0001-00002"})["waterConnections"]["totalCount"] == 1
    assert viewer.data(document, {"m": False})["waterConnections"]["totalCount"] == 0
    with tenant_context(world.khulna):
        WaterConnection.objects.filter(pk=town.applied.pk).update(building=town.building)
    near = {"west": 89.5, "south": 22.8, "east": 89.6, "north": 22.9}
    far = {"west": 10.0, "south": 10.0, "east": 10.1, "north": 10.1}
    assert viewer.data(document, {"b": near})["waterConnections"]["totalCount"] == 1  # the other has no building
    assert viewer.data(document, {"b": far})["waterConnections"]["totalCount"] == 0
    bad = viewer.run(document, {"b": {"west": 10, "south": 10, "east": 0, "north": 0}})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    readings = viewer.data('{ waterMeterReadings { edges { node { reading source connection { customerId } } } } }')
    assert readings["waterMeterReadings"]["edges"] == [
        {"node": {"reading": "100.00", "source": "ACTIVATION", "connection": {"customerId": town.live.customer_id}}}]
    tariffs = viewer.data("{ waterTariffs { edges { node { fiscalYear slabs flatMonthlyRate connectionFee } } } }")
    assert tariffs["waterTariffs"]["edges"][0]["node"] == {
        "fiscalYear": 2026, "slabs": [["10", "8.00"], ["20", "10.50"], [None, "15.00"]], "flatMonthlyRate": "300.00",
        "connectionFee": "2500.00"}


# --- who may do what ------------------------------------------------------------------------------------------

QUERIES = {
    "waterConnections": ("{ waterConnections { totalCount } }", ("help_desk", "viewer")),
    "waterMeterReadings": ("{ waterMeterReadings { totalCount } }", ("help_desk", "executive")),
    "waterBills": ("{ waterBills { totalCount } }", ("sanitation_officer", "cashier")),
    "waterTariffs": ("{ waterTariffs { totalCount } }", ("tax_officer", "water_officer")),
}
MUTATIONS = {
    "waterConnectionApply": ({"holding": "@holding", "applicantName": "A"}, ("cashier", "water_officer")),
    "waterConnectionInspect": ({"id": "@applied", "passed": True, "notes": "ok"}, ("viewer", "water_officer")),
    "waterConnectionReject": ({"id": "@applied", "reason": "no"}, ("executive", "municipal_admin")),
    "waterConnectionDisconnect": ({"id": "@live", "reason": "unpaid"}, ("cashier", "water_officer")),
    "waterReadingRecord": ({"connection": "@live", "readOn": "2026-09-01", "reading": "120"},
                           ("viewer", "water_officer")),
    "waterTariffSet": ({"fiscalYear": 2027, "slabs": "10:8, :12", "flatMonthlyRate": "1", "connectionFee": "2"},
                       ("cashier", "water_officer")),
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


def test_a_cashier_takes_money_but_a_viewer_does_not(world, town, api_for):
    with tenant_context(world.khulna):
        town.approved(holding=town.other_holding)
        approved = WaterConnection.objects.get(status="approved")
    variables = {"i": {"connection": gid("WaterConnection", world.khulna, approved.pk), "method": "CASH"}}
    expect_access(api_for(world.khulna, "viewer").post(_mutate("waterPaymentTake", "clientMutationId"), variables),
                  "wrong role", "waterPaymentTake")
    expect_access(api_for(world.khulna, "cashier").post(_mutate("waterPaymentTake", "clientMutationId"), variables),
                  "right role", "waterPaymentTake")


# --- the feature gate, IDs across municipalities ----------------------------------------------------------------

def test_without_the_feature_everything_water_is_refused(world, town, api_for):
    body = api_for(world.jhenaidah, "municipal_admin").run("{ waterConnections { totalCount } }")
    assert body["data"]["waterConnections"] is None
    assert body["errors"][0]["extensions"] == {"code": "FEATURE_NOT_ENABLED", "feature": "water_supply"}
    live = _refs(town, world.khulna)["@live"]
    admin = api_for(world.khulna, "municipal_admin")
    assert admin.data("query($id: ID!) { node(id: $id) { ... on WaterConnection { status } } }",
                      {"id": live}) == {"node": {"status": "ACTIVE"}}
    feature_switch(world.khulna, False)
    for document, variables in (("query($id: ID!) { node(id: $id) { id } }", {"id": live}),
                                (_mutate("waterConnectionDisconnect", "clientMutationId"),
                                 {"i": {"id": live, "reason": "x"}})):
        body = admin.run(document, variables)
        assert body["errors"][0]["extensions"]["code"] == "FEATURE_NOT_ENABLED"
    with tenant_context(world.khulna):
        assert WaterConnection.objects.get(pk=town.live.pk).status == "active"


def test_ids_of_another_municipality_reach_nothing(world, town, api_for):
    foreign = gid("WaterConnection", world.jhenaidah, town.live.pk)
    admin = api_for(world.khulna, "municipal_admin")
    assert admin.data("query($id: ID!) { node(id: $id) { id } }", {"id": foreign}) == {"node": None}
    body = admin.data(_mutate("waterConnectionDisconnect"), {"i": {"id": foreign, "reason": "x"}})
    assert body["waterConnectionDisconnect"]["errors"][0]["code"] == "not_found"
    holding = gid("Holding", world.jhenaidah, town.holding.pk)
    body = admin.data(_mutate("waterConnectionApply"), {"i": {"holding": holding, "applicantName": "X"}})
    assert body["waterConnectionApply"]["errors"][0] == {"field": "holding", "code": "not_found",
                                                         "message": "No Holding with this ID exists here."}
    with tenant_context(world.khulna):
        assert WaterConnection.objects.get(pk=town.live.pk).status == "active"


# --- no N+1 -----------------------------------------------------------------------------------------------------

CONNECTIONS = """query($n: Int) { waterConnections(first: $n) { totalCount edges { node {
    customerId status dueStatus billsDue holding { holdingId ward { number } } building { bin }
    bills { number amount status payments { receiptNumber } } readings { reading } events { action } } } } }"""
BILLS = """query($n: Int) { waterBills(first: $n) { edges { node {
    number amount isOverdue connection { customerId holding { holdingId } } payments { receiptNumber } } } } }"""
# Measured, then pinned: the statements every request makes (7: search path, domain, session, user, roles,
# features) plus those below, the same for 10 rows as for 100.
COUNT_CASES = {
    # + COUNT, the page (due subqueries inside; holding, its ward and building joined), bills, their payments,
    # readings, events
    "connections with holding, building, bills and payments, readings, events": (CONNECTIONS, 13),
    # + the page (connection and holding joined), payments
    "bills with connection, holding and payments": (BILLS, 9),
}


@pytest.fixture
def busy_water(world):
    feature_switch(world.khulna, True)
    city = build_city(world.khulna, containments=50, buildings_per_containment=2)
    now = datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC)
    with tenant_context(world.khulna):
        connections = WaterConnection.objects.bulk_create([
            WaterConnection(customer_id=f"WC-{n:06d}", status="active", holding=city.holdings[n],
                            building=city.buildings[n], applicant_name=f"Resident {n}", applied_on="2026-08-01",
                            activated_on="2026-08-10", meter_number=f"M-{n}") for n in range(100)])
        MeterReading.objects.bulk_create([
            MeterReading(connection=c, read_on=day, reading=Decimal(value)) for c in connections
            for day, value in (("2026-08-10", "10"), ("2026-09-30", "30"))])
        ConnectionEvent.objects.bulk_create([ConnectionEvent(connection=c, at=now, action="applied")
                                             for c in connections])
        bills = WaterBill.objects.bulk_create([
            WaterBill(number=f"WB-202609-{c.customer_id}", connection=c, period="2026-09-01", fiscal_year=2026,
                      is_metered=True, consumption=20, amount=Decimal("170.00"), due_date="2026-10-20",
                      issued_at=now) for c in connections])
        from imis.tenant_apps.water.models import WaterPayment

        WaterPayment.objects.bulk_create([
            WaterPayment(kind="bill", connection=b.connection, bill=b, amount=b.amount, method="cash",
                         receipt_number=f"WSR-{n:08d}", received_at=now) for n, b in enumerate(bills[::2])])
    connection.set_schema_to_public()
    yield
    cache.clear()


def _count(api, document, size) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        body = api.run(document, {"n": size})
    assert "errors" not in body, body["errors"]
    return len(captured.captured_queries), body["data"]


@pytest.mark.parametrize("case", list(COUNT_CASES))
def test_water_lists_run_a_bounded_number_of_statements(world, busy_water, api_for, case,
                                                        django_assert_max_num_queries):
    document, bound = COUNT_CASES[case]
    api = api_for(world.khulna, "municipal_admin")
    api.run("{ __typename }")
    small, small_data = _count(api, document, 10)
    large, large_data = _count(api, document, 100)
    assert len(next(iter(small_data.values()))["edges"]) == 10
    assert len(next(iter(large_data.values()))["edges"]) == 100
    assert small == large <= bound, (small, large)
    node = next(iter(large_data.values()))["edges"][0]["node"]
    if "readings" in node:
        assert [row["reading"] for row in node["readings"]] == ["10.00", "30.00"]
        assert node["holding"]["ward"]["number"] in (1, 2) and node["bills"][0]["amount"] == "170.00"
