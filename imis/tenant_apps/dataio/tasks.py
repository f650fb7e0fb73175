"""Celery tasks: thin; they run in the schema they were enqueued from (tenant-schemas-celery)."""

from celery import shared_task


@shared_task
def run_import(job_id: str, import_id: str) -> dict:
    from .importing import data_import_run

    report = data_import_run(job_id=job_id, import_id=import_id)
    return {"landed": report.landed, "message": report.message}


@shared_task
def run_export(job_id: str) -> str:
    from .exporting import export_run

    return export_run(job_id=job_id)


@shared_task
def run_quality_refresh(job_id: str) -> None:
    from .quality import quality_refresh_run

    quality_refresh_run(job_id=job_id)


@shared_task
def clean_files_all_municipalities() -> dict[str, dict]:
    """Periodic: in each municipality, remove uploads and job result files past their keeping time."""
    from django_tenants.utils import tenant_context

    from imis.shared_apps.tenants.models import Municipality

    from .housekeeping import files_clean

    reports = {}
    for municipality in Municipality.objects.exclude(schema_name="public"):
        with tenant_context(municipality):
            reports[municipality.slug] = files_clean()
    return reports
