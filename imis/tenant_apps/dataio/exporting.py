"""Exporting registry layers: the whole municipality, one ward or a drawn polygon, to GeoPackage, zipped
Shapefile, GeoJSON, KML, CSV and Excel (with a data dictionary sheet).

Rows come from one SQL query through a server-side cursor in chunks and go straight to GDAL (pyogrio, appending
chunk after chunk), to the CSV writer or to openpyxl's write-only workbook: memory stays flat whatever the size
of the layer (no model objects are ever built). Spreadsheet cells that start like a formula (= + - @, tab, CR) get
a leading quote, so opening an export never runs anything; the importer takes the quote off again.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import tempfile
import zipfile
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio.raw
from django.conf import settings
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.tenant_apps.registry.services import current_municipality

from .layers import LayerSpec, data_dictionary

CHUNK_ROWS = 50_000
EPOCH_MS, EPOCH_DAYS = "__epoch_ms", "__epoch_days"  # column name marks: a time as epoch ms, a date as epoch days
EXCEL_MAX_CELL = 32_767
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFormat:
    code: str
    label: str
    extension: str
    content_type: str
    driver: str = ""


EXPORT_FORMATS: dict[str, ExportFormat] = {f.code: f for f in [
    ExportFormat("gpkg", "GeoPackage", "gpkg", "application/geopackage+sqlite3", "GPKG"),
    ExportFormat("shp", "Shapefile (zip)", "zip", "application/zip", "ESRI Shapefile"),
    ExportFormat("geojson", "GeoJSON", "geojson", "application/geo+json", "GeoJSON"),
    ExportFormat("kml", "KML (Google Earth)", "kml", "application/vnd.google-earth.kml+xml", "LIBKML"),
    ExportFormat("csv", "CSV (WKT geometry)", "csv", "text/csv; charset=utf-8"),
    ExportFormat("xlsx", "Excel", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
]}

# psycopg type OIDs -> how a column is written
OID_KINDS = {16: "bool", 20: "int", 21: "int", 23: "int", 700: "float", 701: "float", 1700: "float", 1082: "date",
             1114: "datetime", 1184: "datetime"}


def cell_safe(value):
    """A spreadsheet cell that cannot run as a formula: text starting with = + - @ (or tab/CR) gets a quote."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return value


# --- what to export ---------------------------------------------------------------------------------------

@dataclass
class ExportArea:
    ward: int | None = None
    polygon: GEOSGeometry | None = None

    @property
    def label(self) -> str:
        if self.ward is not None:
            return f"ward-{self.ward}"
        return "area" if self.polygon is not None else ""


def export_area(*, ward: int | None = None, polygon_geojson: str = "") -> ExportArea:
    """The area to export: a ward number, or a drawn polygon as GeoJSON (geometry, Feature or collection)."""
    polygon = None
    if polygon_geojson and polygon_geojson.strip():
        try:
            data = json.loads(polygon_geojson)
            if data.get("type") == "FeatureCollection":
                data = data["features"][0]["geometry"] if data.get("features") else {}
            if data.get("type") == "Feature":
                data = data.get("geometry") or {}
            polygon = GEOSGeometry(json.dumps(data))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, GEOSException) as error:
            raise field_error({"polygon": _("The area is not readable GeoJSON (%(error)s).") % {"error": error}},
                              code="invalid_polygon")
        if polygon.geom_type not in ("Polygon", "MultiPolygon"):
            raise field_error({"polygon": _("Draw a polygon, not a %(type)s.") % {"type": polygon.geom_type}},
                              code="invalid_polygon")
        if not polygon.valid:
            raise field_error({"polygon": _("The polygon is not valid (%(reason)s).")
                                          % {"reason": polygon.valid_reason}}, code="invalid_polygon")
        polygon.srid = 4326
    if ward is not None and polygon is not None:
        raise field_error({"ward": _("Choose a ward or draw an area, not both.")}, code="ambiguous_area")
    return ExportArea(ward=ward, polygon=polygon)


