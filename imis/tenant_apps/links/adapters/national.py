"""National dashboard push: the municipality's yearly sanitation indicators, as JSON, to the configured endpoint.

The request
    POST <endpoint URL>
    Content-Type: application/json
    X-IMIS-Timestamp: 1795000000                 (Unix seconds when the attempt was signed)
    X-IMIS-Signature: sha256=<hex>               (HMAC-SHA256, key = the shared secret,
                                                  message = timestamp + "." + the raw body bytes)
    X-IMIS-Municipality: khulna
    X-IMIS-Delivery: <run number>-<fiscal year>  (the same on every retry of one run)

The receiver recomputes the HMAC over "<X-IMIS-Timestamp>.<body>" with its copy of the secret, compares it in
constant time, and refuses timestamps more than 5 minutes away from its clock (replays). A push may arrive more
than once (a retry after a lost answer): keep the last one per (municipality, fiscal_year).

The body
    {
      "schema": "imis.sanitation-indicators/1",
      "municipality": {"slug": "khulna", "name": "Khulna City Corporation", "name_bn": "..."},
      "fiscal_year": 2026, "fiscal_year_label": "2026-27",
      "period": {"start": "2026-07-01", "end": "2027-06-30"},
      "generated_at": "2026-12-02T15:00:00+00:00",
      "indicators": [
        {"code": "CWIS-1", "name": "...", "group": "cwis", "unit": "%", "value": "61.3",
         "numerator": "48211", "denominator": "78650", "target": "70.00", "higher_is_better": true,
         "by_ward": {"1": "55.2", "2": "71.0"}}
      ]
    }
Numbers are decimal strings (no rounding surprises); `value` is null when there is no data (denominator 0).
The indicators are those of the KPI app's "Faecal sludge services" and "Citywide inclusive sanitation" groups that
the municipality's features make visible, computed from the raw tables for the fiscal year (year to date while it
runs).

Answers: 2xx is success; 5xx, a timeout or a refused connection is retried with growing waits (up to 5 tries);
another 4xx is a final failure (fix the configuration). Every attempt is logged with its status code, time and
error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.platform.formatting import fiscal_year_label

from ..errors import LinkError, TransientLinkError
from ..models import PushAttempt
from .base import Adapter, http_post_json

SCHEMA = "imis.sanitation-indicators/1"
SIGNATURE_HEADER = "X-IMIS-Signature"
TIMESTAMP_HEADER = "X-IMIS-Timestamp"
TOLERANCE_SECONDS = 300
SANITATION_GROUPS = ("fsm", "cwis")


def signature_of(*, secret: str, body: bytes, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_verify(*, secret: str, body: bytes, timestamp: str, signature: str,
                     tolerance_seconds: int = TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """What a receiver does: the signature matches the secret, body and timestamp, and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    if age > tolerance_seconds or not secret:
        return False
    return hmac.compare_digest(signature_of(secret=secret, body=body, timestamp=timestamp), signature or "")


def _text(value) -> str | None:
    return None if value is None else str(value)


def payload_build(*, year: int, municipality=None) -> dict:
    from imis.tenant_apps.kpi.indicators import Period
    from imis.tenant_apps.kpi.services import dashboard_compute

    municipality = municipality or connection.tenant
    period = Period(year)
    dashboard = dashboard_compute(period=period, municipality=municipality, use_cache=False, with_series=False)
    indicators = []
    for kpi in dashboard.values:
        if kpi.indicator.group not in SANITATION_GROUPS:
            continue
        indicators.append({
            "code": kpi.code, "name": str(kpi.indicator.name), "group": kpi.indicator.group,
            "unit": kpi.indicator.unit, "value": _text(kpi.value), "numerator": _text(kpi.numerator),
            "denominator": _text(kpi.denominator), "target": _text(kpi.target.target) if kpi.target else None,
            "higher_is_better": kpi.indicator.higher_is_better,
            "by_ward": {str(ward): _text(value) for ward, value in sorted(dashboard.by_ward.get(kpi.code, {}).items())},
        })
    return {"schema": SCHEMA,
            "municipality": {"slug": municipality.slug, "name": municipality.name,
                             "name_bn": getattr(municipality, "name_bn", "")},
            "fiscal_year": year, "fiscal_year_label": fiscal_year_label(year),
            "period": {"start": period.start_date.isoformat(), "end": period.end_date.isoformat()},
            "generated_at": timezone.now().isoformat(timespec="seconds"), "indicators": indicators}


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


class NationalAdapter(Adapter):
    kind = "national"
    title = gettext_lazy("National dashboard")
    summary = gettext_lazy("Yearly sanitation indicators pushed to the national dashboard, signed with a shared "
                           "secret.")
    icon = "bi-send"
    is_atomic = False  # each attempt is logged even when the run fails
    documentation = __doc__

    def config_problems(self, link) -> list[str]:
        problems = []
        if not link.endpoint_url:
            problems.append(str(_("Give the endpoint URL.")))
        if not link.has_secret:
            problems.append(str(_("Set the shared secret.")))
        return problems

    def run(self, *, link, run, job_id) -> dict:
        """One attempt; the payload is built on the first and sent unchanged by the retries."""
        from imis.tenant_apps.kpi.indicators import fiscal_year_of

        if "payload" not in run.params:
            year = int(run.params.get("year") or fiscal_year_of(timezone.localdate()))
            run.params = {**run.params, "year": year, "payload": payload_build(year=year)}
            run.save(update_fields=["params"])
        body = body_of(run.params["payload"])
        timestamp = str(int(time.time()))
        number = run.attempts.count() + 1
        headers = {TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: signature_of(secret=link.secret, body=body, timestamp=timestamp),
                   "X-IMIS-Municipality": connection.tenant.slug,
                   "X-IMIS-Delivery": f"{run.pk}-{run.params['year']}"}
        started = time.monotonic()
        attempt = PushAttempt(run=run, number=number, at=timezone.now())
        try:
            response = http_post_json(link, link.endpoint_url, body, headers)
        except TransientLinkError as error:
            attempt.error = error.message[:500]
            attempt.elapsed_ms = int((time.monotonic() - started) * 1000)
            attempt.save()
            raise
        attempt.status_code = response.status_code
        attempt.elapsed_ms = int((time.monotonic() - started) * 1000)
        if response.status_code >= 300:
            attempt.error = (response.text or "")[:300]
        attempt.save()
        if response.status_code >= 500:
            raise TransientLinkError(_("The dashboard answered HTTP %(status)s.") % {"status": response.status_code},
                                     code="server_error")
        if response.status_code >= 300:
            raise LinkError(_("The dashboard refused the push (HTTP %(status)s): %(text)s") % {
                "status": response.status_code, "text": (response.text or "")[:200]}, code="refused")
        return {"fiscal_year": run.params["year"], "indicators": len(run.params["payload"]["indicators"]),
                "status_code": response.status_code, "attempts": number, "bytes": len(body)}
