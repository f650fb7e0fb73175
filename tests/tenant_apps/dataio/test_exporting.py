"""Exports: every format readable, areas, the data dictionary, spreadsheets safe, and the round trip."""

import csv
import datetime
import io
import json
import zipfile

import openpyxl
import pyogrio
import pyogrio.raw
import pytest
from django.contrib.gis.geos import Polygon
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from imis.tenant_apps.dataio.exporting import cell_safe, csv_lines, export_area, export_write
from imis.tenant_apps.dataio.importing import ImportOptions, import_file
from imis.tenant_apps.dataio.layers import LAYER_SPECS
from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.models import Building, Holding, Road, Ward
from tests.tenant_apps.registry.factories import at, point, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(town):
    """Three buildings (two in ward 1, one in ward 2, one with a name that starts like a formula), a containment."""
    with tenant_context(town.khulna):
        holding = Holding.objects.get(holding_id="1-2-3")
        services.building_create(by=None, bin="B-1", footprint=square(100, 20), holding=holding, floors=3,
                                 water_customer_id="=HYPERLINK(\"http://evil\")", households=2,
                                 sanitation_system="septic_tank", construction_year=1999,
                                 surveyed_at=datetime.datetime(2025, 5, 4, 10, 30, 15, tzinfo=datetime.UTC))
        services.building_create(by=None, bin="B-2", footprint=square(140, 20), holding=holding,
                                 water_customer_id="-42+1", is_desludging_vehicle_accessible=True)
        services.building_create(by=None, bin="B-3", footprint=square(2000, 20), structure_type="pucca")
        b1 = Building.objects.get(bin="B-1")
        services.containment_create(by=None, building_ids=[b1.pk], code="C-1", type="septic_tank",
                                    location=point(112, 35), length_m=2, width_m=1.5, depth_m=2,
                                    last_emptied_on=datetime.date(2025, 3, 1))
    return town


def write(spec_name, fmt, folder, **area):
    return export_write(spec=LAYER_SPECS[spec_name], fmt=fmt, area=export_area(**area), folder=folder)


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml"])
def test_gdal_formats_hold_every_building(registry, tmp_path, fmt):
    with tenant_context(registry.khulna):
        path = write("buildings", fmt, tmp_path)
    meta, _fids, geometry, data = pyogrio.raw.read(str(path), layer="buildings" if fmt != "kml" else None)
    columns = dict(zip(meta["fields"], data, strict=True))
    assert sorted(columns["bin"]) == ["B-1", "B-2", "B-3"]
    assert len(geometry) == 3 and "holding_id" in columns and "ward" in columns
    assert path.name.startswith("khulna-buildings-")


def test_shapefile_zip_has_short_names_a_prj_and_the_dictionary(registry, tmp_path):
    with tenant_context(registry.khulna):
        path = write("buildings", "shp", tmp_path, ward=1)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
    assert {"buildings.shp", "buildings.shx", "buildings.dbf", "buildings.prj", "data_dictionary.csv"} <= names
    info = pyogrio.read_info(f"/vsizip/{path}/buildings.shp")
    assert info["features"] == 2 and "pop_female" in list(info["fields"]) and info["crs"] == "EPSG:4326"
    assert all(len(name) <= 10 for spec in LAYER_SPECS.values() for name in
               [f.shp_name or f.name for f in spec.fields])


def test_gpkg_carries_a_data_dictionary_and_a_polygon_area(registry, tmp_path):
    area = Polygon.from_bbox((*at(90, 0), *at(130, 60)))
    with tenant_context(registry.khulna):
        path = write("buildings", "gpkg", tmp_path, polygon_geojson=area.geojson)
    assert [row[0] for row in pyogrio.list_layers(str(path))] == ["buildings", "data_dictionary"]
    _meta, _fids, _geometry, data = pyogrio.raw.read(str(path), layer="buildings")
    assert list(data[0]) == ["B-1"]
    meta, _fids, _geometry, dictionary = pyogrio.raw.read(str(path), layer="data_dictionary")
    rows = dict(zip(dictionary[0], dictionary[5], strict=True))
    assert "septic_tank" in rows["sanitation_system"] and rows["floors"] == "1–200"


