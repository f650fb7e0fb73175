"""Jobs: progress visible while the job works, found again later, only by its owner or an admin."""

import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.jobs.services import job_create, job_progress, job_progress_of, job_start, job_succeed

pytestmark = pytest.mark.django_db


def test_progress_is_reported_and_polled(world, tenant_client):
    owner = world.user("gis_officer", "khulna")
    with tenant_context(world.khulna):
        job = job_create(kind="import", title="Import buildings.gpkg", by=owner)
        job_start(job_id=job.pk)
        job_progress(job_id=job.pk, done=250, total=1000, message="Checking rows")
        assert job_progress_of(job)["percent"] == 25
    client = tenant_client(world.khulna, owner)
    partial = client.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'value="25"' in partial and "Checking rows" in partial and 'hx-trigger="every 1s"' in partial

    with tenant_context(world.khulna):
        job_succeed(job_id=job.pk, result={"inserted": 1000})
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'value="100"' in page and "every 1s" not in page
    assert "Import buildings.gpkg" in client.get("/jobs/").content.decode()


def test_jobs_are_private_to_their_owner_and_admins(world, tenant_client):
    with tenant_context(world.khulna):
        job = job_create(kind="export", title="Export", by=world.user("gis_officer", "khulna"))
    assert tenant_client(world.khulna, world.user("viewer", "khulna")).get(f"/jobs/{job.pk}/").status_code == 404
    assert tenant_client(world.khulna, world.user("municipal_admin", "khulna")).get(f"/jobs/{job.pk}/").status_code == 200
    other_town = tenant_client(world.jhenaidah, world.user("municipal_admin", "jhenaidah"))
    assert other_town.get(f"/jobs/{job.pk}/").status_code == 404


def test_idempotency_key_returns_the_same_job(world):
    with tenant_context(world.khulna):
        first = job_create(kind="bill_run", title="Bills 2026-27 Q1", idempotency_key="2026-27-q1")
        again = job_create(kind="bill_run", title="Bills 2026-27 Q1", idempotency_key="2026-27-q1")
    assert first.pk == again.pk


def test_a_job_whose_queue_cannot_be_reached_fails_with_a_message(world, django_capture_on_commit_callbacks):
    """A real Celery app whose broker port is closed: the job does not stay 'queued' for ever."""
    from celery import Celery

    from imis.tenant_apps.jobs.models import Job
    from imis.tenant_apps.jobs.services import job_enqueue

    # not made the current app: shared tasks in this thread would otherwise resolve to this app's copies for the
    # rest of the run (a later test patching `run_import.delay` would patch a task the web threads never call)
    unreachable = Celery("unreachable", broker="redis://127.0.0.1:1/0", broker_connection_timeout=0.5,
                         set_as_current=False)

    @unreachable.task(name="tests.never_runs")
    def never_runs(job_id):  # pragma: no cover - the broker never takes it
        raise AssertionError

    with tenant_context(world.khulna):
        job = job_create(kind="export", title="Export", by=world.user("gis_officer", "khulna"))
        with django_capture_on_commit_callbacks(execute=True):
            job_enqueue(job=job, task=never_runs)
        job.refresh_from_db()
        assert job.status == Job.Status.FAILED
        assert "task queue could not be reached" in job.error