def export_sql(spec: LayerSpec, area: ExportArea, *, geometry_as: str = "wkb") -> tuple[str, list, list[str]]:
    """The export query: geometry first (WKB or WKT), then the layer's columns in their order.

    For GDAL (WKB) the database hands over plain numbers where Python objects would be slow to build: decimals
    as float8, dates and times as epoch numbers (their column names marked for _arrays)."""
    columns, expressions = [], []
    types = spec.types
    for f in spec.fields:
        if f.lookup and not f.lookup.many and not f.export_sql:
            continue
        if f.export_sql:
            expression = f.export_sql
        else:
            expression = f"t.{spec.model._meta.get_field(f.model_field).column}"
        columns.append(f.name)
        alias = f.name
        kind = types[f.name].kind if f.name in types and not f.export_sql else ""
        if geometry_as not in ("wkb", "wkt", "column"):
            raise ValueError(geometry_as)
        if geometry_as == "wkb" and kind == "decimal":
            expression = f"({expression})::float8"
        elif geometry_as == "wkb" and kind == "datetime":  # the municipality's wall-clock time, as the import reads it
            expression = f"(extract(epoch FROM ({expression}) AT TIME ZONE '{_local_zone()}') * 1000)::float8"
            alias = f.name + EPOCH_MS
        elif geometry_as == "wkb" and kind == "date":
            expression, alias = f"({expression} - DATE '1970-01-01')::float8", f.name + EPOCH_DAYS
        expressions.append(f'{expression} AS "{alias}"')
    if spec.geometry:
        geometry_column = spec.model._meta.get_field(spec.geometry).column
        geometry = {"wkb": f"ST_AsBinary(t.{geometry_column})", "wkt": f"ST_AsText(t.{geometry_column})",
                    "column": f"t.{geometry_column}"}[geometry_as]
        expressions.insert(0, f"{geometry} AS __geometry")
    where, params = export_where(spec, area)
    sql = (f"SELECT {', '.join(expressions)} FROM {spec.table} t {spec.joins} {where} ORDER BY t.id")
    return sql, params, columns


def _local_zone() -> str:
    """The municipality's time zone name, checked (it goes into SQL as a literal)."""
    name = current_municipality().timezone or "Asia/Dhaka"
    zoneinfo.ZoneInfo(name)
    return name.replace("'", "")


def _local(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(zoneinfo.ZoneInfo(_local_zone()))


def export_where(spec: LayerSpec, area: ExportArea) -> tuple[str, list]:
    names = {f.column for f in spec.model._meta.concrete_fields}
    geometry_column = spec.model._meta.get_field(spec.geometry).column if spec.geometry else ""
    if area.ward is not None:
        if spec.name == "wards":
            return "WHERE t.number = %s", [area.ward]
        if "ward_id" in names:
            return "WHERE t.ward_id = (SELECT id FROM registry_ward WHERE number = %s)", [area.ward]
        return (f"WHERE ST_Intersects(t.{geometry_column}, (SELECT boundary FROM registry_ward WHERE number = %s))",
                [area.ward])
    if area.polygon is not None:
        if not spec.geometry:  # holdings: those with a building in the area
            return ("WHERE EXISTS (SELECT 1 FROM registry_building b WHERE b.holding_id = t.id AND "
                    "ST_Intersects(b.footprint, ST_GeomFromEWKT(%s)))", [area.polygon.ewkt])
        return f"WHERE ST_Intersects(t.{geometry_column}, ST_GeomFromEWKT(%s))", [area.polygon.ewkt]
    return "", []


def export_count(spec: LayerSpec, area: ExportArea) -> int:
    where, params = export_where(spec, area)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {spec.table} t {where}", params)
        return cursor.fetchone()[0]


def export_chunks(spec: LayerSpec, area: ExportArea, *, geometry_as: str = "wkb",
                  chunk: int = CHUNK_ROWS) -> Iterator[tuple[list[str], list[int], list[tuple]]]:
    """(column names, type OIDs, rows) chunk by chunk from a server-side cursor."""
    sql, params, _columns = export_sql(spec, area, geometry_as=geometry_as)
    with transaction.atomic():
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, params)
            names = [column.name for column in cursor.description]
            oids = [column.type_code for column in cursor.description]
            while rows := cursor.fetchmany(chunk):
                yield names, oids, rows
        finally:
            cursor.close()


# --- writing ----------------------------------------------------------------------------------------------

def export_file_name(spec: LayerSpec, fmt: ExportFormat, area: ExportArea) -> str:
    parts = [current_municipality().slug, spec.name]
    if area.label:
        parts.append(area.label)
    parts.append(timezone.localdate().isoformat())
    return "-".join(parts) + "." + fmt.extension


