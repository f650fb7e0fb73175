"""FSM over GraphQL: the chain of custody step by step through mutations (the same services as the staff UI),
lists and look-ups with their nesting, who may do what, a provider's own work only, the `fsm` feature gate, and
IDs that do not cross municipalities."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.services import municipality_feature_set
from imis.tenant_apps.fsm.models import Application, ServiceProvider
from tests.graphql.conftest import CALLERS, caller, expect_access, fsm_refs, gid, resolve_refs

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today().isoformat()

APPLICATION = """fragment A on FsmApplication { id number status channel isEmergency applicantName applicantPhone
  containment { code } ward { number } provider { name } vehicle { registration } scheduledDate scheduledSlot
  crew { name role } feeEstimate feeAmount emptying { volumeM3 trips isPpeWorn vehicle { registration } }
  disposals { volumeReceivedM3 treatmentPlant { name } } feedback { rating serviceQuality }
  events { fromStatus toStatus actorLabel } }"""


def _mutate(name: str, fields: str = "application { ...A }") -> str:
    upper = name[0].upper() + name[1:]
    return (f"mutation($i: {upper}Input!) {{ {name}(input: $i) {{ errors {{ field message code }} {fields} }} }}"
            + ("\n" + APPLICATION if "...A" in fields else ""))


# --- the journey -------------------------------------------------------------------------------------------------

def test_an_application_goes_from_receipt_to_closed_through_mutations(world, fsm_world, api_for):
    refs = fsm_refs(fsm_world, world.khulna)
    desk, officer = api_for(world.khulna, "help_desk"), api_for(world.khulna, "sanitation_officer")
    provider, plant = api_for(world.khulna, "service_provider"), api_for(world.khulna, "plant_operator")

    registered = desk.data(_mutate("fsmApplicationRegister"), {"i": {
        "applicantName": "Rahima Begum", "applicantPhone": "01712345678", "containment": refs["@free_containment"],
        "channel": "WALK_IN", "isEmergency": True}})["fsmApplicationRegister"]
    assert registered["errors"] == []
    application = registered["application"]
    assert application["status"] == "RECEIVED" and application["channel"] == "WALK_IN"
    assert application["applicantPhone"] == "+8801712345678" and application["containment"] == {"code": "C-5"}
    assert application["ward"] == {"number": 1} and application["number"].startswith("FSM-")
    number, app_id = application["number"], application["id"]

    approved = officer.data(_mutate("fsmApplicationApprove"), {"i": {"id": app_id, "note": "OK"}})
    assert approved["fsmApplicationApprove"]["application"]["status"] == "APPROVED"

    scheduled = officer.data(_mutate("fsmApplicationSchedule"), {"i": {
        "id": app_id, "provider": refs["@provider"], "vehicle": refs["@truck"], "date": TODAY, "slot": "AFTERNOON",
        "crew": [refs["@driver"]], "isConfirmed": True}})["fsmApplicationSchedule"]
    assert scheduled["errors"] == []
    assert scheduled["application"]["provider"] == {"name": "Khulna Sweepers Ltd"}
    assert scheduled["application"]["crew"] == [{"name": "Abdul Karim", "role": "DRIVER"}]
    assert scheduled["application"]["feeEstimate"] is not None  # priced from the slabs, with the emergency surcharge

    field_work = "application { status emptying { volumeM3 trips isPpeWorn vehicle { registration } } }"
    emptied = provider.data(_mutate("fsmApplicationRecordEmptying", field_work), {"i": {
        "id": app_id, "emptiedOn": TODAY, "volumeM3": 3.5, "trips": 1, "isPpeWorn": True,
        "receiptNumber": "R-9"}})["fsmApplicationRecordEmptying"]
    assert emptied["errors"] == []
    assert emptied["application"]["status"] == "EMPTIED"
    emptying = emptied["application"]["emptying"]
    assert Decimal(emptying.pop("volumeM3")) == Decimal("3.5")
    assert emptying == {"trips": 1, "isPpeWorn": True, "vehicle": {"registration": "KHULNA-TA-11-0001"}}

    disposed = plant.data(_mutate("fsmDisposalRecord", "disposal { id volumeReceivedM3 treatmentPlant { name } "
                                                       "applications { number status } }"), {"i": {
        "treatmentPlant": refs["@plant"], "arrivedAt": timezone.now().isoformat(), "volumeReceivedM3": 3.4,
        "applications": [app_id], "vehicle": refs["@truck"]}})["fsmDisposalRecord"]
    assert disposed["errors"] == []
    assert disposed["disposal"]["applications"] == [{"number": number, "status": "DISPOSED"}]
    assert disposed["disposal"]["treatmentPlant"] == {"name": "Rayer Mohol FSTP"}

    closed = desk.data(_mutate("fsmApplicationRecordFeedback"), {"i": {
        "id": app_id, "rating": 4, "serviceQuality": 5, "isPpeWorn": True}})["fsmApplicationRecordFeedback"]
    assert closed["errors"] == []
    final = closed["application"]
    assert final["status"] == "CLOSED" and final["feedback"] == {"rating": 4, "serviceQuality": 5}
    assert [(e["fromStatus"], e["toStatus"]) for e in final["events"]] == [
        (None, "RECEIVED"), ("RECEIVED", "APPROVED"), ("APPROVED", "SCHEDULED"), ("SCHEDULED", "EMPTIED"),
        ("EMPTIED", "DISPOSED"), ("DISPOSED", "CLOSED")]
    assert final["disposals"] == [{"volumeReceivedM3": "3.40", "treatmentPlant": {"name": "Rayer Mohol FSTP"}}]

    with tenant_context(world.khulna):
        stored = Application.objects.get(number=number)
        assert stored.status == "closed" and stored.emptying.receipt_number == "R-9"


def test_reject_reschedule_and_cancel(world, fsm_world, api_for):
    refs = fsm_refs(fsm_world, world.khulna)
    officer = api_for(world.khulna, "sanitation_officer")
    rejected = officer.data(_mutate("fsmApplicationReject"), {"i": {"id": refs["@received"], "reason": "Duplicate"}})
    assert rejected["fsmApplicationReject"]["application"]["status"] == "REJECTED"
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    moved = officer.data(_mutate("fsmApplicationReschedule"), {"i": {
        "id": refs["@scheduled"], "provider": refs["@provider"], "vehicle": refs["@truck"], "date": tomorrow,
        "slot": "EVENING", "reason": "Rain"}})["fsmApplicationReschedule"]["application"]
    assert moved["scheduledDate"] == tomorrow and moved["scheduledSlot"] == "EVENING"
    cancelled = api_for(world.khulna, "help_desk").data(_mutate("fsmApplicationCancel"), {"i": {
        "id": refs["@approved"], "reason": "Resident moved"}})
    assert cancelled["fsmApplicationCancel"]["application"]["status"] == "CANCELLED"


def test_service_errors_come_back_as_field_errors_and_write_nothing(world, fsm_world, api_for):
    refs = fsm_refs(fsm_world, world.khulna)
    officer = api_for(world.khulna, "sanitation_officer")
    again = officer.data(_mutate("fsmApplicationApprove"), {"i": {"id": refs["@approved"]}})["fsmApplicationApprove"]
    assert again["application"] is None
    assert again["errors"][0]["code"] == "invalid_transition" and "cannot be approved" in again["errors"][0]["message"]

    past = officer.data(_mutate("fsmApplicationSchedule"), {"i": {
        "id": refs["@approved"], "provider": refs["@provider"], "vehicle": refs["@truck"], "date": "2020-01-01",
        "slot": "MORNING"}})["fsmApplicationSchedule"]
    assert past["errors"] == [{"field": "date", "message": "The date is in the past.", "code": "past_date"}]

    provider = api_for(world.khulna, "service_provider")
    too_much = provider.data(_mutate("fsmApplicationRecordEmptying"), {"i": {
        "id": refs["@scheduled"], "emptiedOn": TODAY, "volumeM3": 9999.999}})["fsmApplicationRecordEmptying"]
    assert too_much["errors"][0]["field"] == "volumeM3"
    too_long = api_for(world.khulna, "help_desk").data(_mutate("fsmApplicationRegister"), {"i": {
        "applicantName": "x" * 201, "containment": refs["@free_containment"]}})["fsmApplicationRegister"]
    assert too_long["errors"] == [{"field": "applicantName", "message": "At most 200 characters.",
                                   "code": "max_length"}]
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=fsm_world.approved.pk).status == "approved"
        assert Application.objects.get(pk=fsm_world.scheduled.pk).status == "scheduled"
        assert not Application.objects.filter(applicant_name__startswith="xxx").exists()


# --- reading ---------------------------------------------------------------------------------------------------

def test_lists_filters_and_lookups(world, fsm_world, api_for):
    api = api_for(world.khulna, "sanitation_officer")
    data = api.data("""{ all: fsmApplications { totalCount }
        toSchedule: fsmApplications(inbox: TO_SCHEDULE) { edges { node { number status } } }
        emptied: fsmApplications(status: [EMPTIED, DISPOSED], orderBy: [NUMBER_ASC]) { totalCount }
        ward2: fsmApplications(ward: 2) { totalCount }
        workOrders: fsmApplications(inbox: WORK_ORDERS) { edges { node { status scheduledSlot } } }
        serviceProviders { totalCount edges { node { name kind vehicles { registration } crew { name } } } }
        vehicles(status: AVAILABLE) { totalCount }
        crewMembers { edges { node { name provider { name } } } }
        fsmTreatmentPlants { edges { node { id name type status capacityM3PerDay effluentTests { ph } } } }
        fsmDisposals { totalCount edges { node { volumeReceivedM3 vehicle { registration }
                                                applications { number } } } } }""")
    assert data["all"]["totalCount"] == 5 and data["emptied"]["totalCount"] == 2 and data["ward2"]["totalCount"] == 0
    assert data["toSchedule"]["edges"] == [{"node": {"number": fsm_world.approved.number, "status": "APPROVED"}}]
    assert data["workOrders"]["edges"] == [{"node": {"status": "SCHEDULED", "scheduledSlot": "MORNING"}}]
    providers = {edge["node"]["name"]: edge["node"] for edge in data["serviceProviders"]["edges"]}
    assert providers["Khulna Sweepers Ltd"]["kind"] == "PRIVATE" and len(providers["Khulna Sweepers Ltd"]["vehicles"]) == 2
    assert data["vehicles"]["totalCount"] == 3
    assert data["fsmTreatmentPlants"]["edges"][0]["node"]["name"] == "Rayer Mohol FSTP"
    assert data["fsmDisposals"]["edges"][0]["node"]["applications"] == [{"number": fsm_world.disposed.number}]

    one = api.data('query($n: String!) { fsmApplication(number: $n) { status emptying { trips } } }',
                   {"n": fsm_world.emptied.number.lower()})
    assert one == {"fsmApplication": {"status": "EMPTIED", "emptying": {"trips": 1}}}
    plant_id = data["fsmTreatmentPlants"]["edges"][0]["node"]["id"]
    by_plant = api.data("query($p: ID!) { fsmDisposals(treatmentPlant: $p) { totalCount } }", {"p": plant_id})
    assert by_plant["fsmDisposals"]["totalCount"] == 1


def test_a_provider_sees_only_its_own_work(world, fsm_world, api_for):
    with tenant_context(world.khulna):
        other = ServiceProvider.objects.get(name="Other Co")
        Application.objects.filter(pk=fsm_world.received.pk).update(provider=other)
        Application.objects.filter(pk=fsm_world.approved.pk).update(provider=None)
    provider = api_for(world.khulna, "service_provider")
    numbers = [edge["node"]["number"] for edge in provider.data(
        "{ fsmApplications(orderBy: [NUMBER_ASC]) { edges { node { number } } } }")["fsmApplications"]["edges"]]
    mine = sorted(a.number for a in (fsm_world.scheduled, fsm_world.emptied, fsm_world.disposed))
    assert numbers == mine
    assert provider.data("{ serviceProviders { edges { node { name } } } }")["serviceProviders"]["edges"] == [
        {"node": {"name": "Khulna Sweepers Ltd"}}]
    assert provider.data("{ vehicles { totalCount } }")["vehicles"]["totalCount"] == 2
    hidden = gid("FsmApplication", world.khulna, fsm_world.received.pk)
    assert provider.data("query($id: ID!) { node(id: $id) { id } }", {"id": hidden}) == {"node": None}
    assert provider.data("query($n: String!) { fsmApplication(number: $n) { id } }",
                         {"n": fsm_world.received.number}) == {"fsmApplication": None}
    # a provider's people cannot read the registry (registry.view): the site fields answer FORBIDDEN, alone
    body = provider.run("{ fsmApplications(first: 1) { edges { node { number address holding { holdingId } } } } }")
    node = body["data"]["fsmApplications"]["edges"][0]["node"]
    assert node["number"] and node["address"] and node["holding"] is None
    assert {error["extensions"]["code"] for error in body["errors"]} == {"FORBIDDEN"}
    # nor record the emptying of another provider's work order
    with tenant_context(world.khulna):
        Application.objects.filter(pk=fsm_world.scheduled.pk).update(provider=other)
    refused = provider.data(_mutate("fsmApplicationRecordEmptying", "application { id }"), {"i": {
        "id": gid("FsmApplication", world.khulna, fsm_world.scheduled.pk), "emptiedOn": TODAY, "volumeM3": 2}})
    assert refused["fsmApplicationRecordEmptying"]["errors"][0]["code"] == "not_found"


# --- the access matrix -------------------------------------------------------------------------------------------

QUERIES = {
    "fsmApplications": ("{ fsmApplications { totalCount } }", ("tax_officer", "viewer")),
    "serviceProviders": ("{ serviceProviders { totalCount } }", ("gis_officer", "sanitation_officer")),
    "vehicles": ("{ vehicles { totalCount } }", ("field_surveyor", "plant_operator")),
    "crewMembers": ("{ crewMembers { totalCount } }", ("water_officer", "service_provider")),
    "fsmTreatmentPlants": ("{ fsmTreatmentPlants { totalCount } }", ("tax_officer", "plant_operator")),
    "fsmDisposals": ("{ fsmDisposals { totalCount } }", ("viewer", "plant_operator")),
}
MUTATIONS = {
    "fsmApplicationRegister": ({"applicantName": "Ayesha", "containment": "@free_containment"},
                               ("viewer", "help_desk")),
    "fsmApplicationApprove": ({"id": "@received"}, ("help_desk", "sanitation_officer")),
    "fsmApplicationReject": ({"id": "@received", "reason": "No access"}, ("help_desk", "municipal_admin")),
    "fsmApplicationSchedule": ({"id": "@approved", "provider": "@provider", "vehicle": "@truck", "date": TODAY,
                                "slot": "MORNING"}, ("help_desk", "sanitation_officer")),
    "fsmApplicationReschedule": ({"id": "@scheduled", "provider": "@provider", "vehicle": "@truck", "date": TODAY,
                                  "slot": "EVENING"}, ("plant_operator", "sanitation_officer")),
    "fsmApplicationRecordEmptying": ({"id": "@scheduled", "emptiedOn": TODAY, "volumeM3": 2.5},
                                     ("help_desk", "service_provider")),
    "fsmDisposalRecord": ({"treatmentPlant": "@plant", "arrivedAt": "@now", "volumeReceivedM3": 3,
                           "applications": ["@emptied"], "vehicle": "@truck"}, ("service_provider", "plant_operator")),
    "fsmApplicationRecordFeedback": ({"id": "@disposed", "rating": 5, "serviceQuality": 4},
                                     ("service_provider", "help_desk")),
    "fsmApplicationCancel": ({"id": "@approved", "reason": "Moved away"}, ("viewer", "help_desk")),
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
    refs = {"@now": timezone.now().isoformat()}
    if kind in ("wrong role", "right role"):
        refs |= fsm_refs(request.getfixturevalue("fsm_world"), world.khulna)
    response = caller(world, api_for, kind, roles).post(_mutate(operation, "clientMutationId"),
                                                        {"i": resolve_refs(payload, refs)})
    expect_access(response, kind, operation)


# --- the feature gate, IDs across municipalities ----------------------------------------------------------------

def test_with_fsm_off_every_field_and_mutation_answers_feature_not_enabled(world, fsm_world, api_for):
    refs = fsm_refs(fsm_world, world.khulna)
    municipality_feature_set(municipality=world.khulna, code="fsm", is_enabled=False)
    api = api_for(world.khulna, "municipal_admin")
    for field in QUERIES:
        body = api.run(QUERIES[field][0])
        assert body["data"][field] is None
        assert body["errors"][0]["extensions"] == {"code": "FEATURE_NOT_ENABLED", "feature": "fsm"}
        assert "not enabled" in body["errors"][0]["message"]
    body = api.run(_mutate("fsmApplicationApprove", "clientMutationId"), {"i": {"id": refs["@received"]}})
    assert body["data"]["fsmApplicationApprove"] is None
    assert body["errors"][0]["extensions"]["code"] == "FEATURE_NOT_ENABLED"
    node = api.run("query($id: ID!) { node(id: $id) { id } }", {"id": refs["@received"]})
    assert node["data"]["node"] is None and node["errors"][0]["extensions"]["code"] == "FEATURE_NOT_ENABLED"
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=fsm_world.received.pk).status == "received"


def test_ids_of_another_municipality_reach_nothing(world, fsm_world, api_for):
    # An ID minted on Jhenaidah's endpoint for the same row number.
    foreign = gid("FsmApplication", world.jhenaidah, fsm_world.received.pk)
    admin = api_for(world.khulna, "municipal_admin")
    assert admin.data("query($id: ID!) { node(id: $id) { id } }", {"id": foreign}) == {"node": None}
    result = admin.data(_mutate("fsmApplicationApprove", "application { id }"), {"i": {"id": foreign}})
    assert result["fsmApplicationApprove"] == {"errors": [{
        "field": "id", "message": "No FsmApplication with this ID exists here.", "code": "not_found"}],
        "application": None}
    provider = gid("ServiceProvider", world.jhenaidah, fsm_world.site.provider.pk)
    assert admin.data("query($p: ID!) { fsmApplications(provider: $p) { totalCount } }",
                      {"p": provider}) == {"fsmApplications": {"totalCount": 0}}
    with tenant_context(world.khulna):
        assert Application.objects.get(pk=fsm_world.received.pk).status == "received"
