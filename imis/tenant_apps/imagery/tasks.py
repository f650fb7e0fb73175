"""Celery tasks: thin; they run in the schema they were enqueued from (tenant-schemas-celery)."""

from celery import shared_task


@shared_task
def convert_imagery(job_id: str, imagery_id: int) -> dict:
    from .services import imagery_convert_run

    imagery = imagery_convert_run(job_id=job_id, imagery_id=imagery_id)
    return {"imagery_id": imagery.pk, "status": imagery.status}
