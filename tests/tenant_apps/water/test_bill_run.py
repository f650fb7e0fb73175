"""The water bill run as a job: chunked, with progress, by ward, safe to repeat; the page that starts it, its
progress and result; the Celery worker running it; permissions and isolation."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from imis import celery_app
from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.jobs.services import job_create, job_progress_of
from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.water import services
from imis.tenant_apps.water.models import ConnectionEvent, WaterBill

from .town import Town, feature_switch

SEPT = datetime.date(2026, 9, 1)


def read(town, connection, day, value):
    return services.reading_record(by=town.user("water_officer"), connection=connection, read_on=day, reading=value)


def second_ward_connection(town):
    """A flat-rate supply in ward 2."""
    from tests.tenant_apps.registry.factories import ward

    holding = registry.holding_create(by=None, holding_id="2-0001-00001", ward=ward(2, 600, 600, 1500, 1500),
                                      address="3 Rupsha Road", owners=[{"name": "Salma"}])
    return town.active(is_metered=False, holding=holding)


@pytest.mark.django_db
def test_the_run_bills_chunk_by_chunk_with_progress_by_ward_and_never_twice(town):
    metered = town.active()
    read(town, metered, datetime.date(2026, 9, 30), "125")  # 25 m³ in September: ৳ 260
    flat = town.active(is_metered=False, holding=town.other_holding)
    elsewhere = second_ward_connection(town)
    officer = town.user("water_officer")
    steps = []

    ward_one = services.bill_run_execute(by=officer, period=SEPT, ward_number=1, chunk=1,
                                         progress=lambda done, total: steps.append((done, total)))
    assert steps == [(0, 2), (1, 2), (2, 2)]
    assert ward_one == {"period": "2026-09-01", "ward": 1, "connections": 2, "bills": 2, "skipped": 0,
                        "total": "560.00"}
    assert set(WaterBill.objects.values_list("connection_id", flat=True)) == {metered.pk, flat.pk}
    assert WaterBill.objects.get(connection=metered).amount == D("260.00")

    everyone = services.bill_run_execute(by=officer, period=SEPT)  # ward 1 is done: only ward 2 is left
    assert (everyone["connections"], everyone["bills"], everyone["total"]) == (1, 1, "300.00")
    assert WaterBill.objects.get(connection=elsewhere).number == f"WB-202609-{elsewhere.customer_id}"
    again = services.bill_run_execute(by=officer, period=SEPT)
    assert (again["connections"], again["bills"]) == (0, 0)
    assert services.bills_generate(by=None, period=SEPT)["bills"] == 0  # the one-shot run agrees
    assert WaterBill.objects.filter(period=SEPT).count() == 3
    assert ConnectionEvent.objects.filter(action="billed").count() == 3


@pytest.mark.django_db
def test_a_chunk_skips_a_connection_billed_meanwhile(town):
    """Two runs of the same month side by side: the second sees the first's bills once it holds the locks."""
    connection = town.active(is_metered=False)
    tariff = services.bill_run_check(period=SEPT)
    services.bills_generate(by=None, period=SEPT)  # the other run, finished first
    created = services._bills_issue_chunk(by=None, ids=[connection.pk], start=SEPT, tariff=tariff,
                                          now=datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC))
    assert created == [] and WaterBill.objects.filter(connection=connection).count() == 1


@pytest.mark.django_db
def test_the_run_refuses_bad_months_and_the_wrong_role(town):
    town.active(is_metered=False)
    for by, period, code in ((town.user("cashier"), SEPT, "forbidden"),
                             (town.user("viewer"), SEPT, "forbidden"),
                             (town.user("water_officer"), datetime.date(2025, 9, 1), "no_tariff"),
                             (town.user("water_officer"), datetime.date.today(), "month_not_over")):
        with pytest.raises(ValidationError) as refused:
            services.bill_run_execute(by=by, period=period)
        assert refused.value.code == code, (by, period)
    assert WaterBill.objects.count() == 0


