"""Registry mutations call the registry services; their ValidationErrors come back as {field, message, code}."""

import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry import tasks
from imis.tenant_apps.registry.models import Building, Containment, Holding
from tests.tenant_apps.registry.factories import at, square

pytestmark = pytest.mark.django_db


def geojson(polygon):
    import json

    return json.loads(polygon.geojson)


@pytest.fixture
def officer(world, city, api_for):
    return api_for(world.khulna, "gis_officer")


def global_id(api, kind: str, key: str) -> str:
    field, argument = {"Building": ("building", "bin"), "Holding": ("holding", "holdingId"),
                       "Containment": ("containment", "code")}[kind]
    return api.data(f'{{ {field}({argument}: "{key}") {{ id }} }}')[field]["id"]


def ward_id(api, number: int) -> str:
    edges = api.data(f"{{ wards(number: {number}) {{ edges {{ node {{ id }} }} }} }}")["wards"]["edges"]
    return edges[0]["node"]["id"]


def road_id(api, code: str) -> str:
    edges = api.data(f'{{ roads(search: "{code}") {{ edges {{ node {{ id code }} }} }} }}')["roads"]["edges"]
    return next(edge["node"]["id"] for edge in edges if edge["node"]["code"] == code)


BUILDING_CREATE = """mutation($input: BuildingCreateInput!) { buildingCreate(input: $input) {
    clientMutationId errors { field message code }
    building { id bin floors functionalUse ward { number } holding { holdingId } nearestRoad { code } roadLinkStatus }
} }"""


def test_building_create_registers_links_and_audits(world, officer):
    holding = global_id(officer, "Holding", "1-1-1")
    result = officer.data(BUILDING_CREATE, {"input": {
        "bin": "b-new-1", "footprint": geojson(square(100, 40)), "holding": holding, "floors": 2,
        "functionalUse": "MIXED", "clientMutationId": "abc"}})["buildingCreate"]
    assert result["errors"] == [] and result["clientMutationId"] == "abc"
    assert result["building"] == {"id": result["building"]["id"], "bin": "B-NEW-1", "floors": 2,
                                  "functionalUse": "MIXED", "ward": {"number": 1}, "holding": {"holdingId": "1-1-1"},
                                  "nearestRoad": {"code": "R-1"}, "roadLinkStatus": "LINKED"}
    with tenant_context(world.khulna):
        building = Building.objects.get(bin="B-NEW-1")
        entry = AuditEntry.objects.filter(object_id=str(building.pk)).get()
    assert entry.action == AuditEntry.Action.CREATE and entry.actor_id == world.user("gis_officer", "khulna").pk


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"bin": "B-K0001"}, "bin", "duplicate_bin"),
    ({"footprint": {"type": "Point", "coordinates": [89.54, 22.84]}}, "footprint", "wrong_geometry_type"),
    ({"footprint": geojson(square(0, 0, 0.5))}, "footprint", "implausible_area"),
    ({"floors": 0}, "floors", "min_value"),
    ({"hasToilet": False, "toiletCount": 2}, "toiletCount", "inconsistent_toilets"),
    ({"holding": "SG9sZGluZzpqaGVuYWlkYWg6MQ=="}, "holding", "not_found"),
    ({"waterCustomerId": "x" * 41}, "waterCustomerId", "max_length"),
    ({"functionalUse": None}, "functionalUse", "blank"),
])
def test_building_create_reports_service_errors_per_field(officer, changes, field, code):
    payload = {"bin": "B-NEW-2", "footprint": geojson(square(100, 40)), **changes}
    result = officer.data(BUILDING_CREATE, {"input": payload})["buildingCreate"]
    assert result["building"] is None
    assert [(error["field"], error["code"]) for error in result["errors"]] == [(field, code)]
    assert result["errors"][0]["message"]


def test_invalid_geojson_is_refused_before_anything_runs(officer):
    body = officer.run(BUILDING_CREATE, {"input": {"bin": "B-X", "footprint": {"type": "Polygon",
                                                                             "coordinates": [[[500, 500]]]}}})
    assert "errors" in body and "data" not in body
    assert "Not a usable geometry" in body["errors"][0]["message"]


def test_building_update_changes_only_what_is_given(world, officer):
    building = global_id(officer, "Building", "B-K0002")
    result = officer.data("""mutation($input: BuildingUpdateInput!) { buildingUpdate(input: $input) {
        errors { field code } building { bin floors sanitationSystem holding { holdingId } } } }""",
                          {"input": {"id": building, "floors": 7, "sanitationSystem": "SEWER", "holding": None}})
    assert result["buildingUpdate"] == {"errors": [], "building": {
        "bin": "B-K0002", "floors": 7, "sanitationSystem": "SEWER", "holding": None}}
    wrong = officer.data("""mutation($input: BuildingUpdateInput!) { buildingUpdate(input: $input) {
        errors { field code } } }""", {"input": {"id": global_id(officer, "Holding", "1-1-1"), "floors": 2}})
    assert wrong["buildingUpdate"]["errors"] == [{"field": "id", "code": "not_found"}]


