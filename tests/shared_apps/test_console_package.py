"""Onboarding step 2: the initial GIS package (a GeoPackage with several layers) imported as one job, all or
nothing, with its report per layer and the rejects to download."""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from imis.shared_apps.accounts.models import User
from imis.shared_apps.console.models import ConsoleAuditEntry
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.dataio import tasks
from imis.tenant_apps.dataio.models import DataImport
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.registry.models import Building, Containment, Holding, Road, Ward
from tests.tenant_apps.dataio.files import write_layer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rolled-back tests never bump a data version (it happens on commit): the console's figures, cached per
    data version, must not come from another test."""
    cache.clear()
    yield
    cache.clear()

M_PER_DEG_LAT = 110_574.0


def _at(origin: tuple[float, float], x_m: float, y_m: float) -> tuple[float, float]:
    lon, lat = origin
    return lon + x_m / (111_320.0 * math.cos(math.radians(lat))), lat + y_m / M_PER_DEG_LAT


def _box(origin, x0, y0, x1, y1) -> Polygon:
    corners = [_at(origin, x0, y0), _at(origin, x1, y0), _at(origin, x1, y1), _at(origin, x0, y1)]
    return Polygon([*corners, corners[0]], srid=4326)


def gis_package(path: Path, origin: tuple[float, float], *, broken: bool = False) -> Path:
    """A small town's first GIS package, written with GDAL (pyogrio): two wards, two roads, six buildings with
    their holding IDs, three containments, and a layer that is not ours. `broken`: one containment has a type
    the registry does not know, so the whole package must be refused."""
    write_layer(path, layer="wards", geometries=[MultiPolygon(_box(origin, -500, -500, 500, 500), srid=4326),
                                                 MultiPolygon(_box(origin, 500, -500, 1500, 500), srid=4326)],
                fields={"number": [1, 2], "name": ["Ward 1", "Ward 2"], "name_bn": ["ওয়ার্ড ১", "ওয়ার্ড ২"]})
    write_layer(path, layer="Roads", append=True,
                geometries=[LineString(_at(origin, -400, 0), _at(origin, 1400, 0), srid=4326),
                            LineString(_at(origin, 200, -400), _at(origin, 200, 400), srid=4326)],
                fields={"code": ["R-1", "R-2"], "name": ["Station Road", "College Road"], "width_m": [6.0, 4.5]})
    write_layer(path, layer="buildings", append=True,
                geometries=[_box(origin, -300 + 250 * i, 20, -288 + 250 * i, 32) for i in range(6)],
                fields={"bin": [f"B-{i + 1}" for i in range(6)],
                        "holding_id": [f"{1 if i < 3 else 2}-1-{i + 1}" for i in range(6)],
                        "floors": [1, 2, 3, 1, 2, 3], "functional_use": ["residential"] * 6,
                        "sanitation_system": ["septic_tank"] * 6, "households": [1] * 6})
    write_layer(path, layer="containments", append=True,
                geometries=[Point(*_at(origin, -290 + 250 * i, 40), srid=4326) for i in range(3)],
                fields={"code": ["C-1", "C-2", "C-3"],
                        "type": ["septic_tank", "septic_tank", "rocket" if broken else "lined_pit"],
                        "buildings": ["B-1", "B-2", "B-3"], "length_m": [2.0, 2.0, 1.5],
                        "width_m": [1.5, 1.5, 1.5], "depth_m": [2.0, 2.0, 2.0]})
    write_layer(path, layer="survey_notes", append=True, geometries=[Point(*_at(origin, 0, 0), srid=4326)],
                fields={"note": ["check the market"]})
    return path


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def console(world, client):
    client.force_login(User.objects.get(email="support@imis.test"))
    client.defaults["HTTP_HOST"] = "localhost"
    return client


@pytest.fixture
def jobs_now(world, monkeypatch):
    """Sending the Celery task runs it in the test's thread, in the schema of the municipality it belongs to."""
    def apply_async(args=(), kwargs=None, **options):
        import_id = (kwargs or {})["import_id"]
        municipality = next(m for m in (world.khulna, world.jhenaidah) if _has_import(m, import_id))
        with tenant_context(municipality):
            return tasks.run_import(*args, **kwargs)

    monkeypatch.setattr(tasks.run_import, "apply_async", apply_async)


def _has_import(municipality, import_id) -> bool:
    with tenant_context(municipality):
        return DataImport.objects.filter(pk=import_id).exists()


def _origin(municipality) -> tuple[float, float]:
    return municipality.centroid_lon, municipality.centroid_lat


def _upload(console, slug, path: Path, **fields):
    return console.post(f"/console/m/{slug}/onboarding/gis/", {
        "file": SimpleUploadedFile(path.name, path.read_bytes()), **fields})


