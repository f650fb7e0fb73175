"""Health data in: cases, hotspots and water samples from CSV and GeoJSON; bad rows named (row, field, reason);
all-or-nothing unless "skip bad rows"; a wrong CRS or missing columns refuse the file; cases vs unsafe sanitation
by ward."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from imis.tenant_apps.jobs.models import Job
from imis.tenant_apps.links import selectors, services
from imis.tenant_apps.links.models import DiseaseCase, LinkRun, WaterSample
from tests.tenant_apps.registry.factories import at

pytestmark = pytest.mark.django_db

LON, LAT = at(0, 0)
LON2, LAT2 = at(1000, 0)


def upload(place, text, *, name="cases.csv", dataset="cases", skip=False, capture):
    with tenant_context(place.khulna), capture(execute=True):
        run = services.health_upload(by=place.user("gis_officer"), uploaded_file=SimpleUploadedFile(
            name, text.encode() if isinstance(text, str) else text), dataset=dataset, skip_bad_rows=skip)
    with tenant_context(place.khulna):
        return LinkRun.objects.get(pk=run.pk)


def test_good_cases_land_with_their_ward(place, run_jobs_now, django_capture_on_commit_callbacks):
    text = (f"Date,Disease,Cases,Deaths,Longitude,Latitude,Ward\n"
            f"2026-11-20,Cholera,4,1,{LON},{LAT},\n"
            f"2026-11-21,Diarrhoea,12,0,,,2\n"
            f"21/11/2026,Typhoid,3,,{LON2},{LAT2},\n")
    run = upload(place, text, capture=django_capture_on_commit_callbacks)
    assert run.status == "succeeded" and run.report["imported"] == 3 and run.report["problems"] == []
    assert not (Path(settings.MEDIA_ROOT) / run.params["file"]).exists()  # the upload is not kept
    with tenant_context(place.khulna):
        cases = {case.disease: case for case in DiseaseCase.objects.select_related("ward")}
        assert cases["Cholera"].ward.number == 1 and cases["Cholera"].location is not None
        assert cases["Cholera"].deaths == 1
        assert cases["Diarrhoea"].ward.number == 2 and cases["Diarrhoea"].location is None
        assert cases["Typhoid"].ward.number == 2 and str(cases["Typhoid"].reported_on) == "2026-11-21"
        assert Job.objects.get(pk=run.job_id).status == "succeeded"


BAD = (f"date,disease,cases,lon,lat,ward\n"
       f"2026-11-20,Cholera,4,{LON},{LAT},\n"
       f"2026-13-40,Cholera,4,{LON},{LAT},\n"          # row 3: bad date
       f"2026-11-20,,4,{LON},{LAT},\n"                  # row 4: no disease
       f"2026-11-20,Cholera,-2,{LON},{LAT},\n"          # row 5: negative count
       f"2026-11-20,Cholera,1,{LAT},{LON},\n"           # row 6: lon/lat swapped -> outside every ward
       f"2026-11-20,Cholera,1,,,9\n"                    # row 7: no ward 9
       f"2026-11-20,Cholera,1,,,\n"                     # row 8: no place
       f"2026-11-20,Cholera,1,545000,2527000,\n")       # row 9: projected metres


def test_bad_rows_are_named_and_nothing_is_written(place, run_jobs_now, django_capture_on_commit_callbacks):
    run = upload(place, BAD, capture=django_capture_on_commit_callbacks)
    assert run.status == "failed" and "nothing was imported" in run.error
    problems = {(p["row"], p["field"]) for p in run.report["problems"]}
    assert problems == {(3, "date"), (4, "disease"), (5, "cases"), (6, "lon"), (7, "ward"), (8, "ward"),
                        (9, "lon")}
    reasons = {p["row"]: p["reason"] for p in run.report["problems"]}
    assert "outside every ward" in reasons[6] and "projected CRS" in reasons[9]
    with tenant_context(place.khulna):
        assert not DiseaseCase.objects.exists()
        assert Job.objects.get(pk=run.job_id).status == "failed"
        link = LinkRun.objects.get(pk=run.pk).link
        assert link.last_status == "failed" and "nothing was imported" in link.last_error


def test_skip_mode_imports_the_good_rows_and_lists_the_rest(place, run_jobs_now,
                                                             django_capture_on_commit_callbacks):
    run = upload(place, BAD, skip=True, capture=django_capture_on_commit_callbacks)
    assert run.status == "succeeded" and run.report["imported"] == 1 and run.report["skipped"] == 7
    with tenant_context(place.khulna):
        assert DiseaseCase.objects.count() == 1


def test_missing_columns_refuse_the_file(place, run_jobs_now, django_capture_on_commit_callbacks):
    run = upload(place, "when,illness,n_people\n2026-11-20,Cholera,4\n", capture=django_capture_on_commit_callbacks)
    assert run.status == "failed"
    assert "date" in run.error and "disease" in run.error and "lon + lat or ward" in run.error
    with tenant_context(place.khulna):
        assert not DiseaseCase.objects.exists()


def geojson(features, crs=None) -> bytes:
    data = {"type": "FeatureCollection", "features": features}
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(data).encode()


def feature(x, y, **props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": props}


def test_geojson_hotspots_and_a_wrong_crs(place, run_jobs_now, django_capture_on_commit_callbacks):
    good = geojson([feature(LON, LAT, date="2026-11-02", disease="Cholera", cases=9),
                    feature(LON2, LAT2, date="2026-11-03", disease="Cholera", cases=2)])
    run = upload(place, good, name="hotspots.geojson", dataset="hotspots", capture=django_capture_on_commit_callbacks)
    assert run.status == "succeeded" and run.report["imported"] == 2
    with tenant_context(place.khulna):
        assert sorted(DiseaseCase.objects.values_list("kind", "ward__number")) == [("hotspot", 1), ("hotspot", 2)]
    utm = geojson([feature(545000, 2527000, date="2026-11-02", disease="Cholera", cases=9)],
                  crs="urn:ogc:def:crs:EPSG::32645")
    run = upload(place, utm, name="utm.geojson", dataset="hotspots", capture=django_capture_on_commit_callbacks)
    assert run.status == "failed" and "EPSG:4326" in run.error
    with tenant_context(place.khulna):
        assert DiseaseCase.objects.count() == 2


def test_water_samples_pass_or_fail_against_the_threshold(place, run_jobs_now, django_capture_on_commit_callbacks):
    text = (f"sample_id,sampled_on,E. coli (CFU/100 ml),lon,lat,threshold\n"
            f"S-1,2026-11-20,0,{LON},{LAT},\n"
            f"S-2,2026-11-20,35,{LON},{LAT},\n"
            f"S-3,2026-11-20,8,{LON2},{LAT2},10\n"
            f"S-4,2026-11-20,lots,{LON2},{LAT2},\n")
    run = upload(place, text, name="samples.csv", dataset="samples", capture=django_capture_on_commit_callbacks)
    assert run.status == "failed" and [(p["row"], p["field"]) for p in run.report["problems"]] == [(5, "ecoli_cfu")]
    run = upload(place, text, name="samples.csv", dataset="samples", skip=True,
                 capture=django_capture_on_commit_callbacks)
    with tenant_context(place.khulna):
        results = dict(WaterSample.objects.values_list("sample_code", "is_pass"))
    assert results == {"S-1": True, "S-2": False, "S-3": True}


def test_cases_against_unsafe_sanitation_by_ward(place, run_jobs_now, django_capture_on_commit_callbacks):
    upload(place, f"date,disease,cases,lon,lat,ward\n2026-11-20,Cholera,4,{LON},{LAT},\n2026-11-21,Cholera,6,,,1\n"
                  f"2026-11-21,Typhoid,5,,,2\n2025-01-01,Cholera,50,,,1\n",
           capture=django_capture_on_commit_callbacks)
    upload(place, f"date,ecoli_cfu,lon,lat\n2026-11-20,12,{LON},{LAT}\n", dataset="samples",
           capture=django_capture_on_commit_callbacks)
    with tenant_context(place.khulna):
        table = selectors.cases_vs_sanitation(since=None, until=None, disease="")
        rows = {row["ward"]: row for row in table["rows"]}
        assert rows[1]["cases"] == 60 and rows[1]["population"] == 100 and str(rows[1]["cases_per_1000"]) == "600.00"
        assert rows[1]["buildings"] == 4 and rows[1]["unsafe_buildings"] == 2 and str(rows[1]["unsafe_share"]) == "50.0"
        assert rows[1]["samples"] == 1 and rows[1]["samples_failed"] == 1
        assert rows[2]["cases"] == 5 and rows[2]["cases_per_1000"] is None and rows[2]["unsafe_share"] == 0
        recent = selectors.cases_vs_sanitation(since=datetime.date(2026, 1, 1), disease="cholera")
        assert {row["ward"]: row["cases"] for row in recent["rows"]} == {1: 10, 2: 0}
        assert recent["totals"]["cases"] == 10


def test_run_now_fetches_the_file_from_the_configured_url(place, http_server, run_jobs_now,
                                                          django_capture_on_commit_callbacks):
    server = http_server([(200, b"date,disease,cases,ward\n2026-11-20,Cholera,3,1\n")])
    with tenant_context(place.khulna):
        services.link_configure(by=place.user("gis_officer"), kind="health", is_enabled=True,
                                endpoint_url=server.url + "export.csv", secret_header="Authorization",
                                secret="Bearer abc", options={"dataset": "cases"})
        with django_capture_on_commit_callbacks(execute=True):
            run = services.link_run_start(by=place.user("gis_officer"), kind="health")
        run.refresh_from_db()
        assert run.status == "succeeded" and run.report["imported"] == 1
        assert DiseaseCase.objects.get().ward.number == 1
    assert server.requests[0]["headers"]["Authorization"] == "Bearer abc"
