"""JSON logs with request id and tenant, the metrics endpoint, the Sentry hook."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from imis.platform import logging as imis_logging
from imis.platform import metrics


def _record(message="hello", **extra) -> logging.LogRecord:
    record = logging.LogRecord("imis.test", logging.WARNING, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_formatter_writes_one_json_object_with_request_id_tenant_and_extras():
    token = imis_logging.request_id_var.set("req-12345678")
    try:
        line = imis_logging.JsonFormatter().format(_record(job_id="j1", rows=3))
    finally:
        imis_logging.request_id_var.reset(token)
    payload = json.loads(line)
    assert "\n" not in line
    assert payload["message"] == "hello" and payload["level"] == "WARNING" and payload["logger"] == "imis.test"
    assert payload["request_id"] == "req-12345678"
    assert payload["tenant"] == "public"  # the connection's schema outside any municipality
    assert payload["job_id"] == "j1" and payload["rows"] == 3
    assert payload["time"].endswith("+00:00")


def test_json_formatter_keeps_the_traceback_and_survives_odd_values():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("once",), sys.exc_info())
    record.request = RequestFactory().get("/registry/")  # django.request passes the request object
    record.obj = object()
    payload = json.loads(imis_logging.JsonFormatter().format(record))
    assert payload["message"] == "failed once"
    assert "ValueError: boom" in payload["exc_info"]
    assert payload["path"] == "/registry/" and "request" not in payload
    assert payload["obj"].startswith("<object object")


def test_request_id_middleware_sets_echoes_and_logs(caplog):
    seen = {}

    def view(request):
        seen["id"] = imis_logging.request_id_var.get()
        logging.getLogger("imis.inner").warning("inside")
        return HttpResponse("ok")

    middleware = imis_logging.RequestIdMiddleware(view)
    with caplog.at_level(logging.INFO):
        response = middleware(RequestFactory().get("/registry/"))
    generated = response["X-Request-ID"]
    assert len(generated) == 32 and seen["id"] == generated
    assert imis_logging.request_id_var.get() == "", "reset after the request"
    access = next(r for r in caplog.records if r.name == "imis.request")
    assert (access.status, access.path, access.method, access.tenant) == (200, "/registry/", "GET", "public")
    assert access.duration_ms >= 0
    inner = next(r for r in caplog.records if r.name == "imis.inner")
    assert json.loads(imis_logging.JsonFormatter().format(inner))["request_id"] == "", "formatted after the reset"

    response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="lb-0123456789abcdef"))
    assert response["X-Request-ID"] == "lb-0123456789abcdef", "a sane id from the proxy is kept"
    response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="bad id\nwith newline"))
    assert response["X-Request-ID"] != "bad id\nwith newline" and len(response["X-Request-ID"]) == 32


def test_celery_tasks_log_with_the_request_id_that_enqueued_them():
    headers = {}
    token = imis_logging.request_id_var.set("req-abcdef12")
    try:
        imis_logging._before_task_publish(headers=headers)
    finally:
        imis_logging.request_id_var.reset(token)
    assert headers == {"imis_request_id": "req-abcdef12"}

    class Request:
        imis_request_id = "req-abcdef12"

    class Task:
        request = Request()

    imis_logging._task_prerun(task_id="task-1", task=Task())
    try:
        payload = json.loads(imis_logging.JsonFormatter().format(_record()))
        assert payload["request_id"] == "req-abcdef12" and payload["task_id"] == "task-1"
    finally:
        imis_logging._task_postrun(task_id="task-1")
    assert imis_logging.request_id_var.get() == "" and imis_logging.task_id_var.get() == ""


def test_sentry_hook_tags_tenant_and_request_id():
    token = imis_logging.request_id_var.set("req-99999999")
    try:
        event = imis_logging.sentry_before_send({"message": "x"}, {})
    finally:
        imis_logging.request_id_var.reset(token)
    assert event["tags"] == {"tenant": "public", "request_id": "req-99999999"}


# --- metrics ---------------------------------------------------------------------------------------------------------------

def _get(token: str | None = None, municipality=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    request = RequestFactory().get("/metrics", **headers)
    request.municipality = municipality
    return metrics.metrics_view(request)


def test_metrics_are_off_without_a_token(monkeypatch, settings):
    from django.http import Http404

    monkeypatch.delenv("IMIS_METRICS_TOKEN", raising=False)
    settings.IMIS_METRICS_TOKEN = ""
    with pytest.raises(Http404):
        _get("anything")


def test_metrics_need_the_bearer_token(monkeypatch):
    monkeypatch.setenv("IMIS_METRICS_TOKEN", "s3cret-token")
    response = _get()
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert _get("wrong-token").status_code == 401


def test_metrics_are_never_served_on_a_municipality_host(monkeypatch):
    from django.http import Http404

    monkeypatch.setenv("IMIS_METRICS_TOKEN", "s3cret-token")
    with pytest.raises(Http404):
        _get("s3cret-token", municipality=object())


@pytest.mark.django_db
def test_metrics_exposition_with_request_counts_and_scrape_gauges(monkeypatch):
    monkeypatch.setenv("IMIS_METRICS_TOKEN", "s3cret-token")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    request = RequestFactory().get("/health")
    metrics.MetricsMiddleware(lambda r: HttpResponse(status=204))(request)
    response = _get("s3cret-token")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert 'imis_http_requests_total{method="GET",status="204",view="unmatched"}' in body
    assert "imis_http_request_duration_seconds_bucket" in body
    assert 'imis_up{component="database"} 1.0' in body
    assert 'imis_celery_queue_length{queue="' in body
    assert "imis_municipalities" in body


def test_metrics_multiprocess_mode_sums_the_workers(monkeypatch, tmp_path):
    monkeypatch.setenv("IMIS_METRICS_TOKEN", "s3cret-token")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    # what a gunicorn worker wrote: a counter file in the directory
    from prometheus_client import CollectorRegistry, Counter, values

    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: 4242))
    counter = Counter("imis_probe_total", "probe", registry=CollectorRegistry())
    counter.inc(3)
    body = metrics.exposition().decode()
    assert "imis_probe_total 3.0" in body
