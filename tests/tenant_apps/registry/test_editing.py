"""Digitising on the map: the geometry services the /map/digitise/ page calls, and its JSON endpoints."""

import json

import pytest
from django.contrib.gis.geos import LineString, Polygon
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django_tenants.utils import tenant_context

from imis.platform.versioning import data_version_current
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry import editing, services
from imis.tenant_apps.registry.models import Building, Containment, Road, Ward

from .factories import at, point, road, square, ward

pytestmark = pytest.mark.django_db

BUILDINGS = editing.LAYERS["buildings"]


@pytest.fixture
def khulna(world):
    """Khulna with two wards side by side (x 0-500 m and 500-1000 m) and a road along y = 0."""
    with tenant_context(world.khulna):
        ward(1, 0, -500, 500, 500)
        ward(2, 500, -500, 1000, 500)
        road("R-1", (0, 0), (1000, 0), name="KDA Avenue", hierarchy="primary")
        yield world


def officer(world, slug="khulna"):
    return world.user("gis_officer", slug)


def rect(x0, y0, x1, y1) -> Polygon:
    corners = [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1)]
    return Polygon([*corners, corners[0]], srid=4326)


def draw(world, shape, **kwargs) -> Building:
    return editing.feature_create(layer=BUILDINGS, geometry=shape.json, by=officer(world), **kwargs)


def shifted(coordinates, dlon: float):
    if isinstance(coordinates[0], (int, float)):
        return [coordinates[0] + dlon, *coordinates[1:]]
    return [shifted(part, dlon) for part in coordinates]


def version(instance) -> int:
    instance.refresh_from_db()
    return editing.feature_version(instance)


# --- create ---------------------------------------------------------------------------------------------

def test_a_drawn_building_gets_the_next_bin_its_ward_and_is_digitised_not_verified(khulna):
    building = draw(khulna, square(100, 20))
    second = draw(khulna, square(200, 20))
    assert building.bin == "B-0000001" and second.bin == "B-0000002"
    assert building.ward.number == 1
    assert building.verification_status == Building.Verification.DIGITISED
    assert building.get_verification_status_display() == "Digitised, not verified"
    assert building.nearest_road.code == "R-1"


def test_bin_numbering_skips_bins_already_imported(khulna):
    services.building_create(by=None, bin="B-0000001", footprint=square(300, 20))
    services.building_create(by=None, bin="B-0000007", footprint=square(400, 20))
    assert draw(khulna, square(100, 20)).bin == "B-0000008"


def test_a_drawn_building_appears_in_the_survey_forms_building_list(khulna):
    from imis.tenant_apps.surveys.media import buildings_csv

    building = draw(khulna, square(100, 20))
    assert building.bin in buildings_csv(ward_numbers=[1]).decode()


@pytest.mark.parametrize(
    ("shape", "code"),
    [
        ("POLYGON((89.54 22.84, 89.5401 22.8401, 89.5401 22.84, 89.54 22.8401, 89.54 22.84))", "invalid_geometry"),
        ("LINESTRING(89.54 22.84, 89.541 22.841)", "wrong_geometry_type"),
        ("{\"type\": \"Polygon\"", "invalid_geometry"),
        ("POLYGON((89.54 22.84, 89.54001 22.84, 89.54001 22.84001, 89.54 22.84))", "implausible_area"),
        ("", "required"),
    ],
)
def test_bad_footprints_are_refused_with_the_registry_validation(khulna, shape, code):
    with pytest.raises(ValidationError) as caught:
        editing.feature_create(layer=BUILDINGS, geometry=shape, by=officer(khulna))
    assert caught.value.code == code
    assert "footprint" in caught.value.message_dict
    assert not Building.objects.exists()


def test_an_overlapping_footprint_is_refused_until_confirmed(khulna):
    first = draw(khulna, square(100, 20))
    with pytest.raises(ValidationError) as caught:
        draw(khulna, square(105, 25))
    assert caught.value.code == "overlap"
    assert first.bin in caught.value.message_dict["footprint"][0]
    assert Building.objects.count() == 1
    draw(khulna, square(105, 25), confirm_overlap=True)
    assert Building.objects.count() == 2


def test_a_footprint_snapped_to_its_neighbours_edge_is_not_an_overlap(khulna):
    draw(khulna, square(100, 20))
    neighbour = draw(khulna, square(110, 20))  # shares the edge x = 110
    assert neighbour.pk


