"""Outside data links: configuring a link, starting a run (always as a job: nothing outside is fetched in a web
request), doing the run in the worker, and dropping files for a link."""

from __future__ import annotations

import datetime
import uuid
from contextlib import nullcontext
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.platform.permissions import require_permission
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.jobs.services import job_create, job_enqueue, job_fail, job_start, job_succeed

from .adapters import ADAPTERS, adapter_for
from .adapters.health import DATASETS
from .errors import LinkError, TransientLinkError
from .models import Link, LinkRun

MANAGE = "links.manage"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".geojson", ".json")


def link_get(kind: str) -> Link:
    if kind not in ADAPTERS:
        raise field_error({"kind": _("Unknown link.")}, code="unknown_link")
    link, _created = Link.objects.get_or_create(kind=kind)
    return link


def _audited(link: Link) -> dict:
    return {"is_enabled": link.is_enabled, "endpoint_url": link.endpoint_url, "secret_header": link.secret_header,
            "has_secret": link.has_secret, "options": link.options, "source_file": link.source_file}


def link_configure(*, by, kind: str, is_enabled: bool, endpoint_url: str = "", secret_header: str = "",
                   secret: str | None = None, clear_secret: bool = False, options: dict | None = None) -> Link:
    """Save a link's settings. `secret` None or "" keeps the stored one (it is never shown again); clear_secret
    removes it."""
    require_permission(by, MANAGE, action=_("configure outside data links"))
    endpoint_url = (endpoint_url or "").strip()
    if endpoint_url:
        try:
            URLValidator(schemes=["http", "https"])(endpoint_url)
        except ValidationError as error:
            raise field_error({"endpoint_url": _("Give a full http:// or https:// address.")},
                              code="invalid_url") from error
    if secret_header and not all(ch.isalnum() or ch == "-" for ch in secret_header):
        raise field_error({"secret_header": _("A header name has only letters, digits and dashes.")},
                          code="invalid_header")
    with transaction.atomic():
        link = Link.objects.select_for_update().get(pk=link_get(kind).pk)
        before = _audited(link)
        link.is_enabled, link.endpoint_url, link.secret_header = is_enabled, endpoint_url, secret_header.strip()
        if clear_secret:
            link.secret_encrypted = ""
        elif secret:
            link.secret = secret
        link.options = {**link.options, **(options or {})}
        link.updated_by_id = getattr(by, "pk", None)
        link.save()
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=link, before=before, after=_audited(link))
    return link


