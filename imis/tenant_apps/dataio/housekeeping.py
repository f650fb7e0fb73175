"""Housekeeping: uploaded files and generated exports do not pile up on disk for ever.

An upload is kept while someone may still work on it (preview, mapping, check, import); after
`IMIS_UPLOAD_KEEP_DAYS` days its folder (the file and its rejects CSV) is removed and the import's record keeps what
it did (counts, message). A finished job's result file (an export, a rejects list) goes after the same time.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from imis.tenant_apps.jobs.models import Job

from .models import DataImport

BUSY = (DataImport.Status.CHECKING, DataImport.Status.IMPORTING)


def upload_is_available(data_import: DataImport) -> bool:
    return bool(data_import.file_path) and (Path(settings.MEDIA_ROOT) / data_import.file_path).exists()


def _import_folder(data_import: DataImport) -> Path:
    return Path(settings.MEDIA_ROOT) / "dataio" / "imports" / connection.schema_name / str(data_import.pk)


def files_clean(*, keep_days: int | None = None, now: datetime.datetime | None = None) -> dict[str, int]:
    """Remove this municipality's uploads and job result files older than `keep_days`. Returns the counts."""
    keep_days = settings.IMIS_UPLOAD_KEEP_DAYS if keep_days is None else keep_days
    cutoff = (now or timezone.now()) - datetime.timedelta(days=keep_days)
    uploads = 0
    for data_import in DataImport.objects.filter(created__lt=cutoff).exclude(status__in=BUSY).exclude(file_path=""):
        shutil.rmtree(_import_folder(data_import), ignore_errors=True)
        DataImport.objects.filter(pk=data_import.pk).update(file_path="", rejects_file="")
        uploads += 1
    results = 0
    for job in Job.objects.filter(finished__lt=cutoff).exclude(result_file=""):
        if default_storage.exists(job.result_file):
            default_storage.delete(job.result_file)
        Job.objects.filter(pk=job.pk).update(result_file="")
        results += 1
    return {"uploads": uploads, "result_files": results}
