"""Importing registry layers: the happy paths, upsert and replace, all-or-nothing, CRS, geometry and audit."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.gis.geos import LineString, Point, Polygon
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.dataio.importing import ImportOptions, import_file, mapping_save, mapping_suggest
from imis.tenant_apps.dataio.layers import LAYER_SPECS
from imis.tenant_apps.dataio.models import ImportMapping
from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.models import Building, Containment, Holding, Road
from imis.tenant_apps.registry.tasks import link_buildings_to_roads
from tests.tenant_apps.registry.factories import at, point, road, square

from .files import building_rows, buildings_gpkg, write_layer

pytestmark = pytest.mark.django_db


def run(path, layer="buildings", *, by=None, **options):
    return import_file(path=path, original_name=path.name, layer=layer, by=by, options=ImportOptions(**options))


def test_a_file_with_our_field_names_imports_without_mapping(town, officer, tmp_path):
    path = buildings_gpkg(tmp_path / "buildings.gpkg", building_rows(3) + [
        {**building_rows(1, x0=2000, prefix="W2-", holding="2-1-1")[0]}])
    with tenant_context(town.khulna):
        report = run(path, by=officer)
        assert report.landed, report.text()
        layer = report.layers[0]
        assert (layer.read, layer.inserted, layer.updated, layer.rejected) == (4, 4, 0, 0)
        assert layer.holdings_created == 1
        b1 = Building.objects.select_related("holding", "ward").get(bin="B-1")
        assert b1.holding.holding_id == "1-2-3" and b1.ward.number == 1 and b1.floors == 2
        assert b1.sanitation_system == "septic_tank" and b1.population_female == 2
        assert b1.verification_status == "unverified"  # unmapped: the model's default
        assert b1.road_link_status == "linked" and b1.nearest_road.code == "R-1"
        new_holding = Holding.objects.get(holding_id="2-1-1")
        assert new_holding.ward.number == 2
        entries = AuditEntry.objects.filter(action="import", model="registry.building")
        assert entries.count() == 4
        entry = entries.get(object_id=str(b1.pk))
        assert entry.actor_id == officer.pk and entry.after["bin"] == "B-1"
        assert entry.after["footprint"].startswith("SRID=4326;POLYGON")
        assert AuditEntry.objects.filter(action="import", model="registry.holding").count() == 1


def test_upsert_updates_by_key_and_keeps_unmapped_fields(town, tmp_path):
    with tenant_context(town.khulna):
        existing = services.building_create(by=None, bin="B-1", footprint=square(100, 20), floors=1,
                                            water_source="tube_well")
        rows = building_rows(2)
        rows[0]["floors"] = 5
        report = run(buildings_gpkg(tmp_path / "b.gpkg", rows))
        assert report.landed, report.text()
        assert (report.layers[0].inserted, report.layers[0].updated) == (1, 1)
        existing.refresh_from_db()
        assert existing.floors == 5 and existing.water_source == "tube_well"
        change = AuditEntry.objects.get(action="update", object_id=str(existing.pk), model="registry.building")
        assert change.before["floors"] == 1 and change.after["floors"] == 5
        again = run(buildings_gpkg(tmp_path / "again.gpkg", rows))
        assert (again.layers[0].inserted, again.layers[0].updated, again.layers[0].unchanged) == (0, 0, 2)


def test_replace_deletes_what_the_file_no_longer_has(town, tmp_path):
    path = write_layer(tmp_path / "roads.gpkg", layer="roads",
                       geometries=[LineString(at(0, 50), at(500, 50), srid=4326)],
                       fields={"code": ["R-NEW"], "hierarchy": ["Secondary"], "width_m": [7.5]})
    with tenant_context(town.khulna):
        report = run(path, "roads", mode="replace")
        assert report.landed, report.text()
        assert report.layers[0].deleted == 1 and report.layers[0].inserted == 1
        road = Road.objects.get()
        assert road.code == "R-NEW" and road.hierarchy == "secondary" and road.width_m == Decimal("7.50")
        assert AuditEntry.objects.filter(action="delete", model="registry.road").count() == 1


def test_one_bad_row_stops_the_import_and_nothing_is_written(town, tmp_path):
    rows = building_rows(3)
    rows[1]["floors"] = 500
    rows[2]["functional_use"] = "castle"
    with tenant_context(town.khulna):
        report = run(buildings_gpkg(tmp_path / "b.gpkg", rows))
        assert not report.landed
        assert Building.objects.count() == 0 and AuditEntry.objects.count() == 0
        reasons = {(r.row, r.field): r.reason for r in report.rejects}
        assert reasons[(2, "floors")] == "must be a whole number from 1 to 200"
        assert reasons[(3, "functional_use")].startswith("“castle” is not one of: residential, commercial")
        assert "Nothing was imported" in report.message


def test_skip_bad_rows_writes_the_good_rows_whole(town, tmp_path):
    rows = building_rows(3)
    rows[1]["floors"] = "two"
    with tenant_context(town.khulna):
        report = run(buildings_gpkg(tmp_path / "b.gpkg", rows), skip_bad_rows=True)
        assert report.landed and report.layers[0].inserted == 2 and report.layers[0].rejected == 1
        assert sorted(Building.objects.values_list("bin", flat=True)) == ["B-1", "B-3"]


def test_a_projected_file_is_transformed_to_lon_lat(town, tmp_path):
    footprint = square(200, 100).transform(32645, clone=True)
    path = write_layer(tmp_path / "utm.gpkg", layer="buildings", geometries=[footprint], fields={"bin": ["U-1"]},
                       crs="EPSG:32645")
    with tenant_context(town.khulna):
        report = run(path)
        assert report.landed, report.text()
        building = Building.objects.get(bin="U-1")
        assert building.footprint.srid == 4326
        assert building.footprint.centroid.distance(square(200, 100).centroid) < 1e-6


def test_repairable_geometry_is_repaired_and_reported(town, tmp_path):
    (x0, y0), (x1, y1) = at(300, 100), at(310, 110)
    spike = Polygon([(x0, y0), (x1, y0), (x1, y1), (x1, y1 + 0.0001), (x1, y1), (x0, y1), (x0, y0)], srid=4326)
    assert not spike.valid
    with tenant_context(town.khulna):
        report = run(write_layer(tmp_path / "spike.gpkg", layer="b", geometries=[spike], fields={"bin": ["S-1"]}))
        assert report.landed, report.text()
        assert report.layers[0].repaired == 1 and "repaired" in report.layers[0].notes[0]
        assert Building.objects.get(bin="S-1").footprint.valid


def test_containments_link_their_buildings_and_derive_volume_and_due_date(town, tmp_path):
    with tenant_context(town.khulna):
        services.building_create(by=None, bin="B-1", footprint=square(100, 100), households=2)
        services.building_create(by=None, bin="B-2", footprint=square(120, 100))
        path = write_layer(tmp_path / "c.gpkg", layer="containments",
                           geometries=[point(112, 105), point(900, 300)],
                           fields={"code": ["c-1", "C-FAR"], "type": ["Septic tank", "lined_pit"],
                                   "length_m": [2.0, None], "width_m": [1.5, None], "depth_m": [2.0, 1.0],
                                   "diameter_m": [None, 1.0], "buildings": ["B-1; b-2", "B-1"],
                                   "last_emptied_on": ["2025-01-15", "15/03/2024"]})
        report = run(path, "containments")
        assert not report.landed
        assert [(r.row, r.field) for r in report.rejects] == [(2, "buildings")]
        assert "from building B-1" in report.rejects[0].reason
        report = run(path, "containments", skip_bad_rows=True)
        assert report.landed and report.layers[0].inserted == 1
        containment = Containment.objects.get(code="C-1")
        assert containment.volume_m3 == Decimal("6.00") and containment.type == "septic_tank"
        assert sorted(containment.buildings.values_list("bin", flat=True)) == ["B-1", "B-2"]
        assert containment.last_emptied_on == datetime.date(2025, 1, 15) and containment.next_emptying_due
        audit = AuditEntry.objects.get(action="import", model="registry.containment")
        assert len(audit.after["building_ids"]) == 2


def test_a_package_imports_its_layers_in_order(town, tmp_path):
    path = tmp_path / "package.gpkg"
    write_layer(path, layer="Roads", geometries=[LineString(at(0, 300), at(900, 300), srid=4326)],
                fields={"code": ["R-9"]})
    write_layer(path, layer="building", geometries=[square(100, 310)], fields={"bin": ["P-1"]}, append=True)
    with tenant_context(town.khulna):
        report = run(path, "all")
        assert report.landed, report.text()
        assert [layer.layer for layer in report.layers] == ["roads", "buildings"]
        assert Building.objects.get(bin="P-1").nearest_road.code == "R-9"


def test_new_roads_have_every_building_linked_again_after_the_commit(town, officer, tmp_path, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(link_buildings_to_roads, "delay", queued.append)

    def package(name, road_code, road_y):  # a road along y = road_y m, and the same two buildings (y 20..30 m)
        path = tmp_path / name
        write_layer(path, layer="Roads", geometries=[LineString(at(-400, road_y), at(2900, road_y), srid=4326)],
                    fields={"code": [road_code]})
        return buildings_gpkg(path, building_rows(2), append=True)

    def links():
        return set(Building.objects.values_list("nearest_road__code", flat=True))

    with tenant_context(town.khulna):
        with django_capture_on_commit_callbacks(execute=True):
            assert run(package("first.gpkg", "R-9", 35), "all").landed
        assert links() == {"R-9"} and queued == []  # a first load decides every link against the new roads
        again = package("again.gpkg", "R-8", 31)  # a road 1 m from them; the buildings did not move
        with django_capture_on_commit_callbacks(execute=True):
            assert run(again, "all", dry_run=True).layers[0].written == 1
        assert queued == []  # a check writes nothing and starts nothing
        with django_capture_on_commit_callbacks(execute=True):
            report = run(again, "all", by=officer)
        assert report.landed, report.text()
        assert "every building's nearest road is being decided again" in " ".join(report.layers[0].notes)
        assert queued == [officer.pk] and links() == {"R-9"}  # kept, until the job runs:
        link_buildings_to_roads(*queued)  # what the worker runs, in this municipality's schema
        assert links() == {"R-8"}


def test_the_mapping_is_remembered_for_the_next_file(town, officer, tmp_path):
    spec = LAYER_SPECS["buildings"]
    with tenant_context(town.khulna):
        assert mapping_suggest(spec=spec, columns=["BIN_NO", "Storeys", "x"]) == {"bin": "BIN_NO",
                                                                                   "floors": "Storeys"}
        mapping_save(spec=spec, mapping={"bin": "BIN_NO", "structure_type": "x"}, by=officer)
        assert ImportMapping.objects.get(layer="buildings").updated_by_id == officer.pk
        assert mapping_suggest(spec=spec, columns=["BIN_NO", "x"])["structure_type"] == "x"


def test_csv_with_lon_lat_columns_and_a_named_crs(town, tmp_path):
    lon, lat = at(500, 200)
    path = tmp_path / "toilets.csv"
    path.write_text(f"name,kind,longitude,latitude,seats_female\nBazar toilet,Public toilet,{lon},{lat},৪\n",
                    encoding="utf-8")
    with tenant_context(town.khulna):
        refused = run(path, "toilets")
        assert "coordinate system" in refused.message
        report = run(path, "toilets", srid=4326)
        assert report.landed, report.text()
        from imis.tenant_apps.registry.models import PublicToilet

        toilet = PublicToilet.objects.get()
        assert toilet.seats_female == 4 and toilet.ward.number == 1
        assert toilet.location.distance(Point(lon, lat, srid=4326)) < 1e-9


def test_buildings_land_linked_to_their_nearest_road_in_metres(town, tmp_path):
    rows = building_rows(2)
    rows[1]["geometry"] = square(400, 1)  # a metre from the road: geography distance in PostGIS 3.3 said 0 here
    rows.append({**building_rows(1, x0=600, y0=300, prefix="FAR-")[0]})
    with tenant_context(town.khulna):
        report = run(buildings_gpkg(tmp_path / "b.gpkg", rows))
        assert report.landed, report.text()
        near, close, far = (Building.objects.get(bin=bin_) for bin_ in ("B-1", "B-2", "FAR-1"))
        assert near.road_link_status == "linked" and near.nearest_road.code == "R-1"
        assert 19.5 < near.road_distance_m < 20.5
        assert close.road_link_status == "linked" and 0.5 < close.road_distance_m < 1.5
        assert far.road_link_status == "far" and far.nearest_road.code == "R-1" and 295 < far.road_distance_m < 305
        assert report.layers[0].road_links["linked"] == 2 and report.layers[0].road_links["far"] == 1


def test_a_reimport_decides_road_links_only_for_new_and_moved_buildings(town, tmp_path):
    with tenant_context(town.khulna):
        assert run(buildings_gpkg(tmp_path / "first.gpkg", building_rows(3))).landed
        # A road 5 m above the footprints (y 20..30 m), closer than R-1 (y = 0) to each of them
        road("R-2", (-400, 35), (2900, 35), width_m=6, hierarchy="access")
        rows = building_rows(3) + building_rows(1, x0=400, prefix="NEW-")
        rows[0]["floors"] = 3  # B-1: changed, not moved
        rows[1]["geometry"] = square(130, 22)  # B-2: moved 2 m
        report = run(buildings_gpkg(tmp_path / "again.gpkg", rows))
        assert report.landed, report.text()
        layer = report.layers[0]
        assert (layer.inserted, layer.updated, layer.unchanged) == (1, 2, 1)
        assert "Road links were decided for 2 new or moved buildings; the others kept theirs." in layer.notes
        links = {b.bin: (b.nearest_road.code, b.road_link_status, b.floors)
                 for b in Building.objects.select_related("nearest_road")}
        assert links == {"B-1": ("R-1", "linked", 3), "B-2": ("R-2", "linked", 2), "B-3": ("R-1", "linked", 2),
                         "NEW-1": ("R-2", "linked", 2)}
        assert 2.5 < Building.objects.get(bin="B-2").road_distance_m < 3.5
        # a key the early read converts is refused once, as convert() would refuse it
        bad = run(buildings_gpkg(tmp_path / "bad.gpkg", rows + building_rows(1, x0=700, prefix="X" * 41)))
        assert not bad.landed
        assert [(r.row, r.field) for r in bad.rejects] == [(5, "bin")]
        assert "at most 40 are allowed" in bad.rejects[0].reason


def test_a_bulk_load_is_audited_once_with_its_import_id_and_the_ids_it_created(town, officer, tmp_path,
                                                                               monkeypatch):
    from imis.tenant_apps.dataio import importing

    monkeypatch.setattr(importing, "AUDIT_ROWS_MAX", 2)
    with tenant_context(town.khulna):
        report = run(buildings_gpkg(tmp_path / "b.gpkg", building_rows(4)), by=officer)
        assert report.landed, report.text()
        entry = AuditEntry.objects.get(action="import", model="registry.building")
        assert entry.object_id == report.batch and str(entry.batch) == report.batch
        assert entry.actor_id == officer.pk and "4 buildings" in entry.object_label
        assert entry.after["created"] == 4 and entry.after["file"] == "b.gpkg"
        created = {pk for low, high in entry.after["id_ranges"] for pk in range(low, high + 1)}
        assert created == set(Building.objects.values_list("pk", flat=True))
        # changes to existing rows keep one entry per row: their "before" exists nowhere else
        rows = building_rows(4)
        for row in rows:
            row["floors"] = 3
        again = run(buildings_gpkg(tmp_path / "again.gpkg", rows), by=officer)
        assert again.layers[0].updated == 4
        assert AuditEntry.objects.filter(action="update", model="registry.building", batch=again.batch).count() == 4
