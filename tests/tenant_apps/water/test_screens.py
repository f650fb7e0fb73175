"""Water supply screens: each step through the web forms per role, errors beside their fields, bulk upload with
its rejects table, the bill run, paying a bill from the connection page, feature gating and isolation."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from imis.tenant_apps.water import services
from imis.tenant_apps.water.models import MeterReading, WaterBill, WaterConnection

from .town import feature_switch

pytestmark = pytest.mark.django_db
S = WaterConnection.Status


@pytest.fixture
def eager_celery():
    from imis import celery_app

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_the_life_cycle_through_the_screens(town, world, tenant_client, eager_celery,
                                            django_capture_on_commit_callbacks):
    officer = tenant_client(world.khulna, town.user("water_officer"))
    viewer = tenant_client(world.khulna, town.user("viewer"))
    assert viewer.get("/water/").status_code == 200
    assert viewer.get("/water/new/").status_code == 403
    assert tenant_client(world.khulna, town.user("help_desk")).get("/water/").status_code == 403
    assert tenant_client(world.khulna).get("/water/").status_code in (302, 403)  # anonymous: to the login
    page = officer.post("/water/new/", {"holding": "9-9999-99999", "applicant_name": "Nasrin", "size_mm": 13,
                                        "is_metered": "yes"}).content.decode()
    assert "No holding has this ID." in page
    page = officer.post("/water/new/", {"holding": "1-0001-00001", "applicant_name": "Nasrin", "size_mm": 13,
                                        "is_metered": "yes", "applicant_phone": "017"}).content.decode()
    assert "01712345678" in page  # the phone's error beside the field
    response = officer.post("/water/new/", {"holding": "1-0001-00001", "building": "B-1", "applicant_name": "Nasrin",
                                            "size_mm": 20, "is_metered": "yes"})
    with tenant_context(world.khulna):
        connection = WaterConnection.objects.get(applicant_name="Nasrin")
    assert response["Location"] == f"/water/{connection.pk}/"
    assert viewer.post(f"/water/{connection.pk}/inspect/", {"passed": "yes", "notes": "ok"}).status_code == 403
    officer.post(f"/water/{connection.pk}/inspect/", {"passed": "yes", "notes": "Line in the lane"})
    officer.post(f"/water/{connection.pk}/approve/")
    page = officer.get(f"/water/{connection.pk}/").content.decode()
    assert 'data-action="pay"' in page and "৳ 2,500.00" in page and 'data-status="approved"' in page
    assert viewer.get(f"/water/{connection.pk}/pay/").status_code == 403
    cashier = tenant_client(world.khulna, town.user("cashier"))
    assert cashier.post(f"/water/{connection.pk}/pay/", {"due": f"fee:{connection.pk}",
                                                         "method": "cheque"}).status_code == 200  # no reference
    assert cashier.post(f"/water/{connection.pk}/pay/", {"due": f"fee:{connection.pk}",
                                                         "method": "cash"}).status_code == 302
    page = officer.post(f"/water/{connection.pk}/activate/", {"activated_on": "2026-08-25"}).content.decode()
    assert "Enter the meter&#x27;s number." in page
    officer.post(f"/water/{connection.pk}/activate/", {"activated_on": "2026-08-25", "meter_number": "M-5",
                                                       "initial_reading": "100"})
    page = officer.post(f"/water/{connection.pk}/readings/", {"read_on": "2026-09-30", "reading": "90"})
    assert "less than the last reading" in page.content.decode()
    officer.post(f"/water/{connection.pk}/readings/", {"read_on": "2026-09-30", "reading": "125"})
    with tenant_context(world.khulna), django_capture_on_commit_callbacks(execute=True):
        assert officer.post("/water/bills/run/", {"period": "2026-09"}).status_code == 302  # the job runs
    with tenant_context(world.khulna):
        bill = WaterBill.objects.get(connection=connection)
        assert bill.amount == 260
    page = officer.get(f"/water/{connection.pk}/").content.decode()
    assert bill.number in page and 'data-status="active"' in page and 'data-due="overdue"' in page
    for step in ("applied", "inspected", "approved", "paid", "activated", "billed"):
        assert f">{step.capitalize()}<" in page, step
    officer.post(f"/water/{connection.pk}/pay/", {"due": f"bill:{bill.pk}", "method": "cash"})
    listing = officer.get("/water/", {"status": "active", "due": ""}).content.decode()
    assert connection.customer_id in listing and 'data-total="1"' in listing and 'data-due="clear"' in listing
    officer.post(f"/water/{connection.pk}/disconnect/", {"reason": "Owner asked"})
    officer.post(f"/water/{connection.pk}/reconnect/")
    with tenant_context(world.khulna):
        connection.refresh_from_db()
        assert connection.status == S.ACTIVE
    assert 'data-total="0"' in officer.get("/water/", {"status": "illegal"}).content.decode()


def test_bulk_upload_screen_lists_rejects_and_writes_nothing(town, world, tenant_client):
    connection = town.active()
    officer = tenant_client(world.khulna, town.user("water_officer"))
    bad = (f"customer_id,read_on,reading\n{connection.customer_id},2026-09-30,125\n"
           f"{connection.customer_id},2026-10-30,99\nWC-404,2026-10-30,5\n").encode()
    page = officer.post("/water/readings/upload/", {"file": SimpleUploadedFile("r.csv", bad, "text/csv")})
    html = page.content.decode()
    assert page.status_code == 200 and 'data-row="3"' in html and 'data-row="4"' in html
    assert "nothing was recorded" in html
    with tenant_context(world.khulna):
        assert MeterReading.objects.filter(source="csv").count() == 0
    good = f"customer_id,read_on,reading\n{connection.customer_id},2026-09-30,125\n".encode()
    assert officer.post("/water/readings/upload/", {"file": SimpleUploadedFile("r.csv", good)}).status_code == 302
    with tenant_context(world.khulna):
        assert MeterReading.objects.filter(source="csv").count() == 1
    assert tenant_client(world.khulna, town.user("viewer")).get("/water/readings/upload/").status_code == 403


def test_tariff_screen(town, world, tenant_client):
    officer = tenant_client(world.khulna, town.user("water_officer"))
    assert "৳ 2,500.00" in officer.get("/water/tariffs/").content.decode()
    page = officer.post("/water/tariffs/", {"fiscal_year": 2026, "slabs": "20:8, 10:9", "flat_monthly_rate": "300",
                                            "connection_fee": "3000"}).content.decode()
    assert "Slab limits must increase." in page
    officer.post("/water/tariffs/", {"fiscal_year": 2026, "slabs": "10:8, :12", "flat_monthly_rate": "350",
                                     "connection_fee": "3000"})
    assert "৳ 3,000.00" in officer.get("/water/tariffs/").content.decode()
    assert tenant_client(world.khulna, town.user("viewer")).post("/water/tariffs/", {}).status_code == 403


def test_water_pages_are_404_without_the_feature(world, tenant_client):
    feature_switch(world.jhenaidah, False)
    admin = tenant_client(world.jhenaidah, world.user("municipal_admin", "jhenaidah"))
    for path in ("/water/", "/water/new/", "/water/1/", "/water/readings/upload/", "/water/tariffs/",
                 "/water/1/pay/"):
        assert admin.get(path).status_code == 404, path


def test_another_municipalitys_connection_is_404(town, world, tenant_client):
    connection = town.approved()
    feature_switch(world.jhenaidah, True)
    admin = tenant_client(world.jhenaidah, world.user("municipal_admin", "jhenaidah"))
    for path in (f"/water/{connection.pk}/", f"/water/{connection.pk}/inspect/", f"/water/{connection.pk}/pay/",
                 f"/water/{connection.pk}/activate/"):
        assert admin.get(path).status_code == 404, path
    assert admin.post(f"/water/{connection.pk}/approve/").status_code == 404
    with tenant_context(world.jhenaidah):
        assert WaterConnection.objects.count() == 0
    assert tenant_client(world.khulna, town.user("water_officer")).get(
        f"/water/{connection.pk}/").status_code == 200


def test_the_list_and_the_connection_page_read_in_bounded_queries(town, world, tenant_client,
                                                                  django_assert_max_num_queries):
    for number in range(6):
        connection = town.active(is_metered=number % 2 == 0)
    with tenant_context(world.khulna):
        services.bills_generate(by=None, period=datetime.date(2026, 9, 1))
    officer = tenant_client(world.khulna, town.user("water_officer"))
    officer.get("/water/")  # warm the session and the municipality
    with django_assert_max_num_queries(20):
        page = officer.get("/water/").content.decode()
    assert 'data-total="6"' in page
    with django_assert_max_num_queries(25):
        assert officer.get(f"/water/{connection.pk}/").status_code == 200


def test_a_water_receipt_prints_for_its_holding_only(town, world):
    connection = town.approved()
    [settlement] = town.pay_fee(connection)
    from imis.tenant_apps.payments import payables

    payable = payables.payable_for("water")
    content = payable.receipt_pdf(settlement.receipt_number, holding=town.holding, municipality=world.khulna,
                                  language="bn")
    assert content.startswith(b"%PDF")
    assert payable.receipt_pdf(settlement.receipt_number, holding=town.other_holding, municipality=world.khulna,
                               language="en") is None
