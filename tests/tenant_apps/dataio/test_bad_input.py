"""Bad input, one case each: a clear message, and nothing written."""

import json
import math
import struct
import zipfile

import pytest
from django.contrib.gis.geos import LineString, Point, Polygon
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.dataio.importing import M2_PER_SQUARE_DEGREE, ImportOptions, import_file
from imis.tenant_apps.dataio.reading import SourceError, source_open
from imis.tenant_apps.registry.models import Building, Holding, PublicToilet, Road
from imis.tenant_apps.registry.services import footprint_area_m2
from tests.tenant_apps.registry.factories import at, square

from .files import building_rows, buildings_gpkg, geojson_text, shapefile_zip, write_layer, zip_files

pytestmark = pytest.mark.django_db


def run(path, layer="buildings", **options):
    return import_file(path=path, original_name=path.name, layer=layer, by=None, options=ImportOptions(**options))


def assert_nothing_written():
    assert Building.objects.count() == 0
    assert Holding.objects.exclude(holding_id="1-2-3").count() == 0
    assert AuditEntry.objects.count() == 0


def refused(path, tmp_path) -> SourceError:
    with pytest.raises(SourceError) as error:
        source_open(path, original_name=path.name, workdir=tmp_path / "work")
    return error.value


def test_truncated_geopackage(town, tmp_path):
    path = buildings_gpkg(tmp_path / "whole.gpkg", building_rows(50))
    cut = tmp_path / "cut.gpkg"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    error = refused(cut, tmp_path)
    assert error.code == "truncated"
    assert "incomplete" in error.message and "cut short" in error.message
    with tenant_context(town.khulna):
        report = run(cut)
        assert not report.landed and report.message.startswith("Nothing was imported: The GeoPackage is incomplete")
        assert_nothing_written()


def test_shapefile_zip_without_shx(town, tmp_path):
    path = shapefile_zip(tmp_path, rows=building_rows(2), leave_out=(".shx",))
    error = refused(path, tmp_path)
    assert error.code == "shapefile_incomplete"
    assert "buildings.shx missing" in error.message
    with tenant_context(town.khulna):
        assert not run(path).landed
        assert_nothing_written()


def test_shapefile_zip_without_prj_needs_the_crs_named(town, tmp_path):
    path = shapefile_zip(tmp_path, rows=building_rows(2), leave_out=(".prj",))
    source = source_open(path, original_name=path.name, workdir=tmp_path / "work")
    assert source.layers[0].crs is None and source.layers[0].srid is None
    with tenant_context(town.khulna):
        report = run(path)
        assert not report.landed
        assert "does not say which coordinate system" in report.message and ".prj" in report.message
        assert_nothing_written()
        assert run(path, srid=4326).layers[0].inserted == 2


def test_geojson_with_mixed_geometry_types(town, tmp_path):
    path = tmp_path / "mixed.geojson"
    path.write_text(geojson_text([(square(100, 20), {"bin": "B-1"}), (Point(*at(150, 25)), {"bin": "B-2"}),
                                  (LineString(at(0, 30), at(10, 30)), {"bin": "B-3"})]))
    source = source_open(path, original_name=path.name, workdir=tmp_path / "work")
    assert source.layers[0].geometry_types == {"Polygon": 1, "Point": 1, "LineString": 1}
    with tenant_context(town.khulna):
        report = run(path)
        assert not report.landed
        assert [(r.row, r.reason) for r in report.rejects] == [
            (2, "a buildings geometry must be a Polygon, not a Point"),
            (3, "a buildings geometry must be a Polygon, not a LineString")]
        assert_nothing_written()


def test_self_intersecting_polygon(town, tmp_path):
    (x0, y0), (x1, y1) = at(100, 20), at(110, 30)
    bowtie = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)], srid=4326)
    path = write_layer(tmp_path / "bowtie.gpkg", layer="buildings", geometries=[square(200, 20), bowtie],
                       fields={"bin": ["OK-1", "BOW-1"]})
    with tenant_context(town.khulna):
        report = run(path)
        assert not report.landed
        [reject] = report.rejects
        assert reject.row == 2 and reject.field == "geometry"
        assert reject.reason.startswith("invalid geometry that cannot be repaired without changing its shape")
        assert "Self-intersection" in reject.reason
        assert_nothing_written()


def test_implausible_footprint_areas(town, tmp_path):
    """The registry's range (4-200,000 m² on the sphere), decided as the registry decides one footprint, also next
    to the bounds and for a long sliver, where the import's quick planar estimate leaves the decision to the spheroid."""
    sides = {"TINY": 1.9, "LOW": 1.98, "IN": 2.02, "HOUSE": 12, "BIG": 445, "TOP": 448.5, "HUGE": 460}
    shapes = [square(100 + 600 * i, 20, side) for i, side in enumerate(sides.values())]
    # A sliver 20 km long: its planar area says 180,000 m², but its long edges are great circles on the spheroid
    long = Polygon([at(0, 2018), at(20_000, 2018), at(10_000, 2000), at(0, 2018)], srid=4326)
    shapes.append(long)
    areas = [footprint_area_m2(shape) for shape in shapes]
    assert 4 < areas[2] < 4.2 and 3.8 < areas[1] < 4 and 190_000 < areas[4] < 200_000 < areas[5] < 210_000
    planar = long.area * M2_PER_SQUARE_DEGREE * math.cos(math.radians(long.centroid.y))
    assert 170_000 < planar < 190_000 and areas[7] > 200_000
    path = write_layer(tmp_path / "areas.gpkg", layer="buildings", geometries=shapes,
                       fields={"bin": [*sides, "LONG"]})
    with tenant_context(town.khulna):
        report = run(path)
        assert not report.landed
        assert [(r.row, r.reason) for r in report.rejects] == [
            (row, f"a footprint of {round(area)} m² is not plausible (4–200,000 m²)")
            for row, area in enumerate(areas, start=1) if not 4 <= area <= 200_000]
        assert [r.row for r in report.rejects] == [1, 2, 6, 7, 8]
        assert_nothing_written()
        assert run(path, skip_bad_rows=True).landed
        assert sorted(Building.objects.values_list("bin", flat=True)) == ["BIG", "HOUSE", "IN"]


