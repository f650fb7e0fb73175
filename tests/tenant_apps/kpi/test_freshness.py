"""Real time at scale: per-source versions (an emptying recomputes what reads FSM tables, not the registry's
coverage nor holding tax), and the dashboard page that shows the last values while a Celery worker recomputes."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis import celery_app
from imis.platform.versioning import (
    ANY_SOURCE,
    data_version_bump,
    data_version_current,
    source_versions_current,
)
from imis.tenant_apps.fsm import services as fsm
from imis.tenant_apps.kpi import services
from imis.tenant_apps.kpi.indicators import REGISTRY, Period

from .conftest import FY

pytestmark = pytest.mark.django_db
TODAY_FY = 2026


MARKERS = {  # what a statement reads, recognised by a piece of its SQL
    "fsm": "FROM fsm_application a",
    "tax": "FROM tax_bill b",
    "all buildings": "b.population_male + b.population_female + b.population_other",
    "all containments": "SELECT w.number, count(*) FROM registry_containment c",
}


def tables_read(fn) -> set[str]:
    """What the SQL run by fn() reads (see MARKERS)."""
    with CaptureQueriesContext(connection) as queries:
        fn()
    sql = " ".join(" ".join(query["sql"].split()) for query in queries.captured_queries)
    return {name for name, marker in MARKERS.items() if marker in sql}


def test_each_indicator_names_its_sources():
    assert REGISTRY["FSM-1"].sources == ("fsm", "registry")
    assert REGISTRY["TAX-1"].sources == ("tax", "payments", "registry")
    assert REGISTRY["SF-1a"].sources == ("registry",)
    assert REGISTRY["SF-5"].sources == ("fsm",)


def test_a_named_bump_moves_its_source_and_the_data_version_only(site):
    before_version, before = data_version_current(), source_versions_current(["fsm", "tax"])
    data_version_bump("fsm")
    after = source_versions_current(["fsm", "tax"])
    assert data_version_current() == before_version + 1  # tiles and tax keep working off the one version
    assert after["fsm"] == before["fsm"] + 1 and after["tax"] == before["tax"]
    assert after[ANY_SOURCE] == before[ANY_SOURCE]
    data_version_bump()  # unnamed (a bill run, an import): every source counts as changed
    assert source_versions_current(["fsm"])[ANY_SOURCE] == before[ANY_SOURCE] + 1


def test_an_emptying_bumps_the_fsm_source_through_the_audit(site, django_capture_on_commit_callbacks):
    before = source_versions_current(["fsm", "tax", "registry"])
    with django_capture_on_commit_callbacks(execute=True):
        fsm.application_register(by=site.user("help_desk"), applicant_name="Rahima", holding=site.holdings[0])
    after = source_versions_current(["fsm", "tax", "registry"])
    assert after["fsm"] > before["fsm"]
    assert (after["tax"], after["registry"], after[ANY_SOURCE]) == (before["tax"], before["registry"],
                                                                    before[ANY_SOURCE])


def test_a_change_recomputes_only_the_indicators_that_read_it(scene):
    period = Period(FY)
    board = services.dashboard_compute(period=period)
    assert tables_read(lambda: services.dashboard_compute(period=period)) == set()  # all cached

    data_version_bump("tax")  # a payment: holding tax indicators only
    assert tables_read(lambda: services.dashboard_compute(period=period)) == {"tax"}

    # an emptying: FSM indicators, without rescanning the buildings or containments (cached registry parts)
    data_version_bump("fsm")
    assert tables_read(lambda: services.dashboard_compute(period=period)) == {"fsm"}

    data_version_bump("registry")  # a building edit: everything that reads the registry
    assert tables_read(lambda: services.dashboard_compute(period=period)) == set(MARKERS)
    data_version_bump()  # a change that did not say what it touched: everything
    assert tables_read(lambda: services.dashboard_compute(period=period)) == set(MARKERS)
    assert services.dashboard_compute(period=period).values == board.values  # same numbers throughout


def test_the_first_dashboard_after_an_emptying_has_the_new_value(site, django_capture_on_commit_callbacks):
    period = Period(TODAY_FY)
    services.dashboard_compute(period=period)
    officer = site.user("sanitation_officer")
    with django_capture_on_commit_callbacks(execute=True):
        application = fsm.application_register(by=site.user("help_desk"), applicant_name="Rahima",
                                               holding=site.holdings[0])
        application = fsm.application_approve(application=application, by=officer)
        application = fsm.application_schedule(application=application, by=officer, provider=site.provider,
                                               vehicle=site.truck, date=timezone.localdate(), slot="morning",
                                               crew=[site.driver])
    assert services.dashboard_compute(period=period).value("FSM-1").value == Decimal("0.0")
    with django_capture_on_commit_callbacks(execute=True):
        fsm.application_record_emptying(application=application, by=site.user("service_provider"),
                                        emptied_on=timezone.localdate(), volume_m3="2.5", is_ppe_worn=True)
    board = services.dashboard_compute(period=period)
    assert board.value("FSM-1").value == Decimal("100.0") and not board.is_updating
    assert board.value("SF-3").numerator == 1  # the containment emptied today, through the FSM source


def test_the_clock_is_part_of_a_running_periods_key(site):
    item, period = REGISTRY["FSM-9"], Period(TODAY_FY)
    versions = source_versions_current(item.sources)
    today = timezone.localdate()
    key_today = services._cache_key(versions, "d", item, period, today)
    assert key_today != services._cache_key(versions, "d", item, period, today + datetime.timedelta(days=1))
    over = Period(FY - 1)  # a finished year's key does not move with the clock
    assert services._cache_key(versions, "d", item, over, today) == services._cache_key(
        versions, "d", item, over, today + datetime.timedelta(days=1))


# --- the page: last values while a worker recomputes ---------------------------------------------------------

@pytest.fixture
def eager_celery():
    """Tasks run in the calling process (the worker itself is exercised in the transactional test below)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def _emptying(site, captured):
    officer = site.user("sanitation_officer")
    with captured(execute=True):
        application = fsm.application_register(by=site.user("help_desk"), applicant_name="Rahima",
                                               holding=site.holdings[0])
        application = fsm.application_approve(application=application, by=officer)
        application = fsm.application_schedule(application=application, by=officer, provider=site.provider,
                                               vehicle=site.truck, date=timezone.localdate(), slot="morning",
                                               crew=[site.driver])
    services.dashboard_compute(period=Period(TODAY_FY))  # the last values: 0 % of one application emptied
    with captured(execute=True):
        fsm.application_record_emptying(application=application, by=site.user("service_provider"),
                                        emptied_on=timezone.localdate(), volume_m3="2.5", is_ppe_worn=True)