@pytest.mark.parametrize(
    ("layer", "shape", "attributes"),
    [
        ("roads", LineString(at(0, 100), at(300, 100), srid=4326), {"code": "R-9", "hierarchy": "lane"}),
        ("drains", LineString(at(0, 110), at(300, 110), srid=4326), {"code": "D-9"}),
        ("sewers", LineString(at(0, 120), at(300, 120), srid=4326), {"code": "S-9"}),
        ("water_lines", LineString(at(0, 130), at(300, 130), srid=4326), {"code": "W-9"}),
        ("water_bodies", rect(50, 200, 90, 240), {"name": "Pond", "kind": "pond"}),
        ("low_income_communities", rect(300, 200, 400, 300), {"name": "Rupsha slum", "households": 40}),
        ("wards", rect(1000, -500, 1500, 500), {"number": 3, "name": "Ward 3"}),
        ("treatment_plants", point(900, 400), {"name": "FSTP", "type": "fstp", "capacity_m3_per_day": 50}),
        ("containments", point(120, 25), {"code": "CT-9", "type": "septic_tank"}),
    ],
)
def test_every_layer_can_be_drawn_moved_and_deleted(khulna, layer, shape, attributes):
    spec = editing.LAYERS[layer]
    feature = editing.feature_create(layer=spec, geometry=shape.json, attributes=attributes, by=officer(khulna))
    assert getattr(feature, spec.geometry).valid
    moved = json.loads(shape.json)
    moved["coordinates"] = shifted(moved["coordinates"], 0.00003)  # about 3 m east
    feature = editing.feature_update(layer=spec, pk=feature.pk, version=version(feature),
                                     geometry=json.dumps(moved), attributes={}, by=officer(khulna))
    feature.refresh_from_db()
    assert getattr(feature, spec.geometry).extent[0] == pytest.approx(shape.extent[0] + 0.00003)
    editing.feature_delete(layer=spec, pk=feature.pk, version=version(feature), by=officer(khulna))
    assert not spec.model.objects.filter(pk=feature.pk).exists()
    actions = [entry.action for entry in editing.feature_history(layer=spec, pk=feature.pk)]
    assert actions[0] == "delete" and actions[-1] == "create"


def test_drawing_moving_and_deleting_a_road_relinks_the_buildings_it_concerns(khulna):
    roads = editing.LAYERS["roads"]
    near = draw(khulna, square(100, 20))  # 20 m from R-1 (y = 0)
    far = draw(khulna, square(700, 300))  # 300 m from R-1
    near.refresh_from_db()
    far.refresh_from_db()
    assert (near.nearest_road.code, near.road_link_status) == ("R-1", "linked")
    assert (far.nearest_road.code, far.road_link_status) == ("R-1", "far")

    def link(building):
        building.refresh_from_db()
        return building.nearest_road.code if building.nearest_road else None, building.road_link_status

    new = editing.feature_create(layer=roads, geometry=LineString(at(600, 330), at(800, 330), srid=4326).json,
                                 attributes={"code": "R-9"}, by=officer(khulna))
    assert link(far) == ("R-9", "linked") and link(near) == ("R-1", "linked")
    moved = editing.feature_update(layer=roads, pk=new.pk, version=version(new), by=officer(khulna),
                                   geometry=LineString(at(600, 2000), at(800, 2000), srid=4326).json)
    assert link(far) == ("R-1", "far")
    back = editing.feature_update(layer=roads, pk=moved.pk, version=version(moved), by=officer(khulna),
                                  geometry=LineString(at(600, 330), at(800, 330), srid=4326).json)
    assert link(far) == ("R-9", "linked")
    editing.feature_delete(layer=roads, pk=back.pk, version=version(back), by=officer(khulna))
    assert link(far) == ("R-1", "far") and 295 < far.road_distance_m < 305
    relinked = AuditEntry.objects.filter(action=AuditEntry.Action.BULK_UPDATE, model="registry.building")
    assert set(relinked.values_list("object_id", flat=True)) == {str(far.pk)}  # the near one never changed
    assert relinked.count() == 4


def test_a_line_layer_refuses_a_polygon_and_a_duplicate_code(khulna):
    roads = editing.LAYERS["roads"]
    with pytest.raises(ValidationError) as caught:
        editing.feature_create(layer=roads, geometry=rect(0, 0, 10, 10).json, attributes={"code": "R-2"},
                               by=officer(khulna))
    assert caught.value.code == "wrong_geometry_type"
    with pytest.raises(ValidationError) as caught:
        editing.feature_create(layer=roads, geometry=LineString(at(0, 5), at(9, 5), srid=4326).json,
                               attributes={"code": "R-1"}, by=officer(khulna))
    assert "code" in caught.value.message_dict
    assert Road.objects.count() == 1


