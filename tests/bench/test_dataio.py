"""GIS data in and out at Khulna's scale: 156,052 building footprints, our import and export against ogr2ogr.

The import is the whole service (read with GDAL, convert and check every value, COPY to staging, transform and
repair geometry, resolve holdings, derive wards, decide every building's nearest road, write, audit) in one
transaction; ogr2ogr with PG_USE_COPY only loads the same GeoPackage into a scratch table. The road links are part
of the import's figure (they land with the rows) and are also shown as a step. The export writes the same layer to
a GeoPackage; ogr2ogr exports the same query. SEED_SCALE (default 1) loads a share of the city, for a quick look.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

import pyogrio
import pytest
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.models import Municipality
from imis.shared_apps.tenants.services import municipality_create
from imis.tenant_apps.dataio.exporting import export_area, export_sql, export_write
from imis.tenant_apps.dataio.importing import ImportOptions, import_file, indexes_drop_for_rebuild
from imis.tenant_apps.dataio.layers import LAYER_SPECS
from imis.tenant_apps.registry.models import Building

from .dataio_city import CACHE, SCALE, buildings_gpkg, city_base_load, city_version, khulna_city

pytestmark = pytest.mark.bench
SLUG = "bench_dataio"
BUILDINGS = 156_052


def _pg() -> tuple[str, dict]:
    db = settings.DATABASES["default"]
    parts = [f"dbname={connection.settings_dict['NAME']}"]
    for key, name in (("HOST", "host"), ("PORT", "port"), ("USER", "user")):
        if db.get(key):
            parts.append(f"{name}={db[key]}")
    env = dict(os.environ, PG_USE_COPY="YES", PGOPTIONS=f"-c search_path={SLUG},public")
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return "PG:" + " ".join(parts), env


def _ogr2ogr(*args: str) -> float:
    target, env = _pg()
    started = time.perf_counter()
    subprocess.run(["ogr2ogr", *[target if arg == "PG" else arg for arg in args]], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - started


class RssPeak:
    """The peak resident memory of this process while the block runs, above what it held before (sampled)."""

    def __enter__(self):
        self.start = self.peak = _rss_mb()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.05)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.growth = self.peak - self.start


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _write_floor(table: str) -> float:
    """The last step of any import into the registry, timed alone: the rows the import wrote, already checked and
    converted, written once more into the same table, with its plain indexes and foreign keys built afterwards
    (as the import does for a first load). No reading, checking, wards or road links. Rolled back."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_ready ON COMMIT DROP AS SELECT * FROM {table} ORDER BY id")
        cursor.execute(f"TRUNCATE {table} CASCADE")
        rebuild = indexes_drop_for_rebuild(table)
        started = time.perf_counter()
        cursor.execute(f"INSERT INTO {table} SELECT * FROM bench_ready")
        for statement in rebuild:
            cursor.execute(statement)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def _drop() -> None:
    connection.set_schema_to_public()
    municipality = Municipality.objects.filter(slug=SLUG).first()
    if municipality is not None:
        municipality.delete(force_drop=True)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')


def test_khulna_buildings_in_and_out(bench_db, report, tmp_path):
    if shutil.which("ogr2ogr") is None:
        pytest.skip("ogr2ogr is not installed")
    city = khulna_city()
    gpkg = buildings_gpkg(city, CACHE / f"khulna-buildings-{city_version()}.gpkg")
    count = pyogrio.read_info(str(gpkg))["features"]
    assert count == BUILDINGS or SCALE != 1
    _drop()
    municipality = municipality_create(slug=SLUG, name="Bench Khulna", features=["fsm", "holding_tax"],
                                       domain=f"{SLUG}.localhost", centroid=(89.5403, 22.8456))
    try:
        with tenant_context(municipality):
            city_base_load(city)
        baseline_import = _ogr2ogr("-f", "PostgreSQL", "PG", str(gpkg), "buildings", "-nln", "bench_scratch",
                                   "-lco", "GEOMETRY_NAME=footprint", "-overwrite")
        with tenant_context(municipality):
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM bench_scratch")
                assert cursor.fetchone()[0] == count
                cursor.execute("DROP TABLE bench_scratch")
            with RssPeak() as memory_import:
                started = time.perf_counter()
                result = import_file(path=gpkg, original_name=gpkg.name, layer="buildings", by=None,
                                     options=ImportOptions())
                elapsed = time.perf_counter() - started
            assert result.landed, result.text()
            layer = result.layers[0]
            assert layer.inserted == count and layer.holdings_created == 0
            ours_import = elapsed
            assert Building.objects.filter(ward__isnull=False).count() == count
            assert not Building.objects.filter(road_link_status="none").exists()

            write_floor = _write_floor(Building._meta.db_table)
            assert Building.objects.count() == count

            # The same file again (a corrected file sent back is the usual case): every row is checked and found
            # unchanged; no footprint moved, so no road link is decided again.
            started = time.perf_counter()
            again = import_file(path=gpkg, original_name=gpkg.name, layer="buildings", by=None,
                                options=ImportOptions())
            ours_reimport = time.perf_counter() - started
            assert again.landed and again.layers[0].unchanged == count and again.layers[0].updated == 0
            assert "Road links were decided for 0 new or moved buildings; the others kept theirs." in \
                again.layers[0].notes

            spec = LAYER_SPECS["buildings"]
            with RssPeak() as memory_export:
                started = time.perf_counter()
                ours = export_write(spec=spec, fmt="gpkg", area=export_area(), folder=tmp_path)
                ours_export = time.perf_counter() - started
            assert pyogrio.read_info(str(ours), layer="buildings")["features"] == count
            sql, _params, _columns = export_sql(spec, export_area(), geometry_as="column")
        baseline_export = _ogr2ogr("-f", "GPKG", str(tmp_path / "ogr2ogr.gpkg"), "PG", "-sql", sql, "-nln",
                                   "buildings")
        assert pyogrio.read_info(str(tmp_path / "ogr2ogr.gpkg"))["features"] == count
    finally:
        _drop()

    report.add(f"dataio: import {count:,} buildings (GPKG), road links included", ours_import, "s",
               baseline_name="ogr2ogr PG_USE_COPY to a scratch table", baseline_figure=baseline_import)
    report.add(f"dataio: import the same {count:,} buildings again (all unchanged)", ours_reimport, "s",
               baseline_name="ogr2ogr PG_USE_COPY to a scratch table", baseline_figure=baseline_import)
    # What 2x ogr2ogr leaves for everything before the write: this floor is part of every import of new rows.
    report.add(f"dataio: write floor, {count:,} checked rows into the buildings table + its indexes and keys",
               write_floor, "s", baseline_name="ogr2ogr PG_USE_COPY to a scratch table",
               baseline_figure=baseline_import)
    report.add(f"dataio: export {count:,} buildings (GPKG)", ours_export, "s",
               baseline_name="ogr2ogr PG -> GPKG, same query", baseline_figure=baseline_export)
    # The steps in order; those marked (background) run in the database while Python reads and converts the
    # attributes (read, convert), and geometry_wait is what remained of them afterwards.
    for step, seconds in layer.seconds.items():
        report.add(f"dataio: import step {step}", seconds, "s")
    report.add("dataio: peak memory growth, import", memory_import.growth, "MB")
    report.add("dataio: peak memory growth, export", memory_export.growth, "MB")