def test_swapped_lat_lon(town, tmp_path):
    swapped = [(y, x) for x, y in square(100, 20).coords[0]]
    path = tmp_path / "swapped.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"bin": "S-1"}, "geometry": {"type": "Polygon", "coordinates": [swapped]}}]}))
    with tenant_context(town.khulna):
        report = run(path)
        assert not report.landed
        assert "Latitude and longitude look swapped" in report.message and "Khulna" in report.message
        assert_nothing_written()
        assert run(path, swap_axes=True).landed
        assert Building.objects.get(bin="S-1").footprint.centroid.distance(square(100, 20).centroid) < 1e-9


def test_csv_in_utf16_keeps_its_bangla_names(town, tmp_path):
    lon, lat = at(300, 40)
    path = tmp_path / "toilets.txt"
    path.write_text(f"name\tlongitude\tlatitude\nবাজার শৌচাগার\t{lon}\t{lat}\n", encoding="utf-16")
    source = source_open(path, original_name=path.name, workdir=tmp_path / "work")
    assert "UTF-16" in source.notes[0]
    with tenant_context(town.khulna):
        report = run(path, "toilets", srid=4326)
        assert report.landed, report.text()
        assert PublicToilet.objects.get().name == "বাজার শৌচাগার"


def test_csv_in_a_legacy_8_bit_encoding_is_refused(town, tmp_path):
    path = tmp_path / "holdings.csv"
    path.write_bytes(b"holding_id,ward,address\n1-2-4,1,Boyra\n1-2-5,1,\xb3\xe8\xcc\xa4 \xcf\xdb\n")
    error = refused(path, tmp_path)
    assert error.code == "bad_encoding"
    assert "not UTF-8 text: line 3" in error.message and "CSV UTF-8" in error.message
    with tenant_context(town.khulna):
        assert not run(path, "holdings").landed
        assert_nothing_written()


def test_zero_features(town, tmp_path):
    path = write_layer(tmp_path / "empty.gpkg", layer="buildings", geometries=[], fields={"bin": []},
                       geometry_type="Polygon")
    with tenant_context(town.khulna):
        report = run(path)
        assert not report.landed and "holds no features: there is nothing to import" in report.message
        assert_nothing_written()


def test_an_attribute_of_one_megabyte(town, tmp_path):
    path = write_layer(tmp_path / "roads.gpkg", layer="roads", geometries=[LineString(at(0, 50), at(90, 50))] * 2,
                       fields={"code": ["R-2", "R-3"], "name": ["Station Road", "x" * 1024 * 1024]})
    with tenant_context(town.khulna):
        report = run(path, "roads")
        assert not report.landed
        [reject] = report.rejects
        assert (reject.row, reject.field) == (2, "name")
        assert reject.reason == "is 1,048,576 characters long; at most 200 are allowed"
        assert len(reject.value) <= 80
        assert list(Road.objects.values_list("code", flat=True)) == ["R-1"]
        assert_nothing_written()


def test_zip_with_a_path_outside_it(town, tmp_path):
    path = zip_files(tmp_path / "evil.zip", {"buildings.geojson": b"{}", "../../etc/cron.d/x": b"boom"})
    error = refused(path, tmp_path)
    assert error.code == "zip_unsafe_path" and "points outside the zip (../)" in error.message
    assert not (tmp_path / "etc").exists() and not (tmp_path.parent / "etc").exists()
    absolute = zip_files(tmp_path / "absolute.zip", {"/srv/x.geojson": b"{}"})
    assert refused(absolute, tmp_path).code == "zip_unsafe_path"


def test_zip_bomb(town, tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("buildings.csv", b"0" * (64 * 1024 * 1024))
    assert path.stat().st_size < 200_000
    error = refused(path, tmp_path)
    assert error.code == "zip_bomb" and "decompression bombs" in error.message
    assert not (tmp_path / "work" / "unzipped" / "buildings.csv").exists()


def test_zip_whose_header_lies_about_its_size(town, tmp_path, settings):
    path = zip_files(tmp_path / "liar.zip", {"buildings.csv": b"bin,wkt\n" + b"B-1,POINT(1 1)\n" * 50_000})
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)  # the central directory says 100 bytes uncompressed
    path.write_bytes(bytes(data))
    error = refused(path, tmp_path)
    assert error.code in ("zip_bomb", "bad_zip")


def test_wrong_format_with_the_right_extension(town, tmp_path):
    png = tmp_path / "buildings.gpkg"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    error = refused(png, tmp_path)
    assert error.code == "wrong_format"
    assert error.message == ("“buildings.gpkg” is named like a GeoPackage file but its content is not a GIS format "
                             "we read. Check that you picked the right file, or export it again.")
    text = tmp_path / "roads.geojson"
    text.write_text("code,name\nR-1,Station Road\n")
    assert "its content is CSV" in refused(text, tmp_path).message
    with tenant_context(town.khulna):
        assert not run(png).landed
        assert_nothing_written()