# --- reshape, locking -----------------------------------------------------------------------------------

def test_reshaping_audits_before_and_after_geometry_and_bumps_the_data_version(
    khulna, django_capture_on_commit_callbacks,
):
    building = draw(khulna, square(100, 20))
    before_version = data_version_current()
    with django_capture_on_commit_callbacks(execute=True):
        editing.feature_update(layer=BUILDINGS, pk=building.pk, version=version(building),
                               geometry=square(100, 20, side_m=14).json, by=officer(khulna))
    assert data_version_current() > before_version
    entry = AuditEntry.objects.filter(model="registry.building", object_id=str(building.pk),
                                      action="update").latest("pk")
    assert entry.actor_label == "gis_officer@khulna.test"
    assert entry.before["footprint"] == square(100, 20).ewkt
    assert entry.after["footprint"].startswith("SRID=4326;POLYGON")
    building.refresh_from_db()
    assert 190 < services.footprint_area_m2(building.footprint) < 200


def test_a_save_with_a_stale_version_is_refused_naming_who_changed_it(khulna):
    building = draw(khulna, square(100, 20))
    opened = version(building)
    editing.feature_update(layer=BUILDINGS, pk=building.pk, version=opened, attributes={"floors": 2},
                           by=khulna.user("municipal_admin", "khulna"))
    with pytest.raises(ValidationError) as caught:
        editing.feature_update(layer=BUILDINGS, pk=building.pk, version=opened, attributes={"floors": 5},
                               by=officer(khulna))
    assert caught.value.code == "stale_version"
    message = caught.value.message_dict["version"][0]
    assert "municipal_admin@khulna.test" in message and "since you opened it" in message
    building.refresh_from_db()
    assert building.floors == 2
    with pytest.raises(ValidationError) as caught:
        editing.feature_update(layer=BUILDINGS, pk=building.pk, version=None, attributes={"floors": 5},
                               by=officer(khulna))
    assert caught.value.code == "version_required"


def test_reshaping_into_a_neighbour_is_refused_unless_confirmed(khulna):
    building = draw(khulna, square(100, 20))
    draw(khulna, square(120, 20))
    with pytest.raises(ValidationError) as caught:
        editing.feature_update(layer=BUILDINGS, pk=building.pk, version=version(building),
                               geometry=rect(100, 20, 125, 30).json, by=officer(khulna))
    assert caught.value.code == "overlap"
    editing.feature_update(layer=BUILDINGS, pk=building.pk, version=version(building),
                           geometry=rect(100, 20, 125, 30).json, confirm_overlap=True, by=officer(khulna))


# --- split, merge ---------------------------------------------------------------------------------------

def test_a_footprint_split_by_a_line_becomes_two_buildings(khulna):
    building = draw(khulna, rect(100, 20, 120, 30))
    services.building_update(building=building, by=None, floors=3)
    line = LineString(at(114, 10), at(114, 40), srid=4326)
    kept, other = editing.building_split(pk=building.pk, version=version(building), line=line.json,
                                         by=officer(khulna))
    assert kept.pk == building.pk and kept.bin == building.bin
    assert other.bin == "B-0000002" and other.floors == 3
    assert other.verification_status == Building.Verification.DIGITISED
    assert 135 < services.footprint_area_m2(kept.footprint) < 145
    assert 55 < services.footprint_area_m2(other.footprint) < 65
    assert not editing.footprint_overlaps(kept.footprint, exclude_ids=[kept.pk])


def test_a_split_line_that_misses_the_footprint_is_refused(khulna):
    building = draw(khulna, rect(100, 20, 120, 30))
    line = LineString(at(130, 10), at(130, 40), srid=4326)
    with pytest.raises(ValidationError) as caught:
        editing.building_split(pk=building.pk, version=version(building), line=line.json, by=officer(khulna))
    assert caught.value.code == "split_failed"
    assert Building.objects.count() == 1


def test_two_adjacent_footprints_merge_into_one(khulna):
    left, right = draw(khulna, square(100, 20)), draw(khulna, square(110, 20))
    containment = services.containment_create(by=None, code="CT-1", type="septic_tank", location=point(115, 25),
                                              building_ids=[right.pk])
    merged = editing.buildings_merge(pk=left.pk, version=version(left), other_pk=right.pk,
                                     other_version=version(right), by=officer(khulna))
    assert merged.bin == left.bin
    assert merged.footprint.geom_type == "Polygon"
    assert 195 < services.footprint_area_m2(merged.footprint) < 205
    assert not Building.objects.filter(pk=right.pk).exists()
    assert list(containment.buildings.values_list("pk", flat=True)) == [left.pk]
    assert AuditEntry.objects.filter(model="registry.building", object_id=str(right.pk), action="delete").exists()


