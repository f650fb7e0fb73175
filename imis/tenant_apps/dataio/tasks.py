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
