"""FSM set-up over GraphQL: service providers, vehicles, crew and price slabs created and changed through the same
services as the set-up screens (validated, audited), effluent tests, scheduled desludging programmes (create, plan in
the background, households' answers); who may do what, the `fsm` feature gate, IDs that do not cross
municipalities, and lists whose SQL does not grow with the page."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.services import municipality_feature_set
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.fsm.models import (
    CrewMember,
    DesludgingProgramme,
    EffluentTest,
    PriceSlab,
    ProgrammeVisit,
    ServiceProvider,
    Vehicle,
)
from imis.tenant_apps.jobs.models import Job
from tests.graphql.conftest import CALLERS, caller, expect_access, gid, resolve_refs
from tests.tenant_apps.fsm.conftest import Site
from tests.tenant_apps.fsm.test_programme_views import Street, run_plan

pytestmark = pytest.mark.django_db


def _mutate(name: str, fields: str) -> str:
    upper = name[0].upper() + name[1:]
    return f"mutation($i: {upper}Input!) {{ {name}(input: $i) {{ errors {{ field message code }} {fields} }} }}"


@pytest.fixture
def site(world):
    with tenant_context(world.khulna):
        made = Site(world)
    connection.set_schema_to_public()
    return made


def _refs(site, municipality) -> dict:
    return {"@provider": gid("ServiceProvider", municipality, site.provider.pk),
            "@other_provider": gid("ServiceProvider", municipality, site.other_provider.pk),
            "@truck": gid("Vehicle", municipality, site.truck.pk),
            "@small_truck": gid("Vehicle", municipality, site.small_truck.pk),
            "@driver": gid("CrewMember", municipality, site.driver.pk),
            "@plant": gid("FsmTreatmentPlant", municipality, site.plant.pk),
            "@ward": gid("Ward", municipality, site.containments[0].ward_id)}


def test_providers_are_created_and_changed_through_the_service(world, site, api_for):
    refs = _refs(site, world.khulna)
    officer = api_for(world.khulna, "sanitation_officer")
    provider_user = world.user("service_provider", "khulna")
    fields = "provider { id name kind phone contractEnd wards { number } isActive }"
    made = officer.data(_mutate("serviceProviderCreate", fields), {"i": {
        "name": " Rupsha Cleaners ", "kind": "MUNICIPAL", "phone": "01712345678", "wards": [refs["@ward"]],
        "userIds": [provider_user.pk]}})["serviceProviderCreate"]
    assert made["errors"] == []
    assert made["provider"] | {"id": None} == {"id": None, "name": "Rupsha Cleaners", "kind": "MUNICIPAL",
                                               "phone": "+8801712345678", "contractEnd": None,
                                               "wards": [{"number": 1}], "isActive": True}
    changed = officer.data(_mutate("serviceProviderUpdate", fields), {"i": {
        "id": made["provider"]["id"], "contractEnd": "2027-06-30", "isActive": False, "wards": []}})
    assert changed["serviceProviderUpdate"]["provider"]["contractEnd"] == "2027-06-30"
    assert changed["serviceProviderUpdate"]["provider"]["wards"] == []
    assert changed["serviceProviderUpdate"]["provider"]["name"] == "Rupsha Cleaners"  # untouched

    refused = {
        "duplicate name": ({"name": "Khulna Sweepers Ltd"}, "name", "unique"),
        "contract ends first": ({"name": "X", "contractStart": "2027-01-01", "contractEnd": "2026-01-01"},
                                "contractEnd", "invalid_period"),
        "not a provider account": ({"name": "X", "userIds": [world.user("cashier", "khulna").pk]}, "userIds",
                                   "invalid_choice"),
        "bad phone": ({"name": "X", "phone": "0171"}, "phone", "invalid_phone"),
        "bad email": ({"name": "X", "email": "no-at-sign"}, "email", "invalid"),
        "foreign ward": ({"name": "X", "wards": [gid("Ward", world.jhenaidah, 1)]}, "wards", "not_found"),
    }
    for case, (payload, field, code) in refused.items():
        errors = officer.data(_mutate("serviceProviderCreate", fields), {"i": payload})["serviceProviderCreate"]
        assert (errors["errors"][0]["field"], errors["errors"][0]["code"]) == (field, code), case
    with tenant_context(world.khulna):
        assert ServiceProvider.objects.count() == 3
        entries = AuditEntry.objects.filter(model="fsm.serviceprovider").order_by("pk")
        assert [entry.action for entry in entries] == ["create", "update"]
        assert entries[1].before["is_active"] is True and entries[1].after["is_active"] is False


def test_vehicles_crew_and_price_slabs(world, site, api_for):
    refs = _refs(site, world.khulna)
    officer = api_for(world.khulna, "sanitation_officer")
    vehicle = officer.data(_mutate("vehicleCreate", "vehicle { id registration capacityM3 suctionType status "
                                                    "provider { name } }"), {"i": {
        "provider": refs["@provider"], "registration": " khulna-ta 9 ", "capacityM3": "1.2",
        "suctionType": "VACUTUG"}})["vehicleCreate"]
    assert vehicle["errors"] == [] and vehicle["vehicle"]["registration"] == "KHULNA-TA 9"
    assert vehicle["vehicle"]["capacityM3"] == "1.20" and vehicle["vehicle"]["provider"] == {
        "name": "Khulna Sweepers Ltd"}
    small = officer.data(_mutate("vehicleCreate", "vehicle { id }"), {"i": {
        "provider": refs["@provider"], "registration": "X-1", "capacityM3": "0"}})["vehicleCreate"]
    assert (small["errors"][0]["field"], small["errors"][0]["code"]) == ("capacityM3", "min_value")
    twin = officer.data(_mutate("vehicleCreate", "vehicle { id }"), {"i": {
        "provider": refs["@provider"], "registration": "khulna-ta-11-0001", "capacityM3": "3"}})["vehicleCreate"]
    assert (twin["errors"][0]["field"], twin["errors"][0]["code"]) == ("registration", "unique")
    workshop = officer.data(_mutate("vehicleUpdate", "vehicle { status registration }"), {"i": {
        "id": refs["@small_truck"], "status": "MAINTENANCE"}})["vehicleUpdate"]
    assert workshop["vehicle"] == {"status": "MAINTENANCE", "registration": "KHULNA-TA-11-0002"}

    crew_fields = "crewMember { id name role phone licenceNumber }"
    driver = officer.data(_mutate("crewMemberCreate", crew_fields), {"i": {
        "provider": refs["@provider"], "name": "Jamal", "role": "DRIVER"}})["crewMemberCreate"]
    assert driver["errors"] == [{"field": "licenceNumber", "code": "required",
                                 "message": "A driver needs a driving licence number."}]
    driver = officer.data(_mutate("crewMemberCreate", crew_fields), {"i": {
        "provider": refs["@provider"], "name": "Jamal", "role": "DRIVER", "licenceNumber": "DL-77",
        "phone": "01812345678"}})["crewMemberCreate"]
    assert driver["crewMember"]["phone"] == "+8801812345678"
    unlicensed = officer.data(_mutate("crewMemberUpdate", crew_fields), {"i": {
        "id": refs["@driver"], "phone": "01912345678"}})["crewMemberUpdate"]
    assert unlicensed["errors"][0]["field"] == "licenceNumber"  # the existing driver has none on file
    helper = officer.data(_mutate("crewMemberUpdate", crew_fields), {"i": {
        "id": refs["@driver"], "role": "HELPER"}})["crewMemberUpdate"]
    assert helper["crewMember"]["role"] == "HELPER"

    slab_fields = "priceSlab { id buildingUse volumeFromM3 volumeToM3 feePerTrip }"
    overlap = officer.data(_mutate("fsmPriceSlabCreate", slab_fields), {"i": {
        "volumeFromM3": "4", "volumeToM3": "8", "feePerTrip": "2000"}})["fsmPriceSlabCreate"]
    assert overlap["errors"][0]["code"] == "overlapping_slab" and overlap["errors"][0]["field"] == "volumeFromM3"
    upside_down = officer.data(_mutate("fsmPriceSlabCreate", slab_fields), {"i": {
        "volumeFromM3": "8", "volumeToM3": "4", "feePerTrip": "2000"}})["fsmPriceSlabCreate"]
    assert upside_down["errors"][0]["field"] == "volumeToM3"
    slab = officer.data(_mutate("fsmPriceSlabCreate", slab_fields), {"i": {
        "buildingUse": "INSTITUTIONAL", "volumeToM3": "10", "feePerTrip": "1800"}})["fsmPriceSlabCreate"]
    assert slab["priceSlab"] | {"id": None} == {"id": None, "buildingUse": "INSTITUTIONAL", "volumeFromM3": "0.00",
                                                "volumeToM3": "10.00", "feePerTrip": "1800.00"}
    dearer = officer.data(_mutate("fsmPriceSlabUpdate", slab_fields), {"i": {
        "id": slab["priceSlab"]["id"], "feePerTrip": "2100.50"}})["fsmPriceSlabUpdate"]
    assert dearer["priceSlab"]["feePerTrip"] == "2100.50"
    listed = officer.data("{ fsmPriceSlabs { totalCount edges { node { buildingUse feePerTrip } } } }")
    assert listed["fsmPriceSlabs"]["totalCount"] == 4
    with tenant_context(world.khulna):
        assert Vehicle.objects.count() == 4 and CrewMember.objects.count() == 3 and PriceSlab.objects.count() == 4
        assert AuditEntry.objects.filter(model="fsm.vehicle").count() == 2
        assert AuditEntry.objects.filter(model="fsm.priceslab", action="update").count() == 1


def test_effluent_tests_are_recorded_by_the_plant(world, site, api_for):
    refs = _refs(site, world.khulna)
    operator = api_for(world.khulna, "plant_operator")
    fields = "effluentTest { id sampledOn bodMgL ph treatmentPlant { name } }"
    recorded = operator.data(_mutate("fsmEffluentTestRecord", fields), {"i": {
        "treatmentPlant": refs["@plant"], "sampledOn": "2026-11-30", "bodMgL": "28.5", "ph": "7.2"}})
    assert recorded["fsmEffluentTestRecord"]["effluentTest"] | {"id": None} == {
        "id": None, "sampledOn": "2026-11-30", "bodMgL": "28.50", "ph": "7.20",
        "treatmentPlant": {"name": "Rayer Mohol FSTP"}}
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    refused = {
        "future": ({"sampledOn": tomorrow, "bodMgL": "1"}, "sampledOn", "future_date"),
        "nothing measured": ({"sampledOn": "2026-11-30"}, "bodMgL", "required"),
        "negative": ({"sampledOn": "2026-11-30", "codMgL": "-1"}, "codMgL", "negative"),
        "pH above 14": ({"sampledOn": "2026-11-30", "ph": "15"}, "ph", "max_value"),
    }
    for case, (payload, field, code) in refused.items():
        answer = operator.data(_mutate("fsmEffluentTestRecord", fields), {"i": {"treatmentPlant": refs["@plant"],
                                                                                 **payload}})
        assert (answer["fsmEffluentTestRecord"]["errors"][0]["field"],
                answer["fsmEffluentTestRecord"]["errors"][0]["code"]) == (field, code), case
    listed = operator.data('query($p: ID) { fsmEffluentTests(treatmentPlant: $p) { totalCount edges { node { '
                           'bodMgL } } } }', {"p": gid("TreatmentPlant", world.khulna, site.plant.pk)})
    assert listed["fsmEffluentTests"] == {"totalCount": 1, "edges": [{"node": {"bodMgL": "28.50"}}]}
    with tenant_context(world.khulna):
        assert EffluentTest.objects.count() == 1
        assert AuditEntry.objects.filter(model="fsm.effluenttest", action="create").count() == 1


@pytest.fixture
def fast_plans(settings):
    settings.IMIS_FSM_PLAN_SECONDS_PER_DAY = 0.1


def test_a_programme_is_created_planned_and_answered(world, site, api_for, fast_plans):
    refs = _refs(site, world.khulna)
    with tenant_context(world.khulna):
        Street(site)
    connection.set_schema_to_public()
    officer, desk = api_for(world.khulna, "sanitation_officer"), api_for(world.khulna, "help_desk")
    start = timezone.localdate() + datetime.timedelta(days=1)
    fields = "programme { id name status tripsPerDay wards { number } vehicles { registration } workingWeekdays }"
    created = officer.data(_mutate("fsmProgrammeCreate", fields), {"i": {
        "name": "Ward 1 by API", "startDate": start.isoformat(),
        "endDate": (start + datetime.timedelta(days=13)).isoformat(), "treatmentPlant": refs["@plant"],
        "vehicles": [refs["@truck"], refs["@small_truck"]], "wards": [refs["@ward"]], "tripsPerDay": 2}})
    programme = created["fsmProgrammeCreate"]["programme"]
    assert created["fsmProgrammeCreate"]["errors"] == [] and programme["status"] == "DRAFT"
    assert programme["wards"] == [{"number": 1}] and programme["workingWeekdays"] == [0, 1, 2, 3, 6]
    past = officer.data(_mutate("fsmProgrammeCreate", "programme { id }"), {"i": {
        "name": "Late", "startDate": "2026-01-01", "endDate": "2026-01-10", "treatmentPlant": refs["@plant"],
        "vehicles": [refs["@truck"]], "wards": [refs["@ward"]]}})
    assert past["fsmProgrammeCreate"]["errors"][0] == {"field": "startDate", "code": "past_date",
                                                       "message": "The programme cannot start in the past."}
    nothing = officer.data(_mutate("fsmProgrammeNotify", "job { id }"), {"i": {"id": programme["id"]}})
    assert nothing["fsmProgrammeNotify"]["errors"][0]["code"] == "nothing_to_notify"

    job_fields = "job { id title status } programme { status }"
    started = officer.data(_mutate("fsmProgrammePlan", job_fields), {"i": {"id": programme["id"], "nonce": "n-1"}})
    job = started["fsmProgrammePlan"]["job"]
    assert job["status"] == "pending" and job["title"] == "Plan routes: Ward 1 by API"
    again = officer.data(_mutate("fsmProgrammePlan", job_fields), {"i": {"id": programme["id"]}})
    assert again["fsmProgrammePlan"]["job"]["id"] == job["id"]  # one at a time
    with tenant_context(world.khulna):
        made = DesludgingProgramme.objects.get(name="Ward 1 by API")
        Job.objects.filter(pk=job["id"]).update(status="failed")  # the worker would have run it: run it here
        assert run_plan(site, made).status == "succeeded"
    visits = officer.data('query($p: ID!) { fsmProgrammeVisits(programme: $p) { totalCount edges { node { id date '
                          'sequence status vehicle { registration } containment { code } programme { name } } } } }',
                          {"p": programme["id"]})["fsmProgrammeVisits"]
    assert visits["totalCount"] >= 2
    first, second = (edge["node"] for edge in visits["edges"][:2])
    accepted = desk.data(_mutate("fsmProgrammeVisitAccept", "application { number status channel }"),
                         {"i": {"id": first["id"], "applicantName": "Rahima"}})["fsmProgrammeVisitAccept"]
    assert accepted["errors"] == [] and accepted["application"]["status"] == "SCHEDULED"
    assert accepted["application"]["channel"] == "SCHEDULED"
    declined = desk.data(_mutate("fsmProgrammeVisitDecline", "visit { status declineReason }"),
                         {"i": {"id": second["id"], "reason": "Emptied last month"}})["fsmProgrammeVisitDecline"]
    assert declined["visit"] == {"status": "DECLINED", "declineReason": "Emptied last month"}
    twice = desk.data(_mutate("fsmProgrammeVisitDecline", "visit { status }"), {"i": {"id": first["id"]}})
    assert twice["fsmProgrammeVisitDecline"]["errors"][0]["code"] == "already_answered"
    replan = officer.data(_mutate("fsmProgrammePlan", job_fields), {"i": {"id": programme["id"]}})
    assert replan["fsmProgrammePlan"]["errors"][0]["code"] == "programme_answered"
    listed = officer.data('{ fsmProgrammes(status: PLANNED) { edges { node { name treatmentPlant { name } '
                          'summary } } } }')["fsmProgrammes"]["edges"]
    assert listed[0]["node"]["name"] == "Ward 1 by API" and '"planned"' in listed[0]["node"]["summary"]
    with tenant_context(world.khulna):
        assert ProgrammeVisit.objects.filter(status="accepted").count() == 1


# --- who may do what ------------------------------------------------------------------------------------------

QUERIES = {
    "fsmPriceSlabs": ("{ fsmPriceSlabs { totalCount } }", ("tax_officer", "help_desk")),
    "fsmProgrammes": ("{ fsmProgrammes { totalCount } }", ("viewer", "help_desk")),
    "fsmProgrammeVisits": ("{ fsmProgrammeVisits(programme: \"RnNtUHJvZ3JhbW1lOmtodWxuYTox\") { totalCount } }",
                           ("plant_operator", "sanitation_officer")),
    "fsmEffluentTests": ("{ fsmEffluentTests { totalCount } }", ("cashier", "plant_operator")),
}
MUTATIONS = {
    "serviceProviderCreate": ({"name": "New Co"}, ("help_desk", "sanitation_officer")),
    "serviceProviderUpdate": ({"id": "@other_provider", "isActive": False}, ("plant_operator", "municipal_admin")),
    "vehicleCreate": ({"provider": "@provider", "registration": "N-1", "capacityM3": "2"},
                      ("service_provider", "sanitation_officer")),
    "vehicleUpdate": ({"id": "@truck", "status": "MAINTENANCE"}, ("help_desk", "sanitation_officer")),
    "crewMemberCreate": ({"provider": "@provider", "name": "Mina", "role": "HELPER"},
                         ("service_provider", "municipal_admin")),
    "crewMemberUpdate": ({"id": "@driver", "isActive": False, "licenceNumber": "DL-1"},
                         ("viewer", "sanitation_officer")),
    "fsmPriceSlabCreate": ({"volumeFromM3": "60", "volumeToM3": "70", "feePerTrip": "1"},
                           ("tax_officer", "sanitation_officer")),
    "fsmEffluentTestRecord": ({"treatmentPlant": "@plant", "sampledOn": "2026-11-01", "ph": "7"},
                              ("help_desk", "plant_operator")),
}


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(QUERIES))
def test_query_permission_matrix(world, site, api_for, operation, kind):
    document, roles = QUERIES[operation]
    expect_access(caller(world, api_for, kind, roles).post(document), kind, operation)


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("operation", sorted(MUTATIONS))
def test_mutation_permission_matrix(world, site, api_for, operation, kind):
    payload, roles = MUTATIONS[operation]
    response = caller(world, api_for, kind, roles).post(_mutate(operation, "clientMutationId"),
                                                        {"i": resolve_refs(payload, _refs(site, world.khulna))})
    expect_access(response, kind, operation)


def test_without_the_feature_set_up_is_refused(world, site, api_for):
    admin = api_for(world.khulna, "municipal_admin")
    municipality_feature_set(municipality=world.khulna, code="fsm", is_enabled=False)
    for document, variables in (("{ fsmPriceSlabs { totalCount } }", None),
                                (_mutate("vehicleUpdate", "clientMutationId"),
                                 {"i": {"id": _refs(site, world.khulna)["@truck"], "status": "RETIRED"}})):
        body = admin.run(document, variables)
        assert body["errors"][0]["extensions"] == {"code": "FEATURE_NOT_ENABLED", "feature": "fsm"}
    with tenant_context(world.khulna):
        assert Vehicle.objects.get(pk=site.truck.pk).status == "available"


def test_ids_of_another_municipality_reach_nothing(world, site, api_for):
    admin = api_for(world.khulna, "municipal_admin")
    for name, payload, field in (
            ("vehicleUpdate", {"id": gid("Vehicle", world.jhenaidah, site.truck.pk), "status": "RETIRED"}, "id"),
            ("vehicleCreate", {"provider": gid("ServiceProvider", world.jhenaidah, site.provider.pk),
                               "registration": "Z-1", "capacityM3": "2"}, "provider"),
            ("crewMemberUpdate", {"id": gid("CrewMember", world.jhenaidah, site.driver.pk), "name": "X"}, "id"),
            ("fsmPriceSlabUpdate", {"id": gid("FsmPriceSlab", world.jhenaidah, 1), "feePerTrip": "1"}, "id")):
        body = admin.data(_mutate(name, "clientMutationId"), {"i": payload})
        assert body[name]["errors"][0]["field"] == field and body[name]["errors"][0]["code"] == "not_found", name
    with tenant_context(world.khulna):
        assert Vehicle.objects.get(pk=site.truck.pk).status == "available" and Vehicle.objects.count() == 3


# --- no N+1 -----------------------------------------------------------------------------------------------------

PROVIDERS = """query($n: Int) { serviceProviders(first: $n) { totalCount edges { node {
    name wards { number } vehicles { registration status } crew { name role } } } } }"""
SLABS = "query($n: Int) { fsmPriceSlabs(first: $n) { totalCount edges { node { buildingUse feePerTrip } } } }"


def test_set_up_lists_run_a_bounded_number_of_statements(world, site, api_for):
    with tenant_context(world.khulna):
        providers = ServiceProvider.objects.bulk_create([ServiceProvider(name=f"Provider {n:03d}")
                                                         for n in range(100)])
        Vehicle.objects.bulk_create([Vehicle(provider=p, registration=f"V-{n}", capacity_m3=Decimal("3"))
                                     for n, p in enumerate(providers)])
        CrewMember.objects.bulk_create([CrewMember(provider=p, name=f"Crew {n}", role="helper")
                                        for n, p in enumerate(providers)])
        ServiceProvider.wards.through.objects.bulk_create([
            ServiceProvider.wards.through(serviceprovider_id=p.pk, ward_id=site.containments[0].ward_id)
            for p in providers])
        PriceSlab.objects.bulk_create([PriceSlab(volume_from_m3=100 + n, volume_to_m3=Decimal(100 + n) + Decimal("0.5"),
                                                 fee_per_trip=n) for n in range(100)])
    connection.set_schema_to_public()
    api = api_for(world.khulna, "sanitation_officer")
    api.run("{ __typename }")
    # 7 per request + COUNT and the page; providers also their wards, vehicles and crew
    for document, bound in ((PROVIDERS, 12), (SLABS, 9)):
        counts = []
        for size in (10, 100):
            with CaptureQueriesContext(connection) as captured:
                body = api.run(document, {"n": size})
            assert "errors" not in body, body["errors"]
            assert len(next(iter(body["data"].values()))["edges"]) == size
            counts.append(len(captured.captured_queries))
        assert counts[0] == counts[1] <= bound, (document, counts)
