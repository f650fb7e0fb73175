"""Celery tasks: thin; they run in the schema they were enqueued from (tenant-schemas-celery)."""

from __future__ import annotations

from celery import shared_task

MAX_RETRIES = 4  # 5 tries in all
RETRY_BASE_SECONDS = 60  # 1, 2, 4, 8 minutes between tries


@shared_task(bind=True, max_retries=MAX_RETRIES)
def link_run_task(self, job_id: str, run_id: int) -> str:
    """One run of a link; a transient failure (5xx, timeout, refused connection) is retried with backoff."""
    from .errors import TransientLinkError
    from .services import link_run_execute

    try:
        run = link_run_execute(job_id=job_id, run_id=run_id, may_retry=self.request.retries < self.max_retries)
    except TransientLinkError as error:
        raise self.retry(exc=error, countdown=RETRY_BASE_SECONDS * 2**self.request.retries) from error
    return run.status


@shared_task
def links_run_scheduled(kind: str) -> dict[str, int | str]:
    """Periodic: in each active municipality whose link of this kind is switched on and configured, start a run."""
    from django.core.exceptions import ValidationError
    from django_tenants.utils import tenant_context

    from imis.shared_apps.tenants.models import Municipality

    from .adapters import adapter_for
    from .models import Link, LinkRun
    from .services import link_run_start

    started: dict[str, int | str] = {}
    for municipality in Municipality.objects.filter(status=Municipality.Status.ACTIVE).exclude(schema_name="public"):
        with tenant_context(municipality):
            link = Link.objects.filter(kind=kind, is_enabled=True).first()
            if link is None or adapter_for(kind).config_problems(link):
                continue
            try:
                started[municipality.slug] = link_run_start(by=None, kind=kind, trigger=LinkRun.Trigger.SCHEDULE).pk
            except ValidationError as error:
                started[municipality.slug] = error.messages[0]
    return started