def export_write(*, spec: LayerSpec, fmt: str, area: ExportArea, folder: Path,
                 progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Write the export into `folder` and return its path."""
    export_format = EXPORT_FORMATS[fmt]
    path = Path(folder) / export_file_name(spec, export_format, area)
    total = export_count(spec, area)
    if fmt == "csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            for piece in csv_lines(spec, area):
                handle.write(piece)
    elif fmt == "xlsx":
        _write_xlsx(spec, area, path, total=total, progress=progress)
    elif fmt == "shp":
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            shp = Path(scratch) / f"{spec.name}.shp"
            _write_gdal(spec, area, shp, export_format, total=total, progress=progress)
            dictionary = Path(scratch) / "data_dictionary.csv"
            dictionary.write_bytes(dictionary_csv(spec))
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for part in sorted(Path(scratch).iterdir()):
                    archive.write(part, part.name)
    else:
        _write_gdal(spec, area, path, export_format, total=total, progress=progress)
        if fmt == "gpkg":
            _write_gpkg_dictionary(spec, path)
    return path


def _arrays(rows: list[tuple], start: int, names: list[str], oids: list[int]):
    """Column arrays and null masks for pyogrio from a chunk of rows, converted by numpy (not value by value):
    numbers go through float arrays where None becomes NaN; dates and times arrive as epoch numbers."""
    data, masks = [], []
    columns = list(zip(*rows, strict=True)) if rows else [() for _name in names]
    for index in range(start, len(names)):
        values = columns[index]
        name = names[index]
        kind = "epoch_ms" if name.endswith(EPOCH_MS) else "epoch_days" if name.endswith(EPOCH_DAYS) else \
            OID_KINDS.get(oids[index], "text")
        mask = None
        if kind in ("int", "float", "epoch_ms", "epoch_days"):
            numbers = np.array(values, dtype=np.float64)
            missing = np.isnan(numbers)
            if kind == "float":
                array = numbers
            elif kind == "int":
                array = np.where(missing, 0, numbers).astype(np.int64)
                mask = missing if missing.any() else None
            else:
                unit = "ms" if kind == "epoch_ms" else "D"
                array = np.where(missing, 0, numbers).astype(np.int64).astype(f"datetime64[{unit}]")
                array[missing] = np.datetime64("NaT")
        elif kind == "bool":
            missing = np.array([value is None for value in values], dtype=bool)
            array = np.array([bool(value) for value in values], dtype=bool)
            mask = missing if missing.any() else None
        elif kind == "date":
            array = np.array([np.datetime64("NaT") if value is None else np.datetime64(value, "D")
                              for value in values], dtype="datetime64[D]")
        elif kind == "datetime":
            array = np.array([np.datetime64("NaT") if value is None else np.datetime64(
                _local(value).replace(tzinfo=None), "ms") for value in values], dtype="datetime64[ms]")
        else:
            array = np.array(values, dtype=object)
            if array.dtype != object or array.ndim != 1:
                array = np.array([None if value is None else str(value) for value in values], dtype=object)
        data.append(array)
        masks.append(mask)
    return data, masks


def _write_gdal(spec: LayerSpec, area: ExportArea, path: Path, export_format: ExportFormat, *, total: int,
                progress) -> None:
    short = export_format.code == "shp"
    written = 0
    for names, oids, rows in export_chunks(spec, area):
        start = 1 if spec.geometry else 0
        geometry = np.array([bytes(row[0]) if row[0] is not None else None for row in rows], dtype=object) \
            if spec.geometry else None
        data, masks = _arrays(rows, start, names, oids)
        fields = [name.removesuffix(EPOCH_MS).removesuffix(EPOCH_DAYS) for name in names[start:]]
        if short:
            fields = [(spec.field(name).shp_name or name) if spec.field(name) else name for name in fields]
        pyogrio.raw.write(
            str(path), geometry, data, fields, field_mask=masks, layer=spec.name, driver=export_format.driver,
            geometry_type=spec.geometry_type if spec.geometry else None, crs="EPSG:4326" if spec.geometry else None,
            encoding="UTF-8", append=written > 0,
        )
        written += len(rows)
        if progress:
            progress(written, total, _("Writing %(layer)s") % {"layer": spec.title})
    if written == 0:
        # an empty layer is still a valid file with the layer's columns
        fields = [f.name for f in spec.fields if not (f.lookup and not f.lookup.many and not f.export_sql)]
        if short:
            fields = [(spec.field(name).shp_name or name) for name in fields]
        pyogrio.raw.write(str(path), np.array([], dtype=object) if spec.geometry else None,
                          [np.array([], dtype=object) for _name in fields], fields, layer=spec.name,
                          driver=export_format.driver, geometry_type=spec.geometry_type if spec.geometry else None,
                          crs="EPSG:4326" if spec.geometry else None, encoding="UTF-8")


def _write_gpkg_dictionary(spec: LayerSpec, path: Path) -> None:
    rows = data_dictionary(spec)
    names = ["column", "shapefile_name", "title", "type", "required", "allowed", "notes"]
    data = [np.array([getattr(row, attr) for row in rows], dtype=object)
            for attr in ("name", "shp_name", "title", "type", "required", "allowed", "notes")]
    pyogrio.raw.write(str(path), None, data, names, layer="data_dictionary", driver="GPKG", encoding="UTF-8",
                      append=True)


def dictionary_csv(spec: LayerSpec) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["column", "shapefile_name", "title", "type", "required", "allowed", "notes"])
    for row in data_dictionary(spec):
        writer.writerow([cell_safe(value) for value in (row.name, row.shp_name, row.title, row.type, row.required,
                                                        row.allowed, row.notes)])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return _local(value).isoformat()
    return cell_safe(str(value)) if isinstance(value, str) else value


def csv_lines(spec: LayerSpec, area: ExportArea) -> Iterator[str]:
    """The CSV export as text pieces (for a streaming response): our column names, geometry as WKT last."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    _sql, _params, columns = export_sql(spec, area)
    writer.writerow(columns + (["wkt"] if spec.geometry else []))
    yield buffer.getvalue()
    for _names, _oids, rows in export_chunks(spec, area, geometry_as="wkt"):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            values = [_csv_value(value) for value in row]
            if spec.geometry:
                values = values[1:] + [row[0] or ""]
            writer.writerow(values)
        yield buffer.getvalue()


def _write_xlsx(spec: LayerSpec, area: ExportArea, path: Path, *, total: int, progress) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(spec.title)[:31])
    _sql, _params, columns = export_sql(spec, area)
    bold = Font(bold=True)
    header = []
    for name in columns + (["wkt"] if spec.geometry else []):
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    written = 0
    for _names, _oids, rows in export_chunks(spec, area, geometry_as="wkt"):
        for row in rows:
            values = list(row[1:]) if spec.geometry else list(row)
            if spec.geometry:
                wkt = row[0] or ""
                values.append(wkt if len(wkt) <= EXCEL_MAX_CELL else _("(too large for Excel: use GeoPackage)"))
            sheet.append([_xlsx_value(value) for value in values])
        written += len(rows)
        if progress:
            progress(written, total, _("Writing %(layer)s") % {"layer": spec.title})
    dictionary = workbook.create_sheet("data_dictionary")
    dictionary.append([WriteOnlyCell(dictionary, value=name) for name in (
        "column", "shapefile_name", "title", "type", "required", "allowed", "notes")])
    for entry in data_dictionary(spec):
        dictionary.append([cell_safe(value) for value in (entry.name, entry.shp_name, entry.title, entry.type,
                                                          entry.required, entry.allowed, entry.notes)])
    workbook.save(path)