def test_buildings_bulk_update(world, officer):
    ids_ = [global_id(officer, "Building", f"B-K000{n}") for n in range(3)]
    result = officer.data("""mutation($input: BuildingsBulkUpdateInput!) { buildingsBulkUpdate(input: $input) {
        errors { field code } changedCount } }""", {"input": {"ids": ids_, "verificationStatus": "VERIFIED"}})
    assert result["buildingsBulkUpdate"] == {"errors": [], "changedCount": 2}  # B-K0000 was verified already
    with tenant_context(world.khulna):
        assert AuditEntry.objects.filter(action=AuditEntry.Action.BULK_UPDATE).count() == 2
    refused = officer.data("""mutation($input: BuildingsBulkUpdateInput!) { buildingsBulkUpdate(input: $input) {
        errors { field code } changedCount } }""", {"input": {"ids": ids_, "verificationStatus": None}})
    assert refused["buildingsBulkUpdate"]["errors"][0]["field"] == "verificationStatus"


def test_buildings_link_nearest_roads_now_and_in_background(world, officer, monkeypatch,
                                                           django_capture_on_commit_callbacks):
    mutation = """mutation($input: BuildingsLinkNearestRoadsInput!) { buildingsLinkNearestRoads(input: $input) {
        errors { field code } isQueued counts { linked ambiguous far none changed } } }"""
    now = officer.data(mutation, {"input": {}})["buildingsLinkNearestRoads"]
    assert now["errors"] == [] and not now["isQueued"]
    assert now["counts"]["changed"] == 12 and sum(now["counts"][k] for k in ("linked", "ambiguous", "far",
                                                                              "none")) == 12
    some = officer.data(mutation, {"input": {"buildings": [global_id(officer, "Building", "B-K0000")]}})
    assert some["buildingsLinkNearestRoads"]["counts"]["changed"] == 0

    queued = []
    monkeypatch.setattr(tasks.link_buildings_to_roads, "delay", lambda user_id: queued.append(user_id))
    with django_capture_on_commit_callbacks(execute=True):
        background = officer.data(mutation, {"input": {"inBackground": True}})["buildingsLinkNearestRoads"]
    assert background == {"errors": [], "isQueued": True, "counts": None}
    assert queued == [world.user("gis_officer", "khulna").pk]
    both = officer.data(mutation, {"input": {"inBackground": True, "buildings": []}})["buildingsLinkNearestRoads"]
    assert both["errors"] == [{"field": "buildings", "code": "not_supported"}]


HOLDING_CREATE = """mutation($input: HoldingCreateInput!) { holdingCreate(input: $input) {
    errors { field message code } holding { holdingId address ward { number } road { code }
    owners { name phone nationalId gender } } } }"""


def test_holding_create_with_owners(officer):
    result = officer.data(HOLDING_CREATE, {"input": {
        "holdingId": "1-2-300", "ward": ward_id(officer, 1), "road": road_id(officer, "R-2"), "address": "Lane 2",
        "owners": [{"name": "Rahima Begum", "phone": "01712345678", "nationalId": "1234567890", "gender": "FEMALE"}],
    }})["holdingCreate"]
    assert result["errors"] == []
    assert result["holding"] == {"holdingId": "1-2-300", "address": "Lane 2", "ward": {"number": 1},
                                 "road": {"code": "R-2"}, "owners": [{"name": "Rahima Begum",
                                 "phone": "+8801712345678", "nationalId": "1234567890", "gender": "FEMALE"}]}


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"holdingId": "1-1-1"}, "holdingId", "duplicate_holding_id"),
    ({"holdingId": "nonsense"}, "holdingId", "invalid_holding_id"),
    ({"address": "x" * 301}, "address", "max_length"),
    ({"owners": [{"name": ""}]}, "owners.0.name", "blank"),
    ({"owners": [{"name": "A", "phone": "123"}]}, None, "invalid_phone"),
    ({"ward": "V2FyZDpraHVsbmE6OTk5OTk5OQ=="}, "ward", "not_found"),
])
def test_holding_create_errors(officer, changes, field, code):
    payload = {"holdingId": "1-2-301", "ward": ward_id(officer, 1), **changes}
    result = officer.data(HOLDING_CREATE, {"input": payload})["holdingCreate"]
    assert result["holding"] is None
    assert [(error["field"], error["code"]) for error in result["errors"]] == [(field, code)]


