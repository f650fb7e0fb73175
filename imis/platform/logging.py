"""Structured logs: one JSON object a line, each carrying the request id and the tenant (schema) it was written in.

- `JsonFormatter` — the formatter (production LOGGING, gunicorn's logconfig_dict in docker/gunicorn.conf.py).
- `RequestIdMiddleware` — first in MIDDLEWARE: takes a sane `X-Request-ID` from the proxy or makes one, echoes it
  on the response and writes one access line per request (method, path, status, duration, tenant).
- Celery: a task logs with the request id of the request that enqueued it (a message header) and its task id.
- `sentry_before_send` — tags Sentry events with the same tenant and request id.

The tenant is read from the database connection's schema (django-tenants sets it per request and
tenant-schemas-celery per task), so log lines written anywhere during a request or task carry it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import traceback
import uuid
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("imis_request_id", default="")
task_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("imis_task_id", default="")

REQUEST_ID_HEADER = "X-Request-ID"
CELERY_HEADER = "imis_request_id"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_SKIPPED_EXTRAS = {"request", "server_time"}  # django.request passes the HttpRequest object itself


def current_tenant() -> str:
    """The schema of this thread's database connection ('' before Django is set up)."""
    try:
        from django.db import connection

        return str(getattr(connection, "schema_name", "") or "")
    except Exception:  # noqa: BLE001 - logging must never fail because Django is not ready
        return ""


def new_request_id() -> str:
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """`{"time","level","logger","message","request_id","tenant",…extra fields,"exc_info"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id_var.get(),
            "tenant": getattr(record, "tenant", "") or current_tenant(),
        }
        task_id = task_id_var.get()
        if task_id:
            payload["task_id"] = task_id
        for key, value in vars(record).items():
            if key in _RECORD_ATTRS or key in payload or key in _SKIPPED_EXTRAS or key.startswith("_"):
                continue
            payload[key] = value
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path") and "path" not in payload:
            payload["path"] = request.path
            payload["method"] = getattr(request, "method", "")
        if record.exc_info:
            payload["exc_info"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.stack_info:
            payload["stack_info"] = record.stack_info
        return json.dumps(payload, default=str, ensure_ascii=False)


access_log = logging.getLogger("imis.request")
QUIET_PATHS = ("/health", "/metrics", "/static/")


class RequestIdMiddleware:
    """Sets the request id for everything logged during the request; logs one access line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else new_request_id()
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            municipality = getattr(request, "municipality", None)
            access_log.log(
                logging.DEBUG if request.path.startswith(QUIET_PATHS) else logging.INFO,
                "%s %s %s", request.method, request.path, response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "tenant": municipality.slug if municipality is not None else "public",
                    "user_id": _user_id(request),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def _user_id(request):
    """The user's id if the request already looked the user up (never a session query of its own)."""
    user = request.__dict__.get("user")
    if user is not None and type(user).__name__ == "SimpleLazyObject":
        user = getattr(request, "_cached_user", None)
    return getattr(user, "pk", None)


def sentry_before_send(event: dict, hint: dict) -> dict:
    """Sentry hook: tag every event with the tenant and the request id (no personal data is sent)."""
    tags = event.setdefault("tags", {})
    tags.setdefault("tenant", current_tenant() or "public")
    if request_id_var.get():
        tags.setdefault("request_id", request_id_var.get())
    if task_id_var.get():
        tags.setdefault("task_id", task_id_var.get())
    return event


# --- Celery: carry the request id into the task, and name the task in its log lines -------------------------

_task_tokens: dict[str, tuple[contextvars.Token, contextvars.Token]] = {}


def _before_task_publish(sender=None, headers=None, **kwargs):
    if headers is not None and request_id_var.get():
        headers.setdefault(CELERY_HEADER, request_id_var.get())


def _task_prerun(sender=None, task_id=None, task=None, **kwargs):
    origin = getattr(getattr(task, "request", None), CELERY_HEADER, None) or task_id or ""
    _task_tokens[str(task_id)] = (request_id_var.set(str(origin)), task_id_var.set(str(task_id or "")))


def _task_postrun(sender=None, task_id=None, **kwargs):
    tokens = _task_tokens.pop(str(task_id), None)
    if tokens:
        request_id_var.reset(tokens[0])
        task_id_var.reset(tokens[1])


def connect_celery_signals() -> None:
    try:
        from celery import signals
    except ImportError:  # pragma: no cover - celery is a dependency, but logging must not need it
        return
    signals.before_task_publish.connect(_before_task_publish, weak=False, dispatch_uid="imis-log-publish")
    signals.task_prerun.connect(_task_prerun, weak=False, dispatch_uid="imis-log-prerun")
    signals.task_postrun.connect(_task_postrun, weak=False, dispatch_uid="imis-log-postrun")


connect_celery_signals()
