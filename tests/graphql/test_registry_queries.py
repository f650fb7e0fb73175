"""Registry queries: every layer, filters, bbox, ordering, pagination, look-ups and global IDs."""

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Polygon
from django_tenants.utils import tenant_context

from imis.tenant_apps.registry.models import (
    Building,
    Drain,
    LowIncomeCommunity,
    MunicipalBoundary,
    PublicToilet,
    TreatmentPlant,
    Ward,
    WaterBody,
    WaterloggingArea,
)
from tests.tenant_apps.registry.factories import at, point, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(world, city, api_for):
    return api_for(world.khulna, "viewer")


def _bins(data, field="buildings"):
    return [edge["node"]["bin"] for edge in data[field]["edges"]]


def test_buildings_page_with_nested_holding_ward_and_geometry(viewer):
    data = viewer.data("""{ buildings(first: 2) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { node { id bin floors functionalUse sanitationSystem structureType population footprint
                       ward { number name } holding { holdingId address owners { name gender } }
                       containments { code } } } } }""")
    page = data["buildings"]
    assert page["totalCount"] == 12 and page["pageInfo"]["hasNextPage"] and not page["pageInfo"]["hasPreviousPage"]
    first = page["edges"][0]["node"]
    assert first["bin"] == "B-K0000" and first["functionalUse"] == "COMMERCIAL" and first["structureType"] is None
    assert first["footprint"]["type"] == "Polygon" and first["population"] == 6
    assert first["ward"] == {"number": 1, "name": "Ward 1"}
    assert first["holding"]["holdingId"] == "1-1-1" and len(first["holding"]["owners"]) == 2
    assert first["containments"] == [{"code": "C-K0000"}]


def test_cursor_pagination_forwards_and_backwards(viewer):
    query = """query($after: String, $before: String, $first: Int, $last: Int) {
      buildings(first: $first, after: $after, last: $last, before: $before) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { bin } } } }"""
    first = viewer.data(query, {"first": 5})["buildings"]
    second = viewer.data(query, {"first": 5, "after": first["pageInfo"]["endCursor"]})["buildings"]
    third = viewer.data(query, {"first": 5, "after": second["pageInfo"]["endCursor"]})["buildings"]
    assert [e["node"]["bin"] for e in second["edges"]] == [f"B-K{n:04d}" for n in range(5, 10)]
    assert second["pageInfo"]["hasPreviousPage"] and second["pageInfo"]["hasNextPage"]
    assert [e["node"]["bin"] for e in third["edges"]] == ["B-K0010", "B-K0011"]
    assert not third["pageInfo"]["hasNextPage"]
    last = viewer.data(query, {"last": 3})["buildings"]
    assert [e["node"]["bin"] for e in last["edges"]] == ["B-K0009", "B-K0010", "B-K0011"]
    before = viewer.data(query, {"last": 2, "before": last["pageInfo"]["startCursor"]})["buildings"]
    assert [e["node"]["bin"] for e in before["edges"]] == ["B-K0007", "B-K0008"]
    assert before["pageInfo"]["hasPreviousPage"] and before["pageInfo"]["hasNextPage"]


def test_default_page_size_is_20(world, api_for):
    from tests.graphql.conftest import build_city

    build_city(world.khulna, containments=15)
    data = api_for(world.khulna, "viewer").data("{ buildings { totalCount edges { node { bin } } } }")
    assert data["buildings"]["totalCount"] == 30 and len(data["buildings"]["edges"]) == 20


@pytest.mark.parametrize("arguments", ["first: 101", "last: 500", "first: -1", "first: 1, last: 1",
                                       'after: "bm90IGEgY3Vyc29y"', 'after: "%%%"'])
