"""FSM reports on hand-built data: every figure checked, CSV and PDF downloads, bounded SQL."""

from __future__ import annotations

import csv
import datetime
import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.tenant_apps.fsm import services
from imis.tenant_apps.fsm.models import Application, EffluentTest
from imis.tenant_apps.fsm.reports import fiscal_year_of, plant_utilisation, report_build

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
FY = fiscal_year_of(TODAY())


@pytest.fixture
def history(site, world):
    """In the current fiscal year, all in ward 1, by phone:
    A emptied 3.5 m³ by the 4 m³ truck, 3.4 m³ delivered, feedback 4/5 — fee 1,500;
    B emptied 2 m³ by the 2 m³ truck, never delivered — fee 1,500;
    C cancelled (received in the previous fiscal year); D rejected.
    Plus an unregistered vehicle delivering 2 m³ and two effluent tests (one fails on BOD)."""
    officer, desk = site.user("sanitation_officer"), site.user("help_desk")
    with tenant_context(world.khulna):
        def to_emptied(n, vehicle, volume):
            application = services.application_register(by=desk, applicant_name=f"Applicant {n}",
                                                         holding=site.holdings[n])
            services.application_approve(application=application, by=officer)
            services.application_schedule(application=application, by=officer, provider=site.provider,
                                          vehicle=vehicle, date=TODAY(), slot="morning")
            return services.application_record_emptying(application=application, by=site.user("service_provider"),
                                                        emptied_on=TODAY(), volume_m3=volume, trips=1)

        a = to_emptied(0, site.truck, "3.5")
        b = to_emptied(1, site.small_truck, "2")
        services.disposal_record(by=site.user("plant_operator"), treatment_plant=site.plant, vehicle=site.truck,
                                 arrived_at=timezone.localtime(), volume_received_m3="3.4", applications=[a])
        services.disposal_record(by=site.user("plant_operator"), treatment_plant=site.plant,
                                 unregistered_vehicle="DHAKA-MISC-7", arrived_at=timezone.localtime(),
                                 volume_received_m3="2")
        services.application_record_feedback(application=a, by=desk, rating=4, service_quality=5)
        c = services.application_register(by=desk, applicant_name="Applicant C", holding=site.holdings[2])
        services.application_cancel(application=c, by=desk, reason="Emptied privately")
        last_year = timezone.make_aware(datetime.datetime(FY - 1, 12, 1, 10, 0))
        Application.objects.filter(pk=c.pk).update(received_at=last_year)
        d = services.application_register(by=desk, applicant_name="Applicant D", holding=site.holdings[2])
        services.application_reject(application=d, by=officer, reason="Connected to the sewer")
        EffluentTest.objects.create(treatment_plant=site.plant, sampled_on=TODAY(), bod_mg_l=80, cod_mg_l=150, ph=7)
        EffluentTest.objects.create(treatment_plant=site.plant, sampled_on=TODAY(), bod_mg_l=30, ph=7.5)
        yield {"a": a, "b": b, "c": c, "d": d}


def config(world):
    return services.fsm_settings()


def current_month(report):
    month = TODAY().replace(day=1)
    return next(row for row in report.rows if row["month"] == month)


def test_services_per_ward_channel_provider_and_year(history, world):
    with tenant_context(world.khulna):
        report = report_build("services", fy=FY, by="ward", config=config(world))
        assert [row["group"] for row in report.rows] == ["Ward 1"]
        row = report.rows[0]
        assert (row["received"], row["emptied"], row["cancelled"], row["rejected"]) == (3, 2, 0, 1)
        assert row["volume"] == Decimal("5.50") and row["fees"] == Decimal("3000.00") and row["trips"] == 2
        assert row["rating"] == Decimal("4.0") and row["completion"] == Decimal("66.7")
        assert report.totals["received"] == 3

        by_provider = report_build("services", fy=FY, by="provider", config=config(world))
        assert [(r["group"], r["received"], r["emptied"]) for r in by_provider.rows] == [
            ("Khulna Sweepers Ltd", 2, 2), ("Not assigned yet", 1, 0)]
        by_channel = report_build("services", fy=FY, by="channel", config=config(world))
        assert [(r["group"], r["received"]) for r in by_channel.rows] == [("Phone", 3)]
        by_year = report_build("services", fy=FY, by="year", config=config(world))
        assert [(r["group"], r["received"], r["cancelled"]) for r in by_year.rows] == [
            (f"{FY - 1}-{FY % 100:02d}", 1, 1), (f"{FY}-{(FY + 1) % 100:02d}", 3, 0)]
        assert by_year.totals["received"] == 4 and by_year.period == "All years"


