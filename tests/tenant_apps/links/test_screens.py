"""Outside data screens: who may see and do what, per role; the secret never comes back to the page; uploads and
"Run now" go through jobs; jhenaidah sees none of khulna's links, runs, cases or tiles. The links are not tied to a
feature: every municipality has them (jhenaidah has no water supply feature and still reaches them)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from imis.tenant_apps.links import services
from imis.tenant_apps.links.models import DiseaseCase, LinkRun
from tests.tenant_apps.maps.test_tiles import X, Y, Z, read_tile
from tests.tenant_apps.registry.factories import at

pytestmark = pytest.mark.django_db
LON, LAT = at(0, 0)
CASES = f"date,disease,cases,lon,lat\n2026-11-20,Cholera,4,{LON},{LAT}\n".encode()


@pytest.mark.parametrize(("role", "path", "status"), [
    (None, "/links/", 302),
    ("viewer", "/links/", 200),
    ("viewer", "/links/national/", 200),
    ("viewer", "/links/health/wards/", 200),
    ("viewer", "/links/health/upload/", 403),
    ("executive", "/links/utility/", 200),
    ("cashier", "/links/", 403),
    ("service_provider", "/links/health/wards/", 403),
    ("gis_officer", "/links/health/upload/", 200),
    ("municipal_admin", "/links/utility/file/", 200),
    ("water_officer", "/links/utility/file/", 403),
    ("viewer", "/links/nothing/", 404),
])
def test_who_may_use_the_pages(place, tenant_client, role, path, status):
    client = tenant_client(place.khulna, place.user(role) if role else None)
    assert client.get(path).status_code == status


def test_viewers_cannot_change_or_run(place, tenant_client):
    viewer = tenant_client(place.khulna, place.user("viewer"))
    assert viewer.post("/links/utility/", {"endpoint_url": "https://x.example/"}).status_code == 403
    assert viewer.post("/links/utility/run/").status_code == 403
    page = viewer.get("/links/utility/").content.decode()
    assert 'data-action="run-now"' not in page and "Endpoint URL" in page
    assert tenant_client(place.khulna, place.user("water_officer")).post("/links/utility/run/").status_code == 403


def test_configure_never_shows_the_secret_and_documents_the_payload(place, tenant_client):
    admin = tenant_client(place.khulna, place.user("municipal_admin"))
    response = admin.post("/links/national/", {"is_enabled": "on", "endpoint_url": "https://dash.example.gov.bd/in",
                                               "secret": "top-secret-value"})
    assert response.status_code == 302
    page = admin.get("/links/national/").content.decode()
    assert "top-secret-value" not in page and 'data-secret="set"' in page
    assert "X-IMIS-Signature" in page and "imis.sanitation-indicators/1" in page
    bad = admin.post("/links/national/", {"endpoint_url": "not a url"}).content.decode()
    assert "Enter a valid URL." in bad
    # saving again without a secret keeps the stored one
    admin.post("/links/national/", {"endpoint_url": "https://dash.example.gov.bd/v2"})
    with tenant_context(place.khulna):
        from imis.tenant_apps.links.models import Link

        link = Link.objects.get(kind="national")
        assert link.secret == "top-secret-value" and link.endpoint_url.endswith("/v2")


def test_upload_runs_as_a_job_and_the_run_page_names_bad_rows(place, tenant_client, run_jobs_now,
                                                              django_capture_on_commit_callbacks):
    officer = tenant_client(place.khulna, place.user("gis_officer"))
    bad = CASES + b"2026-11-20,Cholera,many,,\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = officer.post("/links/health/upload/", {"dataset": "cases", "file": SimpleUploadedFile(
            "cases.csv", bad)})
    with tenant_context(place.khulna):
        run = LinkRun.objects.get()
        assert run.status == "failed" and not DiseaseCase.objects.exists()
    assert response.status_code == 302 and response["Location"] == f"/links/runs/{run.pk}/"
    page = officer.get(f"/links/runs/{run.pk}/").content.decode()
    assert 'data-row="3"' in page and "whole number" in page and "nothing was imported" in page
    refused = officer.post("/links/health/upload/", {"dataset": "cases", "file": SimpleUploadedFile(
        "cases.xlsx", b"PK..")}).content.decode()
    assert "Upload a CSV or GeoJSON file." in refused


def test_jhenaidah_sees_nothing_of_khulna(place, tenant_client, run_jobs_now, django_capture_on_commit_callbacks,
                                         tmp_path):
    with tenant_context(place.khulna), django_capture_on_commit_callbacks(execute=True):
        run = services.health_upload(by=place.user("gis_officer"), uploaded_file=SimpleUploadedFile(
            "cases.csv", CASES), dataset="cases")
    khulna = tenant_client(place.khulna, place.user("viewer"))
    jhenaidah = tenant_client(place.jhenaidah, place.user("viewer", "jhenaidah"))
    assert khulna.get(f"/links/runs/{run.pk}/").status_code == 200
    assert jhenaidah.get(f"/links/runs/{run.pk}/").status_code == 404
    assert 'data-total-cases="0"' in jhenaidah.get("/links/health/wards/").content.decode()
    assert 'data-total-cases="4"' in khulna.get("/links/health/wards/").content.decode()
    assert 'data-status="never"' in jhenaidah.get("/links/").content.decode()
    # a khulna member is not a jhenaidah member
    assert tenant_client(place.jhenaidah, place.user("municipal_admin")).get("/links/").status_code in (302, 403)
    # tiles: khulna's cases on khulna's tile only
    response = khulna.get(f"/tiles/disease_cases/{Z}/{X}/{Y}.mvt")
    assert response.status_code == 200
    features = read_tile(response.content, tmp_path)["disease_cases"]
    assert [(f["disease"], f["cases"], f["ward"]) for f in features] == [("Cholera", 4, 1)]
    other = jhenaidah.get(f"/tiles/disease_cases/{Z}/{X}/{Y}.mvt")
    assert other.status_code == 200 and other.content == b""


def test_water_samples_tile_says_pass_or_fail(place, tenant_client, run_jobs_now,
                                              django_capture_on_commit_callbacks, tmp_path):
    with tenant_context(place.khulna), django_capture_on_commit_callbacks(execute=True):
        services.health_upload(by=place.user("gis_officer"), uploaded_file=SimpleUploadedFile(
            "s.csv", f"date,ecoli_cfu,lon,lat\n2026-11-20,40,{LON},{LAT}\n".encode()), dataset="samples")
    response = tenant_client(place.khulna, place.user("viewer")).get(f"/tiles/water_samples/{Z}/{X}/{Y}.mvt")
    features = read_tile(response.content, tmp_path)["water_samples"]
    assert [(f["result"], f["cfu_per_100ml"]) for f in features] == [("fail", 40.0)]


def test_the_sidebar_shows_outside_data_to_readers_only(place, tenant_client):
    assert 'href="/links/"' in tenant_client(place.khulna, place.user("viewer")).get("/").content.decode()
    assert 'href="/links/"' not in tenant_client(place.khulna, place.user("cashier")).get("/").content.decode()


def test_scheduled_runs_start_only_where_switched_on_and_configured(place, http_server, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    from imis.tenant_apps.links import tasks

    queued = []
    monkeypatch.setattr(tasks.link_run_task, "delay", lambda *args, **kwargs: queued.append((args, kwargs)))
    server = http_server([(200, [])])
    with tenant_context(place.khulna):
        services.link_configure(by=None, kind="utility", is_enabled=True, endpoint_url=server.url)
    with tenant_context(place.jhenaidah):
        services.link_configure(by=None, kind="utility", is_enabled=False, endpoint_url=server.url)
        services.link_configure(by=None, kind="national", is_enabled=True)  # no URL, no secret
    with django_capture_on_commit_callbacks(execute=True):
        started = tasks.links_run_scheduled("utility")
    assert list(started) == ["khulna"] and len(queued) == 1
    assert tasks.links_run_scheduled("national") == {}
    with tenant_context(place.khulna):
        assert LinkRun.objects.get().trigger == "schedule"


def test_pages_run_a_bounded_number_of_queries(place, tenant_client, run_jobs_now, http_server,
                                               django_capture_on_commit_callbacks, django_assert_max_num_queries):
    server = http_server([(503, {}), (200, {"ok": True})])
    with tenant_context(place.khulna):
        services.link_configure(by=None, kind="national", is_enabled=True, endpoint_url=server.url, secret="s")
        for _number in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                services.link_run_start(by=place.user("municipal_admin"), kind="national", params={"year": 2026})
        run = LinkRun.objects.last()  # the first, retried
    admin = tenant_client(place.khulna, place.user("municipal_admin"))
    admin.get("/links/")  # warm the session and membership caches
    with django_assert_max_num_queries(15):
        assert admin.get("/links/").status_code == 200
    with django_assert_max_num_queries(15):
        page = admin.get("/links/national/").content.decode()
    assert page.count('data-attempt="1"') == 3 and page.count('data-attempt="2"') == 1  # the first run retried
    with django_assert_max_num_queries(15):
        page = admin.get(f"/links/runs/{run.pk}/").content.decode()
    assert 'data-status-code="503"' in page and 'data-status-code="200"' in page and "Payload sent" in page


def test_a_running_run_shows_its_progress_and_refreshes(place, tenant_client, django_capture_on_commit_callbacks):
    with tenant_context(place.khulna), django_capture_on_commit_callbacks(execute=False):
        run = services.health_upload(by=place.user("gis_officer"), uploaded_file=SimpleUploadedFile(
            "cases.csv", CASES), dataset="cases")  # not sent to a worker
    page = tenant_client(place.khulna, place.user("viewer")).get(f"/links/runs/{run.pk}/").content.decode()
    assert 'data-status="running"' in page and 'hx-trigger="every 2s"' in page and "job-progress-bar" in page
