"""Unconnected buildings along water lines: buildings within N m of a water line (any, or one) with no active
connection, those with an application in progress marked with its number, per-ward summary, ward filter, CSV, a link
to the map, bad input, permission, feature gating and isolation between municipalities (hand-built geometry)."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.gis.geos import LineString
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.registry.models import Building, WaterLine
from imis.tenant_apps.water import selectors
from tests.tenant_apps.registry.factories import at, square, ward

from .town import feature_switch

pytestmark = pytest.mark.django_db
URL = "/water/unconnected/"


@pytest.fixture
def lines(town):
    """Ward 1 (x −500…500 m) and ward 2 (500…1500 m); WL-1 along y = 0 from x = 0 to 1000 m, WL-2 along y = 400
    from x = −400 to −100 m. B-1 (town's, on WL-1) gets an active connection; B-NEAR (20 m) an application."""
    w2 = ward(2, 500, -500, 1500, 500)
    town.wl1 = WaterLine.objects.create(code="WL-1", diameter_mm=100, geom=LineString(at(0, 0), at(1000, 0),
                                                                                      srid=4326))
    town.wl2 = WaterLine.objects.create(code="WL-2", diameter_mm=75, geom=LineString(at(-400, 400), at(-100, 400),
                                                                                     srid=4326))
    town.near = Building.objects.create(bin="B-NEAR", holding=town.other_holding, footprint=square(100, 20),
                                        population_female=3, population_male=2)
    town.open = Building.objects.create(bin="B-OPEN", footprint=square(300, 15), population_male=4)
    town.far = Building.objects.create(bin="B-FAR", footprint=square(100, 200))
    town.w2 = Building.objects.create(bin="B-W2", footprint=square(800, 25), ward=w2, population_other=1)
    town.by_l2 = Building.objects.create(bin="B-L2", footprint=square(-300, 410))
    for building in (town.near, town.open, town.far, town.by_l2):
        building.ward = town.ward
        building.save(update_fields=["ward"])
    # a holding whose active connection names no building: its building is served
    town.h3 = registry.holding_create(by=None, holding_id="1-0001-00003", ward=town.ward, address="16 KDA Avenue",
                                      owners=[{"name": "Salma"}])
    town.by_holding = Building.objects.create(bin="B-H3", holding=town.h3, footprint=square(400, 5), ward=town.ward)
    town.connected = town.active(building=town.building)
    town.held = town.active(holding=town.h3)
    town.application = town.apply(holding=town.other_holding, building=town.near)
    return town


def bins(result):
    return [row["bin"] for row in result.rows]


def test_near_unconnected_buildings_are_listed_by_ward_then_distance(lines):
    result = selectors.unconnected_buildings(distance_m=30)
    # not B-1 (active connection), not B-H3 (its holding's active connection), not B-FAR (200 m)
    assert [(row["bin"], row["ward"], row["line_code"]) for row in result.rows] == [
        ("B-L2", 1, "WL-2"), ("B-OPEN", 1, "WL-1"), ("B-NEAR", 1, "WL-1"), ("B-W2", 2, "WL-1")]
    assert [row["distance_m"] for row in result.rows] == pytest.approx([10, 15, 20, 25], abs=0.3)
    near = result.rows[2]
    assert (near["application_id"], near["application_number"]) == (
        lines.application.pk, lines.application.customer_id)
    assert result.rows[1]["application_id"] is None and result.rows[1]["application_number"] == ""
    assert result.summary["by_ward"] == [
        {"ward": 1, "buildings": 3, "population": 9, "with_application": 1},
        {"ward": 2, "buildings": 1, "population": 1, "with_application": 0}]
    assert result.summary["buildings"] == 4 and result.summary["with_application"] == 1
    assert bins(selectors.unconnected_buildings(distance_m=300)) == ["B-L2", "B-OPEN", "B-NEAR", "B-FAR", "B-W2"]


def test_an_application_in_progress_is_listed_but_an_active_connection_is_not(lines):
    from imis.tenant_apps.water import services

    assert "B-NEAR" in bins(selectors.unconnected_buildings(distance_m=30))
    connection = lines.application
    services.connection_inspect(by=lines.user("water_officer"), connection=connection, passed=True, notes="ok")
    connection = services.connection_approve(by=lines.user("water_officer"), connection=connection)
    lines.pay_fee(connection)
    services.connection_activate(by=lines.user("water_officer"), connection=connection, meter_number="M-2",
                                 initial_reading="0")
    assert "B-NEAR" not in bins(selectors.unconnected_buildings(distance_m=30))
    services.connection_disconnect(by=lines.user("water_officer"), connection=connection, reason="Unpaid bills")
    row = next(r for r in selectors.unconnected_buildings(distance_m=30).rows if r["bin"] == "B-NEAR")
    assert row["application_id"] is None  # disconnected: listed again, with nothing in progress


def test_ward_filter_and_one_line(lines):
    assert bins(selectors.unconnected_buildings(distance_m=30, ward=2)) == ["B-W2"]
    # the per-ward summary still counts every ward
    assert [e["ward"] for e in selectors.unconnected_buildings(distance_m=30, ward=2).summary["by_ward"]] == [1, 2]
    assert bins(selectors.unconnected_buildings(distance_m=30, water_line_id=lines.wl2.pk)) == ["B-L2"]
    assert bins(selectors.unconnected_buildings(distance_m=30, water_line_id=lines.wl1.pk)) == [
        "B-OPEN", "B-NEAR", "B-W2"]
    with pytest.raises(ValidationError):
        selectors.unconnected_buildings(distance_m=0)


def test_the_screen_csv_and_map_links(lines, tenant_client):
    client = tenant_client(lines.world.khulna, lines.user("water_officer"))
    assert f'href="{URL}"' in client.get("/water/").content.decode()  # linked from the water index
    page = client.get(URL).content.decode()  # 30 m by default
    assert 'data-bin="B-OPEN"' in page and 'data-bin="B-W2"' in page
    assert 'data-bin="B-L2"' in page and 'data-bin="B-FAR"' not in page and 'data-bin="B-1"' not in page
    assert 'data-bin="B-H3"' not in page
    assert f'href="/water/{lines.application.pk}/" data-application="{lines.application.customer_id}"' in page
    assert 'data-ward-buildings="1">3<' in page and 'data-ward-applied="1">1<' in page
    row = next(r for r in selectors.unconnected_buildings(distance_m=30).rows if r["bin"] == "B-OPEN")
    assert f'href="/map/#view=19/{row["lat"]:f}/{row["lng"]:f}"' in page
    assert abs(row["lat"] - at(305, 20)[1]) < 1e-5 and abs(row["lng"] - at(305, 20)[0]) < 1e-5
    assert f'href="/registry/buildings/{lines.open.pk}/"' in page
    form = client.get("/water/new/?holding=1-0001-00002&building=B-NEAR").content.decode()
    assert 'value="B-NEAR"' in form and 'value="1-0001-00002"' in form

    ward2 = client.get(URL, {"distance_m": "30", "ward": "2"}).content.decode()
    assert 'data-bin="B-W2"' in ward2 and 'data-bin="B-OPEN"' not in ward2
    one_line = client.get(URL, {"distance_m": "30", "water_line": str(lines.wl2.pk)}).content.decode()
    assert 'data-bin="B-L2"' in one_line and 'data-bin="B-OPEN"' not in one_line

    response = client.get(URL, {"distance_m": "300", "ward": "1", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "water-unconnected.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(r["bin"], r["ward"], r["line_code"], r["application_number"]) for r in rows] == [
        ("B-L2", "1", "WL-2", ""), ("B-OPEN", "1", "WL-1", ""), ("B-NEAR", "1", "WL-1", lines.application.customer_id),
        ("B-FAR", "1", "WL-1", "")]

    viewer = tenant_client(lines.world.khulna, lines.user("viewer")).get(URL).content.decode()
    assert 'data-bin="B-OPEN"' in viewer and 'data-action="apply"' not in viewer
    assert 'href="/water/new/?building=B-OPEN" data-action="apply"' in page


def test_bad_input_is_400_with_a_clear_message(lines, tenant_client):
    client = tenant_client(lines.world.khulna, lines.user("water_officer"))
    for value, message in (("0", "Give a distance of at least 1 m."), ("-3", "Give a distance of at least 1 m."),
                           ("5000", "Give a distance of at most 1000 m."), ("far", "Enter a whole number.")):
        response = client.get(URL, {"distance_m": value})
        assert response.status_code == 400, value
        assert message in response.content.decode(), value
    assert client.get(URL, {"distance_m": "30", "water_line": "999999"}).status_code == 400
    assert client.get(URL, {"distance_m": "30", "ward": "x"}).status_code == 400
    assert client.post(URL).status_code == 405


def test_permission_and_feature(lines, tenant_client):
    assert tenant_client(lines.world.khulna, lines.user("help_desk")).get(URL).status_code == 403
    assert tenant_client(lines.world.khulna).get(URL).status_code in (302, 403)
    feature_switch(lines.world.khulna, False)
    try:
        admin = tenant_client(lines.world.khulna, lines.user("municipal_admin"))
        assert admin.get(URL).status_code == 404
        assert admin.get(URL, {"format": "csv"}).status_code == 404
    finally:
        feature_switch(lines.world.khulna, True)


def test_another_municipalitys_buildings_never_appear(lines, world, tenant_client):
    feature_switch(world.jhenaidah, True)
    try:
        with tenant_context(world.jhenaidah):
            WaterLine.objects.create(code="JH-WL-1", geom=LineString(at(0, 0), at(1000, 0), srid=4326))
            Building.objects.create(bin="JH-NEAR", footprint=square(500, 10))
            assert bins(selectors.unconnected_buildings(distance_m=300)) == ["JH-NEAR"]
            assert WaterLine.objects.filter(pk=lines.wl2.pk, code="WL-2").count() == 0
        with tenant_context(world.khulna):
            assert "JH-NEAR" not in bins(selectors.unconnected_buildings(distance_m=1000))
        admin = tenant_client(world.jhenaidah, world.user("municipal_admin", "jhenaidah"))
        page = admin.get(URL, {"distance_m": "300"}).content.decode()
        assert 'data-bin="JH-NEAR"' in page and "B-OPEN" not in page and "B-NEAR" not in page
        # Khulna's line is not a choice there
        assert "B-L2" not in admin.get(URL, {"distance_m": "30", "water_line": str(lines.wl2.pk)}).content.decode()
        csv_text = b"".join(admin.get(URL, {"distance_m": "1000", "format": "csv"}).streaming_content).decode()
        assert "JH-NEAR" in csv_text and "B-OPEN" not in csv_text and "WL-1" not in csv_text.replace("JH-WL-1", "")
        khulna = tenant_client(world.khulna, lines.user("water_officer")).get(URL, {"distance_m": "1000"})
        assert "JH-NEAR" not in khulna.content.decode()
    finally:
        feature_switch(world.jhenaidah, False)


def test_the_list_reads_in_bounded_queries(lines, tenant_client, django_assert_max_num_queries):
    client = tenant_client(lines.world.khulna, lines.user("viewer"))
    with django_assert_max_num_queries(25):
        assert client.get(URL, {"distance_m": "300"}).status_code == 200


def test_the_shared_network_query_takes_only_known_line_tables(lines):
    from imis.tenant_apps.maps import analyses

    with pytest.raises(ValueError):
        analyses.buildings_near_network(table="registry_building; DROP TABLE x", distance_m=30)
    rows = analyses.buildings_near_network(table="registry_waterline", distance_m=30, line_id=lines.wl1.pk,
                                           geometry=True)
    assert sorted(row["bin"] for row in rows) == ["B-1", "B-H3", "B-NEAR", "B-OPEN", "B-W2"]  # connected or not
    assert {row["line_code"] for row in rows} == {"WL-1"} and rows[0]["geometry"]["type"] == "Polygon"
