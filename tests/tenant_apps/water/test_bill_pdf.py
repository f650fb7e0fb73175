"""A monthly water bill as PDF, in English and Bangla (text read back with pdftotext): its number, the water used
and the slabs, arrears; downloaded from the connection page by the roles that see water, nobody else."""

from __future__ import annotations

import datetime
import subprocess
from decimal import Decimal as D

import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.water import services
from imis.tenant_apps.water.models import WaterBill
from imis.tenant_apps.water.pdf import slab_lines

from .town import feature_switch

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True,
                          check=True).stdout.decode()


def test_slab_lines_add_up_to_the_charge():
    slabs = [["10", "8.00"], ["20", "10.50"], [None, "15.00"]]
    lines = slab_lines(D("25"), slabs, "en")
    assert [(line["label"], line["used"], line["amount"]) for line in lines] == [
        ("First 10 m³", "10.00", "৳ 80.00"), ("Next, up to 20 m³", "10.00", "৳ 105.00"),
        ("Above 20 m³", "5.00", "৳ 75.00")]
    assert [line["label"] for line in slab_lines(D("4"), slabs, "bn")] == ["প্রথম ১০ ঘন মিটার"]


def test_the_bill_prints_in_english_and_bangla_from_the_connection_page(town, world, tenant_client):
    connection = town.active()
    services.reading_record(by=town.user("water_officer"), connection=connection,
                            read_on=datetime.date(2026, 9, 30), reading="125")
    services.bills_generate(by=None, period=datetime.date(2026, 9, 1))
    services.reading_record(by=town.user("water_officer"), connection=connection,
                            read_on=datetime.date(2026, 10, 31), reading="129")
    services.bills_generate(by=None, period=datetime.date(2026, 10, 1))
    september, october = WaterBill.objects.order_by("period")
    officer = tenant_client(world.khulna, town.user("water_officer"))
    page = officer.get(f"/water/{connection.pk}/").content.decode()
    assert f'href="/water/bills/{october.number}/bill.pdf"' in page

    response = officer.get(f"/water/bills/{october.number}/bill.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert october.number in text and connection.customer_id in text and "October 2026" in text
    assert "Abdul Karim" in text and "1-0001-00001" in text
    assert "৳ 32.00" in text  # 4 m³ × ৳ 8
    assert "৳ 260.00" in text and "৳ 292.00" in text  # September unpaid: arrears, and the total payable

    bangla = pdf_text(officer.get(f"/water/bills/{october.number}/bill.pdf", {"lang": "bn"}).content)
    assert october.number in bangla
    assert "পানির বিল" in bangla and "অক্টোবর ২০২৬" in bangla and "৳ ২৯২.০০" in bangla

    from imis.tenant_apps.payments.services import counter_take

    counter_take(by=town.user("cashier"), holding=town.holding, items=[("water", f"bill:{september.pk}", None)],
                 method="cash")
    paid = pdf_text(officer.get(f"/water/bills/{september.number}/bill.pdf").content)
    assert september.number in paid and "PAID" in paid


def test_the_bill_pdf_per_role_feature_and_municipality(town, world, tenant_client):
    town.active(is_metered=False)
    services.bills_generate(by=None, period=datetime.date(2026, 9, 1))
    bill = WaterBill.objects.get()
    url = f"/water/bills/{bill.number}/bill.pdf"
    for role, status in (("viewer", 200), ("cashier", 200), ("help_desk", 403), ("gis_officer", 403)):
        assert tenant_client(world.khulna, town.user(role)).get(url).status_code == status, role
    assert tenant_client(world.khulna).get(url).status_code in (302, 403)
    officer = tenant_client(world.khulna, town.user("water_officer"))
    assert officer.get("/water/bills/WB-209901-WC-999999/bill.pdf").status_code == 404
    feature_switch(world.jhenaidah, True)
    other = tenant_client(world.jhenaidah, world.user("water_officer", "jhenaidah"))
    assert other.get(url).status_code == 404
    with tenant_context(world.jhenaidah):
        assert WaterBill.objects.count() == 0
    feature_switch(world.khulna, False)
    assert officer.get(url).status_code == 404
