"""Importing registry layers: map columns, check every row, write all or nothing, audit what changed.

The path of a file (design notes, measured at 156,052 buildings in tests/bench/test_dataio.py):
1. Everything from here runs in one transaction with a scratch schema of its own (imis.platform.scratch):
   unlogged working tables that PostgreSQL's parallel workers can read, seen by no other session, gone with the
   commit or the rollback. A failed import leaves the database exactly as it was.
2. GDAL (pyogrio) reads the geometries alone (WKB) and binary COPY stages them (dataio_shapes).
3. On a second thread, in the same session, the database checks them while Python goes on: one statement
   transforms every geometry to EPSG:4326, checks its type and repairs what ST_MakeValid can repair without
   changing the shape (one part, same area); one indexed join derives the wards (wards outside, so each boundary
   is prepared once); for buildings the registry decides every footprint's nearest road, set-based in the
   municipality's projected CRS (registry.services.road_links_decide_sql), so the rows land linked. When the
   table has buildings already, their keys are read with the geometry, and only new or moved footprints get a
   link decided (a building that the file repeats where it was keeps its link).
4. Meanwhile Python reads the mapped attribute columns and converts them with the registry models' own types,
   lengths, choices and ranges (converting.py), and finds keys the file repeats. The two sides use two cores.
5. The converted values are staged (dataio_stage); one statement joins them with the checked geometry, finds the
   existing record by key and resolves natural keys (holding ID, road code, BINs ...); further statements check
   references and the layer's own rules. Each problem becomes a reject (row, field, value, reason). Without "skip
   bad rows" any reject stops the import; with it, the bad rows are left out whole.
6. INSERT and UPDATE ... FROM the checked rows (a load that doubles a table builds its plain indexes and foreign
   keys once afterwards), the registry services derive emptying dates, and the audit: one entry per row updated
   or deleted (with before/after), and for rows created one entry per row, or above AUDIT_ROWS_MAX per layer ONE
   entry for the import (its id, file, counts and the id ranges it created).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import pyogrio.errors
import pyogrio.raw
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from kombu.exceptions import OperationalError

from imis.platform.scratch import scratch_schema
from imis.platform.versioning import data_version_bump_on_commit
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.registry.services import (
    MAX_FOOTPRINT_M2,
    MIN_FOOTPRINT_M2,
    containment_volume_m3,
    containments_refresh_emptying_due,
    current_municipality,
    road_links_decide_sql,
)
from imis.tenant_apps.registry.tasks import link_buildings_to_roads

from .converting import column_convert, shown
from .layers import LAYER_SPECS, Field, LayerSpec
from .models import DataImport, ImportMapping
from .reading import Source, SourceError, SourceLayer, read_kwargs, swapped_axes_check

log = logging.getLogger(__name__)

CHUNK_ROWS = 25_000
BULK_INDEX_MIN_ROWS = 20_000
REJECTS_SHOWN = 200
# Rows created by an import are audited one entry per row up to this many per layer; a bulk load above it writes
# ONE entry per layer (action "import", object id = the import's id) with the counts and the id ranges it created:
# a row's values at creation are then the import's file, kept with the import. Updates and deletions always get one
# entry per row, because their "before" exists nowhere else. (Per-row entries for the first load of Khulna's
# 156,052 buildings took ~30 s, longer than everything else in the import.)
AUDIT_ROWS_MAX = 5_000
# m² in a square degree at the equator on a sphere of the Earth's mean radius (a quick estimate; see _geometry_sql)
M2_PER_SQUARE_DEGREE = (math.pi / 180 * 6_371_008.771) ** 2
AREA_REPAIR_TOLERANCE = 0.01  # a repair may change the area by 1 % at most
SQL_TYPES = {"text": "text", "choice": "text", "holding_id": "text", "keys": "text", "int": "int8",
             "decimal": "numeric", "float": "float8", "bool": "bool", "date": "date", "datetime": "timestamptz"}
GEOMETRY_DIMENSION = {"Point": 1, "LineString": 2, "Polygon": 3, "MultiPolygon": 3}


class ImportRefused(Exception):
    """The import cannot go on; the message says why (nothing has been written)."""


class _Rollback(Exception):
    pass


class _Statements:
    """Runs (step, SQL, parameters) on this thread's database connection from a second thread, in the same
    session and transaction, while this thread does Python work that does not touch the database. Django's
    connection wrapper belongs to its thread, so the statements go to the driver's connection (psycopg's is
    thread-safe; this thread leaves it alone until join()). `seconds` holds each step's time, named
    "<step> (background)"."""

    def __init__(self, statements: list[tuple[str, str, list | dict]]):
        connection.ensure_connection()
        self.raw = connection.connection
        self.statements = statements
        self.seconds: dict[str, float] = {}
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="dataio-sql", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with psycopg.ClientCursor(self.raw) as cursor:
                for step, sql, params in self.statements:
                    started = time.perf_counter()
                    cursor.execute(sql, params)
                    elapsed = time.perf_counter() - started
                    key = f"{step} (background)"
                    self.seconds[key] = round(self.seconds.get(key, 0.0) + elapsed, 3)
                    log.debug("dataio %.3fs (background) %s", elapsed, " ".join(sql.split())[:100])
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread by join()
            self.error = error

    def join(self, *, raise_error: bool = True) -> None:
        self.thread.join()
        if self.error is not None and raise_error:
            with connection.wrap_database_errors:  # psycopg's errors as Django's, as the caller would see them
                raise self.error


@dataclass
class ImportOptions:
    mode: str = "upsert"  # upsert | replace
    skip_bad_rows: bool = False
    srid: int | None = None  # the CRS the user names (required when the file has none)
    swap_axes: bool = False
    dry_run: bool = False
    csv_geometry: dict | None = None

    @classmethod
    def from_dict(cls, data: dict) -> ImportOptions:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)


@dataclass
class Reject:
    row: int
    field: str
    value: str
    reason: str


@dataclass
class LayerReport:
    layer: str
    source_layer: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0  # rows
    repaired: int = 0
    holdings_created: int = 0
    refused: str = ""  # the whole layer cannot be imported, and why
    notes: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    road_links: dict[str, int] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted


@dataclass
class ImportReport:
    layers: list[LayerReport] = field(default_factory=list)
    landed: bool = False
    dry_run: bool = False
    message: str = ""
    batch: str = ""
    seconds: float = 0.0
    row_label: str = "row"

    @property
    def rejects(self) -> list[Reject]:
        return [reject for layer in self.layers for reject in layer.rejects]

    def total(self, name: str) -> int:
        return sum(getattr(layer, name) for layer in self.layers)

    def as_dict(self, *, rejects_shown: int = REJECTS_SHOWN) -> dict:
        data = asdict(self)
        for layer in data["layers"]:
            layer["rejects_total"] = len(layer["rejects"])
            layer["rejects"] = layer["rejects"][:rejects_shown]
        return data

    def text(self) -> str:
        """The report as plain text (management command, job error)."""
        lines = []
        for layer in self.layers:
            lines.append(f"{layer.layer} <- {layer.source_layer}: read {layer.read}, inserted {layer.inserted}, "
                         f"updated {layer.updated}, unchanged {layer.unchanged}, deleted {layer.deleted}, "
                         f"rejected {layer.rejected}, repaired {layer.repaired}"
                         + (f", holdings created {layer.holdings_created}" if layer.holdings_created else ""))
            if layer.refused:
                lines.append(f"  refused: {layer.refused}")
            lines += [f"  note: {note}" for note in layer.notes]
            for reject in layer.rejects[:50]:
                lines.append(f"  {self.row_label} {reject.row} {reject.field}: {reject.reason}"
                             + (f" [{reject.value}]" if reject.value else ""))
            if len(layer.rejects) > 50:
                lines.append(f"  ... and {len(layer.rejects) - 50} more (see the rejects file)")
        lines.append(self.message)
        return "\n".join(lines)


# --- mapping ----------------------------------------------------------------------------------------------

def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def mapping_suggest(*, spec: LayerSpec, columns: list[str]) -> dict[str, str]:
    """our field -> file column: the mapping saved for the layer where it still fits, then same names, then
    aliases and Shapefile short names."""
    saved = ImportMapping.objects.filter(layer=spec.name).values_list("mapping", flat=True).first() or {}
    by_norm = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    suggestion = {}
    for f in spec.importable:
        if saved.get(f.name) in columns:
            suggestion[f.name] = saved[f.name]
            continue
        candidates = [candidate for candidate in (f.name, f.shp_name, *f.aliases) if candidate]
        exact = next((candidate for candidate in candidates if candidate in columns), None)
        if exact:  # a KML has both its placemark "Name" and our "name": ours wins
            suggestion[f.name] = exact
            continue
        near = next((by_norm[_norm(candidate)] for candidate in candidates if _norm(candidate) in by_norm), None)
        if near:
            suggestion[f.name] = near
    return suggestion


def mapping_is_complete(*, spec: LayerSpec, columns: list[str]) -> bool:
    """Columns carrying our field names (as our exports do) import without a mapping step."""
    names = {_norm(c) for c in columns}
    return all(_norm(f.name) in names or (f.shp_name and _norm(f.shp_name) in names)
               for f in spec.importable if f.required)


def mapping_save(*, spec: LayerSpec, mapping: dict[str, str], by) -> ImportMapping:
    cleaned = {name: column for name, column in mapping.items() if column and spec.field(name)}
    saved, _created = ImportMapping.objects.update_or_create(
        layer=spec.name, defaults={"mapping": cleaned, "updated_by_id": getattr(by, "pk", None)})
    return saved


def target_layer_guess(source_layer_name: str, *, specs: list[LayerSpec]) -> str:
    """Which of our layers a package layer is, by its name ("Buildings", "building_footprints", "ward")."""
    name = _norm(source_layer_name)
    for spec in specs:
        singular = spec.name.rstrip("s")
        if name in (_norm(spec.name), _norm(singular), _norm(str(spec.title))):
            return spec.name
    for spec in specs:
        if _norm(spec.name.rstrip("s")) and name.startswith(_norm(spec.name.rstrip("s"))):
            return spec.name
    return ""


# --- the import -------------------------------------------------------------------------------------------

@dataclass
class LayerPlan:
    spec: LayerSpec
    source_layer: SourceLayer
    mapping: dict[str, str]


def import_layers(*, source: Source, plans: list[LayerPlan], options: ImportOptions, by,
                  progress: Callable[[int, int, str], None] | None = None, batch: str | None = None,
                  file_name: str = "") -> ImportReport:
    """Import one or several layers of a file, all or nothing, in the order that keeps references
    (wards, roads, holdings before buildings before containments). `batch` (the import's id when there is a
    DataImport record) marks every audit entry the import writes."""
    started = time.perf_counter()
    report = ImportReport(dry_run=options.dry_run, batch=str(batch or uuid.uuid4()),
                          row_label="line" if source.format == "csv" else "row")
    plans = sorted(plans, key=lambda plan: plan.spec.order)
    total = sum(plan.source_layer.features for plan in plans) or 1
    offset = 0
    every_link_decided = False  # a buildings layer (after any roads) decided the link of every building there is

    def layer_progress(done: int, message: str) -> None:
        if progress:
            progress(offset + done, total, message)

    try:
        with transaction.atomic(), scratch_schema("dataio"):
            with connection.cursor() as cursor:
                # PostGIS NOTICEs per invalid geometry would flood the client; the JIT compiles longer than these
                # statements run; sorts and hashes over the staged rows fit in memory.
                cursor.execute("SET LOCAL client_min_messages = warning; SET LOCAL jit = off; "
                               "SET LOCAL enable_memoize = off; SET LOCAL work_mem = '256MB'")
            for plan in plans:
                layer_report = LayerReport(layer=plan.spec.name, source_layer=plan.source_layer.name)
                report.layers.append(layer_report)
                layer_import = _LayerImport(source=source, plan=plan, options=options, by=by, report=layer_report,
                                            batch=report.batch, progress=layer_progress, file_name=file_name)
                layer_import.run()
                every_link_decided = every_link_decided or (layer_import.links and not layer_import.keyed_shapes)
                offset += plan.source_layer.features
                if layer_report.refused or (layer_report.rejected and not options.skip_bad_rows):
                    raise _Rollback
            if options.dry_run:
                raise _Rollback
            roads = next((layer for layer in report.layers if layer.layer == "roads" and layer.written), None)
            if roads is not None and not every_link_decided and Building.objects.exists():
                _road_links_refresh_on_commit(by=by, report=roads)
            data_version_bump_on_commit()
        report.landed = True
    except _Rollback:
        report.landed = False
    report.seconds = round(time.perf_counter() - started, 2)
    report.message = _report_message(report, options)
    return report


def _road_links_refresh_on_commit(*, by, report: LayerReport) -> None:
    """Roads were added, moved or removed (a removed road leaves its buildings without one) and some buildings'
    links were decided against the old roads: after the commit, the registry's bulk job decides every building's
    nearest road again, auditing each link it changes."""
    user_id = getattr(by, "pk", None)

    def send():
        try:
            link_buildings_to_roads.delay(user_id)
        except OperationalError as error:  # the broker is down: the import stands; the links wait for a re-run
            log.warning("road links after a roads import: could not queue the job: %s", error)

    transaction.on_commit(send)
    report.notes.append(_("The roads changed: every building's nearest road is being decided again in the "
                          "background."))


def indexes_drop_for_rebuild(table: str) -> list[str]:
    """Drop the table's plain indexes and its foreign keys (in the caller's transaction); returns the statements
    that build them again. Unique and primary-key indexes stay: they are constraints."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
            WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT i.indisunique
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""", [table])
        indexes = cursor.fetchall()
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'f'", [table])
        foreign_keys = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        for name, _definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return [definition for _name, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in foreign_keys]


def _report_message(report: ImportReport, options: ImportOptions) -> str:
    refused = [layer for layer in report.layers if layer.refused]
    rejected = report.total("rejected")
    count = {"count": f"{rejected:,}"}
    if refused:
        return _("Nothing was imported: %(reason)s") % {"reason": refused[0].refused}
    if report.dry_run:
        if rejected and not options.skip_bad_rows:
            return ngettext("Check finished: %(count)s row has problems. Fix it, or import with “skip bad rows”.",
                            "Check finished: %(count)s rows have problems. Fix them, or import with “skip bad "
                            "rows”.", rejected) % count
        if rejected:
            return ngettext("Check finished: the file can be imported without %(count)s bad row (nothing was "
                            "written).", "Check finished: the file can be imported without %(count)s bad rows "
                            "(nothing was written).", rejected) % count
        return _("Check finished: the file can be imported (nothing was written).")
    if not report.landed:
        return ngettext("Nothing was imported: %(count)s row has problems (see below). Fix it, or import with "
                        "“skip bad rows”.", "Nothing was imported: %(count)s rows have problems (see below). Fix "
                        "them, or import with “skip bad rows”.", rejected) % count
    if rejected:
        return ngettext("Imported; %(count)s bad row was left out (see below).",
                        "Imported; %(count)s bad rows were left out (see below).", rejected) % count
    return _("Imported.")


class _LayerImport:
    def __init__(self, *, source: Source, plan: LayerPlan, options: ImportOptions, by, report: LayerReport,
                 batch: str, progress: Callable[[int, str], None], file_name: str = ""):
        self.source = source
        self.file_name = file_name or Path(source.path).name
        self.spec = plan.spec
        self.layer = plan.source_layer
        self.mapping = {name: column for name, column in plan.mapping.items()
                        if column and self.spec.field(name) and self.spec.field(name).is_importable}
        self.options = options
        self.by = by
        self.report = report
        self.batch = batch
        self.progress = progress
        self.municipality = current_municipality()
        self.types = self.spec.types
        self.fields: list[Field] = [f for f in self.spec.importable if f.name in self.mapping]
        self.srid: int | None = None
        self.bad_rows: set[int] = set()
        self.derived_volume = False
        self.links = False  # buildings: road links decided for the checked footprints (road_link_decided)
        self.keyed_shapes = False  # dataio_shapes also holds each row's key: links only for new or moved rows
        self.converted_early: dict[str, tuple] = {}  # field -> column_convert() result, done by read_geometry
        self.changed_known = False  # dataio_before holds the existing records the file changes
        self._clock = time.perf_counter()

    # -- helpers --
    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.report.seconds[name] = round(now - self._clock, 3)
        self._clock = now

    def refuse(self, message: str) -> None:
        self.report.refused = message
        raise ImportRefused(message)

    def reject(self, row_no: int, field_name: str, value, reason: str) -> None:
        self.report.rejects.append(Reject(self.row_label(row_no), field_name, shown(value), reason))
        self.bad_rows.add(row_no)

    @property
    def row_word(self) -> str:
        return _("line") if self.source.format == "csv" else _("row")

    def row_label(self, row_no: int) -> int:
        """Feature number from 1; for CSV the line in the file (the header is line 1)."""
        return row_no + 1 if self.source.format == "csv" else row_no

    def execute(self, sql: str, params=None):
        """Every statement goes with a parameter list, so a literal % is always written %%."""
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            log.debug("dataio %.3fs %s", time.perf_counter() - started, " ".join(sql.split())[:100])
            return cursor.rowcount

    def fetch(self, sql: str, params=None) -> list[tuple]:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            rows = cursor.fetchall()
            log.debug("dataio %.3fs %s", time.perf_counter() - started, " ".join(sql.split())[:100])
            return rows

    # -- the steps --
    def run(self) -> None:
        try:
            self.check_file()
            self.stage()
            self.check_rows()
            self.report.rejected = len(self.bad_rows)
            if self.bad_rows and not self.options.skip_bad_rows:
                return
            self.write()
        except ImportRefused:
            return
        except SourceError as error:
            self.report.refused = error.message

    def check_file(self) -> None:
        spec, layer, options = self.spec, self.layer, self.options
        if options.mode not in ("upsert", "replace"):
            self.refuse(_("Unknown mode “%(mode)s”.") % {"mode": options.mode})
        if options.mode == "replace" and not spec.can_replace:
            self.refuse(_("%(layer)s cannot be replaced because other records refer to them; import them with "
                          "“add and update”.") % {"layer": spec.title})
        if layer.features == 0:
            self.refuse(_("The layer “%(name)s” holds no features: there is nothing to import.")
                        % {"name": layer.name})
        if not spec.key and options.mode == "upsert":
            self.report.notes.append(_("%(layer)s have no unique key, so every row is added as a new record. To "
                                       "load a new version of the layer, choose “replace”.") % {"layer": spec.title})
        if spec.key and spec.key not in self.mapping:
            self.refuse(_("Choose the column that holds %(field)s: it identifies each record.")
                        % {"field": spec.key})
        missing = [f.name for f in spec.importable if f.required and f.name not in self.mapping]
        if missing:
            self.refuse(_("Choose a column for the required field(s): %(names)s.") % {"names": ", ".join(missing)})
        if not spec.geometry:
            return
        if self.source.format == "csv":
            geometry = options.csv_geometry if options.csv_geometry is not None else layer.csv_geometry
            if not (geometry.get("wkt") or (geometry.get("x") and geometry.get("y"))):
                self.refuse(_("Choose the CSV column with the geometry as WKT, or the longitude and latitude "
                              "columns."))
        elif not layer.geometry_type:
            self.refuse(_("The layer “%(name)s” has no geometry; %(layer)s need one.")
                        % {"name": layer.name, "layer": spec.title})
        if options.srid:
            self.srid = int(options.srid)
        elif layer.srid:
            self.srid = layer.srid
        elif layer.crs:
            self.refuse(_("The file's coordinate system could not be identified (%(crs)s). Name its EPSG code.")
                        % {"crs": shown(layer.crs)})
        else:
            self.refuse(_("The file does not say which coordinate system its coordinates are in (a Shapefile "
                          "without its .prj, or a CSV). Name the coordinate system (EPSG code), e.g. 4326 for "
                          "longitude/latitude from a GPS."))
        if self.source.format == "csv" and options.csv_geometry is not None and options.csv_geometry != \
                layer.csv_geometry:
            from .reading import describe_layer

            self.layer = layer = describe_layer(self.source, layer.name, csv_geometry=options.csv_geometry)
        where = swapped_axes_check(layer, srid=self.srid, centre=(self.municipality.centroid_lon,
                                                                   self.municipality.centroid_lat))
        if where == "swapped" and not options.swap_axes:
            west, south, east, north = layer.bounds
            self.refuse(_("Latitude and longitude look swapped: the features lie around x = %(x).4f, y = %(y).4f, "
                          "but %(town)s is at longitude %(lon).4f, latitude %(lat).4f. Swapped, they fall on the "
                          "town. Tick “swap latitude and longitude” (or map the columns the other way round) and "
                          "import again.")
                        % {"x": (west + east) / 2, "y": (south + north) / 2, "town": self.municipality.name,
                           "lon": self.municipality.centroid_lon, "lat": self.municipality.centroid_lat})
        if where == "far":
            self.report.notes.append(_("The features lie far from %(town)s (more than 100 km from its centre). "
                                       "Check the coordinate system.") % {"town": self.municipality.name})

    def _read(self, *, columns: list[str], geometry: bool) -> tuple[dict, np.ndarray | None, list[np.ndarray]]:
        kwargs = read_kwargs(self.source, self.layer, csv_geometry=self.options.csv_geometry)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                meta, _fids, shapes, data = pyogrio.raw.read(
                    self.source.path, layer=self.layer.name, columns=columns, datetime_as_string=True,
                    read_geometry=geometry, **kwargs)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
                OSError, RuntimeError) as error:
            self.refuse(_("GDAL could not read the layer (the file may be damaged or cut short): %(error)s")
                        % {"error": str(error).strip()[:400]})
        return meta, shapes, data

    def _count(self, count: int) -> None:
        if self.report.read and count != self.report.read:  # the same file read twice: cannot differ
            self.refuse(_("The file changed while it was read."))
        self.report.read = count
        if count == 0:
            self.refuse(_("The layer “%(name)s” holds no features: there is nothing to import.")
                        % {"name": self.layer.name})

    def read_geometry(self) -> tuple[np.ndarray, list | None]:
        """The geometries (WKB) first: the database checks them while Python reads the attributes. When buildings
        arrive for a table that has some already, their keys come too (converted as convert() does; a bad key is
        reported there), so that road links are decided only for buildings that are new or have moved (when the
        roads change, import_layers has every building linked again after the commit)."""
        key_column = self.mapping.get(self.spec.key) if self.spec.name == "buildings" else None
        if key_column and not self.fetch(f"SELECT EXISTS (SELECT 1 FROM {self.spec.table})")[0][0]:
            key_column = None  # a first load: every building is new
        meta, shapes, data = self._read(columns=[key_column] if key_column else [], geometry=True)
        self._count(len(shapes))
        keys = None
        if key_column:
            if list(meta["fields"]) != [key_column]:
                self.refuse(_("The file has no column %(names)s.") % {"names": key_column})
            f = self.spec.field(self.spec.key)
            self.converted_early[f.name] = self._convert_column(f, data[0])
            keys = self.converted_early[f.name][0]
        return shapes, keys

    def read_attributes(self) -> dict[str, np.ndarray]:
        columns = sorted(set(self.mapping.values()))
        if not columns:
            return {}
        meta, _shapes, data = self._read(columns=columns, geometry=False)
        by_name = {str(name): values for name, values in zip(meta["fields"], data, strict=True)}
        missing = [column for column in columns if column not in by_name]
        if missing:
            self.refuse(_("The file has no column %(names)s.") % {"names": ", ".join(missing)})
        self._count(len(data[0]) if data else 0)
        return by_name

    def _convert_column(self, f: Field, values: np.ndarray) -> tuple:
        return column_convert(values, self.types[f.name], f, holding_pattern=self.municipality.holding_id_pattern,
                              tz=self.municipality.timezone or "Asia/Dhaka")

    def convert(self, columns: dict[str, np.ndarray]) -> dict[str, list]:
        converted: dict[str, list] = {}
        for f in self.fields:
            early = self.converted_early.pop(f.name, None)  # the key, converted once while the geometry was read
            values, errors = early or self._convert_column(f, columns[self.mapping[f.name]])
            converted[f.name] = values
            for index, (value, reason) in errors.items():
                self.reject(index + 1, f.name, value, reason)
        self._derive_volume(converted)
        if self.spec.key in converted:
            self._duplicates_reject(self.spec.key, converted[self.spec.key])
        return converted

    def _duplicates_reject(self, label: str, values: list) -> None:
        """A key that appears more than once in the file: every row that carries it is refused."""
        counts = Counter(value for value in values if value is not None)
        twice = {value for value, count in counts.items() if count > 1}
        if not twice:
            return
        first: dict = {}
        for index, value in enumerate(values):
            if value in twice:
                first.setdefault(value, index + 1)
                self.reject(index + 1, label, value, _("%(field)s %(value)s appears %(count)s times in the file "
                                                       "(first in %(row)s %(first)s)")
                            % {"field": label, "value": value, "count": counts[value], "row": self.row_word,
                               "first": self.row_label(first[value])})

    def _copy(self, table: str, names: list[str], types: list[str], columns: list[list], *, share: float) -> None:
        """Binary COPY of columns (row_no 1, 2, ... first) in chunks, with progress up to `share` of the read."""
        count = self.report.read
        with connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(['row_no', *names])}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", *types])
            for start in range(0, count, CHUNK_ROWS):
                stop = min(count, start + CHUNK_ROWS)
                for row in zip(range(start + 1, stop + 1), *(column[start:stop] for column in columns),
                               strict=True):
                    copy.write_row(row)
                self.progress(int(stop * share), _("Reading and checking rows"))
        # Row counts for the planner (hash joins, not nested loops); the geometry's statistics are not needed.
        self.execute(f"ANALYZE {table} (row_no)")

    def stage(self) -> None:
        """The file into the scratch schema: dataio_shapes (row_no, geometry) and dataio_stage (row_no, converted
        values). The geometry goes first, and its checks (dataio_geom), wards and road links run in the database
        on a second thread while this one reads and converts the attributes: the two sides use two cores."""
        self.execute("DROP TABLE IF EXISTS dataio_shapes, dataio_stage, dataio_rows, dataio_bad, dataio_before, "
                     "dataio_new, dataio_links, dataio_geom, dataio_wards")
        self.progress(0, _("Reading the file"))
        background = None
        if self.spec.geometry:
            shapes, keys = self.read_geometry()
            self.lap("read_geometry")
            self.keyed_shapes = keys is not None
            self.execute("CREATE UNLOGGED TABLE dataio_shapes (row_no integer NOT NULL, g geometry, key text)")
            # Binary COPY: the WKB goes as it is into the geometry column (PostGIS receives WKB as its binary form).
            self._copy("dataio_shapes", ["g", "key"] if self.keyed_shapes else ["g"],
                       ["bytea", "text"] if self.keyed_shapes else ["bytea"],
                       [shapes.tolist(), keys] if self.keyed_shapes else [shapes.tolist()], share=0.1)
            del shapes, keys
            self.lap("copy_geometry")
            background = _Statements(self._geometry_statements())
        failed = True
        try:
            columns = self.read_attributes()
            self.lap("read")
            converted = self.convert(columns)
            self.lap("convert")
            failed = False
        finally:
            if background is not None:
                background.join(raise_error=not failed)
        if background is not None:
            self.report.seconds.update(background.seconds)
            self.lap("geometry_wait")
            self.links = self.spec.name == "buildings"
        definitions = ", ".join(f"c_{f.name} {SQL_TYPES[self.types[f.name].kind]}" for f in self.fields)
        self.execute(f"CREATE UNLOGGED TABLE dataio_stage (row_no integer NOT NULL{', ' if definitions else ''}"
                     f"{definitions})")
        self._copy("dataio_stage", [f"c_{f.name}" for f in self.fields],
                   [SQL_TYPES[self.types[f.name].kind] for f in self.fields],
                   [converted[f.name] for f in self.fields], share=0.4)
        self.lap("copy")

    def _derive_volume(self, converted: dict[str, list]) -> None:
        """Containments: the volume follows from the dimensions, as containment_volume_m3 computes it."""
        if self.spec.name != "containments":
            return
        dims = ("length_m", "width_m", "diameter_m", "depth_m")
        if not any(name in converted for name in dims):
            return
        count = self.report.read
        column = {name: converted.get(name, [None] * count) for name in (*dims, "type")}
        given = converted.get("volume_m3", [None] * count)
        volumes = []
        for index in range(count):
            derived = containment_volume_m3(type=column["type"][index], length_m=column["length_m"][index],
                                            width_m=column["width_m"][index],
                                            diameter_m=column["diameter_m"][index],
                                            depth_m=column["depth_m"][index])
            volumes.append(derived if derived is not None else given[index])
        converted["volume_m3"] = volumes
        if "volume_m3" not in self.mapping:
            self.mapping["volume_m3"] = "(from dimensions)"
            self.fields.append(self.spec.field("volume_m3"))

    # -- checking --
    def _geometry_sql(self) -> tuple[str, str]:
        """Select list and joins that turn the staged WKB into checked EPSG:4326 geometry."""
        spec = self.spec
        expected = spec.geometry_type.upper()
        dimension = GEOMETRY_DIMENSION[spec.geometry_type]
        srid = int(self.srid)
        raw = f"ST_SetSRID(s.g, {srid})"
        if self.options.swap_axes:
            raw = f"ST_FlipCoordinates({raw})"
        raw = f"ST_Force2D({raw})"
        if srid != 4326:
            raw = f"dataio_transform({raw})"
        if expected == "MULTIPOLYGON":
            shaped = "CASE WHEN GeometryType(g1.g) = 'POLYGON' THEN ST_Multi(g1.g) ELSE g1.g END"
            single = "ST_Multi(g5.x)"
            one_part = "GeometryType(g5.x) IN ('POLYGON', 'MULTIPOLYGON')"
        else:
            shaped = ("CASE WHEN GeometryType(g1.g) LIKE 'MULTI%%' AND ST_NumGeometries(g1.g) = 1 "
                      "THEN ST_GeometryN(g1.g, 1) ELSE g1.g END")
            single = "CASE WHEN ST_NumGeometries(g5.x) = 1 THEN ST_GeometryN(g5.x, 1) END"
            one_part = "ST_NumGeometries(g5.x) = 1"
        area_check = ""
        if dimension == 3:
            area_check = (f" AND abs(ST_Area(g5.x) - abs(ST_Area(g2.g))) <= {AREA_REPAIR_TOLERANCE} * "
                          "greatest(ST_Area(g5.x), 1e-18)")
        building = spec.name == "buildings"
        plausible = ""
        if building:
            # The registry's test (footprint_area_m2: the area on the spheroid) costs 10x a planar area. Within
            # 0.001° (~100 m) each way, edges are too short for great circles to differ from straight lines by more
            # than ~0.02 m², and the planar area scaled to m² at the footprint's latitude is within 0.3 % of the
            # spheroid's; such a footprint lying 5 % inside the range cannot fail the exact test, so only the
            # others (big or long footprints, those near a bound) get the exact area.
            plausible = (f"WHEN NOT (ST_XMax(g7.b) - ST_XMin(g7.b) < 0.001 AND ST_YMax(g7.b) - ST_YMin(g7.b) < 0.001 "
                         f"AND abs(ST_YMax(g7.b)) < 80 AND "
                         f"ST_Area(g6.geom) * {M2_PER_SQUARE_DEGREE:.6e} * cos(radians((ST_YMin(g7.b) + "
                         f"ST_YMax(g7.b)) / 2)) BETWEEN {MIN_FOOTPRINT_M2 * 1.05} AND {MAX_FOOTPRINT_M2 * 0.95}) "
                         f"AND ST_Area(g6.geom::geography) NOT BETWEEN {MIN_FOOTPRINT_M2} AND "
                         f"{MAX_FOOTPRINT_M2} THEN 'area:' || round(ST_Area(g6.geom::geography))::text ")
        joins = f"""
            LEFT JOIN LATERAL (SELECT CASE WHEN s.g IS NULL THEN NULL ELSE {raw} END AS g OFFSET 0) g1 ON true
            LEFT JOIN LATERAL (SELECT {shaped} AS g OFFSET 0) g2 ON true
            LEFT JOIN LATERAL (SELECT GeometryType(g2.g) AS gtype, ST_IsEmpty(g2.g) AS empty,
                                      ST_IsValid(g2.g) AS valid OFFSET 0) g3 ON true
            LEFT JOIN LATERAL (SELECT CASE WHEN g3.gtype = '{expected}' AND NOT g3.empty AND NOT g3.valid
                                      THEN ST_CollectionExtract(ST_MakeValid(g2.g), {dimension}) END AS x
                               OFFSET 0) g5 ON true
            LEFT JOIN LATERAL (SELECT CASE WHEN g3.valid THEN g2.g
                                      WHEN g5.x IS NOT NULL AND NOT ST_IsEmpty(g5.x) AND {one_part}{area_check}
                                      THEN {single} END AS geom OFFSET 0) g6 ON true
            LEFT JOIN LATERAL (SELECT g6.geom::box2d AS b OFFSET 0) g7 ON true
        """
        problem = f"""CASE WHEN s.g IS NULL THEN 'missing'
                 WHEN g1.g IS NULL THEN 'transform'
                 WHEN g3.empty THEN 'empty'
                 WHEN g3.gtype <> '{expected}' THEN 'wrong_type:' || g3.gtype
                 WHEN g6.geom IS NULL THEN 'invalid:' || coalesce(ST_IsValidReason(g2.g), '')
                 WHEN ST_XMin(g7.b) < -180 OR ST_XMax(g7.b) > 180 OR ST_YMin(g7.b) < -90
                      OR ST_YMax(g7.b) > 90 THEN 'out_of_range'
                 {plausible}END"""
        select = (f"g6.geom AS geom, {problem} AS geom_problem, "
                  "(NOT g3.valid AND g6.geom IS NOT NULL) AS repaired")
        if spec.derives_ward:  # the point that decides the ward
            select += ", ST_PointOnSurface(g6.geom) AS p" if spec.geometry_type == "Polygon" else ", g6.geom AS p"
        return select, joins

    def _geometry_statements(self) -> list[tuple[str, str, list | dict]]:
        """(step, SQL, parameters) that check the staged geometry (dataio_geom), derive the wards (dataio_wards)
        and, for buildings, decide the road links of every checked footprint (road_link_decided). They read only
        dataio_shapes and the registry, so they run while the attributes are still being read."""
        spec = self.spec
        statements: list[tuple[str, str, list | dict]] = []
        if int(self.srid) != 4326:
            statements.append(("check_geometry", """
                CREATE OR REPLACE FUNCTION dataio_transform(g geometry) RETURNS geometry AS $$
                BEGIN RETURN ST_Transform(g, 4326);
                EXCEPTION WHEN OTHERS THEN RETURN NULL; END $$ LANGUAGE plpgsql IMMUTABLE""", []))
        geometry_select, geometry_joins = self._geometry_sql()
        statements.append(("check_geometry", f"CREATE UNLOGGED TABLE dataio_geom AS SELECT s.row_no, "
                                             f"{geometry_select} FROM dataio_shapes s {geometry_joins}", []))
        if spec.derives_ward:
            # The ward of each row in one indexed join, wards outside: each ward's boundary is then prepared once
            # for all the points it holds (a lookup per row took 4x as long at 156,052 rows).
            statements.append(("wards", "CREATE INDEX ON dataio_geom USING gist (p); ANALYZE dataio_geom (row_no)",
                               []))
            statements.append(("wards", "CREATE UNLOGGED TABLE dataio_wards AS SELECT DISTINCT ON (g.row_no) "
                                        "g.row_no, w.id FROM registry_ward w JOIN dataio_geom g "
                                        "ON ST_Intersects(w.boundary, g.p) ORDER BY g.row_no, w.number", []))
        if spec.name == "buildings":
            # The registry's rule, for every footprint that passed the checks and is new or has moved (a building
            # whose footprint the file repeats keeps its link): the rows written take their link from here, so they
            # land linked (a second UPDATE of every row would cost more).
            source = "SELECT g.row_no, g.geom FROM dataio_geom g WHERE g.geom IS NOT NULL AND g.geom_problem IS NULL"
            if self.keyed_shapes:
                key_column = spec.types[spec.key].column
                source += (f" AND NOT EXISTS (SELECT 1 FROM dataio_shapes sh JOIN {spec.table} bt ON "
                           f"bt.{key_column} = sh.key WHERE sh.row_no = g.row_no "
                           "AND ST_OrderingEquals(bt.footprint, g.geom))")
            sql, params = road_links_decide_sql(source_sql=source)
            statements.append(("road_links", sql, params))
        return statements

    def check_rows(self) -> None:
        spec = self.spec
        selects = ["s.row_no"] + [f"s.c_{f.name}" for f in self.fields]
        joins = []
        if spec.geometry:
            selects.append("dg.geom, dg.geom_problem, dg.repaired")
            joins.append("JOIN dataio_geom dg ON dg.row_no = s.row_no")
            if spec.derives_ward:
                selects.append("dw.id AS ward__id")
                joins.append("LEFT JOIN dataio_wards dw ON dw.row_no = s.row_no")
        for f in self.fields:
            if f.lookup and not f.lookup.many:
                column = f"s.c_{f.name}"
                if f.lookup.unique:
                    joins.append(f"LEFT JOIN {f.lookup.table} l_{f.name} ON l_{f.name}.{f.lookup.column} = {column}")
                    selects.append(f"l_{f.name}.id AS {f.name}__id, 1 AS {f.name}__n")
                else:
                    joins.append(f"LEFT JOIN LATERAL (SELECT min(id) AS id, count(*) AS n FROM {f.lookup.table} x "
                                 f"WHERE x.{f.lookup.column} = {column}) l_{f.name} ON true")
                    selects.append(f"l_{f.name}.id AS {f.name}__id, l_{f.name}.n AS {f.name}__n")
        if spec.key:
            key_column = spec.types[spec.key].column
            unique = spec.model._meta.get_field(spec.field(spec.key).model_field).unique
            if unique:
                joins.append(f"LEFT JOIN {spec.table} ex ON ex.{key_column} = s.c_{spec.key}")
                selects.append("ex.id AS target_id, 1 AS target_n")
            else:
                joins.append(f"LEFT JOIN LATERAL (SELECT min(id) AS id, count(*) AS n FROM {spec.table} x "
                             f"WHERE x.{key_column} = s.c_{spec.key}) ex ON true")
                selects.append("ex.id AS target_id, ex.n AS target_n")
        else:
            selects.append("NULL::bigint AS target_id, 0 AS target_n")
        selects.append("true AS ok")
        self.execute(f"CREATE UNLOGGED TABLE dataio_rows AS SELECT {', '.join(selects)} "
                     f"FROM dataio_stage s {' '.join(joins)}")
        self.lap("check_sql")
        self.progress(int(self.report.read * 0.5), _("Checking geometry and references"))
        if spec.geometry:
            self._check_geometry()
        if spec.key:
            label = spec.key
            for row_no, value, count in self.fetch(f"SELECT row_no, c_{label}, target_n FROM dataio_rows "
                                                   "WHERE target_n > 1"):
                self.reject(row_no, label, value, _("%(count)s existing records have %(field)s “%(value)s”; "
                                                    "it cannot say which one to update")
                            % {"count": count, "field": label, "value": value})
        for f in self.fields:
            if not f.lookup or f.lookup.many:
                continue
            if not f.lookup.create_missing:
                for row_no, value in self.fetch(f"SELECT row_no, c_{f.name} FROM dataio_rows WHERE c_{f.name} IS "
                                                f"NOT NULL AND {f.name}__id IS NULL"):
                    self.reject(row_no, f.name, value, _("no %(what)s “%(value)s” is registered")
                                % {"what": f.lookup.table.removeprefix("registry_"), "value": value})
            if not f.lookup.unique:
                for row_no, value, count in self.fetch(f"SELECT row_no, c_{f.name}, {f.name}__n FROM dataio_rows "
                                                       f"WHERE {f.name}__n > 1"):
                    self.reject(row_no, f.name, value, _("%(count)s records are called “%(value)s”")
                                % {"count": count, "value": value})
        check = getattr(self, f"check_{spec.name}", None)
        if check:
            self._mark_bad()
            check()
        self._mark_bad()
        self.lap("check_rules")

    def _mark_bad(self) -> None:
        if not self.bad_rows:
            return
        self.execute("CREATE UNLOGGED TABLE IF NOT EXISTS dataio_bad (row_no integer PRIMARY KEY)")
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE dataio_bad")
            with cursor.copy("COPY dataio_bad (row_no) FROM STDIN") as copy:
                copy.write("\n".join(str(n) for n in sorted(self.bad_rows)) + "\n")
            cursor.execute("UPDATE dataio_rows r SET ok = false FROM dataio_bad b WHERE b.row_no = r.row_no AND r.ok")

    def _check_geometry(self) -> None:
        what = self.spec.geometry_type
        for row_no, problem in self.fetch("SELECT row_no, geom_problem FROM dataio_rows WHERE geom_problem IS NOT "
                                          "NULL ORDER BY row_no"):
            code, _sep, detail = problem.partition(":")
            reason = {
                "missing": _("no geometry (or one GDAL could not read)"),
                "transform": _("the coordinates cannot be transformed from EPSG:%(srid)s") % {"srid": self.srid},
                "empty": _("the geometry is empty"),
                "wrong_type": _("a %(layer)s geometry must be a %(expected)s, not a %(actual)s")
                % {"layer": self.spec.name, "expected": what, "actual": detail.title().replace("string", "String")},
                "invalid": _("invalid geometry that cannot be repaired without changing its shape (%(reason)s)")
                % {"reason": detail},
                "out_of_range": _("the coordinates lie outside longitude -180..180 / latitude -90..90"),
                "area": _("a footprint of %(area)s m² is not plausible (%(low)s–%(high)s m²)")
                % {"area": detail, "low": MIN_FOOTPRINT_M2, "high": f"{MAX_FOOTPRINT_M2:,}"},
            }.get(code, problem)
            self.reject(row_no, "geometry", "", reason)
        self.report.repaired = self.fetch("SELECT count(*) FROM dataio_rows WHERE repaired AND geom_problem IS NULL"
                                          )[0][0]
        if self.report.repaired:
            self.report.notes.append(_("%(count)s invalid geometries were repaired (ST_MakeValid) without changing "
                                       "their shape.") % {"count": f"{self.report.repaired:,}"})

    def check_buildings(self) -> None:
        if "has_toilet" in self.mapping or "toilet_count" in self.mapping:
            has = "r.c_has_toilet" if "has_toilet" in self.mapping else "coalesce(t.has_toilet, true)"
            count = "r.c_toilet_count" if "toilet_count" in self.mapping else "coalesce(t.toilet_count, 0)"
            for row_no, value in self.fetch(f"SELECT r.row_no, {count} FROM dataio_rows r LEFT JOIN registry_building "
                                            f"t ON t.id = r.target_id WHERE r.ok AND {has} = false AND {count} > 0"):
                self.reject(row_no, "toilet_count", value,
                            _("a building without a toilet cannot have toilets counted"))
        if "holding_id" not in self.mapping:
            return
        # A holding's buildings lie in its ward unless someone confirmed otherwise (as the registry checks it).
        for row_no, holding, ward, building_ward in self.fetch("""
                SELECT r.row_no, h.holding_id, hw.number, bw.number FROM dataio_rows r
                JOIN registry_holding h ON h.id = r.holding_id__id
                JOIN registry_ward hw ON hw.id = h.ward_id LEFT JOIN registry_ward bw ON bw.id = r.ward__id
                WHERE r.ok AND r.ward__id IS NOT NULL AND r.ward__id <> h.ward_id AND NOT h.is_multi_ward_confirmed
                """):
            self.reject(row_no, "holding_id", holding,
                        _("holding %(holding)s lies in ward %(ward)s but this building lies in ward %(other)s; "
                          "confirm the holding as multi-ward first") % {"holding": holding, "ward": ward,
                                                                        "other": building_ward})
        for row_no, holding in self.fetch("""
                SELECT r.row_no, r.c_holding_id FROM dataio_rows r WHERE r.ok AND r.c_holding_id IS NOT NULL
                AND r.holding_id__id IS NULL AND NOT EXISTS (SELECT 1 FROM dataio_rows o WHERE o.ok
                    AND o.c_holding_id = r.c_holding_id AND o.ward__id IS NOT NULL)"""):
            self.reject(row_no, "holding_id", holding,
                        _("holding %(holding)s is new and its building lies outside every ward, so the holding "
                          "cannot be created") % {"holding": holding})
        self._mark_bad()
        for row_no, holding, ward, other in self.fetch("""
                WITH new AS (SELECT c_holding_id, mode() WITHIN GROUP (ORDER BY ward__id) AS ward_id
                             FROM dataio_rows WHERE ok AND holding_id__id IS NULL AND c_holding_id IS NOT NULL
                             AND ward__id IS NOT NULL GROUP BY c_holding_id)
                SELECT r.row_no, r.c_holding_id, hw.number, bw.number FROM dataio_rows r
                JOIN new n ON n.c_holding_id = r.c_holding_id JOIN registry_ward hw ON hw.id = n.ward_id
                JOIN registry_ward bw ON bw.id = r.ward__id
                WHERE r.ok AND r.ward__id <> n.ward_id"""):
            self.reject(row_no, "holding_id", holding,
                        _("the buildings of new holding %(holding)s lie in wards %(ward)s and %(other)s; a holding's "
                          "buildings lie in one ward") % {"holding": holding, "ward": ward, "other": other})

    def check_containments(self) -> None:
        if "buildings" not in self.mapping:
            return
        self.execute("""
            CREATE UNLOGGED TABLE dataio_links AS
            SELECT r.row_no, k.bin, b.id AS building_id,
                   ST_Distance(b.footprint::geography, r.geom::geography) AS metres
            FROM dataio_rows r CROSS JOIN LATERAL unnest(string_to_array(r.c_buildings, ';')) AS k(bin)
            LEFT JOIN registry_building b ON b.bin = k.bin WHERE r.ok""")
        for row_no, bin_ in self.fetch("SELECT row_no, bin FROM dataio_links WHERE building_id IS NULL "
                                       "ORDER BY row_no"):
            self.reject(row_no, "buildings", bin_, _("no building with BIN %(bin)s is registered") % {"bin": bin_})
        limit = self.municipality.containment_max_distance_m
        for row_no, bin_, metres in self.fetch("SELECT row_no, bin, metres FROM dataio_links WHERE metres > %s "
                                               "ORDER BY row_no", [limit]):
            self.reject(row_no, "buildings", bin_, _("the containment lies %(metres).0f m from building %(bin)s; "
                                                     "at most %(limit)s m") % {"metres": metres, "bin": bin_,
                                                                              "limit": limit})

    # -- writing --
    def write(self) -> None:
        spec = self.spec
        if spec.name == "buildings" and "holding_id" in self.mapping:
            self._holdings_create()
        if self.options.mode == "replace":
            self._delete_missing()
        values = self._column_values()
        if spec.key:
            self._changed_find(values)
        self.lap("prepare")
        self.progress(int(self.report.read * 0.6), _("Writing rows"))
        if spec.key:
            self._update(values)
        self._insert(values)
        self.progress(int(self.report.read * 0.8), _("Deriving wards and dates"))
        self._derive()
        self.lap("derive")
        self._audit()
        self.lap("audit")
        self.progress(self.report.read, _("Done"))

    @property
    def rows_sql(self) -> str:
        """The checked rows `r`, with their road link `rl` where one was decided."""
        if self.links:
            return "dataio_rows r LEFT JOIN road_link_decided rl ON rl.id = r.row_no"
        return "dataio_rows r"

    def _link_values(self, *, update: bool = False) -> dict[str, str]:
        """Columns derived with the row (not compared to tell whether a row changed). A row updated without a
        decided link (its footprint did not move) keeps its own."""
        if not self.links:
            return {}
        if update:
            return {column: f"CASE WHEN rl.id IS NULL THEN t.{column} ELSE rl.{source} END" for column, source in
                    (("nearest_road_id", "road_id"), ("road_distance_m", "metres"), ("road_link_status", "status"))}
        return {"nearest_road_id": "rl.road_id", "road_distance_m": "rl.metres",
                "road_link_status": "coalesce(rl.status, 'none')"}

    def _column_values(self) -> dict[str, str]:
        """Database column -> SQL expression over the checked rows `r`."""
        values = {}
        for f in self.fields:
            if f.lookup and f.lookup.many:
                continue
            ftype = self.types[f.name]
            values[ftype.column] = f"r.{f.name}__id" if f.lookup else f"r.c_{f.name}"
        if self.spec.geometry:
            values[self.spec.model._meta.get_field(self.spec.geometry).column] = "r.geom"
            if self.spec.derives_ward:
                values["ward_id"] = "r.ward__id"
        return values

    def _holdings_create(self) -> None:
        """Holdings a building file names but the registry lacks: created in the ward of their buildings."""
        rows = self.fetch("""
            INSERT INTO registry_holding (holding_id, ward_id, address, is_multi_ward_confirmed, created, updated)
            SELECT c_holding_id, mode() WITHIN GROUP (ORDER BY ward__id), '', false, now(), now()
            FROM dataio_rows WHERE ok AND holding_id__id IS NULL AND c_holding_id IS NOT NULL
                AND ward__id IS NOT NULL
            GROUP BY c_holding_id ORDER BY c_holding_id
            RETURNING id""")
        self.report.holdings_created = len(rows)
        if rows:
            self.execute("UPDATE dataio_rows r SET holding_id__id = h.id FROM registry_holding h "
                         "WHERE r.holding_id__id IS NULL AND h.holding_id = r.c_holding_id")
            self._audit_created(LAYER_SPECS["holdings"], "SELECT unnest(%s::bigint[])", [[row[0] for row in rows]],
                                count=len(rows))

    def _delete_missing(self) -> None:
        spec = self.spec
        if spec.key:
            key_column = spec.types[spec.key].column
            ids = [row[0] for row in self.fetch(
                f"SELECT t.id FROM {spec.table} t WHERE NOT EXISTS (SELECT 1 FROM dataio_stage s "
                f"WHERE s.c_{spec.key} = t.{key_column})")]
        else:
            ids = list(spec.model.objects.values_list("pk", flat=True))
        if not ids:
            return
        self._audit_rows(spec, action=AuditEntry.Action.DELETE, id_sql="SELECT unnest(%s::bigint[])",
                         params=[ids], before=True)
        try:
            with transaction.atomic():
                spec.model.objects.filter(pk__in=ids).delete()
        except (ProtectedError, RestrictedError) as error:
            blocked = sorted({str(obj) for obj in list(error.protected_objects if isinstance(error, ProtectedError)
                                                        else error.restricted_objects)[:5]})
            self.refuse(_("Replacing %(layer)s would delete %(count)s records that other records still refer to "
                          "(%(examples)s). Import with “add and update” instead.")
                        % {"layer": spec.title, "count": f"{len(ids):,}", "examples": ", ".join(blocked)})
        self.report.deleted = len(ids)

    def _changed_find(self, values: dict[str, str]) -> None:
        """dataio_before: the existing records the file changes, with their snapshot before the change."""
        spec = self.spec
        if not values:
            return
        columns = list(values)
        differs = (f"({', '.join(f't.{c}' for c in columns)}) IS DISTINCT FROM "
                   f"({', '.join(values[c] for c in columns)})")
        m2m = "buildings" in self.mapping and spec.name == "containments"
        changed_links = ""
        if m2m:
            changed_links = (" OR coalesce(r.c_buildings, '') IS DISTINCT FROM coalesce((SELECT string_agg(b.bin, ';' "
                             "ORDER BY b.bin) FROM registry_containment_buildings cb JOIN registry_building b "
                             "ON b.id = cb.building_id WHERE cb.containment_id = t.id), '')")
        self.execute(f"""
            CREATE UNLOGGED TABLE dataio_before AS
            SELECT t.id, {snapshot_sql(spec)} AS obj FROM {spec.table} t JOIN dataio_rows r ON r.target_id = t.id
            WHERE r.ok AND ({differs}{changed_links})""")
        self.execute("CREATE UNIQUE INDEX ON dataio_before (id)")
        self.changed_known = True

    def _update(self, values: dict[str, str]) -> None:
        spec = self.spec
        if not self.changed_known:
            self.report.unchanged = self.fetch("SELECT count(*) FROM dataio_rows WHERE ok AND target_id IS NOT NULL"
                                               )[0][0]
            return
        sets = [f"{column} = {expression}" for column, expression in
                {**values, **self._link_values(update=True)}.items()]
        if any(f.name == "updated" for f in spec.model._meta.concrete_fields):
            sets.append("updated = now()")
        self.execute(f"UPDATE {spec.table} t SET {', '.join(sets)} FROM {self.rows_sql} "
                     f"WHERE r.target_id = t.id AND r.ok AND t.id IN (SELECT id FROM dataio_before)")
        self.report.updated = self.fetch("SELECT count(*) FROM dataio_before")[0][0]
        matched = self.fetch("SELECT count(*) FROM dataio_rows WHERE ok AND target_id IS NOT NULL")[0][0]
        self.report.unchanged = matched - self.report.updated

    def _insert(self, values: dict[str, str]) -> None:
        spec = self.spec
        condition = "r.ok AND r.target_id IS NULL" if spec.key else "r.ok"
        values = {**values, **self._link_values()}
        columns, expressions, params = [], [], []
        for model_field in spec.model._meta.concrete_fields:
            if model_field.primary_key:
                continue
            column = model_field.column
            if column in values:
                columns.append(column)
                expressions.append(values[column])
            elif getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
                columns.append(column)
                expressions.append("now()")
            elif model_field.has_default():
                columns.append(column)
                expressions.append("%s")
                params.append(model_field.get_db_prep_save(model_field.get_default(), connection))
            elif not model_field.null and isinstance(model_field, models.CharField | models.TextField):
                columns.append(column)
                expressions.append("''")
        inserting = self.fetch(f"SELECT count(*) FROM dataio_rows r WHERE {condition}")[0][0]
        rebuild = self._indexes_drop_for_bulk(inserting)
        key = f"{spec.types[spec.key].column}::text" if spec.key else "NULL::text"
        self.execute("CREATE UNLOGGED TABLE dataio_new (id bigint, key text)")
        self.report.inserted = self.execute(f"""
            WITH inserted AS (
                INSERT INTO {spec.table} ({', '.join(columns)}) SELECT {', '.join(expressions)} FROM {self.rows_sql}
                WHERE {condition} ORDER BY r.row_no RETURNING id, {key} AS key)
            INSERT INTO dataio_new (id, key) SELECT id, key FROM inserted""", params)
        self.lap("write")
        if rebuild:
            for statement in rebuild:
                self.execute(statement)
            self.lap("index_rebuild")

    def _indexes_drop_for_bulk(self, inserting: int) -> list[str]:
        """A load that at least doubles a table (the first load of a city) is faster with the plain indexes and
        the foreign keys built once afterwards than maintained row by row, the way pg_restore does it: a foreign
        key added back checks every row in one join instead of one trigger per row and key. Unique and primary-key
        indexes stay (they are constraints). The drops hold the table's lock until the commit, which is why only
        such initial loads do this; a rollback restores everything as it was."""
        spec = self.spec
        if inserting < BULK_INDEX_MIN_ROWS:
            return []
        existing = self.fetch(f"SELECT count(*) FROM {spec.table}")[0][0]
        if inserting < existing:
            return []
        return indexes_drop_for_rebuild(spec.table)

    def _derive(self) -> None:
        spec = self.spec
        if spec.name == "containments":
            if "buildings" in self.mapping:
                self.execute("""DELETE FROM registry_containment_buildings WHERE containment_id IN
                                (SELECT target_id FROM dataio_rows WHERE ok AND target_id IS NOT NULL)""")
                self.execute("""INSERT INTO registry_containment_buildings (containment_id, building_id)
                                SELECT DISTINCT coalesce(n.id, r.target_id), l.building_id
                                FROM dataio_links l JOIN dataio_rows r ON r.row_no = l.row_no
                                LEFT JOIN dataio_new n ON n.key = r.c_code WHERE r.ok""")
            containments_refresh_emptying_due()
        if self.links:
            if self.keyed_shapes:
                decided = self.fetch("SELECT count(*) FROM road_link_decided")[0][0]
                self.report.notes.append(_("Road links were decided for %(count)s new or moved buildings; the "
                                           "others kept theirs.") % {"count": f"{decided:,}"})
            self.execute("DROP TABLE road_link_decided")
            self.report.road_links = dict.fromkeys(Building.RoadLink.values, 0)
            self.report.road_links.update(dict(self.fetch(
                "SELECT road_link_status, count(*) FROM registry_building GROUP BY road_link_status")))
            labels = dict(Building.RoadLink.choices)
            self.report.notes.append(_("Road links of all buildings now: %(summary)s.") % {"summary": ", ".join(
                f"{labels.get(key, key).lower()} {value:,}" for key, value in self.report.road_links.items())})

    # -- audit --
    def _audit(self) -> None:
        spec = self.spec
        self._audit_created(spec, "SELECT id FROM dataio_new", [], count=self.report.inserted)
        if spec.key and self.report.updated:
            self._audit_changed(spec)

    def _actor(self) -> tuple[int | None, str]:
        return getattr(self.by, "pk", None), getattr(self.by, "email", "") or "system"

    def _audit_created(self, spec: LayerSpec, id_sql: str, params: list, *, count: int) -> None:
        if count > AUDIT_ROWS_MAX:
            self._audit_bulk_created(spec, id_sql, params, count=count)
        else:
            self._audit_rows(spec, action=AuditEntry.Action.IMPORT, id_sql=id_sql, params=params, before=False)

    def _audit_bulk_created(self, spec: LayerSpec, id_sql: str, params: list, *, count: int) -> None:
        """ONE entry for the rows a bulk load created: who, when, which file and layer, how many, and the ranges of
        ids created (gaps and islands), so each row's creation is reachable through the import's id."""
        actor_id, actor_label = self._actor()
        label = _("Import of %(count)s %(what)s from %(file)s") % {
            "count": f"{count:,}", "what": spec.model._meta.verbose_name_plural, "file": self.file_name}
        self.execute(f"""
            INSERT INTO audit_auditentry (created, actor_id, actor_label, action, model, object_id, object_label,
                                          before, after, batch)
            SELECT now(), %s, %s, %s, %s, %s, left(%s, 200), NULL,
                   jsonb_build_object('import_id', %s::text, 'file', %s::text, 'layer', %s::text,
                                      'source_layer', %s::text, 'created', %s::int,
                                      'id_ranges', coalesce((SELECT jsonb_agg(jsonb_build_array(lo, hi) ORDER BY lo)
                                          FROM (SELECT min(id) AS lo, max(id) AS hi FROM (
                                                    SELECT id, id - row_number() OVER (ORDER BY id) AS island
                                                    FROM ({id_sql}) AS ids (id)) i GROUP BY island) r), '[]')),
                   %s""",
                     [actor_id, actor_label, AuditEntry.Action.IMPORT, spec.model._meta.label_lower, self.batch,
                      str(label), self.batch, self.file_name, spec.name, self.layer.name, count, *params,
                      self.batch])

    def _audit_rows(self, spec: LayerSpec, *, action: str, id_sql: str, params: list, before: bool) -> None:
        actor_id, actor_label = self._actor()
        extra = ""
        if spec.name == "containments":
            extra = (" || jsonb_build_object('building_ids', coalesce((SELECT jsonb_agg(cb.building_id ORDER BY "
                     "cb.building_id) FROM registry_containment_buildings cb WHERE cb.containment_id = t.id), "
                     "'[]'::jsonb))")
        image = f"{snapshot_sql(spec)}{extra}"
        self.execute(f"""
            INSERT INTO audit_auditentry (created, actor_id, actor_label, action, model, object_id, object_label,
                                          before, after, batch)
            SELECT now(), %s, %s, %s, %s, t.id::text, left({label_sql(spec)}, 200),
                   {image if before else 'NULL'}, {'NULL' if before else image}, %s
            FROM {spec.table} t JOIN ({id_sql}) AS ids (id) ON ids.id = t.id ORDER BY t.id::text""",
                     [actor_id, actor_label, action, spec.model._meta.label_lower, self.batch, *params])

    def _audit_changed(self, spec: LayerSpec) -> None:
        actor_id, actor_label = self._actor()
        extra = ""
        if spec.name == "containments" and "buildings" in self.mapping:
            extra = (" || jsonb_build_object('building_ids', coalesce((SELECT jsonb_agg(cb.building_id ORDER BY "
                     "cb.building_id) FROM registry_containment_buildings cb WHERE cb.containment_id = t.id), "
                     "'[]'::jsonb))")
        self.execute(f"""
            INSERT INTO audit_auditentry (created, actor_id, actor_label, action, model, object_id, object_label,
                                          before, after, batch)
            SELECT now(), %s, %s, %s, %s, t.id::text, left({label_sql(spec)}, 200), d.old, d.new, %s
            FROM dataio_before b JOIN {spec.table} t ON t.id = b.id
            CROSS JOIN LATERAL (SELECT {snapshot_sql(spec)}{extra} AS obj) n
            CROSS JOIN LATERAL (SELECT jsonb_object_agg(k, b.obj -> k) AS old, jsonb_object_agg(k, n.obj -> k) AS new
                                FROM jsonb_object_keys(n.obj) k WHERE (b.obj -> k) IS DISTINCT FROM (n.obj -> k)) d
            WHERE d.new IS NOT NULL""",
                     [actor_id, actor_label, AuditEntry.Action.UPDATE, spec.model._meta.label_lower, self.batch])


def snapshot_sql(spec: LayerSpec, alias: str = "t") -> str:
    """The registry's snapshot() of a row, in SQL: attnames, geometry as EWKT, decimals as text, no timestamps.

    to_jsonb() over a row is ten times faster than jsonb_build_object() with thirty pairs (measured at 156,052).
    """
    columns = []
    for model_field in spec.model._meta.concrete_fields:
        if model_field.name in ("created", "updated"):
            continue
        column = f"{alias}.{model_field.column}"
        if hasattr(model_field, "geom_type"):
            column = f"ST_AsEWKT({column})"
        elif model_field.get_internal_type() == "DecimalField":
            column = f"{column}::text"
        columns.append(f'{column} AS "{model_field.attname}"')
    return f"(SELECT to_jsonb(snap) FROM (SELECT {', '.join(columns)}) snap)"


def label_sql(spec: LayerSpec, alias: str = "t") -> str:
    """str(instance) of the registry models, in SQL."""
    names = {f.name for f in spec.model._meta.concrete_fields}
    if spec.name == "roads":
        return f"trim({alias}.code || ' ' || {alias}.name)"
    if spec.name == "wards":
        return f"coalesce(nullif({alias}.name, ''), 'Ward ' || {alias}.number)"
    if spec.key:
        return f"{alias}.{spec.types[spec.key].column}::text"
    if "name" in names:
        return f"coalesce(nullif({alias}.name, ''), '{spec.model._meta.verbose_name} ' || {alias}.id)"
    return f"'{spec.model._meta.verbose_name} ' || {alias}.id"


# --- rejects file -----------------------------------------------------------------------------------------

def rejects_csv(report: ImportReport) -> bytes:
    """The rejects as CSV (layer, row, field, value, reason), safe to open in a spreadsheet."""
    from .exporting import cell_safe

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["layer", report.row_label, "field", "value", "reason"])
    for layer in report.layers:
        if layer.refused:
            writer.writerow([layer.layer, "", "", "", cell_safe(layer.refused)])
        for reject in layer.rejects:
            writer.writerow([layer.layer, reject.row, reject.field, cell_safe(reject.value), cell_safe(reject.reason)])
    return buffer.getvalue().encode("utf-8-sig")


def layer_plan(*, source: Source, layer: str, municipality, source_layer: str | None = None,
               mapping: dict[str, str] | None = None) -> LayerPlan:
    from .layers import layer_spec_for

    spec = layer_spec_for(municipality, layer)
    if spec is None:
        raise SourceError(_("Unknown layer “%(layer)s”.") % {"layer": layer}, code="unknown_layer")
    described = source.layer(source_layer)
    return LayerPlan(spec=spec, source_layer=described,
                     mapping=mapping if mapping is not None else mapping_suggest(spec=spec,
                                                                                 columns=described.columns))


def package_plans(*, source: Source, municipality, targets: dict[str, str] | None = None) -> list[LayerPlan]:
    """Each layer of a multi-layer file matched to one of ours (by name, or as `targets` says)."""
    from .layers import layer_spec_for, layer_specs_for

    specs = layer_specs_for(municipality)
    plans = []
    for described in source.layers:
        target = (targets or {}).get(described.name, None)
        if target is None:
            target = target_layer_guess(described.name, specs=specs)
        spec = layer_spec_for(municipality, target) if target else None
        if spec is None:
            continue
        plans.append(LayerPlan(spec=spec, source_layer=described,
                               mapping=mapping_suggest(spec=spec, columns=described.columns)))
    return plans


def import_file(*, path: Path, original_name: str, layer: str, by, options: ImportOptions,
                source_layer: str | None = None, mapping: dict[str, str] | None = None,
                progress=None) -> ImportReport:
    """One file into one layer (or, with layer "all", every layer of a GeoPackage whose name matches one of
    ours), columns mapped by our field names, aliases and the saved mapping. The command line's service."""
    from .reading import source_open

    municipality = current_municipality()
    workdir = Path(tempfile.mkdtemp(prefix="dataio-"))
    try:
        try:
            source = source_open(path, original_name=original_name, workdir=workdir, count_types=False)
            if layer == "all":
                plans = package_plans(source=source, municipality=municipality)
            else:
                plans = [layer_plan(source=source, layer=layer, source_layer=source_layer, mapping=mapping,
                                    municipality=municipality)]
        except SourceError as error:
            return ImportReport(message=_("Nothing was imported: %(reason)s") % {"reason": error.message})
        if not plans:
            return ImportReport(message=_("Nothing was imported: no layer of the file matches one of ours."))
        return import_layers(source=source, plans=plans, options=options, by=by, progress=progress,
                             file_name=original_name)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- the web flow: upload -> preview -> mapping and options -> check or import as a job -> result ----------

