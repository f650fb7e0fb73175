"""Demand notices and receipts as PDF, in English and Bangla: the text a clerk reads is the text pdftotext gets
back (Bangla conjuncts, Bangla digits, ৳ with lakh grouping), the QR code points at the public verify page, and a
ward's notices come out as one document with a page per bill."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.tax import pdf
from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import Bill

from .conftest import FY

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) is not installed")]
ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts" / "pdf"


def text_of(content: bytes, name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pages_of(content: bytes) -> int:
    path = ARTIFACTS / "_count.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.fixture
def billed_town(town):
    tax.bill_run_execute(by=town.user("tax_officer"), fiscal_year=FY, period=1)
    tax.payment_record(by=town.user("cashier"), holding=town.holdings[0], amount=200, method="cash")
    tax.bill_run_execute(by=town.user("tax_officer"), fiscal_year=FY, period=2)
    return town


def test_notice_in_bangla_reads_and_extracts_right(billed_town, world):
    with tenant_context(world.khulna):
        bill = Bill.objects.get(holding=billed_town.holdings[0], period=2)
        content = pdf.demand_notice_pdf(bill, municipality=world.khulna, language="bn")
    text = text_of(content, "notice-bn.pdf")
    assert content.startswith(b"%PDF") and pages_of(content) == 1
    for expected in ("খুলনা সিটি কর্পোরেশন", "হোল্ডিং কর ডিমান্ড নোটিশ", "গণপ্রজাতন্ত্রী বাংলাদেশ সরকার",
                     "পরিচ্ছন্নতা রেইট", "সড়কবাতি রেইট", "পূর্বের বকেয়া", "২০২৬-২৭", "৪টির মধ্যে ২য়",
                     "৳ ৮১৫.০০",  # 300 arrears + 15 surcharge + 500 this quarter
                     "৳ ৩০০.০০", "৳ ১৫.০০", "৩১ ডিসেম্বর ২০২৬", "1-0010-00001", bill.number):
        assert expected in text, expected
    assert "Owner 0" in text


def test_notice_in_english_with_letterhead_and_qr(billed_town, world):
    with tenant_context(world.khulna):
        bill = Bill.objects.get(holding=billed_town.holdings[1], period=1)
        content = pdf.demand_notice_pdf(bill, municipality=world.khulna, language="en")
        context = pdf._notice_context(bill, owners=["Owner 1"], schedule=tax.rate_schedule_for(FY), language="en",
                                      root="https://khulna.example")
    text = text_of(content, "notice-en.pdf")
    for expected in ("Khulna City Corporation", "Holding tax demand notice", "Conservancy rate", "Total payable",
                     "৳ 1,000.00", "30 Sep 2026", "2026-27", "1st of 4"):
        assert expected in text, expected
    assert "খুলনা সিটি কর্পোরেশন" in text  # the Bangla name under the English one
    assert context["verify_url"] == f"https://khulna.example/tax/verify/{bill.number}/"
    assert context["qr"].startswith("data:image/svg+xml")


def test_receipt_pdf_in_both_languages(billed_town, world):
    with tenant_context(world.khulna):
        payment = tax.payment_record(by=billed_town.user("cashier"), holding=billed_town.holdings[2], amount=1500,
                                     method="cheque", reference="SONALI 448812")
        english = pdf.receipt_pdf(payment, municipality=world.khulna, language="en")
        bangla = pdf.receipt_pdf(payment, municipality=world.khulna, language="bn")
    text = text_of(english, "receipt-en.pdf")
    for expected in (payment.receipt_number, "Money receipt", "৳ 1,500.00", "Cheque", "SONALI 448812",
                     "cashier@khulna.test"):
        assert expected in text, expected
    text = text_of(bangla, "receipt-bn.pdf")
    for expected in ("টাকা প্রাপ্তির রসিদ", "৳ ১,৫০০.০০", "চেক", "২০২৬-২৭", payment.receipt_number):
        assert expected in text, expected


def test_a_wards_notices_are_one_document_with_a_page_per_bill(billed_town, world):
    with tenant_context(world.khulna):
        content, pages = pdf.ward_notices_pdf(fiscal_year=FY, period=2, ward_number=1, municipality=world.khulna,
                                              language="bn", root="https://khulna.example")
    assert pages == 2 and pages_of(content) == 2
    text = text_of(content, "notices-ward-1-bn.pdf")
    assert text.count("হোল্ডিং কর ডিমান্ড নোটিশ") == 2 and "1-0010-00001" in text and "1-0010-00003" in text
    assert "2-0010" not in text


def test_notice_and_receipt_downloads(billed_town, world, tenant_client):
    with tenant_context(world.khulna):
        bill = Bill.objects.get(holding=billed_town.holdings[0], period=2)
        payment = tax.payment_record(by=billed_town.user("cashier"), holding=billed_town.holdings[0], amount=100,
                                     method="cash")
    client = tenant_client(world.khulna, world.user("viewer", "khulna"))
    response = client.get(f"/tax/bills/{bill.number}/notice.pdf", {"lang": "bn"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "হোল্ডিং কর ডিমান্ড নোটিশ" in text_of(response.content, "download-notice.pdf")
    response = client.get(f"/tax/receipts/{payment.receipt_number}/receipt.pdf")
    assert response.status_code == 200 and payment.receipt_number in text_of(response.content, "download-receipt.pdf")
    cash_book = tenant_client(world.khulna, world.user("cashier", "khulna")).get("/tax/cash-book/",
                                                                                  {"format": "pdf", "lang": "bn"})
    text = text_of(cash_book.content, "cash-book-bn.pdf")
    assert "দৈনিক ক্যাশ বই" in text and "৳ ১০০.০০" in text


def test_ward_notices_job_offers_the_file(billed_town, world):
    from django.core.files.storage import default_storage

    from imis.tenant_apps.jobs.models import Job
    from imis.tenant_apps.jobs.services import job_create

    with tenant_context(world.khulna):
        job = job_create(kind="tax.notices", title="Ward 2")
        result = pdf.ward_notices_task(str(job.pk), FY, 1, 2, "en", "https://khulna.example")
        job = Job.objects.get(pk=job.pk)
    assert result["pages"] == 2 and job.status == "succeeded" and job.result_file.endswith("-ward-2-en.pdf")
    with default_storage.open(job.result_file, "rb") as handle:
        assert "2-0010-00004" in text_of(handle.read(), "job-notices.pdf")
    default_storage.delete(job.result_file)


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="pdftoppm (poppler-utils) is not installed")
def test_the_printed_qr_code_opens_the_verify_page(billed_town, world):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    with tenant_context(world.khulna):
        content, _pages = pdf.ward_notices_pdf(fiscal_year=FY, period=1, ward_number=2, municipality=world.khulna,
                                               language="en", root="https://khulna.example")  # bulk: fixed mask
        bill = Bill.objects.get(holding=billed_town.holdings[1], period=1)
    path = ARTIFACTS / "qr-notice.pdf"
    path.write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(ARTIFACTS / "qr-notice")], check=True)
    codes = zxingcpp.read_barcodes(Image.open(ARTIFACTS / "qr-notice.png"))
    assert [code.text for code in codes] == [f"https://khulna.example/tax/verify/{bill.number}/"]
