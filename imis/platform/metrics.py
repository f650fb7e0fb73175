"""Prometheus metrics: `/metrics` on the public host, behind `Authorization: Bearer <IMIS_METRICS_TOKEN>`.

Without IMIS_METRICS_TOKEN the endpoint does not exist (404). On a municipality's host it never does.

What is exported:
- `imis_http_requests_total{method,view,status}` and `imis_http_request_duration_seconds{method,view}` — recorded by
  `MetricsMiddleware` (optional: without it the endpoint still serves the gauges below). `view` is the URL name
  (e.g. `maps:tile`), never the path: bounded cardinality whatever the number of tenants or objects.
- scrape-time gauges: `imis_up{component="database|redis"}`, `imis_municipalities{status}`,
  `imis_celery_queue_length{queue}` (messages waiting in the Redis broker).
- the process/platform collectors of prometheus-client.

Several gunicorn workers: set PROMETHEUS_MULTIPROC_DIR to an empty directory (docker/entrypoint.sh does) and every
worker's counters are summed at scrape time; docker/gunicorn.conf.py marks dead workers.
"""

from __future__ import annotations

import hmac
import os
import time

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter("imis_http_requests_total", "HTTP requests answered", ["method", "view", "status"])
LATENCY = Histogram(
    "imis_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def metrics_token() -> str:
    return os.environ.get("IMIS_METRICS_TOKEN", "") or getattr(settings, "IMIS_METRICS_TOKEN", "")


class MetricsMiddleware:
    """Counts requests and their duration by method, URL name and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "unmatched"
        method = request.method if request.method in _METHODS else "other"
        LATENCY.labels(method, view).observe(time.perf_counter() - started)
        REQUESTS.labels(method, view, str(response.status_code)).inc()
        return response


class ImisCollector:
    """Gauges read when Prometheus scrapes (cheap: one small query and one Redis round trip)."""

    def collect(self):
        up = GaugeMetricFamily("imis_up", "Whether a backing service answers (1) or not (0)", labels=["component"])
        municipalities = GaugeMetricFamily("imis_municipalities", "Municipalities by status", labels=["status"])
        try:
            from django.db.models import Count

            from imis.shared_apps.tenants.models import Municipality

            for row in Municipality.objects.values("status").annotate(n=Count("pk")).order_by():
                municipalities.add_metric([row["status"]], row["n"])
            up.add_metric(["database"], 1)
        except Exception:  # noqa: BLE001 - a scrape reports what is down, it does not fail
            up.add_metric(["database"], 0)
        queue = GaugeMetricFamily("imis_celery_queue_length", "Celery messages waiting in the broker",
                                  labels=["queue"])
        try:
            import redis

            client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1)
            name = settings.CELERY_TASK_DEFAULT_QUEUE
            queue.add_metric([name], client.llen(name))
            up.add_metric(["redis"], 1)
        except Exception:  # noqa: BLE001
            up.add_metric(["redis"], 0)
        yield up
        yield municipalities
        yield queue


def exposition() -> bytes:
    """The text exposition: this process's (or, in multiprocess mode, every worker's) metrics + scrape gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        from prometheus_client import REGISTRY as counted
    gauges = CollectorRegistry()
    gauges.register(ImisCollector())
    return generate_latest(counted) + generate_latest(gauges)


def _authorized(request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


@never_cache
def metrics_view(request):
    token = metrics_token()
    if not token or getattr(request, "municipality", None) is not None:
        raise Http404
    if not _authorized(request, token):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
