"""How an import works inside the database: its scratch schema, and the geometry SQL that runs on a second thread
while the attributes are read. Each test proves a promise: nothing of the working tables outlives the import or is
seen by another session, and a failure on either thread leaves the registry as it was."""

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import tenant_context

from imis.platform.scratch import scratch_schema
from imis.tenant_apps.dataio import importing
from imis.tenant_apps.dataio.importing import ImportOptions, import_file
from imis.tenant_apps.registry.models import Building, Holding

from .files import building_rows, buildings_gpkg

SCRATCH_SCHEMAS = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dataio\\_%%' OR nspname LIKE 'scratch\\_%%'"


def run(path, *, mapping=None, **options):
    return import_file(path=path, original_name=path.name, layer="buildings", by=None, mapping=mapping,
                       options=ImportOptions(**options))


def _count(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


def _search_path() -> str:
    return _setting("search_path")


@pytest.mark.django_db
def test_scratch_schema_leaves_nothing_behind(world):
    with tenant_context(world.khulna):
        before = _search_path()
        with transaction.atomic(), scratch_schema("scratch") as name:
            with connection.cursor() as cursor:
                cursor.execute("CREATE UNLOGGED TABLE work (n int); INSERT INTO work VALUES (1)")
                cursor.execute("SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'work'::regclass")
                assert cursor.fetchone()[0] == name
            assert _search_path().startswith(f'"{name}", ')
            assert _setting("parallel_setup_cost") == "1000"  # whole-layer work gets parallel workers
        assert _count(SCRATCH_SCHEMAS) == 0
        assert _search_path() == before and _setting("parallel_setup_cost") == "100000"
        with pytest.raises(ZeroDivisionError), transaction.atomic(), scratch_schema("scratch"):
            raise ZeroDivisionError  # the rollback takes the schema and the search path with it
        assert _count(SCRATCH_SCHEMAS) == 0 and _search_path() == before


@pytest.mark.django_db(transaction=True)
def test_the_working_tables_are_invisible_to_other_sessions_and_gone_after_the_import(ttown, tmp_path, monkeypatch):
    """While the geometry SQL runs, the import's session has its scratch schema; a second session (another
    request, another municipality's worker) sees none of it. After the commit no trace is left anywhere."""
    seen = {}
    original = importing._Statements._run

    def spying_run(self):
        with self.raw.cursor() as cursor:
            cursor.execute(SCRATCH_SCHEMAS)
            seen["own session"] = cursor.fetchone()[0]
        params = connection.get_connection_params()
        with psycopg.connect(**params, autocommit=True) as other:
            seen["other session"] = other.execute(SCRATCH_SCHEMAS).fetchone()[0]
            seen["other tables"] = other.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname LIKE 'dataio\\_%' OR c.relname IN ('dataio_shapes', 'dataio_stage')").fetchone()[0]
        original(self)

    monkeypatch.setattr(importing._Statements, "_run", spying_run)
    with tenant_context(ttown.khulna):
        with pytest.raises(RuntimeError, match="transaction"), scratch_schema("dataio"):
            pass  # outside a transaction its tables would be committed
        before = _search_path()
        report = run(buildings_gpkg(tmp_path / "b.gpkg", building_rows(3)))
        assert report.landed, report.text()
        assert Building.objects.filter(road_link_status="linked").count() == 3
        assert _search_path() == before
    assert seen == {"own session": 1, "other session": 0, "other tables": 0}
    assert _count(SCRATCH_SCHEMAS) == 0
    assert _count("SELECT count(*) FROM pg_class WHERE relname IN ('dataio_shapes', 'dataio_stage', 'dataio_geom', "
                  "'dataio_rows', 'road_link_decided')") == 0


@pytest.mark.django_db(transaction=True)
def test_a_database_error_on_the_geometry_thread_writes_nothing(ttown, tmp_path, monkeypatch):
    original = importing._LayerImport._geometry_statements

    def failing(self):
        return [*original(self), ("road_links", "SELECT 1 / 0", [])]

    monkeypatch.setattr(importing._LayerImport, "_geometry_statements", failing)
    with tenant_context(ttown.khulna):
        holdings = Holding.objects.count()
        with pytest.raises(DatabaseError, match="division by zero"):
            run(buildings_gpkg(tmp_path / "b.gpkg", building_rows(3, holding="9-9-9")))
        assert not Building.objects.exists() and Holding.objects.count() == holdings
        assert _count(SCRATCH_SCHEMAS) == 0
        assert Building.objects.count() == 0  # the connection works on


@pytest.mark.django_db(transaction=True)
def test_a_refusal_while_the_geometry_thread_runs_waits_for_it_and_writes_nothing(ttown, tmp_path):
    """The attributes are read while the geometry SQL runs: a column that is not in the file refuses the import,
    after the thread has finished with the connection."""
    path = buildings_gpkg(tmp_path / "b.gpkg", building_rows(3))
    with tenant_context(ttown.khulna):
        report = run(path, mapping={"bin": "bin", "floors": "no_such_column"})
        assert not report.landed
        assert "no_such_column" in report.layers[0].refused
        assert not Building.objects.exists()
        assert _count(SCRATCH_SCHEMAS) == 0


@pytest.mark.django_db
def test_repeated_keys_in_the_file_are_each_refused_with_the_first_row(town, tmp_path):
    rows = building_rows(4)
    rows[2]["bin"] = rows[0]["bin"]
    rows[3]["bin"] = rows[0]["bin"]
    with tenant_context(town.khulna):
        report = run(buildings_gpkg(tmp_path / "b.gpkg", rows))
        assert not report.landed
        repeated = [(r.row, r.field, r.reason) for r in report.rejects]
        assert repeated == [(row, "bin", "bin B-1 appears 3 times in the file (first in row 1)") for row in (1, 3, 4)]
        assert not Building.objects.exists()