def test_footprints_apart_cannot_be_merged(khulna):
    left, far = draw(khulna, square(100, 20)), draw(khulna, square(200, 20))
    with pytest.raises(ValidationError) as caught:
        editing.buildings_merge(pk=left.pk, version=version(left), other_pk=far.pk, other_version=version(far),
                                by=officer(khulna))
    assert caught.value.code == "not_adjacent"
    assert Building.objects.count() == 2


# --- history, restore -----------------------------------------------------------------------------------

def test_restoring_an_earlier_version_brings_back_its_shape_and_is_audited(khulna):
    building = draw(khulna, square(100, 20))
    first = editing.feature_history(layer=BUILDINGS, pk=building.pk)[0]
    editing.feature_update(layer=BUILDINGS, pk=building.pk, version=version(building),
                           geometry=square(100, 20, side_m=14).json, attributes={"floors": 4}, by=officer(khulna))
    editing.feature_update(layer=BUILDINGS, pk=building.pk, version=version(building),
                           geometry=square(300, 20).json, by=officer(khulna))
    restored = editing.feature_restore(layer=BUILDINGS, pk=building.pk, entry_id=first.pk,
                                       version=version(building), by=officer(khulna))
    restored.refresh_from_db()
    assert restored.footprint.equals_exact(square(100, 20), tolerance=1e-9)
    assert restored.floors == 1
    history = editing.feature_history(layer=BUILDINGS, pk=building.pk)
    assert [entry.action for entry in history] == ["update", "update", "update", "create"]
    assert history[0].after["footprint"] == square(100, 20).ewkt


def test_restore_with_a_stale_version_or_a_foreign_entry_is_refused(khulna):
    building, other = draw(khulna, square(100, 20)), draw(khulna, square(200, 20))
    entry = editing.feature_history(layer=BUILDINGS, pk=building.pk)[0]
    opened = version(building)
    editing.feature_update(layer=BUILDINGS, pk=building.pk, version=opened, attributes={"floors": 2},
                           by=officer(khulna))
    with pytest.raises(ValidationError) as caught:
        editing.feature_restore(layer=BUILDINGS, pk=building.pk, entry_id=entry.pk, version=opened,
                                by=officer(khulna))
    assert caught.value.code == "stale_version"
    foreign = editing.feature_history(layer=BUILDINGS, pk=other.pk)[0]
    with pytest.raises(ValidationError) as caught:
        editing.feature_restore(layer=BUILDINGS, pk=building.pk, entry_id=foreign.pk, version=version(building),
                                by=officer(khulna))
    assert caught.value.code == "unknown_version"


def test_a_ward_boundary_can_be_reshaped_and_restored(khulna):
    wards = editing.LAYERS["wards"]
    ward_1 = Ward.objects.get(number=1)
    editing.feature_update(layer=wards, pk=ward_1.pk, version=version(ward_1), geometry=rect(0, -500, 400, 500).json,
                           by=officer(khulna))
    entry = editing.feature_history(layer=wards, pk=ward_1.pk)[0]
    editing.feature_update(layer=wards, pk=ward_1.pk, version=version(ward_1), geometry=rect(0, -500, 300, 500).json,
                           by=officer(khulna))
    editing.feature_restore(layer=wards, pk=ward_1.pk, entry_id=entry.pk, version=version(ward_1),
                            by=officer(khulna))
    ward_1.refresh_from_db()
    assert ward_1.boundary.geom_type == "MultiPolygon"
    assert ward_1.boundary[0].equals_exact(rect(0, -500, 400, 500), tolerance=1e-9)


# --- permissions, isolation -----------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "allowed"), [("gis_officer", True), ("municipal_admin", True),
                                               ("field_surveyor", False), ("viewer", False),
                                               ("tax_officer", False)])
def test_only_gis_officers_and_admins_digitise(khulna, role, allowed):
    user = khulna.user(role, "khulna")
    if allowed:
        assert editing.feature_create(layer=BUILDINGS, geometry=square(100, 20).json, by=user).pk
    else:
        with pytest.raises(ValidationError) as caught:
            editing.feature_create(layer=BUILDINGS, geometry=square(100, 20).json, by=user)
        assert caught.value.code == "forbidden"
        assert not Building.objects.exists()