def test_a_good_package_lands_every_layer_with_its_report(world, console, jobs_now, tmp_path,
                                                         django_capture_on_commit_callbacks):
    package = gis_package(tmp_path / "jhenaidah-initial.gpkg", _origin(world.jhenaidah))
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(console, "jhenaidah", package)
    assert response.status_code == 302
    result_url = response["Location"]
    assert result_url.startswith("/console/m/jhenaidah/onboarding/gis/")

    with tenant_context(world.jhenaidah):
        assert sorted(Ward.objects.values_list("number", flat=True)) == [1, 2]
        assert Road.objects.count() == 2 and Building.objects.count() == 6 and Containment.objects.count() == 3
        assert Holding.objects.count() == 6
        assert Building.objects.get(bin="B-5").ward.number == 2
        assert Containment.objects.get(code="C-1").buildings.get().bin == "B-1"
        data_import = DataImport.objects.select_related("job").get()
        assert data_import.status == "imported" and data_import.job.status == Job.Status.SUCCEEDED
        assert data_import.job.kind == "dataio.import"
        support = User.objects.get(email="support@imis.test")
        assert AuditEntry.objects.filter(action="import", actor_id=support.pk).count() == 2 + 2 + 6 + 6 + 3
    with tenant_context(world.khulna):  # nothing went anywhere else
        assert Ward.objects.count() == 0 and Building.objects.count() == 0 and DataImport.objects.count() == 0
    assert ConsoleAuditEntry.objects.filter(action="gis_package", municipality=world.jhenaidah).exists()

    page = console.get(result_url).content.decode()
    assert 'data-landed="yes"' in page
    for layer, inserted in (("wards", 2), ("roads", 2), ("buildings", 6), ("containments", 3)):
        row = re.search(rf'<tr data-layer="{layer}">.*?data-inserted="(\d+)".*?data-rejected="(\d+)"', page, re.S)
        assert row and row.groups() == (str(inserted), "0"), layer
    assert 'data-ignored="survey_notes"' in page
    assert "Next: invite the administrator" in page
    assert "hx-get" not in page  # done: no more polling


def test_a_package_with_one_bad_layer_writes_nothing_and_offers_the_rejects(world, console, jobs_now, tmp_path,
                                                                           django_capture_on_commit_callbacks):
    package = gis_package(tmp_path / "broken.gpkg", _origin(world.jhenaidah), broken=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(console, "jhenaidah", package)
    result_url = response["Location"]
    with tenant_context(world.jhenaidah):
        assert Ward.objects.count() == 0 and Road.objects.count() == 0
        assert Building.objects.count() == 0 and Holding.objects.count() == 0 and Containment.objects.count() == 0
        assert not AuditEntry.objects.filter(action="import").exists()
        data_import = DataImport.objects.select_related("job").get()
        assert data_import.status == "failed" and data_import.job.status == Job.Status.FAILED

    page = console.get(result_url).content.decode()
    assert 'data-landed="no"' in page and "Nothing was imported" in page
    assert 'data-rejected="1"' in page and "rocket" in page

    rejects = console.get(result_url + "rejects.csv")
    assert rejects.status_code == 200 and rejects["Content-Type"] == "text/csv"
    lines = list(csv.reader(io.StringIO(b"".join(rejects.streaming_content).decode("utf-8-sig"))))
    assert lines[0] == ["layer", "row", "field", "value", "reason"]
    assert lines[1][:4] == ["containments", "3", "type", "rocket"]


def test_progress_is_shown_while_the_job_waits(world, console, monkeypatch, tmp_path,
                                               django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(tasks.run_import, "apply_async", lambda *args, **kwargs: sent.append((args, kwargs)))
    package = gis_package(tmp_path / "pkg.gpkg", _origin(world.jhenaidah))
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(console, "jhenaidah", package)
    assert len(sent) == 1
    page = console.get(response["Location"]).content.decode()
    assert "<progress" in page and 'hx-trigger="every 1s"' in page
    partial = console.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="package-status"') and "<html" not in partial


def test_an_unreadable_file_is_refused_beside_the_field_and_nothing_is_stored(world, console, tmp_path, media_root):
    bad = tmp_path / "initial.gpkg"
    bad.write_bytes(b"<html>this is not a geopackage</html>")
    response = _upload(console, "jhenaidah", bad)
    assert response.status_code == 200
    assert "is named like a GeoPackage file" in response.content.decode()
    with tenant_context(world.jhenaidah):
        assert DataImport.objects.count() == 0
    assert not any(p.is_file() for p in Path(media_root).rglob("*"))


def test_a_package_without_any_registry_layer_is_refused(world, console, tmp_path, media_root):
    path = write_layer(tmp_path / "other.gpkg", layer="parcels",
                       geometries=[_box(_origin(world.jhenaidah), 0, 0, 10, 10)], fields={"id": ["P-1"]})
    response = _upload(console, "jhenaidah", path)
    body = response.content.decode()
    assert response.status_code == 200 and "“parcels”" in body and "is a registry layer" in body
    with tenant_context(world.jhenaidah):
        assert DataImport.objects.count() == 0 and Job.objects.count() == 0
    assert not any(p.is_file() for p in Path(media_root).rglob("*"))


def test_package_pages_are_for_platform_staff_only(world, client, tenant_client):
    client.force_login(world.user("municipal_admin", "jhenaidah"))
    for path in ("/console/m/jhenaidah/onboarding/gis/", "/console/m/jhenaidah/onboarding/invite/",
                 "/console/m/jhenaidah/onboarding/checklist/"):
        assert client.get(path, HTTP_HOST="localhost").status_code == 403
    admin = tenant_client(world.jhenaidah, world.user("municipal_admin", "jhenaidah"))
    assert admin.get("/console/m/jhenaidah/onboarding/gis/").status_code in (403, 404)


def test_another_municipalitys_import_is_not_found(world, console, jobs_now, tmp_path,
                                                   django_capture_on_commit_callbacks):
    package = gis_package(tmp_path / "pkg.gpkg", _origin(world.jhenaidah))
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(console, "jhenaidah", package)
    import_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    assert console.get(f"/console/m/khulna/onboarding/gis/{import_id}/").status_code == 404
    assert console.get(f"/console/m/khulna/onboarding/gis/{import_id}/rejects.csv").status_code == 404
