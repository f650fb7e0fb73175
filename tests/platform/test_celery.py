"""A task enqueued inside a municipality runs in that municipality's schema, through the real Redis broker."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django_tenants.utils import tenant_context

from imis import celery_app
from imis.platform.tasks import current_schema_report, record_tenant_heartbeats
from imis.tenant_apps.registry.models import Ward


@pytest.fixture
def celery_worker(tworld):
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]) as worker:
        yield worker


@pytest.mark.django_db(transaction=True)
def test_task_runs_in_the_enqueuing_tenants_schema(tworld, celery_worker):
    with tenant_context(tworld.khulna):
        Ward.objects.create(number=1, name="K1")
        Ward.objects.create(number=2, name="K2")
        khulna_result = current_schema_report.delay()
    with tenant_context(tworld.jhenaidah):
        jhenaidah_result = current_schema_report.delay()
    public_result = current_schema_report.delay()

    khulna_report = khulna_result.get(timeout=30)
    jhenaidah_report = jhenaidah_result.get(timeout=30)
    assert (khulna_report["schema"], khulna_report["counts"]["wards"]) == ("khulna", 2)
    assert (jhenaidah_report["schema"], jhenaidah_report["counts"]["wards"]) == ("jhenaidah", 0)
    assert public_result.get(timeout=30) == {"schema": "public", "counts": {}}
    connection.set_schema_to_public()


@pytest.mark.django_db(transaction=True)
def test_periodic_task_visits_every_active_municipality_in_its_own_schema(tworld, celery_worker):
    with tenant_context(tworld.khulna):
        Ward.objects.create(number=7, name="K7")
    report = record_tenant_heartbeats.delay().get(timeout=30)
    assert report["khulna"]["wards"] == 1
    assert report["jhenaidah"]["wards"] == 0