def test_monthly_summary(history, world):
    with tenant_context(world.khulna):
        report = report_build("monthly", fy=FY, config=config(world))
    assert len(report.rows) == 12 and report.rows[0]["month"] == datetime.date(FY, 7, 1)
    row = current_month(report)
    assert (row["received"], row["emptied"], row["arrivals"], row["cancelled"], row["rejected"], row["feedback"]) == (
        3, 2, 2, 1, 1, 1)
    assert row["volume"] == Decimal("5.50") and row["volume_disposed"] == Decimal("5.40")
    assert row["fees"] == Decimal("3000.00") and row["rating"] == Decimal("4.0")
    assert report.totals["received"] == 3 and report.totals["volume"] == Decimal("5.50")


def test_plant_report_and_capacity(history, world, site):
    with tenant_context(world.khulna):
        report = report_build("plant", fy=FY, config=config(world))
        utilisation = plant_utilisation(days=30)
    row = current_month(report)
    days = TODAY().day
    assert (row["arrivals"], row["unregistered"], row["tests"], row["failed"]) == (2, 1, 2, 1)
    assert row["volume"] == Decimal("5.40") and row["capacity"] == Decimal(50 * days)
    assert row["utilisation"] == (Decimal("540") / (50 * days)).quantize(Decimal("0.1"))
    later = [r for r in report.rows if r["month"] > TODAY()]
    assert all(r["capacity"] is None and r["utilisation"] is None for r in later)
    [plant] = utilisation
    assert plant["total"] == Decimal("5.40") and plant["bars"][-1]["volume"] == Decimal("5.40")
    assert plant["utilisation"] == Decimal("0.4")  # 5.4 of 30 × 50 m³


def test_vehicle_log(history, world):
    with tenant_context(world.khulna):
        report = report_build("vehicles", fy=FY, config=config(world))
    rows = {row["vehicle"]: row for row in report.rows}
    assert list(rows) == ["KHULNA-TA-11-0001", "KHULNA-TA-11-0002", "DHAKA-1", "DHAKA-MISC-7"]
    truck, small, unregistered = rows["KHULNA-TA-11-0001"], rows["KHULNA-TA-11-0002"], rows["DHAKA-MISC-7"]
    assert (truck["emptyings"], truck["volume"], truck["arrivals"], truck["delivered"], truck["unaccounted"]) == (
        1, Decimal("3.50"), 1, Decimal("3.40"), Decimal("0.10"))
    assert (small["emptyings"], small["arrivals"], small["unaccounted"]) == (1, 0, Decimal("2.00"))
    assert unregistered["provider"] == "Unregistered" and unregistered["delivered"] == Decimal("2.00")
    assert report.totals["unaccounted"] == Decimal("2.10")


@pytest.mark.parametrize("name", ["services", "monthly", "plant", "vehicles"])
def test_reports_are_a_few_aggregate_queries(history, world, name, django_assert_max_num_queries):
    with tenant_context(world.khulna):
        cfg = config(world)
        with django_assert_max_num_queries(7):
            report_build(name, fy=FY, config=cfg)


def test_report_pages_csv_and_pdf(history, world, tenant_client):
    client = tenant_client(world.khulna, world.user("executive", "khulna"))
    page = client.get(f"/fsm/reports/services/?fy={FY}&by=ward").content.decode()
    assert "৳ 3,000.00" in page and "5.50" in page and "Ward 1" in page

    response = client.get(f"/fsm/reports/monthly/?fy={FY}&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"fsm-monthly-{FY}-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Month", "Received", "Emergencies"] and len(rows) == 14
    assert rows[-1][0] == "Total" and rows[-1][1] == "3" and rows[-1][5] == "5.50"

    response = client.get(f"/fsm/reports/services/?fy={FY}&by=ward&format=pdf")
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "Services per ward" in text and "3,000.00" in text and "Ward 1" in text and "Khulna" in text


def test_bangla_report_uses_bangla_digits(history, world, tenant_client):
    client = tenant_client(world.khulna, world.user("executive", "khulna"))
    client.post("/i18n/setlang/", {"language": "bn", "next": "/"})
    page = client.get(f"/fsm/reports/services/?fy={FY}&by=ward").content.decode()
    assert "৩,০০০.০০" in page
    response = client.get(f"/fsm/reports/services/?fy={FY}&by=ward&format=pdf")
    assert response["Content-Type"] == "application/pdf"


def pdf_text(content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True)
    return result.stdout.decode()
