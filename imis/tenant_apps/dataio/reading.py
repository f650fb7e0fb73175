"""Opening uploaded GIS files safely, and reading them with GDAL (pyogrio).

The content decides the format, never the file name: a GeoPackage is an SQLite file with the GPKG application id
and its full length, a zip is opened only after every member is checked (no absolute or `../` paths, no links,
bounded size and compression ratio, extracted with a byte counter because headers can lie), text must be UTF-8
(UTF-16 with or without a byte-order mark is converted; anything else is refused with a clear message).
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pyogrio
import pyogrio.errors
import pyogrio.raw
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _

MB = 1024 * 1024
SAMPLE_ROWS = 5
SNIFF_BYTES = 64 * 1024
ZIP_MAX_MEMBERS = 500
ZIP_MAX_RATIO = 250  # a real DBF full of padding compresses well, a bomb compresses ~1000:1
ZIP_RATIO_FROM_BYTES = 1 * MB  # small members may compress as they like
SWAP_DISTANCE_DEG = 1.0  # ~110 km: farther than this from the municipality's centre is "elsewhere"
TYPE_COUNT_MAX_FEATURES = 500_000

WKB_TYPES = {1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon",
             7: "GeometryCollection"}
FORMAT_NAMES = {"gpkg": "GeoPackage", "shp": "Shapefile (zip)", "geojson": "GeoJSON", "kml": "KML", "csv": "CSV",
                "zip": "zip"}
EXTENSION_FORMATS = {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".kml": "kml", ".kmz": "zip",
                     ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".zip": "zip", ".shp": "shp"}
CSV_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "wkt_geom", "shape")
CSV_X_NAMES = ("longitude", "lon", "long", "lng", "x", "easting", "gps_longitude")
CSV_Y_NAMES = ("latitude", "lat", "y", "northing", "gps_latitude")


class SourceError(Exception):
    """The file cannot be read as it is: a clear message for the user, a code for tests and APIs."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def max_upload_bytes() -> int:
    return int(getattr(settings, "DATAIO_MAX_UPLOAD_MB", 1024)) * MB


def max_unzipped_bytes() -> int:
    return int(getattr(settings, "DATAIO_MAX_UNZIPPED_MB", 4096)) * MB


@dataclass
class SourceLayer:
    name: str
    features: int
    geometry_type: str | None  # as GDAL declares it; None: no geometry
    geometry_types: dict[str, int] = field(default_factory=dict)  # counted from the features
    crs: str | None = None  # as the file states it
    srid: int | None = None  # identified EPSG code, None when unknown or missing
    columns: list[str] = field(default_factory=list)
    column_types: list[str] = field(default_factory=list)
    sample: list[dict] = field(default_factory=list)
    bounds: list[float] | None = None  # in the file's CRS
    csv_geometry: dict = field(default_factory=dict)  # CSV: {"wkt": col} or {"x": col, "y": col}
    notes: list[str] = field(default_factory=list)

    @property
    def is_mixed(self) -> bool:
        return len([t for t in self.geometry_types if t]) > 1


@dataclass
class Source:
    path: str  # what GDAL opens
    format: str  # gpkg | shp | geojson | kml | csv
    layers: list[SourceLayer]
    encoding: str = ""
    notes: list[str] = field(default_factory=list)

    def layer(self, name: str | None) -> SourceLayer:
        if name is None:
            return self.layers[0]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise SourceError(_("The file has no layer “%(name)s”.") % {"name": name}, code="no_such_layer")

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Source:
        layers = [SourceLayer(**layer) for layer in data.get("layers", [])]
        return cls(**{**data, "layers": layers})


# --- sniffing ---------------------------------------------------------------------------------------------

