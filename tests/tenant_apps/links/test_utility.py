"""Water utility sync: from a local HTTP endpoint (with a token header) and from a dropped CSV; records matched to
water connections and buildings by customer ID; the report lists unmatched records and duplicate IDs; the token is
stored encrypted; a 5xx is retried."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from imis.tenant_apps.links import services
from imis.tenant_apps.links.models import Link, LinkRun, UtilityAccount
from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.water.models import WaterConnection

pytestmark = pytest.mark.django_db

CUSTOMERS = {"customers": [
    {"customer_id": "WC-1", "customer_name": "Abdul Karim", "connection_status": "active", "payment_status": "paid",
     "arrears": 0},
    {"customer_id": "WC-2", "customer_name": "Nasrin", "connection_status": "active", "payment_status": "overdue",
     "arrears": "1250.50"},
    {"customer_id": "WC-3", "customer_name": "Rahim", "connection_status": "disconnected", "arrears": None},
    {"customer_id": "WC-9", "customer_name": "Not ours", "connection_status": "active"},
    {"customer_id": "WC-7", "customer_name": "Twice", "connection_status": "active"},
    {"customer_id": "wc-7", "customer_name": "Twice again", "connection_status": "active"},
    {"customer_id": "", "customer_name": "No ID"},
    {"customer_id": "WC-8", "arrears": "a lot"},
]}


@pytest.fixture
def connection_wc2(place):
    with tenant_context(place.khulna):
        holding = registry.holding_create(by=None, holding_id="1-0001-00001", ward=place.ward1, address="1 Road",
                                          owners=[{"name": "Nasrin"}])
        building = Building.objects.get(bin="B-2")
        return WaterConnection.objects.create(customer_id="WC-2", status="active", holding=holding,
                                              building=building, applicant_name="Nasrin",
                                              applied_on="2026-08-01")


def configure(place, **kwargs):
    with tenant_context(place.khulna):
        return services.link_configure(by=place.user("municipal_admin"), kind="utility", **kwargs)


def run_now(place, capture):
    with tenant_context(place.khulna), capture(execute=True):
        run = services.link_run_start(by=place.user("gis_officer"), kind="utility")
    with tenant_context(place.khulna):
        return LinkRun.objects.get(pk=run.pk)


def test_sync_from_http_matches_by_customer_id(place, connection_wc2, http_server, run_jobs_now,
                                               django_capture_on_commit_callbacks):
    server = http_server([(503, {"error": "busy"}), (200, CUSTOMERS)])
    configure(place, is_enabled=True, endpoint_url=server.url + "customers", secret_header="X-Api-Key",
              secret="s3cret-token")
    with tenant_context(place.khulna):
        stored = Link.objects.get(kind="utility")
        assert "s3cret-token" not in stored.secret_encrypted and stored.secret == "s3cret-token"
    run = run_now(place, django_capture_on_commit_callbacks)
    assert len(server.requests) == 2  # 503, then retried
    assert all(request["headers"]["X-Api-Key"] == "s3cret-token" for request in server.requests)
    assert run.status == "succeeded", run.error
    report = run.report
    assert report["source_rows"] == 8 and report["matched"] == 3
    assert report["matched_connections"] == 1 and report["matched_buildings"] == 3  # WC-1, WC-2 (via its connection), wc-3
    assert [item["customer_id"] for item in report["unmatched"]] == ["WC-9"]
    assert report["duplicates"] == [{"customer_id": "WC-7", "rows": [5, 6]}]
    assert {(p["row"], p["field"]) for p in report["problems"]} == {(7, "customer_id"), (8, "arrears")}
    with tenant_context(place.khulna):
        accounts = {a.customer_id: a for a in UtilityAccount.objects.select_related("building", "water_connection")}
        assert set(accounts) == {"WC-1", "WC-2", "WC-3", "WC-9"}
        assert accounts["WC-2"].water_connection == connection_wc2 and str(accounts["WC-2"].arrears) == "1250.50"
        assert accounts["WC-2"].building.bin == "B-2" and accounts["WC-3"].building.bin == "B-3"
        assert not accounts["WC-9"].is_matched
        link = Link.objects.get(kind="utility")
        assert link.last_status == "succeeded" and link.last_error == ""


def test_a_second_sync_updates_the_accounts(place, http_server, run_jobs_now, django_capture_on_commit_callbacks):
    server = http_server([(200, [{"customer_id": "WC-1", "payment_status": "paid"}]),
                          (200, [{"customer_id": "WC-1", "payment_status": "overdue", "arrears": "300"}])])
    configure(place, is_enabled=False, endpoint_url=server.url)
    run_now(place, django_capture_on_commit_callbacks)
    run_now(place, django_capture_on_commit_callbacks)
    with tenant_context(place.khulna):
        account = UtilityAccount.objects.get()
        assert account.payment_status == "overdue" and str(account.arrears) == "300.00"
        assert LinkRun.objects.filter(link__kind="utility", status="succeeded").count() == 2


def test_sync_from_a_dropped_csv(place, run_jobs_now, django_capture_on_commit_callbacks):
    with tenant_context(place.khulna):
        services.utility_file_drop(by=place.user("gis_officer"), uploaded_file=SimpleUploadedFile(
            "wasa.csv", b"Customer No,Name,Status,Payment,Arrears\nWC-1,Karim,active,paid,0\nWC-5,X,active,paid,0\n"
                        b"WC-5,Y,active,paid,0\n"))
    run = run_now(place, django_capture_on_commit_callbacks)
    assert run.status == "succeeded"
    assert run.report["matched"] == 1 and run.report["unmatched_count"] == 0 and run.report["duplicate_count"] == 1


def test_a_refused_request_and_a_non_list_fail_clearly(place, http_server, run_jobs_now,
                                                       django_capture_on_commit_callbacks):
    server = http_server([(401, {"error": "bad token"}), (200, {"hello": "world"})])
    configure(place, is_enabled=False, endpoint_url=server.url)
    run = run_now(place, django_capture_on_commit_callbacks)
    assert run.status == "failed" and "HTTP 401" in run.error and len(server.requests) == 1  # not retried
    run = run_now(place, django_capture_on_commit_callbacks)
    assert run.status == "failed" and "not a list" in run.error


def test_configuration_is_checked(place):
    with pytest.raises(ValidationError) as error:
        configure(place, is_enabled=True, endpoint_url="ftp://example.org/x")
    assert error.value.code == "invalid_url"
    with tenant_context(place.khulna), pytest.raises(ValidationError) as error:
        services.link_run_start(by=place.user("gis_officer"), kind="utility")
    assert error.value.code == "not_configured"
    with tenant_context(place.khulna), pytest.raises(ValidationError) as error:
        services.link_configure(by=place.user("viewer"), kind="utility", is_enabled=True)
    assert error.value.code == "forbidden"


def test_an_unexpected_error_ends_the_run_and_its_job(place, http_server, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    from imis.tenant_apps.jobs.models import Job
    from imis.tenant_apps.links.adapters import utility

    def broken(table, *, run):
        raise RuntimeError("boom")

    monkeypatch.setattr(utility, "_sync", broken)
    server = http_server([(200, [])])
    configure(place, is_enabled=False, endpoint_url=server.url)
    with tenant_context(place.khulna), django_capture_on_commit_callbacks(execute=False):
        run = services.link_run_start(by=place.user("gis_officer"), kind="utility")
    with tenant_context(place.khulna), pytest.raises(RuntimeError):
        services.link_run_execute(job_id=run.job_id, run_id=run.pk)
    with tenant_context(place.khulna):
        run.refresh_from_db()
        assert run.status == "failed" and "RuntimeError" in run.error
        assert Job.objects.get(pk=run.job_id).status == "failed"


def test_the_customers_page_lists_matched_and_unmatched(place, connection_wc2, http_server, run_jobs_now,
                                                        tenant_client, django_capture_on_commit_callbacks,
                                                        django_assert_max_num_queries):
    server = http_server([(200, CUSTOMERS)])
    configure(place, is_enabled=False, endpoint_url=server.url)
    run_now(place, django_capture_on_commit_callbacks)
    viewer = tenant_client(place.khulna, place.user("viewer"))
    viewer.get("/links/utility/accounts/")
    with django_assert_max_num_queries(12):
        page = viewer.get("/links/utility/accounts/").content.decode()
    assert 'data-total="4"' in page and 'data-customer="WC-9"' in page and "৳ 1,250.50" in page
    unmatched = viewer.get("/links/utility/accounts/?matched=no").content.decode()
    assert 'data-total="1"' in unmatched and 'data-customer="WC-9"' in unmatched
    assert 'data-total="1"' in viewer.get("/links/utility/accounts/?q=nasr").content.decode()
    jhenaidah = tenant_client(place.jhenaidah, place.user("viewer", "jhenaidah"))
    assert 'data-total="0"' in jhenaidah.get("/links/utility/accounts/").content.decode()
    assert tenant_client(place.khulna, place.user("cashier")).get("/links/utility/accounts/").status_code == 403
