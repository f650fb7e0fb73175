"""The dashboard: real-time updates, targets and colours, feature gating, exports, the choropleth, access."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.models import MunicipalityFeature
from imis.tenant_apps.fsm import services as fsm
from imis.tenant_apps.kpi import services
from imis.tenant_apps.kpi.indicators import Period
from imis.tenant_apps.kpi.models import KpiTarget
from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import Bill
from tests.tenant_apps.tax.conftest import Town

from .conftest import FY, local

pytestmark = pytest.mark.django_db
TODAY_FY = 2026


def test_dashboard_updates_within_seconds_of_an_emptying(site, django_capture_on_commit_callbacks):
    cache.clear()
    period = Period(TODAY_FY)
    before = services.dashboard_compute(period=period).value("FSM-1")
    assert before.value is None  # no applications yet: no data
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
    after = services.dashboard_compute(period=period)
    assert after.value("FSM-1").value == Decimal("100.0")
    assert after.value("FSM-4b").value == Decimal("100.0")


@pytest.mark.parametrize("ward", [None, 2])
def test_a_cached_dashboard_is_a_few_queries(scene, django_assert_max_num_queries, ward):
    services.dashboard_compute(period=Period(FY), ward=ward)
    with django_assert_max_num_queries(4):  # features, fsm settings, safe rule, targets
        services.dashboard_compute(period=Period(FY), ward=ward)


def test_target_colours(scene):
    KpiTarget.objects.create(code="FSM-1", year=FY, target=60, direction="higher", amber_band=5)  # 60 % → green
    KpiTarget.objects.create(code="FSM-2", year=FY, target=30, direction="lower", amber_band=5)  # 34 h → amber
    KpiTarget.objects.create(code="FSM-5", year=FY, target=90, direction="higher", amber_band=10)  # 60 % → red
    KpiTarget.objects.create(code="FSM-3", year=FY - 1, target=10)  # another year: no target
    board = services.dashboard_compute(period=Period(FY))
    assert board.value("FSM-1").status == "green"
    assert board.value("FSM-2").status == "amber"
    assert board.value("FSM-5").status == "red"
    assert board.value("FSM-3").target is None and board.value("FSM-3").status is None
    ward2 = services.dashboard_compute(period=Period(FY), ward=2)
    assert ward2.value("FSM-1").value == Decimal("50.0") and ward2.value("FSM-1").status == "red"
    assert board.value("FSM-1").previous == Decimal("100.0") and board.value("FSM-1").trend == "down"


def test_targets_page_is_for_the_municipal_admin(scene, tenant_client, world):
    executive = tenant_client(world.khulna, world.user("executive", "khulna"))
    assert executive.get("/kpi/targets/").status_code == 403
    admin = tenant_client(world.khulna, world.user("municipal_admin", "khulna"))
    assert admin.get(f"/kpi/targets/?year={FY}").status_code == 200
    response = admin.post("/kpi/targets/", {"year": FY, "target-FSM-1": "80", "direction-FSM-1": "higher",
                                            "band-FSM-1": "10", "target-FSM-2": "48", "direction-FSM-2": "lower",
                                            "band-FSM-2": "12"})
    assert response.status_code == 302
    with tenant_context(world.khulna):
        assert KpiTarget.objects.get(code="FSM-1", year=FY).target == 80
        assert KpiTarget.objects.get(code="FSM-2", year=FY).direction == "lower"
    bad = admin.post("/kpi/targets/", {"year": FY, "target-FSM-1": "eighty"})
    assert bad.status_code == 400 and "Enter a number." in bad.content.decode()
    page = executive.get(f"/kpi/?year={FY}").content.decode()
    assert 'data-kpi="FSM-1" data-status="red"' in page  # 60 % against 80 ± 10


def test_only_enabled_features_appear(scene, world, tenant_client):
    client = tenant_client(world.khulna, world.user("executive", "khulna"))
    page = client.get(f"/kpi/?year={FY}").content.decode()
    assert 'data-kpi="FSM-1"' in page and 'data-kpi="TAX-1"' in page and 'data-kpi="SF-1a"' in page
    MunicipalityFeature.objects.filter(municipality=world.khulna, feature_id="fsm").update(is_enabled=False)
    page = client.get(f"/kpi/?year={FY}").content.decode()
    assert 'data-kpi="FSM-1"' not in page and 'data-kpi="SF-5"' not in page
    assert 'data-kpi="SF-1a"' in page and 'data-kpi="TAX-1"' in page
    csv_text = client.get(f"/kpi/export.csv?year={FY}").content.decode("utf-8-sig")
    assert "FSM-1" not in csv_text
    assert client.get(f"/kpi/wards.geojson?code=FSM-1&year={FY}").status_code == 404


def test_page_filters_csv_and_choropleth(scene, world, tenant_client):
    client = tenant_client(world.khulna, world.user("sanitation_officer", "khulna"))
    page = client.get(f"/kpi/?year={FY}&ward=2").content.decode()
    assert "60.0 %" not in page.split('data-kpi="FSM-1"')[1][:600]
    assert "50.0 %" in page.split('data-kpi="FSM-1"')[1][:900]
    assert 'id="kpi-data"' in page and "<script>" not in page.replace('<script id="kpi-data"', "")
    assert client.get(f"/kpi/?year={FY}&ward=99").status_code == 404
    rows = list(csv.DictReader(io.StringIO(client.get(f"/kpi/export.csv?year={FY}").content.decode("utf-8-sig"))))
    by_code = {row["code"]: row for row in rows}
    assert by_code["FSM-1"]["value"] == "60.0" and by_code["FSM-1"]["denominator"] == "5"
    assert by_code["FSM-9"]["value"] == "1"
    assert by_code["EQ-1"]["value"] == "0.83"
    data = client.get(f"/kpi/wards.geojson?code=FSM-1&year={FY}").json()
    values = {f["properties"]["ward"]: f["properties"]["value"] for f in data["features"]}
    assert values[2] == 50.0 and round(values[1], 1) == 66.7
    empty = client.get("/kpi/wards.geojson?code=FSM-1&year=2022").json()
    assert all(f["properties"]["value"] is None for f in empty["features"])


@pytest.mark.parametrize("role,status", [("viewer", 200), ("tax_officer", 200), ("help_desk", 403),
                                         ("service_provider", 403)])
def test_who_sees_the_dashboard(world, tenant_client, role, status):
    assert tenant_client(world.khulna, world.user(role, "khulna")).get("/kpi/").status_code == status


def test_anonymous_is_sent_to_log_in(world, tenant_client):
    assert tenant_client(world.khulna).get("/kpi/").status_code in (302, 403)


def test_pdf_report_in_english_and_bangla(scene, world, tenant_client):
    import shutil
    import subprocess

    client = tenant_client(world.khulna, world.user("executive", "khulna"))
    for language, expected in (("en", ["Application response efficiency", "60.0 %"]),
                               ("bn", ["আবেদনে সাড়া দেওয়ার দক্ষতা", "৬০.০ %"])):
        response = client.get(f"/kpi/report.pdf?year={FY}&lang={language}")
        assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
        if shutil.which("pdftotext"):
            text = subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True,
                                  check=True).stdout.decode()
            for snippet in expected:
                assert snippet in text, (language, snippet)


# --- revenue ------------------------------------------------------------------------------------------------

@pytest.fixture
def town_paid(world):
    """Town's four holdings billed for Q1 and Q2 of 2026-27, then: H0 pays Q1 in September, H1 pays Q1 in
    October, H2 pays nothing, H3 pays Q1 + Q2 on 1 November."""
    cache.clear()
    with tenant_context(world.khulna):
        town = Town(world)
        tax.bill_run_execute(by=None, fiscal_year=2026, period=1)
        tax.bill_run_execute(by=None, fiscal_year=2026, period=2)
        bills = {(b.holding_id, b.period): b.current_amount + b.surcharge for b in Bill.objects.all()}
        h = [holding.pk for holding in town.holdings]
        tax.payment_record(by=None, holding=town.holdings[0], amount=bills[h[0], 1], method="cash",
                           received_at=local(2026, 9, 15, 10))
        tax.payment_record(by=None, holding=town.holdings[1], amount=bills[h[1], 1], method="cash",
                           received_at=local(2026, 10, 10, 10))
        tax.payment_record(by=None, holding=town.holdings[3], amount=bills[h[3], 1] + bills[h[3], 2],
                           method="cash", received_at=local(2026, 11, 1, 10))
        yield town, bills, h


def test_collection_efficiency_current_and_arrears(town_paid):
    from tests.tenant_apps.kpi.test_indicators import figures

    _town, bills, h = town_paid
    q2 = {"year": 2026, "quarter": 2, "today": datetime.date(2026, 11, 28)}
    current_demand = sum(bills[holding, 2] for holding in h)
    assert figures("TAX-1a", **q2)[1:] == (bills[h[3], 2], current_demand)
    arrears_demand = bills[h[1], 1] + bills[h[2], 1] + bills[h[3], 1]  # H0 had paid before October
    assert figures("TAX-1b", **q2)[1:] == (bills[h[1], 1] + bills[h[3], 1], arrears_demand)
    total = figures("TAX-1", **q2)
    assert total[1:] == (bills[h[3], 2] + bills[h[1], 1] + bills[h[3], 1], current_demand + arrears_demand)
    # Q1: every Q1 bill is current; only H0 paid by 30 September
    assert figures("TAX-1a", year=2026, quarter=1)[1:] == (bills[h[0], 1], sum(bills[x, 1] for x in h))
    assert figures("TAX-1b", year=2026, quarter=1)[0] is None  # no older bills: no arrears, no data
    # holdings behind with a bill due before today (28 Nov: the Q1 bills): H2 only
    assert figures("TAX-2", **q2)[1:] == (1, 4)
    ward1 = figures("TAX-1a", ward=1, **q2)  # H0 and H2
    assert ward1[1:] == (0, bills[h[0], 2] + bills[h[2], 2])
