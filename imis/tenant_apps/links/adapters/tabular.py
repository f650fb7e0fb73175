"""Reading a dropped or fetched table: CSV with the csv module, GeoJSON with GDAL (pyogrio), column names
normalised (lower case, spaces to underscores) and known aliases mapped to one name."""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyogrio.errors
import pyogrio.raw
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.utils.translation import gettext as _

from imis.tenant_apps.dataio.reading import crs_to_srid

from ..errors import LinkError

MAX_ROWS = 200_000


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[int, dict, GEOSGeometry | None]]  # (row number as the user counts it, values, geometry)
    crs: str | None = None
    has_geometry: bool = False


@dataclass
class Problems:
    items: list[dict] = field(default_factory=list)
    rows: set[int] = field(default_factory=set)

    def add(self, row: int, column: str, value, reason: str) -> None:
        self.items.append({"row": row, "field": column, "value": "" if value is None else str(value)[:100],
                           "reason": str(reason)})
        self.rows.add(row)


def normalise(name: str) -> str:
    """"E. coli (CFU/100 ml)" -> "e_coli_cfu_100_ml"."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def apply_aliases(names: list[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{column in the file: our name} for the columns we know (the first alias present wins)."""
    mapping = {}
    for ours, candidates in aliases.items():
        for candidate in (ours, *candidates):
            if candidate in names and candidate not in mapping:
                mapping[candidate] = ours
                break
    return mapping


def _is_geojson(path: Path, original_name: str) -> bool:
    if original_name.lower().endswith((".geojson", ".json")):
        return True
    with open(path, "rb") as handle:
        return handle.read(64).lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"{")


def table_read(path: Path, *, original_name: str = "") -> Table:
    """The rows of a CSV or GeoJSON file. A GeoJSON in a CRS other than WGS 84 is refused."""
    if _is_geojson(path, original_name):
        return _geojson_read(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LinkError(_("The file is not UTF-8 text; save it as CSV UTF-8."), code="not_utf8") from error
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration as error:
        raise LinkError(_("The file is empty."), code="empty") from error
    columns = [normalise(name) for name in header]
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        rows.append((number, dict(zip(columns, (value.strip() for value in values), strict=False)), None))
        if len(rows) > MAX_ROWS:
            raise LinkError(_("The file has more than %(max)s rows.") % {"max": MAX_ROWS}, code="too_many_rows")
    return Table(columns=columns, rows=rows)


def _geojson_read(path: Path) -> Table:
    try:
        meta, _fids, geometries, fields = pyogrio.raw.read(str(path))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as error:
        raise LinkError(_("The file could not be read as GeoJSON: %(error)s") % {"error": error},
                        code="unreadable") from error
    crs = meta.get("crs")
    srid = crs_to_srid(crs) if crs else 4326
    if srid != 4326:
        raise LinkError(_("The file's coordinates are in %(crs)s; give them in WGS 84 longitude/latitude "
                          "(EPSG:4326), as GeoJSON requires.") % {"crs": crs}, code="wrong_crs")
    columns = [normalise(name) for name in meta["fields"]]
    rows = []
    for index, values in enumerate(zip(*fields, strict=True) if len(columns) else [()] * len(geometries)):
        geometry = None
        if geometries[index] is not None:
            try:
                geometry = GEOSGeometry(memoryview(geometries[index]), srid=4326)
            except (GEOSException, ValueError):
                geometry = None
        rows.append((index + 1, {name: "" if value is None else str(value).strip()
                                 for name, value in zip(columns, values, strict=True)}, geometry))
    if len(rows) > MAX_ROWS:
        raise LinkError(_("The file has more than %(max)s rows.") % {"max": MAX_ROWS}, code="too_many_rows")
    return Table(columns=columns, rows=rows, crs=crs, has_geometry=True)


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


def parse_date(text: str) -> datetime.date | None:
    text = (text or "").strip()[:10] if "T" in (text or "") else (text or "").strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(str(text).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None
