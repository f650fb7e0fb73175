"""Each analysis on hand-built geometry with known distances (metres at Khulna's latitude)."""

import datetime
import json
from decimal import Decimal

import pyogrio.raw
import pytest
from django.contrib.gis.geos import LineString, Polygon
from django_tenants.utils import tenant_context

from imis.tenant_apps.maps import analyses
from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.models import Drain, WaterBody
from tests.tenant_apps.registry.factories import at, point, road, square, ward

pytestmark = pytest.mark.django_db


@pytest.fixture
def town(world):
    """A drain along y = 0 from x 0 to 1000 m; buildings 10x10 m whose near edge is 5, 25, 45 m north of it;
    a pond 100 x 100 m at x 2000-2100; a 2 m lane and an 8 m road."""
    officer = world.user("gis_officer", "khulna")
    with tenant_context(world.khulna):
        ward(1, -500, -500, 1500, 500)
        ward(2, 1500, -500, 3000, 500)
        drain = Drain.objects.create(code="D-1", geom=LineString(at(0, 0), at(1000, 0), srid=4326))
        road("R-LANE", (0, -3), (1000, -3), width_m=2, hierarchy="lane")
        road("R-MAIN", (0, 200), (1000, 200), width_m=8, hierarchy="primary")
        pond = [at(2000, 0), at(2100, 0), at(2100, 100), at(2000, 100), at(2000, 0)]
        WaterBody.objects.create(name="Pond", geom=Polygon(pond, srid=4326))
        services.building_create(by=officer, bin="B-5", footprint=square(100, 5), sanitation_system="septic_tank",
                                 households=2, population_male=4, population_female=5)
        services.building_create(by=officer, bin="B-25", footprint=square(300, 25), sanitation_system="pit",
                                 households=1, population_male=2, population_female=2)
        services.building_create(by=officer, bin="B-45", footprint=square(500, 45), sanitation_system="drain")
        services.building_create(by=officer, bin="B-CONNECTED", footprint=square(700, 5), sanitation_system="drain")
        services.building_create(by=officer, bin="B-POND-UNSAFE", footprint=square(2110, 20),
                                 sanitation_system="open_ground", water_source="municipal")
        services.building_create(by=officer, bin="B-POND-SAFE", footprint=square(2115, 50),
                                 sanitation_system="septic_tank", water_source="tube_well")
        services.building_create(by=officer, bin="B-POND-FAR", footprint=square(2300, 20), sanitation_system="drain")
        yield world, drain


def bins(result):
    return [row["bin"] for row in result.rows]


def test_buildings_that_could_connect_to_a_drain(town):
    world, drain = town
    with tenant_context(world.khulna):
        assert bins(analyses.buildings_connectable_to_network(network="drain", line_id=drain.pk, distance_m=30)) == [
            "B-5", "B-25"]
        result = analyses.buildings_connectable_to_network(network="drain", line_id=drain.pk, distance_m=50)
    assert bins(result) == ["B-5", "B-25", "B-45"][:2]  # B-45 already drains into it
    assert result.rows[0]["distance_m"] == pytest.approx(5, abs=0.2)
    assert result.rows[1]["distance_m"] == pytest.approx(25, abs=0.3)
    assert result.summary == {"buildings": 2, "population": 13}


def test_unsafe_sanitation_near_water_bodies(town):
    world, _drain = town
    with tenant_context(world.khulna):
        result = analyses.unsafe_sanitation_near_water_bodies(distance_m=30)
        wider = analyses.unsafe_sanitation_near_water_bodies(distance_m=250)
    assert bins(result) == ["B-POND-UNSAFE"]
    assert result.rows[0]["distance_m"] == pytest.approx(10, abs=0.2)
    assert bins(wider) == ["B-POND-UNSAFE", "B-POND-FAR"]


def test_unlined_pit_counts_as_unsafe_near_water(town):
    world, _drain = town
    with tenant_context(world.khulna):
        safe = services.building_create(by=world.user("gis_officer", "khulna"), bin="B-PIT", footprint=square(2050, 110))
        services.containment_create(by=None, building_ids=[safe.pk], code="C-UNLINED", type="unlined_pit",
                                    location=point(2055, 125))
        assert "B-PIT" in bins(analyses.unsafe_sanitation_near_water_bodies(distance_m=30))


def test_hard_to_reach_buildings(town):
    world, _drain = town
    with tenant_context(world.khulna):
        # the 8 m road runs at y = 200: B-5 (top edge y 15) is 185 m away, B-25 165 m, B-45 145 m
        reachable_at_200 = bins(analyses.hard_to_reach_buildings(distance_m=200, min_road_width_m=3))
        at_170 = bins(analyses.hard_to_reach_buildings(distance_m=170, min_road_width_m=3))
        lanes_ok = bins(analyses.hard_to_reach_buildings(distance_m=170, min_road_width_m=2))
    assert "B-45" not in reachable_at_200 and "B-5" not in reachable_at_200
    assert "B-5" in at_170 and "B-25" not in at_170 and "B-45" not in at_170
    assert "B-5" not in lanes_ok  # the 2 m lane is 8 m away


