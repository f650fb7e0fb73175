"""Jobs: create, report progress, finish. Progress lives in the (tenant-scoped) cache so that a job working
inside one long transaction still shows its progress to the page polling it."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from .models import Job

PROGRESS_SECONDS = 24 * 3600
logger = logging.getLogger(__name__)


def _progress_key(job_id) -> str:
    return f"job-progress:{job_id}"


def job_create(*, kind: str, title: str, by=None, params: dict | None = None, idempotency_key: str = "") -> Job:
    if idempotency_key:
        existing = Job.objects.filter(kind=kind, idempotency_key=idempotency_key).first()
        if existing:
            return existing
    return Job.objects.create(kind=kind, title=title[:200], created_by_id=getattr(by, "pk", None),
                              params=params or {}, idempotency_key=idempotency_key)


def job_enqueue(*, job: Job, task, **kwargs) -> Job:
    """Send the Celery task after the job row is committed (the worker must find it). When the task queue cannot
    be reached the job is marked failed with a message the user can act on."""

    def send():
        try:
            task.delay(str(job.pk), **kwargs)  # publishing retries briefly (CELERY_TASK_PUBLISH_RETRY_POLICY)
        except OperationalError as error:  # kombu's wrapper of the broker's connection errors
            logger.warning("job %s: could not queue %s: %s", job.pk, task.name, error)
            job_fail(job_id=job.pk, error=str(_("The task queue could not be reached, so this job did not start. "
                                                "Please try again in a few minutes.")))

    transaction.on_commit(send)
    return job


def job_start(*, job_id) -> Job:
    Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, started=timezone.now(), error="")
    job_progress(job_id=job_id, done=0, total=0, message="")
    return Job.objects.get(pk=job_id)


def job_progress(*, job_id, done: int, total: int, message: str = "") -> None:
    cache.set(_progress_key(job_id), {"done": done, "total": total, "message": message}, PROGRESS_SECONDS)


def job_progress_of(job: Job) -> dict:
    progress = cache.get(_progress_key(job.pk)) or {"done": 0, "total": 0, "message": ""}
    if job.status == Job.Status.SUCCEEDED:
        progress = {**progress, "done": progress["total"] or 1, "total": progress["total"] or 1}
    total = progress["total"] or 0
    progress["percent"] = int(100 * progress["done"] / total) if total else (100 if job.is_done else 0)
    return progress


def job_succeed(*, job_id, result: dict | None = None, result_file: str = "") -> None:
    Job.objects.filter(pk=job_id).update(status=Job.Status.SUCCEEDED, finished=timezone.now(),
                                         result=result or {}, result_file=result_file)


def job_fail(*, job_id, error: str, result: dict | None = None) -> None:
    Job.objects.filter(pk=job_id).update(status=Job.Status.FAILED, finished=timezone.now(), error=error[:5000],
                                         result=result or {})