def test_csv_and_excel_are_safe_from_formula_injection(registry, tmp_path):
    assert cell_safe("=1+1") == "'=1+1" and cell_safe("@SUM(A1)") == "'@SUM(A1)" and cell_safe("B-1") == "B-1"
    assert cell_safe("\tx") == "'\tx" and cell_safe(-3) == -3
    with tenant_context(registry.khulna):
        text = "".join(csv_lines(LAYER_SPECS["buildings"], export_area()))
        xlsx = write("buildings", "xlsx", tmp_path)
    rows = {row["bin"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["B-1"]["water_customer_id"] == "'=HYPERLINK(\"http://evil\")"
    assert rows["B-2"]["water_customer_id"] == "'-42+1"
    assert rows["B-1"]["wkt"].startswith("POLYGON((89.54")
    workbook = openpyxl.load_workbook(xlsx)
    assert workbook.sheetnames == ["Buildings", "data_dictionary"]
    sheet = workbook["Buildings"]
    header = [cell.value for cell in sheet[1]]
    values = {row[header.index("bin")]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    cell = values["B-1"][header.index("water_customer_id")]
    assert cell == "'=HYPERLINK(\"http://evil\")"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert values["B-1"][header.index("floors")] == 3


def test_containment_export_lists_its_buildings(registry, tmp_path):
    with tenant_context(registry.khulna):
        text = "".join(csv_lines(LAYER_SPECS["containments"], export_area()))
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["code"] == "C-1" and row["buildings"] == "B-1" and row["volume_m3"] == "6.00"
    assert row["wkt"].startswith("POINT(")


def test_round_trip_into_another_municipality(registry, tmp_path):
    """Export wards, roads, holdings, buildings and containments from Khulna; import them into Jhenaidah."""
    layers = ["wards", "roads", "holdings", "buildings", "containments"]
    with tenant_context(registry.khulna):
        files = {name: write(name, "gpkg", tmp_path) for name in layers}
        before = {name: _fingerprint(name) for name in layers}
    with tenant_context(registry.jhenaidah):
        for name in layers:
            report = import_file(path=files[name], original_name=files[name].name, layer=name, by=None,
                                 options=ImportOptions())
            assert report.landed, report.text()
        after = {name: _fingerprint(name) for name in layers}
    for name in layers:
        assert after[name] == before[name], (name, [{k: (v, a.get(k)) for k, v in b.items() if a.get(k) != v} for b, a in zip(before[name], after[name], strict=True)])


def _fingerprint(layer):
    spec = LAYER_SPECS[layer]
    text = "".join(csv_lines(spec, export_area()))
    rows = sorted(csv.DictReader(io.StringIO(text)), key=lambda row: json.dumps(row, sort_keys=True))
    return rows


def test_export_command_writes_the_file(registry, tmp_path):
    out = tmp_path / "out" / "roads.geojson"
    stdout = io.StringIO()
    call_command("export_layer", str(out), municipality="khulna", layer="roads", format="geojson", stdout=stdout)
    assert json.loads(out.read_text())["features"][0]["properties"]["code"] == "R-1"
    assert "1 roads ->" in stdout.getvalue()


def test_import_command_exit_status_and_report(registry, tmp_path):
    with tenant_context(registry.khulna):
        path = write("roads", "gpkg", tmp_path)
        Road.objects.filter(code="R-1").update(name="Old name")
    stdout = io.StringIO()
    call_command("import_layer", str(path), municipality="jhenaidah", layer="roads", stdout=stdout)
    assert "inserted 1" in stdout.getvalue()
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(path.read_bytes()[:4096])
    with pytest.raises(CommandError) as failure:
        call_command("import_layer", str(bad), municipality="jhenaidah", layer="roads", stdout=io.StringIO())
    assert failure.value.returncode == 1 and "The GeoPackage is incomplete" in str(failure.value)
    with tenant_context(registry.jhenaidah):
        assert list(Road.objects.values_list("code", flat=True)) == ["R-1"]
        assert Ward.objects.count() == 0