def test_bad_paging_arguments_are_refused_with_a_clear_error(viewer, arguments):
    body = viewer.run(f"{{ buildings({arguments}) {{ edges {{ node {{ bin }} }} }} }}")
    assert body["data"]["buildings"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_building_filters_reuse_the_selector_logic(viewer):
    def bins(arguments):
        return _bins(viewer.data(f"{{ buildings({arguments}, first: 100) {{ edges {{ node {{ bin }} }} }} }}"))

    assert bins("functionalUse: COMMERCIAL") == ["B-K0000", "B-K0004", "B-K0008"]
    assert bins("sanitationSystem: SEPTIC_TANK") == [f"B-K{n:04d}" for n in range(1, 12, 2)]
    assert bins("verificationStatus: VERIFIED") == ["B-K0000", "B-K0003", "B-K0006", "B-K0009"]
    assert bins("ward: 2") == []
    assert bins('search: "B-K001"') == ["B-K0010", "B-K0011"]
    assert bins('search: "1-1-3"') == ["B-K0002"]
    assert bins('search: "Owner 1 of 1-1-12"') == ["B-K0011"]
    assert bins("hasContainment: true, functionalUse: COMMERCIAL") == ["B-K0000", "B-K0004", "B-K0008"]
    assert bins("hasHolding: false") == []


def test_bbox_filter_on_spatial_lists(viewer):
    west, south = at(-10, 0)
    east, north = at(95, 30)
    bbox = f"bbox: {{west: {west}, south: {south}, east: {east}, north: {north}}}"
    assert _bins(viewer.data(f"{{ buildings({bbox}) {{ edges {{ node {{ bin }} }} }} }}")) == [
        "B-K0000", "B-K0001", "B-K0002", "B-K0003", "B-K0004"]
    codes = viewer.data(f"{{ containments({bbox}) {{ edges {{ node {{ code }} }} }} }}")["containments"]["edges"]
    assert [edge["node"]["code"] for edge in codes] == ["C-K0000", "C-K0001", "C-K0002"]
    body = viewer.run("{ buildings(bbox: {west: 10, south: 0, east: 5, north: 1}) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_ordering(viewer):
    data = viewer.data("{ buildings(first: 4, orderBy: [FLOORS_DESC, BIN_DESC]) { edges { node { bin floors } } } }")
    assert [(e["node"]["floors"], e["node"]["bin"]) for e in data["buildings"]["edges"]] == [
        (3, "B-K0011"), (3, "B-K0008"), (3, "B-K0005"), (3, "B-K0002")]
    codes = viewer.data("{ containments(first: 2, orderBy: [LAST_EMPTIED_ON_DESC]) { edges { node { code } } } }")
    assert [e["node"]["code"] for e in codes["containments"]["edges"]] == ["C-K0005", "C-K0004"]


def test_holdings_with_owners_search_and_ward(viewer):
    data = viewer.data("""{ holdings(search: "1-1-1", first: 10) { totalCount edges { node { holdingId
        buildingCount ward { number } road { code hierarchy } owners { name } buildings { bin } } } } }""")
    nodes = [edge["node"] for edge in data["holdings"]["edges"]]
    assert [node["holdingId"] for node in nodes] == ["1-1-1", "1-1-10", "1-1-11", "1-1-12"]
    assert nodes[0]["buildingCount"] == 1 and nodes[0]["buildings"] == [{"bin": "B-K0000"}]
    assert nodes[0]["road"] == {"code": "R-1", "hierarchy": "PRIMARY"}
    assert viewer.data("{ holdings(ward: 2) { totalCount } }")["holdings"]["totalCount"] == 0


def test_containments_with_filters(viewer):
    data = viewer.data("""{ containments(type: SEPTIC_TANK, emptyingDueBefore: "2027-02-28") {
        totalCount edges { node { code nextEmptyingDue } } } }""")
    assert data["containments"]["totalCount"] == 2
    assert [e["node"]["nextEmptyingDue"] for e in data["containments"]["edges"]] == ["2027-01-15", "2027-02-15"]
    assert viewer.data("{ containments(outlet: DRAIN) { totalCount } }")["containments"]["totalCount"] == 0
    all_ = viewer.data('{ containments(search: "B-K0003") { edges { node { code type volumeM3 buildingCount '
                       "location } } } }")["containments"]["edges"]
    assert [edge["node"]["code"] for edge in all_] == ["C-K0001"]
    assert all_[0]["node"]["type"] == "SEPTIC_TANK" and all_[0]["node"]["volumeM3"] == 3.5
    assert all_[0]["node"]["buildingCount"] == 2 and all_[0]["node"]["location"]["type"] == "Point"


def test_every_other_layer_is_listed(world, viewer):
    with tenant_context(world.khulna):
        plant = TreatmentPlant.objects.create(name="Rupsha FSTP", type="fstp", capacity_m3_per_day=30,
                                              location=point(900, 0))
        Drain.objects.create(code="D-1", treatment_plant=plant, geom=LineString(at(0, 50), at(100, 50), srid=4326))
        ring = square(2000, 2000, 50)
        WaterBody.objects.create(name="Pond", kind="pond", geom=ring)
        WaterloggingArea.objects.create(name="Low ground", severity="high", geom=ring)
        LowIncomeCommunity.objects.create(name="Basti", households=40, population=180, geom=ring)
        PublicToilet.objects.create(name="Market toilet", kind="public", ward=Ward.objects.get(number=1), seats_male=3,
                                    fee_bdt="5.00", location=point(30, 30))
        box = Polygon.from_bbox((*at(-600, -600), *at(5100, 600)))
        box.srid = 4326
        MunicipalBoundary.objects.create(name="KCC", boundary=MultiPolygon(box, srid=4326))
    data = viewer.data("""{
      wards { edges { node { number boundary } } }
      roads(hierarchy: PRIMARY) { edges { node { code hierarchy widthM geometry } } }
      drains { edges { node { code kind isCovered geometry treatmentPlant { name type status capacityM3PerDay } } } }
      waterBodies { edges { node { name kind geometry } } }
      waterloggingAreas(severity: HIGH) { edges { node { name severity } } }
      lowIncomeCommunities { edges { node { name households population geometry } } }
      treatmentPlants(type: FSTP) { edges { node { name location } } }
      publicToilets(ward: 1) { edges { node { name kind feeBdt seatsMale ward { number } location } } }
      municipalBoundaries { edges { node { name boundary } } }
    }""")
    assert [e["node"]["number"] for e in data["wards"]["edges"]] == [1, 2]
    assert data["wards"]["edges"][0]["node"]["boundary"]["type"] == "MultiPolygon"
    assert data["roads"]["edges"] == [{"node": {"code": "R-1", "hierarchy": "PRIMARY", "widthM": 8.0,
                                                "geometry": data["roads"]["edges"][0]["node"]["geometry"]}}]
    assert data["roads"]["edges"][0]["node"]["geometry"]["type"] == "LineString"
    assert data["drains"]["edges"][0]["node"]["treatmentPlant"] == {
        "name": "Rupsha FSTP", "type": "FSTP", "status": "OPERATIONAL", "capacityM3PerDay": 30.0}
    assert data["waterBodies"]["edges"][0]["node"]["geometry"]["type"] == "Polygon"
    assert data["waterloggingAreas"]["edges"][0]["node"] == {"name": "Low ground", "severity": "HIGH"}
    assert data["lowIncomeCommunities"]["edges"][0]["node"]["population"] == 180
    assert data["treatmentPlants"]["edges"][0]["node"]["location"]["type"] == "Point"
    assert data["publicToilets"]["edges"][0]["node"]["feeBdt"] == "5.00"
    assert data["municipalBoundaries"]["edges"][0]["node"]["name"] == "KCC"


def test_lookups_by_business_key(viewer):
    data = viewer.data('{ building(bin: "b-k0003") { bin } holding(holdingId: "1-1-2") { holdingId buildingCount } '
                       'containment(code: "C-K0002") { code } missing: building(bin: "nope") { bin } }')
    assert data == {"building": {"bin": "B-K0003"}, "holding": {"holdingId": "1-1-2", "buildingCount": 1},
                    "containment": {"code": "C-K0002"}, "missing": None}


def test_node_by_global_id(viewer):
    building_id = viewer.data('{ building(bin: "B-K0001") { id } }')["building"]["id"]
    data = viewer.data("query($id: ID!) { node(id: $id) { id __typename ... on Building { bin holding { holdingId } } } }",
                       {"id": building_id})
    assert data["node"] == {"id": building_id, "__typename": "Building", "bin": "B-K0001",
                            "holding": {"holdingId": "1-1-2"}}
    body = viewer.run('{ node(id: "not-an-id") { id } }')
    assert body["data"]["node"] is None and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_global_id_names_its_municipality(world, city, viewer, api_for):
    """The same row number exists in both schemas; an ID minted in Khulna resolves to nothing in Jhenaidah."""
    khulna_id = viewer.data('{ building(bin: "B-K0000") { id } }')["building"]["id"]
    with tenant_context(world.jhenaidah):
        Building.objects.create(pk=city.buildings[0].pk, bin="B-J0000", footprint=square(0, 0))
    jhenaidah = api_for(world.jhenaidah, "viewer")
    assert jhenaidah.data("query($id: ID!) { node(id: $id) { id } }", {"id": khulna_id}) == {"node": None}
    own_id = jhenaidah.data('{ building(bin: "B-J0000") { id } }')["building"]["id"]
    assert own_id != khulna_id
    assert jhenaidah.data("query($id: ID!) { node(id: $id) { ... on Building { bin } } }",
                          {"id": own_id}) == {"node": {"bin": "B-J0000"}}
    assert viewer.data("query($id: ID!) { node(id: $id) { id } }", {"id": own_id}) == {"node": None}


def test_me_and_municipality(world, api_for):
    data = api_for(world.khulna, "gis_officer").data(
        "{ me { email fullName roles permissions isTokenAuthenticated } "
        "municipality { slug name nameBn currency centre enabledFeatures features { code isEnabled } } }")
    assert data["me"]["email"] == "gis_officer@khulna.test" and data["me"]["roles"] == ["GIS_OFFICER"]
    assert "registry.edit" in data["me"]["permissions"] and not data["me"]["isTokenAuthenticated"]
    municipality = data["municipality"]
    assert municipality["slug"] == "khulna" and municipality["currency"] == "BDT"
    assert municipality["enabledFeatures"] == ["fsm", "holding_tax", "trade_licence"]
    assert {"code": "sewer", "isEnabled": False} in municipality["features"]
    assert municipality["centre"]["type"] == "Point"
