"""The read-only domains over GraphQL: the KPI dashboard (the same numbers as the KPI pages' service), survey
submissions (reviewers see their forms' queue, senders their own) and online payments — with their permission
matrices and IDs that do not cross municipalities."""

from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.services import municipality_feature_set
from imis.tenant_apps.kpi import services as kpi
from imis.tenant_apps.kpi.indicators import Period, fiscal_year_of
from imis.tenant_apps.kpi.models import KpiTarget
from imis.tenant_apps.payments.models import OnlinePayment
from imis.tenant_apps.surveys.models import Submission
from tests.graphql.conftest import CALLERS, caller, expect_access, gid

pytestmark = pytest.mark.django_db

DASHBOARD = """query($year: Int, $quarter: Int, $ward: Int, $codes: [String!]) {
  kpiDashboard(year: $year, quarter: $quarter, ward: $ward) {
    period { year quarter label startDate endDate } ward computedAt
    values(codes: $codes) { code name group unit value numerator denominator previous trend status
                            target { target higherIsBetter amberBand } series { label value } byWard { ward value } }
  } }"""


def _decimal(text):
    return None if text is None else Decimal(text)


# --- KPI -----------------------------------------------------------------------------------------------------

def test_the_dashboard_answers_what_the_kpi_service_computes(world, fsm_world, api_for):
    year = fiscal_year_of(timezone.localdate())
    with tenant_context(world.khulna):
        KpiTarget.objects.create(code="FSM-4b", year=year, target=Decimal("90"), amber_band=Decimal("5"))
        expected = kpi.dashboard_compute(period=Period(year), ward=None)
    data = api_for(world.khulna, "executive").data(DASHBOARD, {"year": year})["kpiDashboard"]
    assert data["period"]["year"] == year and data["period"]["quarter"] is None and data["ward"] is None
    assert data["period"]["startDate"] == f"{year}-07-01" and data["period"]["endDate"] == f"{year + 1}-06-30"
    by_code = {value["code"]: value for value in data["values"]}
    assert set(by_code) == {value.code for value in expected.values}
    assert any(value["group"] == "fsm" for value in data["values"])
    assert not any(code.startswith("water") for code in by_code)  # water supply is off in Khulna
    for value in expected.values:
        answered = by_code[value.code]
        assert _decimal(answered["value"]) == value.value, value.code
        assert _decimal(answered["numerator"]) == (None if value.numerator is None else Decimal(value.numerator))
        assert answered["status"] == (value.status.upper() if value.status else None)
        assert [point["label"] for point in answered["series"]] == [label for label, _ in value.series]
    ppe = by_code["FSM-4b"]
    assert ppe["target"] == {"target": "90.00", "higherIsBetter": True, "amberBand": "5.00"}
    assert ppe["value"] is not None and ppe["status"] in ("GREEN", "AMBER", "RED")

    ward = api_for(world.khulna, "executive").data(DASHBOARD, {"year": year, "quarter": 2, "ward": 1,
                                                               "codes": ["FSM-4b"]})["kpiDashboard"]
    assert ward["ward"] == 1 and ward["period"]["label"].startswith("Q2") and len(ward["values"]) == 1


@pytest.mark.parametrize(("variables", "message"), [
    ({"year": 1999}, "`year`"), ({"quarter": 5}, "`quarter`"), ({"ward": 77}, "ward 77"),
])
def test_the_dashboard_refuses_periods_and_wards_that_do_not_exist(world, api_for, variables, message):
    body = api_for(world.khulna, "viewer").run(DASHBOARD, variables)
    assert body["data"] == {"kpiDashboard": None} and message in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- surveys ----------------------------------------------------------------------------------------------------

def _submissions(world):
    with tenant_context(world.khulna):
        surveyor = world.user("field_surveyor", "khulna")
        provider = world.user("service_provider", "khulna")
        rows = []
        for n, (form_id, user) in enumerate([("imis_building_survey", surveyor), ("imis_containment_survey", surveyor),
                                             ("imis_emptying_record", provider)]):
            rows.append(Submission.objects.create(
                instance_id=f"uuid:{n}", form_id=form_id, form_version="1", xml="<data/>", xml_md5="0" * 32,
                values={}, instance_name=f"Record {n}", submitted_by_id=user.pk, submitted_by_label=user.email,
                is_complete=True, issues=[{"code": "no_such_code", "params": {}}] if n == 0 else []))
    return rows