def _upload_folder(import_id) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "dataio" / "imports" / connection.schema_name / str(import_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _safe_name(name: str) -> str:
    base = Path(name or "upload").name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    return (slugify(stem)[:80] or "upload") + re.sub(r"[^a-z0-9.]", "", suffix)[:10]


def data_import_upload(*, upload, layer: str, by) -> DataImport:
    """Store an uploaded file, check it and describe it (the preview). Raises SourceError for a file we refuse,
    and leaves nothing behind then."""
    from .layers import layer_spec_for
    from .reading import max_upload_bytes, source_open

    municipality = current_municipality()
    if layer and layer_spec_for(municipality, layer) is None:
        raise SourceError(_("Unknown layer “%(layer)s”.") % {"layer": layer}, code="unknown_layer")
    if upload.size > max_upload_bytes():
        raise SourceError(_("The file has %(size)s MB; the limit is %(limit)s MB.")
                          % {"size": upload.size // (1024 * 1024), "limit": max_upload_bytes() // (1024 * 1024)},
                          code="too_large")
    import_id = uuid.uuid4()
    folder = _upload_folder(import_id)
    path = folder / _safe_name(upload.name)
    try:
        with open(path, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        source = source_open(path, original_name=upload.name, workdir=folder)
    except SourceError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    relative = str(path.relative_to(settings.MEDIA_ROOT))
    source.path = str(Path(source.path).relative_to(settings.MEDIA_ROOT))
    return DataImport.objects.create(
        id=import_id, created_by_id=getattr(by, "pk", None), file_name=Path(upload.name).name[:255],
        file_path=relative, file_size=upload.size, file_format=source.format, layer=layer, info=source.as_dict())


def data_import_source(data_import: DataImport) -> Source:
    source = Source.from_dict(data_import.info)
    source.path = str(Path(settings.MEDIA_ROOT) / source.path)
    return source


def data_import_suggestions(data_import: DataImport) -> dict:
    """What the mapping form starts from: per source layer, our target layer and field -> column."""
    from .layers import layer_spec_for, layer_specs_for

    municipality = current_municipality()
    source = data_import_source(data_import)
    if data_import.layer:
        spec = layer_spec_for(municipality, data_import.layer)
        described = source.layers[0] if len(source.layers) == 1 else source.layer(
            data_import.mapping.get("source_layer") or source.layers[0].name)
        return {described.name: {"target": spec.name, "mapping": mapping_suggest(spec=spec,
                                                                                   columns=described.columns)}}
    specs = layer_specs_for(municipality)
    suggestions = {}
    for described in source.layers:
        target = target_layer_guess(described.name, specs=specs)
        spec = layer_spec_for(municipality, target) if target else None
        suggestions[described.name] = {"target": target, "mapping": mapping_suggest(
            spec=spec, columns=described.columns) if spec else {}}
    return suggestions


def data_import_configure(*, data_import: DataImport, layers: dict[str, dict], options: ImportOptions,
                          by) -> DataImport:
    """Save the mapping ({source layer: {"target": layer, "mapping": {field: column}}}) and the options; the
    mapping of each layer is remembered for the next file."""
    from .layers import layer_spec_for

    municipality = current_municipality()
    source = data_import_source(data_import)
    cleaned = {}
    for name, entry in layers.items():
        source.layer(name)
        spec = layer_spec_for(municipality, entry.get("target") or "")
        if spec is None:
            continue
        mapping = {field: column for field, column in (entry.get("mapping") or {}).items()
                   if column and spec.field(field)}
        cleaned[name] = {"target": spec.name, "mapping": mapping}
        mapping_save(spec=spec, mapping=mapping, by=by)
    if not cleaned:
        raise SourceError(_("Choose at least one layer to import."), code="nothing_to_import")
    data_import.mapping = {"layers": cleaned}
    data_import.options = asdict(options)
    data_import.save(update_fields=["mapping", "options"])
    return data_import


def data_import_plans(data_import: DataImport) -> tuple[Source, list[LayerPlan]]:
    from .layers import layer_spec_for

    municipality = current_municipality()
    source = data_import_source(data_import)
    plans = []
    for name, entry in (data_import.mapping.get("layers") or {}).items():
        spec = layer_spec_for(municipality, entry["target"])
        if spec is not None:
            plans.append(LayerPlan(spec=spec, source_layer=source.layer(name), mapping=entry["mapping"]))
    return source, plans


def data_import_start(*, data_import: DataImport, by, dry_run: bool) -> Job:
    """Queue the check (dry run: everything but the commit) or the import as a job with a progress bar."""
    from imis.tenant_apps.jobs.services import job_create, job_enqueue

    from .tasks import run_import

    if not data_import.mapping.get("layers"):
        raise SourceError(_("Map the columns first."), code="not_configured")
    if data_import.status in (DataImport.Status.CHECKING, DataImport.Status.IMPORTING) and data_import.job_id \
            and not data_import.job.is_done:
        return data_import.job
    verb = _("Check") if dry_run else _("Import")
    target = data_import.layer or _("several layers")
    job = job_create(kind="dataio.check" if dry_run else "dataio.import", by=by,
                     title=f"{verb} {target} ← {data_import.file_name}", params={"import_id": str(data_import.pk)})
    data_import.job = job
    data_import.status = DataImport.Status.CHECKING if dry_run else DataImport.Status.IMPORTING
    data_import.options = {**data_import.options, "dry_run": dry_run}
    data_import.save(update_fields=["job", "status", "options"])
    return job_enqueue(job=job, task=run_import, import_id=str(data_import.pk))


def data_import_run(*, job_id, import_id) -> ImportReport:
    """The job: run the check or the import, keep the report and the rejects file, finish the job."""
    from imis.shared_apps.accounts.models import User
    from imis.tenant_apps.jobs.services import job_fail, job_progress, job_start, job_succeed

    job = job_start(job_id=job_id)
    data_import = DataImport.objects.get(pk=import_id)
    by = User.objects.filter(pk=job.created_by_id).first() if job.created_by_id else None
    options = ImportOptions.from_dict(data_import.options)
    try:
        source, plans = data_import_plans(data_import)
        report = import_layers(source=source, plans=plans, options=options, by=by, batch=str(data_import.pk),
                               file_name=data_import.file_name,
                             progress=lambda done, total, message: job_progress(job_id=job_id, done=done,
                                                                                total=total, message=message))
    except Exception as error:
        log.exception("data import %s failed", import_id)
        data_import.status = DataImport.Status.FAILED
        data_import.result = {"message": str(error), "landed": False, "layers": []}
        data_import.save(update_fields=["status", "result"])
        job_fail(job_id=job_id, error=_("The import failed unexpectedly: %(error)s") % {"error": error})
        raise
    rejects_file = ""
    if report.rejects or any(layer.refused for layer in report.layers):
        folder = _upload_folder(import_id)
        path = folder / f"rejects-{job_id}.csv"
        path.write_bytes(rejects_csv(report))
        rejects_file = str(path.relative_to(settings.MEDIA_ROOT))
    data_import.result = report.as_dict()
    data_import.rejects_file = rejects_file
    if options.dry_run:
        data_import.status = DataImport.Status.CHECKED
    else:
        data_import.status = DataImport.Status.IMPORTED if report.landed else DataImport.Status.FAILED
    data_import.save(update_fields=["result", "rejects_file", "status"])
    summary = {"landed": report.landed, "inserted": report.total("inserted"), "updated": report.total("updated"),
               "deleted": report.total("deleted"), "rejected": report.total("rejected")}
    if report.landed or options.dry_run:
        job_succeed(job_id=job_id, result=summary, result_file=rejects_file)
    else:
        job_fail(job_id=job_id, error=report.message, result=summary)
        if rejects_file:
            Job.objects.filter(pk=job_id).update(result_file=rejects_file)
    return report
