"""Vector tiles: right features per tenant, cached by data version, gated by feature and membership; GDAL reads them."""

import math

import pyogrio.raw
import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from imis.tenant_apps.maps.layers import LAYERS
from imis.tenant_apps.maps.tiles import tile_render
from imis.tenant_apps.registry import services
from tests.tenant_apps.registry.factories import ORIGIN, road, square, ward

pytestmark = pytest.mark.django_db


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


Z, X, Y = tile_of(*ORIGIN, 16)


def read_tile(content: bytes, tmp_path, z=Z, x=X, y=Y) -> dict[str, list]:
    """Decode a tile with GDAL's MVT driver: {layer: [properties, ...]}."""
    path = tmp_path / str(z) / str(x) / f"{y}.mvt"  # GDAL takes z/x/y from the path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    layers = {}
    for name, _geometry_type in pyogrio.list_layers(str(path)):
        meta, _fids, geometries, fields = pyogrio.raw.read(str(path), layer=name)
        layers[name] = [dict(zip(meta["fields"], values, strict=True)) for values in zip(*fields, strict=True)]
        assert all(geometry is not None for geometry in geometries)
    return layers


@pytest.fixture
def city(world):
    officer = world.user("gis_officer", "khulna")
    with tenant_context(world.khulna):
        ward(1, -500, -500, 500, 500)
        road("R-1", (-200, 0), (200, 0), hierarchy="primary", width_m=8)
        services.building_create(by=officer, bin="B-K1", footprint=square(10, 10), sanitation_system="septic_tank")
        services.building_create(by=officer, bin="B-K2", footprint=square(30, 10), sanitation_system="pit")
    cache.clear()
    return world


def get_tile(client, layer, z=Z, x=X, y=Y, **headers):
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", **headers)


def test_building_tile_holds_this_municipalitys_buildings_only(city, tenant_client, tmp_path):
    with tenant_context(city.jhenaidah):
        ward(1, -500, -500, 500, 500)
        services.building_create(by=city.user("gis_officer", "jhenaidah"), bin="B-J1", footprint=square(50, 10))

    khulna = tenant_client(city.khulna, city.user("viewer", "khulna"))
    response = get_tile(khulna, "buildings")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    features = read_tile(response.content, tmp_path)["buildings"]
    assert sorted(f["bin"] for f in features) == ["B-K1", "B-K2"]
    assert {f["sanitation_system"] for f in features} == {"septic_tank", "pit"}
    assert "owner" not in features[0] and "phone" not in features[0]

    jhenaidah = tenant_client(city.jhenaidah, city.user("viewer", "jhenaidah"))
    features = read_tile(get_tile(jhenaidah, "buildings").content, tmp_path)["buildings"]
    assert [f["bin"] for f in features] == ["B-J1"]


def test_endpoint_serves_what_the_bare_sql_makes(city, tenant_client):
    response = get_tile(tenant_client(city.khulna, city.user("viewer", "khulna")), "roads")
    with tenant_context(city.khulna):
        assert response.content == tile_render(LAYERS["roads"], Z, X, Y)
    assert len(response.content) > 0


def test_below_min_zoom_the_tile_is_empty(city, tenant_client):
    z, x, y = tile_of(*ORIGIN, 12)
    response = get_tile(tenant_client(city.khulna, city.user("viewer", "khulna")), "buildings", z, x, y)
    assert response.status_code == 200 and response.content == b""


