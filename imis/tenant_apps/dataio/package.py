"""A whole GIS package (a GeoPackage with several layers) in one go: the onboarding wizard's entry point.

It is the ordinary import pipeline with the choices made for the user: each layer of the file goes into the
registry layer of the same name ("wards", "Buildings", "road" ...), its columns are matched by our field names,
aliases and remembered mappings, and the import runs as one job (tasks.run_import) with a progress bar. All
layers land in one transaction (importing.import_layers), in the order that keeps references: a package with one
bad layer leaves the registry exactly as it was, and its problems are listed and downloadable.

Runs inside the municipality's schema (the console wraps it in tenant_context).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from imis.tenant_apps.jobs.services import job_progress_of

from .importing import (
    ImportOptions,
    data_import_configure,
    data_import_source,
    data_import_start,
    data_import_suggestions,
    data_import_upload,
)
from .models import DataImport
from .reading import SourceError

RECENT_PACKAGES = 5


def package_import_start(*, upload, by, skip_bad_rows: bool = False, srid: int | None = None) -> DataImport:
    """Store the uploaded package, match its layers to ours and queue the import job.

    Raises SourceError (nothing stored) when the file cannot be read or none of its layers is one of ours.
    The job is sent when this transaction commits, from the schema it runs in.
    """
    data_import = data_import_upload(upload=upload, layer="", by=by)
    folder = (Path(settings.MEDIA_ROOT) / data_import.file_path).parent
    try:
        with transaction.atomic():
            suggestions = data_import_suggestions(data_import)
            layers = {name: entry for name, entry in suggestions.items() if entry["target"]}
            if not layers:
                names = ", ".join(f"“{name}”" for name in suggestions)
                raise SourceError(_("None of the file's layers (%(names)s) is a registry layer. Name the layers "
                                    "wards, roads, buildings, containments ... as in the data dictionary.")
                                  % {"names": names}, code="no_matching_layer")
            data_import_configure(data_import=data_import, layers=layers, by=by,
                                  options=ImportOptions(mode="upsert", skip_bad_rows=skip_bad_rows, srid=srid))
            data_import_start(data_import=data_import, by=by, dry_run=False)
    except SourceError:
        DataImport.objects.filter(pk=data_import.pk).delete()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return data_import


def package_imports_recent(*, limit: int = RECENT_PACKAGES) -> list[DataImport]:
    """The latest package imports of the municipality (newest first)."""
    return list(DataImport.objects.filter(layer="").select_related("job")[:limit])


def package_import_report(data_import: DataImport) -> dict:
    """Where the package's job is and, once it is done, what it did per layer: plain data for a page on another
    host (the console), read while the connection is on the municipality's schema."""
    job = data_import.job
    progress = job_progress_of(job) if job else {"percent": 0, "done": 0, "total": 0, "message": ""}
    result = data_import.result or {}
    mapped = data_import.mapping.get("layers") or {}
    source_layers = [layer.name for layer in data_import_source(data_import).layers] if data_import.info else []
    is_running = bool(job and not job.is_done)
    return {
        "id": str(data_import.pk),
        "file_name": data_import.file_name,
        "created": data_import.created,
        "status": data_import.status,
        "status_label": data_import.get_status_display(),
        "is_running": is_running,
        "is_done": bool(result) and not is_running,
        "landed": bool(result.get("landed")),
        "message": result.get("message", ""),
        "job_status": job.status if job else "",
        "job_status_label": job.get_status_display() if job else "",
        "job_error": job.error if job else "",
        "progress": progress,
        "layers": result.get("layers") or [],
        "targets": {name: entry["target"] for name, entry in mapped.items()},
        "ignored": [name for name in source_layers if name not in mapped],
        "has_rejects": bool(data_import.rejects_file),
        "options": {key: value for key, value in (data_import.options or {}).items()
                    if key in asdict(ImportOptions())},
    }


def package_rejects_path(data_import: DataImport) -> Path | None:
    """The rejects CSV of the import, when it has one."""
    if not data_import.rejects_file:
        return None
    path = Path(settings.MEDIA_ROOT) / data_import.rejects_file
    return path if path.exists() else None