def sniff(path: Path) -> str:
    """The format from the bytes: gpkg | zip | geojson | kml | csv | shp_bare | sqlite | unknown."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"SQLite format 3\x00"):
        application_id = head[68:72] if len(head) >= 72 else b""
        return "gpkg" if application_id in (b"GPKG", b"GP10", b"GP11") else "sqlite"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head[:4] == b"\x00\x00\x27\x0a":
        return "shp_bare"
    text = _head_text(head)
    if text is None:
        return "unknown"
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return "geojson"
    if stripped.startswith("<"):
        return "kml" if "<kml" in stripped[:4096].lower() else "unknown"
    return "csv"


def _head_text(head: bytes) -> str | None:
    """The first bytes as text if they are text in an encoding we read (UTF-8, UTF-16, UTF-32)."""
    encoding = _bom_encoding(head) or _utf16_guess(head)
    if encoding:
        try:
            return head.decode(encoding, errors="ignore")
        except LookupError:
            return None
    if b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="replace")
    # Binary files (images, executables) are full of control characters; text in an older 8-bit encoding is not
    # (its high bytes only fail to decode, which the encoding check reports later, more helpfully).
    sample = text[:4096]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t\f")
    return None if control > len(sample) * 0.02 else text


def _bom_encoding(head: bytes) -> str | None:
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                      (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                      (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return name
    return None


def _utf16_guess(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark: ASCII letters alternate with zero bytes."""
    sample = head[:2048]
    if len(sample) < 8:
        return None
    even_zero = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_zero = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_zero > 0.3 and even_zero < 0.05:
        return "utf-16-le"
    if even_zero > 0.3 and odd_zero < 0.05:
        return "utf-16-be"
    return None


def _format_label(kind: str) -> str:
    return {"sqlite": _("an SQLite database that is not a GeoPackage"), "shp_bare": _("a bare .shp file"),
            "unknown": _("not a GIS format we read")}.get(kind, FORMAT_NAMES.get(kind, kind))


# --- GeoPackage -------------------------------------------------------------------------------------------

def _gpkg_check_complete(path: Path) -> None:
    """SQLite writes the database size (pages x page size) into its header: a shorter file is truncated."""
    with open(path, "rb") as handle:
        header = handle.read(100)
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack(">I", header[28:32])[0]
    size = path.stat().st_size
    if size % page_size or (pages and size < pages * page_size):
        raise SourceError(
            _("The GeoPackage is incomplete: it should hold %(expected)s bytes but has %(actual)s. The upload or "
              "copy was probably cut short; export it again.") % {"expected": f"{pages * page_size:,}",
                                                                  "actual": f"{size:,}"},
            code="truncated",
        )


# --- zip --------------------------------------------------------------------------------------------------

def _zip_member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\\" in name:
        return _("“%(name)s” is an absolute path") % {"name": name}
    if ".." in PurePosixPath(name).parts:
        return _("“%(name)s” points outside the zip (../)") % {"name": name}
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        return _("“%(name)s” is a link") % {"name": name}
    return None