def _xlsx_value(value):
    if isinstance(value, datetime.datetime):  # Excel has no time zones: the municipality's wall-clock time
        return _local(value).replace(tzinfo=None)
    if isinstance(value, str):
        return cell_safe(value[:EXCEL_MAX_CELL])
    return float(value) if hasattr(value, "as_tuple") else value


# --- where exports go -------------------------------------------------------------------------------------

def export_folder(job_id) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "dataio" / "exports" / connection.schema_name / str(job_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def export_validate(*, spec: LayerSpec | None, fmt: str) -> None:
    if spec is None:
        raise ValidationError(_("Choose a layer."), code="unknown_layer")
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(_("Unknown format “%(format)s”.") % {"format": fmt}, code="unknown_format")


# --- exports as jobs --------------------------------------------------------------------------------------

EXPORT_INLINE_MAX = 20_000  # larger exports (other than CSV, which streams) run as a job


def export_start(*, spec: LayerSpec, fmt: str, area: ExportArea, by):
    """Queue a large export as a job; the job page offers the file when it is written."""
    from imis.tenant_apps.jobs.services import job_create, job_enqueue

    from .tasks import run_export

    export_validate(spec=spec, fmt=fmt)
    where = f" ({_('ward')} {area.ward})" if area.ward is not None else (f" ({_('drawn area')})"
                                                                          if area.polygon is not None else "")
    job = job_create(kind="dataio.export", by=by,
                     title=f"{_('Export')} {spec.title}{where} → {EXPORT_FORMATS[fmt].label}",
                     params={"layer": spec.name, "format": fmt, "ward": area.ward,
                             "polygon": area.polygon.geojson if area.polygon is not None else ""})
    return job_enqueue(job=job, task=run_export)


def export_run(*, job_id) -> str:
    """The export job: write the file under MEDIA_ROOT and hand it to the job page."""
    from imis.tenant_apps.jobs.services import job_fail, job_progress, job_start, job_succeed

    from .layers import layer_spec_for

    job = job_start(job_id=job_id)
    params = job.params
    try:
        spec = layer_spec_for(current_municipality(), params["layer"])
        export_validate(spec=spec, fmt=params["format"])
        area = export_area(ward=params.get("ward"), polygon_geojson=params.get("polygon") or "")
        path = export_write(spec=spec, fmt=params["format"], area=area, folder=export_folder(job_id),
                            progress=lambda done, total, message: job_progress(job_id=job_id, done=done,
                                                                               total=total, message=message))
    except Exception as error:
        job_fail(job_id=job_id, error=str(error))
        raise
    relative = str(path.relative_to(settings.MEDIA_ROOT))
    job_succeed(job_id=job_id, result={"file": path.name, "bytes": path.stat().st_size}, result_file=relative)
    return relative
