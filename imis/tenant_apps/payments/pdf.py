"""Receipts for service fees (desludging, trade licence) as PDF, English or Bangla, printed by the same Chromium
as the tax receipts (imis.tenant_apps.tax.pdf) so Bangla text copies out right, with a QR code that opens the
public verification page."""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import reverse

from imis.tenant_apps.tax.pdf import (
    _document,
    digits,
    format_date,
    format_time,
    html_to_pdf,
    municipality_letterhead,
    qr_data_uri,
    site_root,
    taka,
)

LABELS = {
    "en": {
        "government": "Government of the People's Republic of Bangladesh",
        "section": {"fsm_fee": "Sanitation Department", "licence_fee": "Trade Licence Section",
                    "water": "Water Supply Section"},
        "receipt_title": {"fsm_fee": "Money receipt — desludging fee", "licence_fee": "Money receipt — trade licence fee",
                          "water": "Money receipt — water supply"},
        "receipt_number": "Receipt no.", "holding_id": "Holding ID", "ward": "Ward", "address": "Address",
        "payer": "Paid for", "received": "Received on", "method": "Paid by", "reference": "Reference",
        "cashier": "Received by", "amount_received": "Amount received", "applied_to": "For",
        "amount": "Amount (৳)", "scan": "Scan to verify", "reversed": "REVERSED",
        "receipt_note": "Computer-generated receipt; valid without signature. Scan the QR code to check it.",
        "methods": {"cash": "Cash", "cheque": "Cheque", "bank": "Bank transfer", "online": "Online"},
        "online_cashier": "Online payment",
    },
    "bn": {
        "government": "গণপ্রজাতন্ত্রী বাংলাদেশ সরকার",
        "section": {"fsm_fee": "পরিচ্ছন্নতা বিভাগ", "licence_fee": "ট্রেড লাইসেন্স শাখা", "water": "পানি সরবরাহ শাখা"},
        "receipt_title": {"fsm_fee": "টাকা প্রাপ্তির রসিদ — সেপটিক ট্যাংক খালি করার ফি",
                          "licence_fee": "টাকা প্রাপ্তির রসিদ — ট্রেড লাইসেন্স ফি",
                          "water": "টাকা প্রাপ্তির রসিদ — পানি সরবরাহ"},
        "receipt_number": "রসিদ নং", "holding_id": "হোল্ডিং নম্বর", "ward": "ওয়ার্ড", "address": "ঠিকানা",
        "payer": "যার জন্য", "received": "গ্রহণের তারিখ", "method": "পরিশোধের মাধ্যম", "reference": "রেফারেন্স",
        "cashier": "গ্রহণকারী", "amount_received": "গৃহীত টাকা", "applied_to": "বিবরণ", "amount": "টাকা (৳)",
        "scan": "যাচাই করতে স্ক্যান করুন", "reversed": "বাতিল",
        "receipt_note": "কম্পিউটারে তৈরি রসিদ; স্বাক্ষর ছাড়াই বৈধ। যাচাই করতে কিউআর কোড স্ক্যান করুন।",
        "methods": {"cash": "নগদ", "cheque": "চেক", "bank": "ব্যাংক ট্রান্সফার", "online": "অনলাইন"},
        "online_cashier": "অনলাইন পরিশোধ",
    },
}


@dataclass
class FeeReceipt:
    """What a fee receipt shows, whichever register it came from."""

    kind: str  # "fsm_fee" or "licence_fee"
    number: str
    holding_id: str
    ward: int | None
    address: str
    payer: str
    lines: list[tuple[str, object]]  # (what, amount)
    amount: object
    received_at: object
    method: str
    reference: str
    cashier_label: str
    is_valid: bool = True


def fee_receipt_html(receipt: FeeReceipt, *, municipality, language: str, root: str) -> str:
    language = "bn" if (language or "en").startswith("bn") else "en"
    base = LABELS[language]
    labels = {**base, "section": base["section"][receipt.kind], "receipt_title": base["receipt_title"][receipt.kind]}
    verify = root + reverse("payments:verify", args=[receipt.number])
    letterhead = municipality_letterhead(municipality, language)
    cashier = receipt.cashier_label
    if receipt.method == "online" and cashier in ("", "online", "system"):
        cashier = labels["online_cashier"]
    page = render_to_string("payments/pdf_fee_receipt.html", {
        "labels": labels, "lang": language, "letterhead": letterhead, "number": receipt.number,
        "holding_id": receipt.holding_id, "ward": digits(receipt.ward, language) if receipt.ward else "—",
        "address": receipt.address, "payer": receipt.payer,
        "received": f"{format_date(receipt.received_at, language)}, {format_time(receipt.received_at, language)}",
        "method": labels["methods"].get(receipt.method, receipt.method), "reference": receipt.reference,
        "cashier": cashier, "amount": taka(receipt.amount, language),
        "lines": [{"label": label, "amount": taka(amount, language)} for label, amount in receipt.lines],
        "status": "" if receipt.is_valid else labels["reversed"], "qr": qr_data_uri(verify), "verify_url": verify,
    })
    return _document("receipt", municipality=municipality, language=language, pages=page,
                     title=f"{labels['receipt_title']} {receipt.number}")


def fee_receipt_pdf(receipt: FeeReceipt, *, municipality, language: str, request=None) -> bytes:
    return html_to_pdf(fee_receipt_html(receipt, municipality=municipality, language=language,
                                        root=site_root(municipality, request)))
