"""OGC API Features: conformance, paging, filters, isolation; GDAL's OAPIF driver reads it from a live server."""

import json
import os
import subprocess

import pytest
from django_tenants.utils import tenant_context

from imis.shared_apps.accounts.services import api_token_create
from imis.tenant_apps.registry import services
from tests.tenant_apps.registry.factories import road, square, ward


def make_city(world, municipality_slug="khulna", buildings=25):
    municipality = getattr(world, municipality_slug)
    officer = world.user("gis_officer", municipality_slug)
    with tenant_context(municipality):
        ward(1, -500, -500, 500, 500)
        ward(2, 500, -500, 1500, 500)
        road("R-1", (-200, 0), (1400, 0), hierarchy="primary", width_m=8)
        for n in range(buildings):
            services.building_create(by=officer, bin=f"B-{municipality_slug[0].upper()}{n:03d}",
                                     footprint=square(20 * n, 10), floors=1 + n % 3)


@pytest.fixture
def city(world):
    make_city(world)
    return world


@pytest.fixture
def api(city, tenant_client):
    return tenant_client(city.khulna, city.user("viewer", "khulna"))


@pytest.mark.django_db
def test_landing_page_links_conformance_collections_and_api(api):
    body = api.get("/ogcapi/", HTTP_ACCEPT="application/json").json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert rels["conformance"] == "http://khulna.localhost/ogcapi/conformance"
    assert rels["data"] == "http://khulna.localhost/ogcapi/collections"
    assert rels["service-desc"] == "http://khulna.localhost/ogcapi/api"
    conformance = api.get("/ogcapi/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in conformance


@pytest.mark.django_db
def test_collections_list_the_enabled_layers(api):
    ids = [c["id"] for c in api.get("/ogcapi/collections").json()["collections"]]
    assert {"wards", "buildings", "roads", "containments"} <= set(ids)
    assert "sewers" not in ids  # Khulna has no sewer feature
    assert "buildings_sanitation" not in ids  # thematic layers are map styles, not collections
    assert api.get("/ogcapi/collections/sewers").status_code == 404


@pytest.mark.django_db
def test_items_page_with_next_and_prev_links(api):
    page = api.get("/ogcapi/collections/buildings/items?limit=10&offset=10").json()
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == 25 and page["numberReturned"] == 10
    assert [f["properties"]["bin"] for f in page["features"]][:2] == ["B-K010", "B-K011"]
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert "offset=20" in rels["next"] and "offset=0" in rels["prev"]
    last = api.get("/ogcapi/collections/buildings/items?limit=10&offset=20").json()
    assert last["numberReturned"] == 5 and "next" not in {link["rel"] for link in last["links"]}


@pytest.mark.django_db
def test_bbox_and_property_filters(api):
    from tests.tenant_apps.registry.factories import at

    west, south = at(-10, 0)
    east, north = at(95, 30)
    page = api.get(f"/ogcapi/collections/buildings/items?bbox={west},{south},{east},{north}").json()
    assert sorted(f["properties"]["bin"] for f in page["features"]) == ["B-K000", "B-K001", "B-K002", "B-K003",
                                                                       "B-K004"]
    floors = api.get("/ogcapi/collections/buildings/items?floors=3&limit=100").json()
    assert {f["properties"]["floors"] for f in floors["features"]} == {3} and floors["numberMatched"] == 8
    assert api.get("/ogcapi/collections/buildings/items?ward=2&limit=100").json()["numberMatched"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["bbox=1,2,3", "bbox=a,b,c,d", "limit=0", "limit=x", "owner_phone=017", "floors=two"])
def test_bad_parameters_get_400_with_a_message(api, query):
    response = api.get(f"/ogcapi/collections/buildings/items?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameterValue"


@pytest.mark.django_db
def test_limit_is_capped_at_10000(api):
    assert api.get("/ogcapi/collections/buildings/items?limit=50000").json()["numberReturned"] == 25


@pytest.mark.django_db
def test_single_feature_and_a_foreign_id(city, api, tenant_client):
    feature_id = api.get("/ogcapi/collections/buildings/items?limit=1").json()["features"][0]["id"]
    feature = api.get(f"/ogcapi/collections/buildings/items/{feature_id}").json()
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
    jhenaidah = tenant_client(city.jhenaidah, city.user("viewer", "jhenaidah"))
    assert jhenaidah.get(f"/ogcapi/collections/buildings/items/{feature_id}").status_code == 404


@pytest.mark.django_db
def test_openapi_document_lists_every_collection(api):
    response = api.get("/ogcapi/api")
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    paths = response.json()["paths"]
    assert "/collections/buildings/items" in paths and "/collections/sewers/items" not in paths


@pytest.mark.django_db
def test_html_for_people(api):
    page = api.get("/ogcapi/collections/buildings/items?f=html")
    assert page.status_code == 200 and "B-K000" in page.content.decode()


@pytest.mark.django_db
def test_anonymous_and_foreign_members_are_refused(city, tenant_client):
    assert tenant_client(city.khulna).get("/ogcapi/collections", HTTP_ACCEPT="application/json").status_code == 401
    foreign = tenant_client(city.khulna, city.user("viewer", "jhenaidah"))
    assert foreign.get("/ogcapi/collections", HTTP_ACCEPT="application/json").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_gdal_reads_collections_and_features_from_the_live_server(tworld, live_server):
    make_city(tworld, buildings=12)
    _token, key = api_token_create(user=tworld.user("gis_officer", "khulna"), municipality=tworld.khulna, name="gdal")
    port = live_server.url.rsplit(":", 1)[1]
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Token {key}"}
    url = f"OAPIF:http://khulna.localhost:{port}/ogcapi"

    listing = subprocess.run(["ogrinfo", "-ro", "-q", url], capture_output=True, text=True, env=env, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "buildings" in listing.stdout and "wards" in listing.stdout

    features = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", url, "buildings"],
                              capture_output=True, text=True, env=env, timeout=60)
    assert features.returncode == 0, features.stderr
    bins = sorted(f["properties"]["bin"] for f in json.loads(features.stdout)["features"])
    assert bins == [f"B-K{n:03d}" for n in range(12)]
