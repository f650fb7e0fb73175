"""The Data pages: who may use them, and the import flow upload -> preview -> job -> result, export, quality."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from imis.tenant_apps.dataio import exporting, tasks
from imis.tenant_apps.dataio.models import DataImport
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.models import Building
from tests.tenant_apps.registry.factories import square

from .files import building_rows, buildings_gpkg

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_jobs_now(town, monkeypatch):
    """Celery's delay(), run in the test's thread and the municipality's schema."""

    def now(task):
        def delay(*args, **kwargs):
            with tenant_context(town.khulna):
                return task(*args, **kwargs)

        return delay

    for task in (tasks.run_import, tasks.run_export, tasks.run_quality_refresh):
        monkeypatch.setattr(task, "delay", now(task))


@pytest.mark.parametrize(("role", "slug", "path", "status"), [
    (None, "khulna", "/data/import/", 302),
    ("viewer", "khulna", "/data/import/", 403),
    ("viewer", "khulna", "/data/export/", 200),
    ("viewer", "khulna", "/data/quality/", 200),
    ("service_provider", "khulna", "/data/quality/", 403),
    ("gis_officer", "khulna", "/data/import/", 200),
    ("gis_officer", "jhenaidah", "/data/import/", 403),
])
def test_who_may_use_the_data_pages(town, tenant_client, role, slug, path, status):
    user = town.user(role, slug) if role else None
    response = tenant_client(town.khulna, user).get(path)
    assert response.status_code in ((status, 404) if slug == "jhenaidah" else (status,))


def test_upload_preview_import_and_result(town, officer, tenant_client, tmp_path, run_jobs_now,
                                          django_capture_on_commit_callbacks):
    client = tenant_client(town.khulna, officer)
    rows = building_rows(3)
    rows[2]["floors"] = 900
    path = buildings_gpkg(tmp_path / "Ward 1 buildings.gpkg", rows)
    response = client.post("/data/import/", {"layer": "buildings", "file": SimpleUploadedFile(
        path.name, path.read_bytes())})
    assert response.status_code == 302
    preview_url = response["Location"]
    page = client.get(preview_url).content.decode()
    assert 'data-features="3"' in page and "EPSG:4326" in page and "B-1" in page
    assert "carry our field names" in page
    assert '<option value="bin" selected>' in page

    form = {"mode": "upsert", "srid": "", "map__bin": "bin", "map__floors": "floors", "check": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(preview_url, form)
    assert response.status_code == 302
    result = client.get(response["Location"]).content.decode()
    assert "Check finished" in result and 'data-rejected="1"' in result and "must be a whole number" in result
    with tenant_context(town.khulna):
        assert Building.objects.count() == 0
        data_import = DataImport.objects.get()
        assert data_import.status == "checked" and data_import.mapping["layers"]["buildings"]["mapping"] == {
            "bin": "bin", "floors": "floors"}
    rejects = client.get(f"/data/imports/{data_import.pk}/rejects.csv")
    lines = list(csv.reader(io.StringIO(b"".join(rejects.streaming_content).decode("utf-8-sig"))))
    assert lines[0] == ["layer", "row", "field", "value", "reason"] and lines[1][:4] == ["buildings", "3", "floors",
                                                                                         "900"]

    form = {**form, "skip_bad_rows": "on", "import": "1"}
    form.pop("check")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(preview_url, form)
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'data-inserted="2"' in partial and "hx-trigger" not in partial
    with tenant_context(town.khulna):
        assert sorted(Building.objects.values_list("bin", flat=True)) == ["B-1", "B-2"]
        assert Job.objects.filter(kind="dataio.import", status="succeeded").exists()


def test_a_refused_file_is_explained_beside_the_field(town, officer, tenant_client):
    client = tenant_client(town.khulna, officer)
    response = client.post("/data/import/", {"layer": "buildings", "file": SimpleUploadedFile(
        "buildings.gpkg", b"<html>not a geopackage</html>")})
    assert response.status_code == 200
    assert "is named like a GeoPackage file but its content is not a GIS format we read" in response.content.decode()
    with tenant_context(town.khulna):
        assert not DataImport.objects.exists()


def test_export_downloads_small_and_queues_large(town, officer, tenant_client, run_jobs_now, monkeypatch,
                                                 django_capture_on_commit_callbacks):
    with tenant_context(town.khulna):
        services.building_create(by=None, bin="B-1", footprint=square(100, 20))
    client = tenant_client(town.khulna, officer)
    response = client.post("/data/export/", {"layer": "buildings", "area": "all", "format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.startswith("bin,holding_id,ward,") and "B-1" in text
    response = client.post("/data/export/", {"layer": "roads", "area": "ward", "ward": "1", "format": "gpkg"})
    assert response["Content-Disposition"].startswith('attachment; filename="khulna-roads-ward-1-')
    monkeypatch.setattr(exporting, "EXPORT_INLINE_MAX", 0)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/data/export/", {"layer": "buildings", "area": "all", "format": "xlsx"})
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    with tenant_context(town.khulna):
        job = Job.objects.get(kind="dataio.export")
        assert job.status == "succeeded" and job.result_file.endswith(".xlsx")
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 200
    bad = client.post("/data/export/", {"layer": "buildings", "area": "polygon", "polygon": '{"type": "Point", '
                                        '"coordinates": [89.5, 22.8]}', "format": "gpkg"})
    assert "Draw a polygon, not a Point" in bad.content.decode()


def test_quality_page_lists_records_to_fix(town, tenant_client):
    with tenant_context(town.khulna):
        building = services.building_create(by=None, bin="LOST", footprint=square(100, 20))
    client = tenant_client(town.khulna, town.user("viewer", "khulna"))
    page = client.get("/data/quality/?check=building_no_holding").content.decode()
    assert f'href="/registry/buildings/{building.pk}/"' in page and 'data-check="building_no_holding"' in page
    assert 'data-ward="1"' in page
    wards = client.get("/data/quality/wards.csv")
    assert b"ward,name,records" in b"".join(wards.streaming_content)
    problems = b"".join(client.get("/data/quality/problems.csv").streaming_content).decode("utf-8-sig")
    assert f"/registry/buildings/{building.pk}/" in problems
    geojson = client.get("/data/quality/wards.geojson").json()
    assert geojson["features"][0]["properties"]["ward"] == 1
