"""Uploads and generated files are removed after their keeping time, in each municipality on its own; an import
whose file is gone says so instead of failing."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.dataio import housekeeping, tasks
from imis.tenant_apps.dataio.models import DataImport
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.jobs.services import job_create, job_succeed

from .files import building_rows, buildings_gpkg

pytestmark = pytest.mark.django_db


def uploaded(town, tenant_client, officer, tmp_path, slug="khulna") -> str:
    path = buildings_gpkg(tmp_path / f"{slug}.gpkg", building_rows(2))
    client = tenant_client(getattr(town, slug), officer)
    response = client.post("/data/import/", {"layer": "buildings", "file": SimpleUploadedFile(
        path.name, path.read_bytes())})
    assert response.status_code == 302
    return response["Location"]


def test_old_uploads_and_results_go_recent_ones_stay(town, officer, tenant_client, tmp_path, media_root):
    preview_url = uploaded(town, tenant_client, officer, tmp_path)
    with tenant_context(town.khulna):
        old = DataImport.objects.get()
        old_folder = media_root / old.file_path
        assert old_folder.exists()
        job = job_create(kind="export", title="Export buildings", by=officer)
        result = default_storage.save("dataio/exports/khulna/buildings.gpkg", ContentFile(b"GPKG"))
        job_succeed(job_id=job.pk, result={}, result_file=result)
        later = timezone.now() + datetime.timedelta(days=15)
        assert housekeeping.files_clean(keep_days=14, now=later) == {"uploads": 1, "result_files": 1}
        old.refresh_from_db()
        assert old.file_path == "" and not old_folder.exists() and old.file_name  # the record stays
        assert not default_storage.exists(result) and Job.objects.get(pk=job.pk).result_file == ""
        assert housekeeping.files_clean(keep_days=14, now=later) == {"uploads": 0, "result_files": 0}

    page = tenant_client(town.khulna, officer).get(preview_url, follow=True).content.decode()
    assert "was removed 14 days after its upload" in page


def test_recent_uploads_are_kept(town, officer, tenant_client, tmp_path, media_root):
    uploaded(town, tenant_client, officer, tmp_path)
    with tenant_context(town.khulna):
        assert housekeeping.files_clean(keep_days=14) == {"uploads": 0, "result_files": 0}
        assert (media_root / DataImport.objects.get().file_path).exists()


def test_the_periodic_task_cleans_each_municipality_in_its_own_schema(town, officer, tenant_client, tmp_path,
                                                                      media_root, settings):
    uploaded(town, tenant_client, officer, tmp_path)
    jhenaidah_officer = town.user("gis_officer", "jhenaidah")
    with tenant_context(town.jhenaidah):
        from tests.tenant_apps.registry.factories import ward

        ward(1, -500, -500, 1500, 500)
    uploaded(town, tenant_client, jhenaidah_officer, tmp_path, slug="jhenaidah")
    settings.IMIS_UPLOAD_KEEP_DAYS = 1
    with tenant_context(town.khulna):
        DataImport.objects.update(created=timezone.now() - datetime.timedelta(days=2))
    reports = tasks.clean_files_all_municipalities()
    assert reports["khulna"]["uploads"] == 1 and reports["jhenaidah"]["uploads"] == 0  # its upload is brand new
    with tenant_context(town.jhenaidah):
        assert (media_root / DataImport.objects.get().file_path).exists()