def test_page_shows_the_last_values_and_says_so_while_recomputing(site, world, tenant_client, eager_celery,
                                                                  django_capture_on_commit_callbacks):
    _emptying(site, django_capture_on_commit_callbacks)
    client = tenant_client(world.khulna, world.user("executive", "khulna"))
    page = client.get(f"/kpi/?year={TODAY_FY}").content.decode()
    assert "data-kpi-updating" in page and "Updating:" in page
    card = page.split('data-kpi="FSM-1"')[1][:1500]
    assert "0.0 %" in card and "data-kpi-stale" in card
    assert 'data-kpi="SF-1a"' in page and "data-kpi-stale" not in page.split('data-kpi="SF-1a"')[1][:1500]
    # the queued refresh ran (eagerly here): the reload shows the new value, fresh
    page = client.get(f"/kpi/?year={TODAY_FY}").content.decode()
    assert "data-kpi-updating" not in page
    assert "100.0 %" in page.split('data-kpi="FSM-1"')[1][:900]
    # exports never take a stale value
    csv_text = client.get(f"/kpi/export.csv?year={TODAY_FY}").content.decode("utf-8-sig")
    assert "FSM-1,Application response efficiency,fsm,2026-27,city-wide,100.0" in csv_text


def test_without_a_worker_requests_compute_themselves_after_the_grace(site, world, tenant_client, monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    monkeypatch.setattr("imis.tenant_apps.kpi.tasks.kpi_refresh_task.delay", lambda *args: None)  # no worker
    _emptying(site, django_capture_on_commit_callbacks)
    board = services.dashboard_compute(period=Period(TODAY_FY), stale_ok=True)
    assert board.is_updating and board.value("FSM-1").value == Decimal("0.0")
    assert board.freshness.refresh_queued and "FSM-1" in board.freshness.stale_codes
    monkeypatch.setattr(services, "REFRESH_GRACE_SECONDS", -1)  # the refresh is overdue: nobody took it
    board = services.dashboard_compute(period=Period(TODAY_FY), stale_ok=True)
    assert not board.is_updating and board.value("FSM-1").value == Decimal("100.0")


@pytest.mark.django_db(transaction=True)
def test_a_worker_recomputes_after_an_emptying_and_the_new_value_appears(tworld):
    import time

    from celery.contrib.testing.worker import start_worker

    from tests.tenant_apps.fsm.conftest import Site

    cache.clear()
    with tenant_context(tworld.khulna):
        site = Site(tworld)
        officer = site.user("sanitation_officer")
        application = fsm.application_register(by=site.user("help_desk"), applicant_name="Rahima",
                                               holding=site.holdings[0])
        application = fsm.application_approve(application=application, by=officer)
        application = fsm.application_schedule(application=application, by=officer, provider=site.provider,
                                               vehicle=site.truck, date=timezone.localdate(), slot="morning",
                                               crew=[site.driver])
        period = Period(TODAY_FY)
        assert services.dashboard_compute(period=period, stale_ok=True).value("FSM-1").value == Decimal("0.0")
        fsm.application_record_emptying(application=application, by=site.user("service_provider"),
                                        emptied_on=timezone.localdate(), volume_m3="2.5", is_ppe_worn=True)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[celery_app.conf.task_default_queue]):
        with tenant_context(tworld.khulna):
            board = services.dashboard_compute(period=period, stale_ok=True)  # queues the refresh
            assert board.is_updating and board.value("FSM-1").value == Decimal("0.0")
            deadline = time.monotonic() + 30
            while board.is_updating and time.monotonic() < deadline:
                time.sleep(0.2)
                board = services.dashboard_compute(period=period, stale_ok=True)
            assert not board.is_updating
            assert board.value("FSM-1").value == Decimal("100.0")
    connection.set_schema_to_public()