SUBMISSIONS = "{ surveySubmissions { totalCount edges { node { formId formTitle status issues { code message } } } } }"


@pytest.mark.parametrize(("role", "forms"), [
    ("gis_officer", {"imis_building_survey", "imis_containment_survey", "imis_emptying_record"}),
    ("sanitation_officer", {"imis_emptying_record"}),
    ("field_surveyor", {"imis_building_survey", "imis_containment_survey"}),
    ("service_provider", {"imis_emptying_record"}),
    ("plant_operator", set()),
])
def test_reviewers_see_their_forms_and_senders_their_own(world, api_for, role, forms):
    _submissions(world)
    data = api_for(world.khulna, role).data(SUBMISSIONS)["surveySubmissions"]
    assert {edge["node"]["formId"] for edge in data["edges"]} == forms and data["totalCount"] == len(forms)


def test_a_hidden_submission_is_not_reachable_by_id(world, api_for):
    rows = _submissions(world)
    hidden = gid("SurveySubmission", world.khulna, rows[0].pk)
    provider = api_for(world.khulna, "service_provider")
    assert provider.data("query($id: ID!) { node(id: $id) { id } }", {"id": hidden}) == {"node": None}
    gis = api_for(world.khulna, "gis_officer")
    found = gis.data("query($id: ID!) { node(id: $id) { ... on SurveySubmission { instanceName issues { code } } } }",
                     {"id": hidden})
    assert found == {"node": {"instanceName": "Record 0", "issues": [{"code": "no_such_code"}]}}
    foreign = gid("SurveySubmission", world.jhenaidah, rows[0].pk)
    assert gis.data("query($id: ID!) { node(id: $id) { id } }", {"id": foreign}) == {"node": None}
    body = gis.run('{ surveySubmissions(formId: "nope") { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- online payments -------------------------------------------------------------------------------------------

def test_online_payments_list_and_hide_a_switched_off_feature(world, fsm_world, api_for):
    with tenant_context(world.khulna):
        OnlinePayment.objects.create(kind="holding_tax", holding=fsm_world.site.holdings[0], amount=Decimal("500"),
                                     currency="BDT", description="Holding tax", gateway="stripe", status="paid",
                                     bill_numbers=["HT2026-1-X"])
        OnlinePayment.objects.create(kind="fsm_fee", fsm_application=fsm_world.emptied, amount=Decimal("1500"),
                                     currency="BDT", description="Desludging", gateway="stripe")
    api = api_for(world.khulna, "cashier")
    data = api.data("{ onlinePayments { totalCount edges { node { reference kind status amount billNumbers "
                    "holding { holdingId } } } } }")["onlinePayments"]
    assert data["totalCount"] == 2
    kinds = {edge["node"]["kind"]: edge["node"] for edge in data["edges"]}
    assert kinds["HOLDING_TAX"]["holding"] == {"holdingId": "1-0001-00001"}
    assert kinds["HOLDING_TAX"]["billNumbers"] == ["HT2026-1-X"] and kinds["FSM_FEE"]["status"] == "PENDING"
    assert api.data("{ onlinePayments(status: PAID) { totalCount } }")["onlinePayments"]["totalCount"] == 1
    municipality_feature_set(municipality=world.khulna, code="fsm", is_enabled=False)
    left = api.data("{ onlinePayments { edges { node { kind } } } }")["onlinePayments"]["edges"]
    assert left == [{"node": {"kind": "HOLDING_TAX"}}]


# --- the access matrix -------------------------------------------------------------------------------------------

QUERIES = {
    "kpiDashboard": ("{ kpiDashboard { ward } }", ("cashier", "executive")),
    "surveySubmissions": ("{ surveySubmissions { totalCount } }", ("viewer", "field_surveyor")),
    "onlinePayments": ("{ onlinePayments { totalCount } }", ("sanitation_officer", "cashier")),
}


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(QUERIES))
def test_query_permission_matrix(world, api_for, operation, kind):
    document, roles = QUERIES[operation]
    expect_access(caller(world, api_for, kind, roles).post(document), kind, operation)
