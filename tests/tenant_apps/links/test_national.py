"""National dashboard push: the body is the KPI app's sanitation indicators, signed with the shared secret (the
local server recomputes the HMAC); a 503 is retried and every attempt logged; a wrong secret, an altered body or
an old timestamp fail verification."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.links import services
from imis.tenant_apps.links.adapters.national import SCHEMA, signature_of, signature_verify
from imis.tenant_apps.links.models import Link, LinkRun

pytestmark = pytest.mark.django_db
SECRET = "shared-secret-of-khulna"


def verifying(secret):
    """A receiver: 401 unless the signature holds."""

    def answer(request):
        headers = request["headers"]
        expected = "sha256=" + hmac.new(secret.encode(), headers["X-IMIS-Timestamp"].encode() + b"." + request["body"],
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers["X-IMIS-Signature"]):
            return 401, {"error": "bad signature"}
        return 200, {"ok": True}

    return answer


def push(place, capture, **params):
    with tenant_context(place.khulna), capture(execute=True):
        run = services.link_run_start(by=place.user("municipal_admin"), kind="national", params=params)
    with tenant_context(place.khulna):
        return LinkRun.objects.prefetch_related("attempts").get(pk=run.pk)


def configure(place, url, secret=SECRET):
    with tenant_context(place.khulna):
        services.link_configure(by=place.user("municipal_admin"), kind="national", is_enabled=True,
                                endpoint_url=url, secret=secret)


def test_push_is_signed_retried_on_503_and_logged(place, http_server, run_jobs_now,
                                                  django_capture_on_commit_callbacks):
    server = http_server([(503, {"error": "maintenance"}), (0, verifying(SECRET))])
    configure(place, server.url + "ingest")
    run = push(place, django_capture_on_commit_callbacks, year=2026)
    assert run.status == "succeeded", run.error
    attempts = list(run.attempts.all())
    assert [(a.number, a.status_code) for a in attempts] == [(1, 503), (2, 200)]
    assert "maintenance" in attempts[0].error and attempts[1].error == ""
    assert len(server.requests) == 2 and server.requests[0]["body"] == server.requests[1]["body"]
    request = server.requests[1]
    assert signature_verify(secret=SECRET, body=request["body"], timestamp=request["headers"]["X-IMIS-Timestamp"],
                            signature=request["headers"]["X-IMIS-Signature"])
    body = json.loads(request["body"])
    assert body["schema"] == SCHEMA and body["fiscal_year"] == 2026 and body["fiscal_year_label"] == "2026-27"
    assert body["municipality"]["slug"] == "khulna" and request["headers"]["X-IMIS-Municipality"] == "khulna"
    codes = {item["code"] for item in body["indicators"]}
    assert codes and all(item["group"] in ("fsm", "cwis") for item in body["indicators"])
    assert {"value", "numerator", "denominator", "by_ward", "unit"} <= set(body["indicators"][0])
    with tenant_context(place.khulna):
        link = Link.objects.get(kind="national")
        assert link.last_status == "succeeded"


def test_a_receiver_with_another_secret_refuses_and_it_is_not_retried(place, http_server, run_jobs_now,
                                                                       django_capture_on_commit_callbacks):
    server = http_server([(0, verifying("not-the-same-secret"))])
    configure(place, server.url)
    run = push(place, django_capture_on_commit_callbacks)
    assert run.status == "failed" and "HTTP 401" in run.error
    assert [a.status_code for a in run.attempts.all()] == [401] and len(server.requests) == 1


def test_persistent_5xx_gives_up_after_the_last_try(place, http_server, run_jobs_now,
                                                    django_capture_on_commit_callbacks):
    server = http_server([(502, {"error": "bad gateway"})])
    configure(place, server.url)
    run = push(place, django_capture_on_commit_callbacks)
    assert run.status == "failed" and "502" in run.error
    assert [a.status_code for a in run.attempts.all()] == [502] * 5


def test_an_unreachable_endpoint_is_logged_per_attempt(place, run_jobs_now, django_capture_on_commit_callbacks):
    configure(place, "http://127.0.0.1:9/")  # discard port: connection refused
    run = push(place, django_capture_on_commit_callbacks)
    assert run.status == "failed"
    attempts = list(run.attempts.all())
    assert len(attempts) == 5 and all(a.status_code is None and "could not be reached" in a.error for a in attempts)


def test_verify_refuses_forgeries():
    body, now = b'{"fiscal_year":2026}', time.time()
    timestamp = str(int(now))
    good = signature_of(secret=SECRET, body=body, timestamp=timestamp)
    assert signature_verify(secret=SECRET, body=body, timestamp=timestamp, signature=good, now=now)
    assert not signature_verify(secret="wrong", body=body, timestamp=timestamp, signature=good, now=now)
    assert not signature_verify(secret=SECRET, body=body + b" ", timestamp=timestamp, signature=good, now=now)
    assert not signature_verify(secret=SECRET, body=body, timestamp=timestamp,
                                signature=signature_of(secret="forged", body=body, timestamp=timestamp), now=now)
    assert not signature_verify(secret=SECRET, body=body, timestamp=timestamp, signature=good, now=now + 3600)
    assert not signature_verify(secret=SECRET, body=body, timestamp="yesterday", signature=good, now=now)
    assert not signature_verify(secret="", body=body, timestamp=timestamp, signature="sha256=", now=now)


def test_push_needs_url_and_secret(place):
    from django.core.exceptions import ValidationError

    with tenant_context(place.khulna):
        services.link_configure(by=place.user("municipal_admin"), kind="national", is_enabled=True,
                                endpoint_url="https://dashboard.example.gov.bd/ingest")
        with pytest.raises(ValidationError) as error:
            services.link_run_start(by=place.user("municipal_admin"), kind="national")
    assert "shared secret" in error.value.messages[0]