def zip_extract_safely(path: Path, target: Path) -> list[Path]:
    """Check every member, then extract counting real bytes; returns the extracted files."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise SourceError(_("The zip file is damaged: %(error)s") % {"error": error}, code="bad_zip")
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > ZIP_MAX_MEMBERS:
            raise SourceError(_("The zip holds %(count)s files; we read at most %(max)s.")
                              % {"count": len(members), "max": ZIP_MAX_MEMBERS}, code="zip_too_many_files")
        for info in members:
            problem = _zip_member_problem(info)
            if problem:
                raise SourceError(_("The zip is refused: %(problem)s.") % {"problem": problem}, code="zip_unsafe_path")
            if info.flag_bits & 0x1:
                raise SourceError(_("The zip is password-protected; upload it without a password."),
                                  code="zip_encrypted")
        limit = max_unzipped_bytes()
        declared = sum(info.file_size for info in members)
        if declared > limit:
            raise SourceError(_("The zip would unpack to %(size)s MB; the limit is %(limit)s MB.")
                              % {"size": declared // MB, "limit": limit // MB}, code="zip_bomb")
        for info in members:
            if info.file_size > ZIP_RATIO_FROM_BYTES and info.file_size > ZIP_MAX_RATIO * max(1, info.compress_size):
                raise SourceError(
                    _("The zip is refused: “%(name)s” would grow %(ratio)s times when unpacked, which is what "
                      "decompression bombs do, not GIS data.")
                    % {"name": info.filename, "ratio": info.file_size // max(1, info.compress_size)},
                    code="zip_bomb",
                )
        target.mkdir(parents=True, exist_ok=True)
        written_total = 0
        extracted = []
        root = target.resolve()
        for info in members:
            destination = (target / info.filename).resolve()
            if root not in destination.parents:
                raise SourceError(_("The zip is refused: “%(name)s” points outside it.") % {"name": info.filename},
                                  code="zip_unsafe_path")
            destination.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with archive.open(info) as source, open(destination, "wb") as sink:
                    while chunk := source.read(MB):
                        written += len(chunk)
                        written_total += len(chunk)
                        if written > info.file_size or written_total > limit:
                            raise SourceError(_("The zip is refused: “%(name)s” unpacks to more than it declares.")
                                              % {"name": info.filename}, code="zip_bomb")
                        sink.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
                raise SourceError(_("The zip is damaged: “%(name)s” cannot be unpacked (%(error)s).")
                                  % {"name": info.filename, "error": error}, code="bad_zip")
            extracted.append(destination)
    return extracted


def _zip_payload(files: list[Path], *, original_name: str) -> tuple[Path, str]:
    """The one dataset a zip carries: a shapefile (with its parts), or a single GeoPackage/GeoJSON/KML/CSV."""
    visible = [f for f in files if not f.name.startswith(".") and "__MACOSX" not in f.parts]
    shps = [f for f in visible if f.suffix.lower() == ".shp"]
    if shps:
        if len(shps) > 1:
            raise SourceError(_("The zip holds %(count)s shapefiles (%(names)s); upload one per zip.")
                              % {"count": len(shps), "names": ", ".join(sorted(f.name for f in shps))},
                              code="zip_several_datasets")
        shp = shps[0]
        parts = {f.suffix.lower(): f for f in visible if f.parent == shp.parent and f.stem == shp.stem}
        missing = [ext for ext in (".shx", ".dbf") if ext not in parts]
        if missing:
            raise SourceError(
                _("The shapefile %(name)s is incomplete: %(missing)s missing. A shapefile needs its .shp, .shx and "
                  ".dbf files (and .prj for its coordinate system) in the same zip.")
                % {"name": shp.name, "missing": ", ".join(shp.stem + ext for ext in missing)},
                code="shapefile_incomplete",
            )
        return shp, "shp"
    candidates = [f for f in visible if f.suffix.lower() in (".gpkg", ".geojson", ".json", ".kml", ".csv")]
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        raise SourceError(_("The zip %(name)s holds no shapefile, GeoPackage, GeoJSON, KML or CSV.")
                          % {"name": original_name}, code="zip_empty")
    raise SourceError(_("The zip holds several datasets (%(names)s); upload one at a time.")
                      % {"names": ", ".join(sorted(f.name for f in candidates))}, code="zip_several_datasets")


# --- text -------------------------------------------------------------------------------------------------

def _text_to_utf8(path: Path, *, suffix: str) -> tuple[Path, str]:
    """CSV/GeoJSON/KML text as a UTF-8 file: UTF-16/32 are converted; anything else not UTF-8 is refused."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    encoding = _bom_encoding(head) or _utf16_guess(head)
    if encoding and encoding != "utf-8-sig":
        converted = path.with_name(path.stem + ".utf8" + suffix)
        with open(path, encoding=encoding, newline="") as source, open(converted, "w", encoding="utf-8",
                                                                        newline="") as sink:
            try:
                while chunk := source.read(MB):
                    sink.write(chunk.lstrip("\ufeff"))
            except UnicodeDecodeError as error:
                raise SourceError(_("The file is not readable as %(encoding)s: %(error)s")
                                  % {"encoding": encoding.upper(), "error": error}, code="bad_encoding")
        return converted, encoding.upper().replace("-SIG", "")
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as handle:
        while chunk := handle.read(MB):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                before = chunk[: error.start]
                line += before.count(b"\n")
                raise SourceError(
                    _("The file is not UTF-8 text: line %(line)s has the byte 0x%(byte)02X, which UTF-8 does not "
                      "allow. It was probably saved in an older encoding (such as Windows-1252 or a Bijoy font "
                      "encoding). Save it again as “CSV UTF-8” (Excel) or “Unicode (UTF-8)” (LibreOffice) and upload "
                      "that file.") % {"line": line, "byte": chunk[error.start]},
                    code="bad_encoding",
                )
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise SourceError(_("The file ends in the middle of a character: it is not complete UTF-8 text."),
                              code="bad_encoding")
    if path.suffix.lower() != suffix:
        renamed = path.with_name(path.stem + suffix)
        os.replace(path, renamed)
        path = renamed
    return path, "UTF-8"