def test_another_municipalitys_feature_is_not_found(khulna):
    building = draw(khulna, square(100, 20))
    with tenant_context(khulna.jhenaidah):
        with pytest.raises(ObjectDoesNotExist):
            editing.feature_update(layer=BUILDINGS, pk=building.pk, version=0, attributes={"floors": 2},
                                   by=officer(khulna, "jhenaidah"))
    assert Containment.objects.count() == 0


# --- the JSON endpoints of /map/digitise/ ---------------------------------------------------------------

API = "/map/digitise/api"
BUILDING_FORM = {"f-functional_use": "residential", "f-floors": "1", "f-households": "0", "f-population_male": "0",
                 "f-population_female": "0", "f-population_other": "0", "f-population_differently_abled": "0",
                 "f-toilet_count": "0", "f-has_toilet": "on", "f-verification_status": "unverified"}


def client_as(world, tenant_client, role="gis_officer", slug="khulna"):
    return tenant_client(getattr(world, slug), world.user(role, slug))


def test_the_page_and_a_new_building_through_the_form_endpoint(khulna, tenant_client):
    client = client_as(khulna, tenant_client)
    page = client.get("/map/digitise/")
    assert page.status_code == 200
    assert b'id="digitise-config"' in page.content and b"<script>" not in page.content
    nav = {str(item["label"]): item["active"] for item in page.context["nav_items"]}
    assert nav["Digitise"] is True and nav["Map"] is False
    viewer_nav = client_as(khulna, tenant_client, role="viewer").get("/map/digitise/").context["nav_items"]
    assert "Digitise" not in {str(item["label"]) for item in viewer_nav}
    fragment = client.get(f"{API}/buildings/form/")
    assert b'name="f-functional_use"' in fragment.content and b'name="f-footprint"' not in fragment.content
    response = client.post(f"{API}/buildings/", {"geometry": square(100, 20).json, "f-functional_use": "commercial",
                                                 "f-floors": "2", "f-households": "0", "f-population_male": "0",
                                                 "f-population_female": "0", "f-population_other": "0",
                                                 "f-population_differently_abled": "0", "f-toilet_count": "0",
                                                 "f-has_toilet": "on", "f-verification_status": "unverified"})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["bin"] == "B-0000001" and 99 < data["area_m2"] < 101
    assert data["verification_status"] == "digitised"
    with tenant_context(khulna.khulna):
        building = Building.objects.get(pk=data["id"])
        assert building.functional_use == "commercial" and building.floors == 2
    listed = client.get("/registry/buildings/?verification_status=digitised")
    assert b"B-0000001" in listed.content


def test_endpoint_errors_carry_field_message_and_code(khulna, tenant_client):
    client = client_as(khulna, tenant_client)
    bad = client.post(f"{API}/buildings/", {**BUILDING_FORM, "geometry": "LINESTRING(89.54 22.84, 89.541 22.841)"})
    assert bad.status_code == 400
    assert {"field": "footprint", "code": "wrong_geometry_type"}.items() <= bad.json()["errors"][0].items()
    bad_form = client.post(f"{API}/buildings/", {**BUILDING_FORM, "geometry": square(100, 20).json, "f-floors": "0"})
    assert bad_form.status_code == 400
    assert any(row["field"] == "floors" for row in bad_form.json()["errors"])
    assert client.post(f"{API}/nowhere/", {}).status_code == 404


def test_a_stale_save_through_the_api_is_a_conflict(khulna, tenant_client):
    client = client_as(khulna, tenant_client)
    with tenant_context(khulna.khulna):
        building = draw(khulna, square(100, 20))
    opened = client.get(f"{API}/buildings/{building.pk}/").json()["version"]
    assert client.post(f"{API}/buildings/{building.pk}/", {"version": opened, "geometry": square(100, 20, 12).json}
                       ).status_code == 200
    stale = client.post(f"{API}/buildings/{building.pk}/", {"version": opened, "geometry": square(100, 20, 13).json})
    assert stale.status_code == 409
    assert stale.json()["errors"][0]["code"] == "stale_version"
    history = client.get(f"{API}/buildings/{building.pk}/history/").json()["entries"]
    assert [row["action"] for row in history] == ["update", "create"]
    current = client.get(f"{API}/buildings/{building.pk}/").json()["version"]
    restored = client.post(f"{API}/buildings/{building.pk}/restore/", {"version": current, "entry": history[1]["id"]})
    assert restored.status_code == 200 and 99 < restored.json()["area_m2"] < 101


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("field_surveyor", 403), ("municipal_admin", 201)])
def test_api_writes_need_the_digitise_permission(khulna, tenant_client, role, status):
    client = client_as(khulna, tenant_client, role=role)
    response = client.post(f"{API}/roads/", {"geometry": LineString(at(0, 50), at(100, 50), srid=4326).json,
                                             "f-code": "R-5", "f-hierarchy": "lane"})
    assert response.status_code == status


