"""A monthly water bill as PDF, English or Bangla, on the municipality's letterhead: the consumer, the meter
readings, the water used priced slab by slab (or the flat rate), earlier bills left unpaid and a QR code to the
residents' payment portal. Printed by the same Chromium as the tax notices (imis.tenant_apps.tax.pdf), whose
Bangla text both looks right and copies out right."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum
from django.template.loader import render_to_string
from django.urls import reverse

from imis.tenant_apps.tax.pdf import (
    _document,
    digits,
    format_date,
    html_to_pdf,
    municipality_letterhead,
    qr_data_uri,
    site_root,
    taka,
)

from .models import MeterReading, WaterBill
from .services import month_bounds

LABELS = {
    "en": {
        "government": "Government of the People's Republic of Bangladesh",
        "section": "Water Supply Section", "title": "Water bill",
        "bill_number": "Bill no.", "customer_id": "Customer ID", "consumer": "Consumer", "holding_id": "Holding ID",
        "ward": "Ward", "address": "Address", "month": "Month", "issue_date": "Issue date", "due_date": "Pay by",
        "meter": "Meter no.", "connection_size": "Connection size", "previous_reading": "Previous reading (m³)",
        "present_reading": "Present reading (m³)", "consumption": "Water used (m³)", "flat_rate": "Flat monthly rate",
        "slab": "Slab", "slab_first": "First {upto} m³", "slab_next": "Next, up to {upto} m³",
        "slab_rest": "Above {upto} m³", "all": "All water used", "rate": "Rate (৳/m³)", "amount": "Amount (৳)",
        "this_month": "Charges this month", "arrears": "Earlier bills unpaid", "total_payable": "Total payable",
        "how_to_pay": "How to pay",
        "pay_counter": "At the municipality's counter (cash, cheque or bank transfer): quote the customer ID.",
        "pay_online": "Scan the QR code to pay online with the holding ID.",
        "disconnection": "Bills left unpaid after the due date may lead to the supply being cut.",
        "scan": "Scan to pay online", "generated": "Computer-generated bill; no signature is needed.",
        "status": {"paid": "PAID", "cancelled": "CANCELLED"}, "not_metered": "Flat rate (no meter)",
    },
    "bn": {
        "government": "গণপ্রজাতন্ত্রী বাংলাদেশ সরকার",
        "section": "পানি সরবরাহ শাখা", "title": "পানির বিল",
        "bill_number": "বিল নং", "customer_id": "গ্রাহক নম্বর", "consumer": "গ্রাহক", "holding_id": "হোল্ডিং নম্বর",
        "ward": "ওয়ার্ড", "address": "ঠিকানা", "month": "মাস", "issue_date": "ইস্যুর তারিখ",
        "due_date": "পরিশোধের শেষ তারিখ", "meter": "মিটার নং", "connection_size": "সংযোগের আকার",
        "previous_reading": "পূর্ববর্তী রিডিং (ঘন মিটার)", "present_reading": "বর্তমান রিডিং (ঘন মিটার)",
        "consumption": "ব্যবহৃত পানি (ঘন মিটার)", "flat_rate": "মাসিক নির্ধারিত হার",
        "slab": "ধাপ", "slab_first": "প্রথম {upto} ঘন মিটার", "slab_next": "পরবর্তী, {upto} ঘন মিটার পর্যন্ত",
        "slab_rest": "{upto} ঘন মিটারের বেশি", "all": "সমস্ত ব্যবহৃত পানি", "rate": "হার (৳/ঘন মিটার)",
        "amount": "টাকা (৳)", "this_month": "এই মাসের বিল", "arrears": "পূর্বের অপরিশোধিত বিল",
        "total_payable": "সর্বমোট প্রদেয়", "how_to_pay": "কীভাবে পরিশোধ করবেন",
        "pay_counter": "পৌরসভার কাউন্টারে (নগদ, চেক বা ব্যাংক ট্রান্সফার) গ্রাহক নম্বর উল্লেখ করে।",
        "pay_online": "কিউআর কোড স্ক্যান করে হোল্ডিং নম্বর দিয়ে অনলাইনে পরিশোধ করুন।",
        "disconnection": "শেষ তারিখের পরেও বিল অপরিশোধিত থাকলে সংযোগ বিচ্ছিন্ন হতে পারে।",
        "scan": "অনলাইনে পরিশোধের জন্য স্ক্যান করুন", "generated": "কম্পিউটারে তৈরি বিল; স্বাক্ষরের প্রয়োজন নেই।",
        "status": {"paid": "পরিশোধিত", "cancelled": "বাতিল"}, "not_metered": "নির্ধারিত হার (মিটার নেই)",
    },
}
MONTHS_BN = ["জানুয়ারি", "ফেব্রুয়ারি", "মার্চ", "এপ্রিল", "মে", "জুন", "জুলাই", "আগস্ট", "সেপ্টেম্বর", "অক্টোবর",
             "নভেম্বর", "ডিসেম্বর"]


def _number(value, language: str) -> str:
    return digits(f"{Decimal(value):,.2f}", language)


def _quantity(value, language: str) -> str:
    """10.00 → "10", 12.50 → "12.5"."""
    return digits(format(Decimal(str(value)).normalize(), "f"), language)


def month_label(period, language: str) -> str:
    if language == "bn":
        return f"{MONTHS_BN[period.month - 1]} {digits(period.year, language)}"
    return period.strftime("%B %Y")


def slab_lines(consumption: Decimal, slabs, language: str) -> list[dict]:
    """The water used, slab by slab: what each slab priced (as water.services.slab_charge computes it)."""
    labels, lines, lower = LABELS[language], [], Decimal(0)
    for index, (up_to, price) in enumerate(slabs):
        upper = consumption if up_to is None else min(consumption, Decimal(str(up_to)))
        used = max(upper - lower, Decimal(0))
        if up_to is None:
            label = labels["slab_rest"].format(upto=_quantity(lower, language)) if index else labels["all"]
        elif index == 0:
            label = labels["slab_first"].format(upto=_quantity(up_to, language))
        else:
            label = labels["slab_next"].format(upto=_quantity(up_to, language))
        if used > 0 or index == 0:
            lines.append({"label": label, "used": _number(used, language), "rate": _number(price, language),
                          "amount": taka(used * Decimal(str(price)), language)})
        if up_to is None or consumption <= Decimal(str(up_to)):
            break
        lower = Decimal(str(up_to))
    return lines


def water_bill_html(bill: WaterBill, *, municipality, language: str, root: str) -> str:
    from .models import WaterTariff

    language = "bn" if (language or "en").startswith("bn") else "en"
    labels = LABELS[language]
    connection = bill.connection
    holding = connection.holding
    start, end = month_bounds(bill.period)
    readings = list(MeterReading.objects.filter(connection=connection, read_on__lte=end).order_by("read_on", "id"))
    present = readings[-1] if readings and readings[-1].read_on >= start else None
    previous = next((r for r in reversed(readings) if r.read_on < start), None)
    tariff = WaterTariff.objects.filter(fiscal_year=bill.fiscal_year).first()
    if bill.is_metered and bill.consumption is not None and tariff is not None:
        lines = slab_lines(bill.consumption, tariff.slabs, language)
    else:
        lines = [{"label": labels["flat_rate"], "used": "", "rate": "", "amount": taka(bill.amount, language)}]
    arrears = (WaterBill.objects.filter(connection=connection, status=WaterBill.Status.ISSUED,
                                        period__lt=bill.period).aggregate(total=Sum("amount"))["total"]
               or Decimal(0))
    owed_now = bill.amount if bill.status == WaterBill.Status.ISSUED else Decimal(0)
    pay_url = root + reverse("payments:portal")
    page = render_to_string("water/pdf_bill.html", {
        "labels": labels, "lang": language, "letterhead": municipality_letterhead(municipality, language),
        "number": bill.number, "customer_id": connection.customer_id, "consumer": connection.applicant_name,
        "holding_id": holding.holding_id, "address": holding.address,
        "ward": digits(holding.ward.number, language) if holding.ward_id else "—",
        "month": month_label(bill.period, language), "issue_date": format_date(bill.issued_at, language),
        "due_date": format_date(bill.due_date, language),
        "meter": connection.meter_number if bill.is_metered else labels["not_metered"],
        "size": digits(connection.size_mm, language) + " mm", "is_metered": bill.is_metered,
        "previous": _number(previous.reading, language) if previous else "—",
        "present": _number(present.reading, language) if present else "—",
        "consumption": _number(bill.consumption, language) if bill.consumption is not None else "—",
        "lines": lines, "current": taka(bill.amount, language), "arrears": taka(arrears, language),
        "total": taka(owed_now + arrears, language),
        "status": labels["status"].get(bill.status, ""), "qr": qr_data_uri(pay_url), "pay_url": pay_url,
    })
    return _document("notice", municipality=municipality, language=language, pages=page,
                     title=f"{labels['title']} {bill.number}")


def water_bill_pdf(bill: WaterBill, *, municipality, language: str, request=None) -> bytes:
    return html_to_pdf(water_bill_html(bill, municipality=municipality, language=language,
                                       root=site_root(municipality, request)))