@pytest.fixture
def eager_celery():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.mark.django_db
def test_the_page_starts_a_job_shows_its_progress_and_result(town, world, tenant_client, eager_celery,
                                                             django_capture_on_commit_callbacks):
    connection = town.active(is_metered=False)
    officer = tenant_client(world.khulna, town.user("water_officer"))
    page = officer.get("/water/bills/run/").content.decode()
    assert 'name="nonce"' in page and 'name="ward"' in page and "No bill run yet" in page
    page = officer.post("/water/bills/run/", {"period": datetime.date.today().strftime("%Y-%m")}).content.decode()
    assert "Bill a month once it has ended." in page
    page = officer.post("/water/bills/run/", {"period": "2025-09"}).content.decode()
    assert "No water tariff is set for 2025-26." in page
    with tenant_context(world.khulna):
        assert Job.objects.count() == 0

    nonce = uuid.uuid4().hex
    with tenant_context(world.khulna), django_capture_on_commit_callbacks(execute=True):
        response = officer.post("/water/bills/run/", {"period": "2026-09", "ward": "1", "nonce": nonce})
    with tenant_context(world.khulna):
        job = Job.objects.get()
        bill = WaterBill.objects.get(connection=connection)
    assert response.status_code == 302 and response["Location"] == f"/water/bills/run/{job.pk}/"
    assert (job.kind, job.status, job.params) == ("water.bill_run", "succeeded", {"period": "2026-09-01", "ward": 1})
    assert job.result["bills"] == 1 and job.result["total"] == "300.00" and bill.amount == D("300.00")
    with tenant_context(world.khulna):
        assert job_progress_of(job)["percent"] == 100

    again = officer.post("/water/bills/run/", {"period": "2026-09", "ward": "1", "nonce": nonce})
    assert again["Location"] == f"/water/bills/run/{job.pk}/"  # the same form sent twice: the same job
    page = officer.get(response["Location"]).content.decode()
    assert 'data-status="succeeded"' in page and 'data-bills="1"' in page and "৳ 300.00" in page
    partial = officer.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="water-bill-run"') and "hx-get" not in partial  # done: no more polling
    listing = officer.get("/water/bills/run/").content.decode()
    assert f'href="/water/bills/run/{job.pk}/"' in listing and "Water bills 09/2026, ward 1" in listing

    with tenant_context(world.khulna), django_capture_on_commit_callbacks(execute=True):
        officer.post("/water/bills/run/", {"period": "2026-09"})  # a new run of the month bills nobody twice
    with tenant_context(world.khulna):
        second = Job.objects.exclude(pk=job.pk).get()
        assert (second.status, second.result["bills"], second.result["skipped"]) == ("succeeded", 0, 0)
        assert WaterBill.objects.count() == 1


@pytest.mark.django_db
def test_a_running_job_polls_and_a_second_start_of_the_month_finds_it(town, world, tenant_client):
    with tenant_context(world.khulna):
        job = job_create(kind="water.bill_run", title="Water bills 09/2026, all wards",
                         params={"period": "2026-09-01", "ward": None}, idempotency_key="x")
    officer = tenant_client(world.khulna, town.user("water_officer"))
    partial = officer.get(f"/water/bills/run/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert f'hx-get="/water/bills/run/{job.pk}/"' in partial and 'data-status="pending"' in partial
    response = officer.post("/water/bills/run/", {"period": "2026-09", "nonce": "another"})
    assert response["Location"] == f"/water/bills/run/{job.pk}/"
    with tenant_context(world.khulna):
        assert Job.objects.count() == 1


@pytest.mark.django_db
def test_the_bill_run_pages_per_role_feature_and_municipality(town, world, tenant_client):
    with tenant_context(world.khulna):
        job = job_create(kind="water.bill_run", title="Water bills", params={"period": "2026-09-01", "ward": None})
        tax_job = job_create(kind="tax.bill_run", title="Tax bills")
    for role, status in (("water_officer", 200), ("municipal_admin", 200), ("viewer", 403), ("cashier", 403),
                         ("tax_officer", 403)):
        client = tenant_client(world.khulna, town.user(role))
        assert client.get("/water/bills/run/").status_code == status, role
        assert client.get(f"/water/bills/run/{job.pk}/").status_code == status, role
    officer = tenant_client(world.khulna, town.user("water_officer"))
    assert officer.get(f"/water/bills/run/{tax_job.pk}/").status_code == 404  # another kind of job
    assert tenant_client(world.khulna, town.user("viewer")).post("/water/bills/run/",
                                                                  {"period": "2026-09"}).status_code == 403
    feature_switch(world.jhenaidah, True)
    other = tenant_client(world.jhenaidah, world.user("water_officer", "jhenaidah"))
    assert other.get(f"/water/bills/run/{job.pk}/").status_code == 404
    feature_switch(world.khulna, False)
    assert officer.get("/water/bills/run/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_bill_run_job_runs_through_the_worker(tworld):
    from celery.contrib.testing.worker import start_worker

    from imis.tenant_apps.water.tasks import water_bill_run_task

    feature_switch(tworld.khulna, True)
    with tenant_context(tworld.khulna):
        town = Town(tworld)
        town.active(is_metered=False)
        town.active(is_metered=False, holding=town.other_holding)
        job = job_create(kind="water.bill_run", title="Water bills 09/2026", idempotency_key="w-2026-09")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]):
        with tenant_context(tworld.khulna):
            result = water_bill_run_task.delay(str(job.pk), "2026-09-01", None,
                                               tworld.user("water_officer", "khulna").pk)
        assert result.get(timeout=60)["bills"] == 2
    with tenant_context(tworld.khulna):
        job = Job.objects.get(pk=job.pk)
        assert job.status == "succeeded" and job.result["total"] == "600.00"
        assert job_progress_of(job) | {} == {"done": 2, "total": 2, "message": "", "percent": 100}
        assert WaterBill.objects.count() == 2