def test_anonymous_users_are_sent_to_log_in(khulna, tenant_client):
    response = tenant_client(khulna.khulna).get("/map/digitise/")
    assert response.status_code in (302, 403)


def test_another_municipalitys_feature_id_is_a_404(khulna, tenant_client):
    with tenant_context(khulna.khulna):
        building = draw(khulna, square(100, 20))
    client = client_as(khulna, tenant_client, slug="jhenaidah")
    assert client.get(f"{API}/buildings/{building.pk}/").status_code == 404
    assert client.post(f"{API}/buildings/{building.pk}/delete/", {"version": 1}).status_code == 404
    with tenant_context(khulna.khulna):
        assert Building.objects.filter(pk=building.pk).exists()


def test_clicking_the_map_picks_the_nearest_feature_of_the_layer(khulna, tenant_client):
    with tenant_context(khulna.khulna):
        building = draw(khulna, square(100, 20))
    client = client_as(khulna, tenant_client)
    lon, lat = at(105, 25)
    found = client.get(f"{API}/buildings/at/", {"lon": lon, "lat": lat}).json()["feature"]
    assert found["id"] == building.pk and found["version"] > 0
    lon, lat = at(300, 300)
    assert client.get(f"{API}/buildings/at/", {"lon": lon, "lat": lat}).json()["feature"] is None
    assert client.get(f"{API}/buildings/at/", {"lon": "east"}).status_code == 400
    lon, lat = at(500, 100)
    assert client.get(f"{API}/roads/at/", {"lon": lon, "lat": lat}).json()["feature"] is None
    lon, lat = at(500, 5)
    assert client.get(f"{API}/roads/at/", {"lon": lon, "lat": lat}).json()["feature"]["label"] == "R-1 KDA Avenue"


def test_split_merge_and_delete_through_the_api(khulna, tenant_client):
    client = client_as(khulna, tenant_client)
    with tenant_context(khulna.khulna):
        building = draw(khulna, rect(100, 20, 120, 30))
        far = draw(khulna, square(300, 20))
    opened = client.get(f"{API}/buildings/{building.pk}/").json()["version"]
    line = LineString(at(110, 10), at(110, 40), srid=4326).json
    split = client.post(f"{API}/buildings/{building.pk}/split/", {"version": opened, "line": line})
    assert split.status_code == 200, split.content
    kept, other = split.json()["features"]
    assert kept["id"] == building.pk and other["bin"] == "B-0000003"
    apart = client.post(f"{API}/buildings/{kept['id']}/merge/", {"version": kept["version"], "other": far.pk,
                                                                "other_version": editing.feature_version(far)})
    assert apart.status_code == 400 and apart.json()["errors"][0]["code"] == "not_adjacent"
    merged = client.post(f"{API}/buildings/{kept['id']}/merge/", {"version": kept["version"], "other": other["id"],
                                                                 "other_version": other["version"]})
    assert merged.status_code == 200 and 195 < merged.json()["area_m2"] < 205
    assert client.post(f"{API}/buildings/{kept['id']}/merge/", {"version": 1}).status_code == 400
    stale_delete = client.post(f"{API}/buildings/{far.pk}/delete/", {"version": 1})
    assert stale_delete.status_code == 409
    deleted = client.post(f"{API}/buildings/{far.pk}/delete/", {"version": editing.feature_version(far)})
    assert deleted.status_code == 200
    with tenant_context(khulna.khulna):
        assert list(Building.objects.values_list("bin", flat=True)) == ["B-0000001"]


def test_history_is_for_registry_readers(khulna, tenant_client):
    with tenant_context(khulna.khulna):
        building = draw(khulna, square(100, 20))
    assert client_as(khulna, tenant_client, role="viewer").get(f"{API}/buildings/{building.pk}/history/"
                                                               ).status_code == 200
    assert client_as(khulna, tenant_client, role="service_provider").get(f"{API}/buildings/{building.pk}/history/"
                                                                         ).status_code == 403