# --- opening ----------------------------------------------------------------------------------------------

def source_open(path: Path, *, original_name: str, workdir: Path | None = None, count_types: bool = True) -> Source:
    """Sniff, check and describe an uploaded file: its layers, counts, geometry types, CRS and first rows.

    Raises SourceError with a message a clerk understands for anything we refuse.
    """
    path = Path(path)
    workdir = Path(workdir or path.parent)
    size = path.stat().st_size
    if size == 0:
        raise SourceError(_("The file is empty."), code="empty_file")
    if size > max_upload_bytes():
        raise SourceError(_("The file has %(size)s MB; the limit is %(limit)s MB.")
                          % {"size": size // MB, "limit": max_upload_bytes() // MB}, code="too_large")
    kind = sniff(path)
    claimed = EXTENSION_FORMATS.get(Path(original_name).suffix.lower())
    if kind in ("unknown", "sqlite", "shp_bare") or (claimed and claimed != kind and not (
            claimed == "shp" and kind == "zip") and not (claimed == "csv" and kind == "csv")):
        if kind == "shp_bare":
            raise SourceError(_("A .shp file alone is not enough: zip it together with its .shx, .dbf and .prj "
                                "files and upload the zip."), code="shapefile_incomplete")
        if claimed:
            raise SourceError(
                _("“%(name)s” is named like a %(claimed)s file but its content is %(actual)s. Check that you picked "
                  "the right file, or export it again.")
                % {"name": original_name, "claimed": FORMAT_NAMES.get(claimed, claimed),
                   "actual": _format_label(kind)},
                code="wrong_format",
            )
        raise SourceError(_("“%(name)s” is %(actual)s. We read GeoPackage, zipped Shapefile, GeoJSON, KML and CSV.")
                          % {"name": original_name, "actual": _format_label(kind)}, code="wrong_format")
    notes = []
    encoding = ""
    fmt = kind
    dataset = path
    if kind == "zip":
        files = zip_extract_safely(path, workdir / "unzipped")
        dataset, fmt = _zip_payload(files, original_name=original_name)
        if not fmt:
            fmt = sniff(dataset)
            expected = EXTENSION_FORMATS.get(dataset.suffix.lower())
            if fmt != expected and not (expected == "csv" and fmt == "csv"):
                raise SourceError(_("“%(name)s” in the zip is named like a %(claimed)s file but its content is "
                                    "%(actual)s.") % {"name": dataset.name,
                                                      "claimed": FORMAT_NAMES.get(expected or "", expected),
                                                      "actual": _format_label(fmt)}, code="wrong_format")
    if fmt == "gpkg":
        _gpkg_check_complete(dataset)
    if fmt in ("csv", "geojson", "kml"):
        dataset, encoding = _text_to_utf8(dataset, suffix={"csv": ".csv", "geojson": ".geojson", "kml": ".kml"}[fmt])
        if encoding not in ("UTF-8",):
            notes.append(_("The file was read as %(encoding)s and converted to UTF-8.") % {"encoding": encoding})
    if fmt == "shp":
        encoding = _shapefile_encoding(Path(dataset))
    source = Source(path=str(dataset), format=fmt, layers=[], encoding=encoding, notes=notes)
    source.layers = [describe_layer(source, name, count_types=count_types) for name in _layer_names(source)]
    if not source.layers:
        raise SourceError(_("The file holds no layers."), code="no_layers")
    return source


def _shapefile_encoding(shp: Path) -> str:
    """GDAL reads .cpg; without one, a DBF whose text is valid UTF-8 (Bangla names) is read as UTF-8."""
    if any(shp.with_suffix(ext).exists() for ext in (".cpg", ".CPG")):
        return ""
    dbf = next((shp.with_suffix(ext) for ext in (".dbf", ".DBF") if shp.with_suffix(ext).exists()), None)
    if dbf is None:
        return ""
    data = dbf.read_bytes()
    if data.isascii():
        return ""
    try:
        data[32:].decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return "UTF-8"


def _gdal_open_error(source: Source, error: Exception) -> SourceError:
    label = FORMAT_NAMES.get(source.format, source.format)
    return SourceError(_("GDAL could not read this %(format)s (it may be damaged or cut short): %(error)s")
                       % {"format": label, "error": str(error).strip()[:500]}, code="unreadable")


def _layer_names(source: Source) -> list[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            listed = pyogrio.list_layers(source.path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as error:
        raise _gdal_open_error(source, error)
    return [str(row[0]) for row in listed]


def read_kwargs(source: Source, layer: SourceLayer | None = None, *, csv_geometry: dict | None = None) -> dict:
    """Open options for pyogrio: CSV text stays text; its geometry comes from the WKT or X/Y columns chosen."""
    kwargs: dict = {}
    if source.encoding and source.format == "shp":
        kwargs["encoding"] = source.encoding
    if source.format == "csv":
        kwargs["AUTODETECT_TYPE"] = "NO"
        geometry = csv_geometry if csv_geometry is not None else (layer.csv_geometry if layer else {})
        if geometry.get("wkt"):
            kwargs["GEOM_POSSIBLE_NAMES"] = geometry["wkt"]
            kwargs["KEEP_GEOM_COLUMNS"] = "NO"
        elif geometry.get("x") and geometry.get("y"):
            kwargs["X_POSSIBLE_NAMES"] = geometry["x"]
            kwargs["Y_POSSIBLE_NAMES"] = geometry["y"]
            kwargs["KEEP_GEOM_COLUMNS"] = "NO"
    return kwargs


def csv_geometry_guess(columns: list[str]) -> dict:
    lowered = {column.lower().strip(): column for column in columns}
    for name in CSV_WKT_NAMES:
        if name in lowered:
            return {"wkt": lowered[name]}
    x = next((lowered[name] for name in CSV_X_NAMES if name in lowered), None)
    y = next((lowered[name] for name in CSV_Y_NAMES if name in lowered), None)
    return {"x": x, "y": y} if x and y else {}


def describe_layer(source: Source, name: str, *, csv_geometry: dict | None = None,
                   count_types: bool = True) -> SourceLayer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            raw_columns = None
            if source.format == "csv":
                plain = pyogrio.read_info(source.path, layer=name, AUTODETECT_TYPE="NO")
                raw_columns = [str(c) for c in plain["fields"]]
                if csv_geometry is None:
                    csv_geometry = csv_geometry_guess(raw_columns)
            kwargs = read_kwargs(source, csv_geometry=csv_geometry or {})
            info = pyogrio.read_info(source.path, layer=name, force_feature_count=True, force_total_bounds=True,
                                     **kwargs)
            meta, _fids, geometry, data = pyogrio.raw.read(source.path, layer=name, max_features=SAMPLE_ROWS,
                                                           datetime_as_string=True, **kwargs)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
                OSError, RuntimeError) as error:
            raise _gdal_open_error(source, error)
    columns = [str(c) for c in info["fields"]]
    geometry_type = info["geometry_type"]
    layer = SourceLayer(
        name=name, features=int(info["features"]), geometry_type=geometry_type if geometry_type else None,
        crs=info["crs"], columns=columns, column_types=[str(t) for t in info["dtypes"]],
        bounds=[float(v) for v in info["total_bounds"]] if info.get("total_bounds") is not None
        and np.all(np.isfinite(info["total_bounds"])) else None,
        csv_geometry=csv_geometry or {},
    )
    if source.format == "csv":
        layer.columns = raw_columns
        layer.column_types = ["text"] * len(raw_columns)
    if source.format in ("kml",) and not layer.crs:
        layer.crs = "EPSG:4326"  # KML is WGS 84 by definition
    layer.srid = crs_to_srid(layer.crs)
    sample_columns = [str(c) for c in meta["fields"]]
    for index in range(len(data[0]) if data else len(geometry) if geometry is not None else 0):
        row = {column: _plain(values[index]) for column, values in zip(sample_columns, data, strict=True)}
        if geometry is not None:
            row["geometry"] = _wkb_type(geometry[index]) or ""
        layer.sample.append(row)
    if count_types and geometry_type and layer.features and layer.features <= TYPE_COUNT_MAX_FEATURES:
        layer.geometry_types = geometry_type_counts(source, name, kwargs)
    return layer


def _plain(value):
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.hex()
    text = value if isinstance(value, str | int | float | bool) else str(value)
    if isinstance(text, str) and len(text) > 200:
        return text[:200] + "…"
    return text


def _wkb_type(wkb: bytes | None) -> str | None:
    """The geometry type from a WKB header (ISO codes; Z/M variants fold into the 2D type)."""
    if not wkb or len(wkb) < 5:
        return None
    code = struct.unpack("<I" if wkb[0] == 1 else ">I", wkb[1:5])[0]
    code &= 0x0FFFFFFF  # EWKB flags
    return WKB_TYPES.get(code % 1000)


def geometry_type_counts(source: Source, name: str, kwargs: dict) -> dict[str, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _meta, _fids, geometry, _data = pyogrio.raw.read(source.path, layer=name, columns=[], **kwargs)
    counts: dict[str, int] = {}
    for wkb in geometry:
        kind = _wkb_type(wkb) or ""
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def crs_to_srid(crs: str | None) -> int | None:
    """An EPSG code for the file's CRS, when GDAL can identify one that PostGIS knows."""
    if not crs:
        return None
    match = re.fullmatch(r"(?:EPSG|epsg):(\d+)", crs.strip())
    srid = None
    if match:
        srid = int(match.group(1))
    elif crs.strip().upper() in ("OGC:CRS84", "CRS84"):
        srid = 4326
    else:
        from django.contrib.gis.gdal import GDALException, SpatialReference

        try:
            reference = SpatialReference(crs)
            reference.identify_epsg()
            srid = reference.srid
        except (GDALException, TypeError, ValueError):
            srid = None
    return srid if srid and srid_is_known(srid) else None


def srid_is_known(srid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [srid])
        return cursor.fetchone() is not None


def swapped_axes_check(layer: SourceLayer, *, srid: int, centre: tuple[float, float]) -> str | None:
    """'swapped' when the layer lies near the municipality only with x and y exchanged; 'far' when it lies far
    away either way; None when it lies where it should (or has no extent)."""
    if not layer.bounds:
        return None
    west, south, east, north = layer.bounds
    x, y = (west + east) / 2, (south + north) / 2
    lon, lat = _to_wgs84(x, y, srid)
    if lon is None:
        return None
    cx, cy = centre
    near = abs(lon - cx) <= SWAP_DISTANCE_DEG and abs(lat - cy) <= SWAP_DISTANCE_DEG
    if near:
        return None
    flipped_lon, flipped_lat = _to_wgs84(y, x, srid) if srid != 4326 else (lat, lon)
    if flipped_lon is not None and abs(flipped_lon - cx) <= SWAP_DISTANCE_DEG \
            and abs(flipped_lat - cy) <= SWAP_DISTANCE_DEG:
        return "swapped"
    return "far"


def layer_centre_wgs84(layer: SourceLayer, *, srid: int) -> tuple[float | None, float | None]:
    if not layer.bounds:
        return None, None
    west, south, east, north = layer.bounds
    return _to_wgs84((west + east) / 2, (south + north) / 2, srid)


def _to_wgs84(x: float, y: float, srid: int) -> tuple[float | None, float | None]:
    if srid == 4326:
        return x, y
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: a failure must not end the import
            cursor.execute("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), %s), 4326) p",
                           [x, y, srid])
            return cursor.fetchone()
    except DatabaseError:  # a point PROJ cannot transform just gives no answer
        return None, None