def _store_upload(uploaded_file, *, folder: str) -> str:
    name = Path(uploaded_file.name or "upload.csv").name
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise field_error({"file": _("Upload a CSV or GeoJSON file.")}, code="invalid_file_type")
    if uploaded_file.size > MAX_UPLOAD_BYTES:
        raise field_error({"file": _("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // 2**20}},
                          code="file_too_large")
    relative = Path("links") / connection.schema_name / folder / f"{uuid.uuid4().hex}{Path(name).suffix.lower()}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        for chunk in uploaded_file.chunks():
            handle.write(chunk)
    return str(relative)


def utility_file_drop(*, by, uploaded_file) -> Link:
    """The utility's CSV, kept as the link's source for "Run now" and the schedule until the next upload."""
    require_permission(by, MANAGE, action=_("configure outside data links"))
    relative = _store_upload(uploaded_file, folder="utility")
    with transaction.atomic():
        link = Link.objects.select_for_update().get(pk=link_get("utility").pk)
        before = _audited(link)
        link.source_file, link.options = relative, {**link.options, "source": "file",
                                                    "source_name": Path(uploaded_file.name).name[:200]}
        link.save(update_fields=["source_file", "options", "updated"])
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=link, before=before, after=_audited(link))
    return link


def health_upload(*, by, uploaded_file, dataset: str, skip_bad_rows: bool = False) -> LinkRun:
    """Import a health file (cases, hotspots or water samples) as a job."""
    require_permission(by, MANAGE, action=_("import health data"))
    if dataset not in DATASETS:
        raise field_error({"dataset": _("Choose what the file holds.")}, code="unknown_dataset")
    relative = _store_upload(uploaded_file, folder="health")
    return link_run_start(by=by, kind="health", trigger=LinkRun.Trigger.UPLOAD, params={
        "file": relative, "original_name": Path(uploaded_file.name).name[:200], "dataset": dataset,
        "skip_bad_rows": bool(skip_bad_rows)})


def link_run_start(*, by, kind: str, trigger: str = LinkRun.Trigger.MANUAL, params: dict | None = None) -> LinkRun:
    """A run of the link, as a job the user can leave and find again; the work happens in the worker."""
    from .tasks import link_run_task

    require_permission(by, MANAGE, action=_("run outside data links"))
    link = link_get(kind)
    adapter = adapter_for(kind)
    if trigger != LinkRun.Trigger.UPLOAD:
        problems = adapter.config_problems(link)
        if problems:
            raise ValidationError(" ".join(problems), code="not_configured")
        if link.runs.filter(status=LinkRun.Status.RUNNING, started__gte=timezone.now() - datetime.timedelta(
                hours=1)).exists():
            raise ValidationError(_("A run of this link is still going on; wait for it to finish."), code="running")
    with transaction.atomic():
        job = job_create(kind=f"links.{kind}", title=str(_("%(link)s: run") % {"link": adapter.title}), by=by,
                         params={"kind": kind, "trigger": trigger})
        run = LinkRun.objects.create(link=link, job_id=job.pk, trigger=trigger, params=params or {},
                                     by_id=getattr(by, "pk", None))
        job.params = {**job.params, "run_id": run.pk}
        job.save(update_fields=["params"])
        job_enqueue(job=job, task=link_run_task, run_id=run.pk)
    return run


def _finish(run: LinkRun, *, status: str, report: dict, error: str = "") -> None:
    now = timezone.now()
    LinkRun.objects.filter(pk=run.pk).update(status=status, finished=now, report=report, error=error[:5000])
    Link.objects.filter(pk=run.link_id).update(last_run_at=now, last_status=status, last_error=error[:5000])


def link_run_execute(*, job_id, run_id: int, may_retry: bool = False) -> LinkRun:
    """The worker's side of a run. A transient failure (5xx, timeout) is raised again when `may_retry`, so the
    task retries it later; any other failure ends the run with its message, nothing half-written."""
    run = LinkRun.objects.select_related("link").get(pk=run_id)
    if run.status != LinkRun.Status.RUNNING:
        return run  # done already (a re-delivered task)
    job_start(job_id=job_id)
    adapter = adapter_for(run.link.kind)
    try:
        with transaction.atomic() if adapter.is_atomic else nullcontext():
            report = adapter.run(link=run.link, run=run, job_id=job_id)
            audit_record(actor=None, action=AuditEntry.Action.IMPORT, instance=run,
                         after={"kind": run.link.kind, "trigger": run.trigger, **{
                             key: value for key, value in report.items() if not isinstance(value, list | dict)}})
    except TransientLinkError as error:
        if may_retry:
            LinkRun.objects.filter(pk=run.pk).update(error=error.message[:5000])
            raise
        _finish(run, status=LinkRun.Status.FAILED, report={"problems": error.problems}, error=error.message)
        job_fail(job_id=job_id, error=error.message)
    except LinkError as error:
        _finish(run, status=LinkRun.Status.FAILED, report={"problems": error.problems,
                                                           "problem_count": len(error.problems)},
                error=error.message)
        job_fail(job_id=job_id, error=error.message, result={"run_id": run.pk})
    except Exception as error:  # a bug or a database failure: the run and its job must not look alive forever
        message = _("The run stopped on an unexpected error (%(error)s); nothing was written.") % {
            "error": type(error).__name__}
        _finish(run, status=LinkRun.Status.FAILED, report={}, error=message)
        job_fail(job_id=job_id, error=message, result={"run_id": run.pk})
        raise
    else:
        _finish(run, status=LinkRun.Status.SUCCEEDED, report=report)
        job_succeed(job_id=job_id, result={"run_id": run.pk, **{
            key: value for key, value in report.items() if not isinstance(value, list | dict)}})
    if run.params.get("file"):  # an uploaded health file is not kept once its run is over
        (Path(settings.MEDIA_ROOT) / run.params["file"]).unlink(missing_ok=True)
    run.refresh_from_db()
    return run