def test_etag_revalidates_and_an_edit_changes_the_tile(city, tenant_client, tmp_path,
                                                       django_capture_on_commit_callbacks):
    client = tenant_client(city.khulna, city.user("viewer", "khulna"))
    first = get_tile(client, "buildings")
    assert first["Cache-Control"] == "private, no-cache"
    assert get_tile(client, "buildings", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    with tenant_context(city.khulna), django_capture_on_commit_callbacks(execute=True):
        services.building_create(by=city.user("gis_officer", "khulna"), bin="B-K3", footprint=square(60, 10))

    again = get_tile(client, "buildings", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    assert "B-K3" in [f["bin"] for f in read_tile(again.content, tmp_path)["buildings"]]


def test_cached_tile_is_served_from_redis(city, tenant_client, django_assert_max_num_queries):
    client = tenant_client(city.khulna, city.user("viewer", "khulna"))
    get_tile(client, "buildings")
    with django_assert_max_num_queries(6):  # 2 search_path, domain, session, user, membership: no tile SQL
        response = get_tile(client, "buildings")
    assert response.status_code == 200 and len(response.content) > 0


def test_cache_entries_of_two_municipalities_never_mix(city, tenant_client, tmp_path):
    """Same layer, same z/x/y and (forced) the same data version in both: each still gets its own tile."""
    cache.set("data-version", 7)
    with tenant_context(city.khulna):
        cache.set("data-version", 7)
    with tenant_context(city.jhenaidah):
        cache.set("data-version", 7)
    khulna = get_tile(tenant_client(city.khulna, city.user("viewer", "khulna")), "buildings")
    jhenaidah = get_tile(tenant_client(city.jhenaidah, city.user("viewer", "jhenaidah")), "buildings")
    assert len(read_tile(khulna.content, tmp_path)["buildings"]) == 2
    assert jhenaidah.content == b""


def test_layers_of_disabled_features_are_not_served(city, tenant_client):
    client = tenant_client(city.khulna, city.user("municipal_admin", "khulna"))
    assert get_tile(client, "sewers").status_code == 404  # Khulna has no sewer feature
    assert client.get("/tiles/sewers.json").status_code == 404
    assert get_tile(client, "containments_emptying_due").status_code == 200  # FSM is on


def test_tiles_need_a_membership(city, tenant_client):
    assert get_tile(tenant_client(city.khulna), "buildings").status_code == 302
    assert get_tile(tenant_client(city.khulna, city.user("viewer", "jhenaidah")), "buildings").status_code == 403


@pytest.mark.parametrize("path", ["/tiles/buildings/3/9/1.mvt", "/tiles/buildings/23/0/0.mvt", "/tiles/nope/1/0/0.mvt"])
def test_out_of_range_or_unknown_tiles_are_404(city, tenant_client, path):
    assert tenant_client(city.khulna, city.user("viewer", "khulna")).get(path).status_code == 404


def test_tilejson_describes_the_layer(city, tenant_client):
    body = tenant_client(city.khulna, city.user("viewer", "khulna")).get("/tiles/buildings.json").json()
    assert body["tilejson"] == "3.0.0" and body["minzoom"] == 14
    assert body["tiles"] == ["http://khulna.localhost/tiles/buildings/{z}/{x}/{y}.mvt"]
    assert body["vector_layers"][0]["fields"]["bin"] == "string"
    west, south, east, north = body["bounds"]
    assert west < ORIGIN[0] < east and south < ORIGIN[1] < north


def test_a_ward_is_labelled_in_one_tile_only(city, tmp_path):
    """A ward spanning several tiles carries `_label` true only in the tile holding its point on surface (the map
    names it once); the property is the tiles' own: OGC API features and TileJSON's allow-list stay as they were."""
    from tests.tenant_apps.registry.factories import at

    (west, south), (east, north) = at(-500, -500), at(500, 500)
    _z, x0, y0 = tile_of(west, north, 16)
    _z, x1, y1 = tile_of(east, south, 16)
    labels = []
    with tenant_context(city.khulna):
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                content = tile_render(LAYERS["wards"], 16, x, y)
                for feature in read_tile(content, tmp_path, 16, x, y).get("wards", []):
                    labels.append(((x, y), feature["_label"]))
    assert len(labels) >= 4, "the ward spans several tiles"
    assert sum(1 for _tile, label in labels if label) == 1
    assert all(prop.name != "_label" for prop in LAYERS["wards"].props)  # never in OGC API items