def test_holding_update(world, officer):
    holding = global_id(officer, "Holding", "1-1-2")
    mutation = """mutation($input: HoldingUpdateInput!) { holdingUpdate(input: $input) {
        errors { field code } holding { holdingId address road { code } ward { number } } } }"""
    result = officer.data(mutation, {"input": {"id": holding, "address": "New address", "road": None}})
    assert result["holdingUpdate"] == {"errors": [], "holding": {"holdingId": "1-1-2", "address": "New address",
                                                                 "road": None, "ward": {"number": 1}}}
    moved = officer.data(mutation, {"input": {"id": holding, "ward": ward_id(officer, 2)}})
    assert moved["holdingUpdate"]["errors"] == [{"field": "holding", "code": "multi_ward_holding"}]
    emptied = officer.data(mutation, {"input": {"id": holding, "ward": None}})
    assert emptied["holdingUpdate"]["errors"] == [{"field": "ward", "code": "null"}]
    with tenant_context(world.khulna):
        assert Holding.objects.get(holding_id="1-1-2").ward.number == 1


CONTAINMENT_CREATE = """mutation($input: ContainmentCreateInput!) { containmentCreate(input: $input) {
    errors { field message code } containment { code type volumeM3 ward { number } buildings { bin }
    nextEmptyingDue location } } }"""


def test_containment_create_with_buildings(officer):
    lon, lat = at(105, 40)
    result = officer.data(CONTAINMENT_CREATE, {"input": {
        "code": "c-new", "type": "SEPTIC_TANK", "lengthM": 2, "widthM": 1.5, "depthM": 1.2,
        "location": {"type": "Point", "coordinates": [lon, lat]}, "lastEmptiedOn": "2025-06-01",
        "buildings": [global_id(officer, "Building", "B-K0005")],
    }})["containmentCreate"]
    assert result["errors"] == []
    containment = result["containment"]
    assert containment["code"] == "C-NEW" and containment["volumeM3"] == 3.6 and containment["ward"] == {"number": 1}
    assert containment["buildings"] == [{"bin": "B-K0005"}] and containment["nextEmptyingDue"] > "2025-06-01"


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"code": "C-K0000"}, "code", "duplicate_code"),
    ({"location": {"type": "LineString", "coordinates": [[89.54, 22.84], [89.55, 22.85]]}}, "location",
     "wrong_geometry_type"),
    ({"constructionYear": 20000}, "constructionYear", "out_of_range"),
    ({"lastEmptiedOn": "9999-12-31"}, "lastEmptiedOn", "out_of_range"),
    ({"depthM": -1}, "depthM", "min_value"),
    ({"buildings": ["QnVpbGRpbmc6a2h1bG5hOjk5OTk5OTk="]}, "buildings", "not_found"),
    ({"buildings": "far"}, "buildings", "containment_too_far"),
])
def test_containment_create_errors(officer, changes, field, code):
    lon, lat = at(105, 40)
    if changes.get("buildings") == "far":
        changes = {"buildings": [global_id(officer, "Building", "B-K0011")]}
    payload = {"code": "C-NEW-2", "type": "LINED_PIT",
               "location": {"type": "Point", "coordinates": [lon, lat]}, **changes}
    result = officer.data(CONTAINMENT_CREATE, {"input": payload})["containmentCreate"]
    assert result["containment"] is None
    assert [(error["field"], error["code"]) for error in result["errors"]] == [(field, code)]


def test_containment_update_replaces_buildings(world, officer):
    containment = global_id(officer, "Containment", "C-K0001")
    result = officer.data("""mutation($input: ContainmentUpdateInput!) { containmentUpdate(input: $input) {
        errors { field code } containment { code outlet buildings { bin } } } }""", {"input": {
        "id": containment, "outlet": "DRAIN", "buildings": [global_id(officer, "Building", "B-K0003")]}})
    assert result["containmentUpdate"] == {"errors": [], "containment": {
        "code": "C-K0001", "outlet": "DRAIN", "buildings": [{"bin": "B-K0003"}]}}
    with tenant_context(world.khulna):
        assert Containment.objects.get(code="C-K0001").buildings.count() == 1


def test_a_mutation_cannot_reach_another_municipalitys_object(world, city, officer, api_for):
    with tenant_context(world.jhenaidah):
        Building.objects.create(pk=city.buildings[0].pk, bin="B-J0001", footprint=square(0, 0))
    foreign = api_for(world.jhenaidah, "viewer").data('{ building(bin: "B-J0001") { id } }')["building"]["id"]
    mutation = """mutation($input: BuildingUpdateInput!) { buildingUpdate(input: $input) { errors { field code } } }"""
    result = officer.data(mutation, {"input": {"id": foreign, "floors": 9}})
    assert result["buildingUpdate"]["errors"] == [{"field": "id", "code": "not_found"}]
    bulk = officer.data("""mutation($input: BuildingsBulkUpdateInput!) { buildingsBulkUpdate(input: $input) {
        errors { field code } } }""", {"input": {"ids": [foreign], "isLowIncome": True}})
    assert bulk["buildingsBulkUpdate"]["errors"] == [{"field": "ids", "code": "not_found"}]
    with tenant_context(world.khulna):
        assert Building.objects.get(pk=city.buildings[0].pk).floors == 1