def test_area_summary_of_a_ward_and_of_a_buffer(town):
    world, _drain = town
    with tenant_context(world.khulna):
        ward1 = analyses.area_summary(geometry=analyses.area_geometry(ward=1))
        buffered = analyses.area_summary(geometry=analyses.area_geometry(
            geojson=json.dumps({"type": "Point", "coordinates": list(at(105, 10))}), buffer_m=20))
    assert ward1.summary["buildings"] == 4 and ward1.summary["population"] == 13
    assert ward1.summary["by_sanitation_system"] == {"drain": 2, "septic_tank": 1, "pit": 1}
    assert buffered.summary["buildings"] == 1 and buffered.summary["households"] == 2
    assert buffered.summary["area_m2"] == pytest.approx(3.1214 * 400, rel=0.01)  # a 32-gon of radius 20 m


def test_area_needs_a_valid_shape(town):
    world, _drain = town
    from django.core.exceptions import ValidationError

    with tenant_context(world.khulna), pytest.raises(ValidationError) as error:
        analyses.area_geometry(geojson=json.dumps({"type": "Point", "coordinates": [89.5, 22.8]}))
    assert error.value.code == "buffer_required"


def test_water_supply_status_per_ward(town):
    world, _drain = town
    with tenant_context(world.khulna):
        result = analyses.water_supply_status()
    by_ward = {row["ward"]: row for row in result.rows}
    assert by_ward[2]["buildings"] == 3 and by_ward[2]["municipal_supply"] == 1 and by_ward[2]["tube_well"] == 1
    assert result.summary == {"buildings": 7, "municipal_supply": 1}


def test_containments_due_by_ward(town):
    world, _drain = town
    with tenant_context(world.khulna):
        building = services.building_create(by=None, bin="B-DUE", footprint=square(120, 100), households=30)
        services.containment_create(by=None, building_ids=[building.pk], code="C-DUE", type="septic_tank",
                                    length_m=1, width_m=1, depth_m=1, location=point(125, 115),
                                    last_emptied_on=datetime.date(2020, 1, 1))
        result = analyses.containments_due(before=datetime.date.today())
    assert [row["code"] for row in result.rows] == ["C-DUE"]
    assert result.summary == {"containments": 1, "by_ward": {"1": 1}}
    assert result.rows[0]["volume_m3"] == float(Decimal("1.00"))


def test_analysis_endpoint_returns_geojson_csv_and_geopackage(town, tenant_client, tmp_path):
    world, drain = town
    client = tenant_client(world.khulna, world.user("sanitation_officer", "khulna"))
    url = f"/map/analyses/connectable/?network=drain&line_id={drain.pk}&distance_m=30"
    body = client.get(url).json()
    assert [f["properties"]["bin"] for f in body["features"]["features"]] == ["B-5", "B-25"]

    csv_text = client.get(url + "&format=csv").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("bin,holding_id,ward") and "B-25" in csv_text

    gpkg = tmp_path / "result.gpkg"
    gpkg.write_bytes(client.get(url + "&format=gpkg").content)
    meta, _fids, geometries, fields = pyogrio.raw.read(str(gpkg))
    assert meta["geometry_type"] == "Polygon" and len(geometries) == 2
    assert list(fields[meta["fields"].tolist().index("bin")]) == ["B-5", "B-25"]


def test_analysis_endpoint_reports_bad_input_by_field(town, tenant_client):
    world, drain = town
    client = tenant_client(world.khulna, world.user("viewer", "khulna"))
    response = client.get(f"/map/analyses/connectable/?network=drain&line_id={drain.pk}&distance_m=-4")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {"field": "distance_m", "code": "invalid_distance",
                                            "message": "The distance must be between 0 and 5000 m."}
    assert client.get("/map/analyses/teleport/").status_code == 404


def test_analysis_cannot_reach_another_municipalitys_line(town, tenant_client):
    world, drain = town
    client = tenant_client(world.jhenaidah, world.user("viewer", "jhenaidah"))
    body = client.get(f"/map/analyses/connectable/?network=drain&line_id={drain.pk}&distance_m=100").json()
    assert body["features"]["features"] == []


def test_application_density_counts_per_hexagon(town):
    from django.utils import timezone

    from imis.tenant_apps.fsm.models import Application

    world, _drain = town
    with tenant_context(world.khulna):
        for n, (x, y) in enumerate([(10, 10), (20, 15), (30, 5), (900, 300)]):
            Application.objects.create(number=f"FSM-T-{n}", applicant_name="x", received_at=timezone.now(),
                                       location=point(x, y))
        result = analyses.application_density(cell_m=200)
    counts = sorted((row["applications"] for row in result.rows), reverse=True)
    assert counts == [3, 1] and result.summary == {"cells": 2, "applications": 4, "busiest_cell": 3}
    assert result.rows[0]["geometry"]["type"] == "Polygon"


def test_density_is_gated_by_the_fsm_feature(town, tenant_client):
    world, _drain = town
    from imis.shared_apps.tenants.services import municipality_feature_set

    municipality_feature_set(municipality=world.khulna, code="fsm", is_enabled=False)
    client = tenant_client(world.khulna, world.user("viewer", "khulna"))
    assert client.get("/map/analyses/application_density/").status_code == 404
    assert client.get("/tiles/fsm_not_disposed/12/3000/1700.mvt").status_code == 404
