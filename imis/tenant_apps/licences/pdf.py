"""The trade licence certificate as PDF (English or Bangla), printed by the same Chromium as the tax notices,
with a QR code that opens the public verification page."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.urls import reverse

from imis.platform import formatting
from imis.tenant_apps.tax.pdf import (
    digits,
    format_date,
    html_to_pdf,
    municipality_letterhead,
    qr_data_uri,
    site_root,
    taka,
)

LABELS = {
    "en": {
        "government": "Government of the People's Republic of Bangladesh", "section": "Trade Licence Section",
        "title": "Trade licence", "certificate": "Certificate no.", "licence": "Licence no.",
        "business": "Name of the business", "category": "Kind of business", "owner": "Owner",
        "holding": "Holding ID", "ward": "Ward", "address": "Business address", "year": "Licence year",
        "valid": "Valid from {start} to {end}", "fee": "Fee paid", "receipt": "Receipt no.",
        "issued": "Issued on", "first": "First issued", "scan": "Scan to verify",
        "statement": "The business named above is licensed to carry on this kind of business at the address above "
                     "for the licence year shown. Display this certificate at the place of business.",
        "note": "Computer-generated certificate. Scan the QR code or open the address below to check it.",
        "signature": "Licensing officer",
    },
    "bn": {
        "government": "গণপ্রজাতন্ত্রী বাংলাদেশ সরকার", "section": "ট্রেড লাইসেন্স শাখা",
        "title": "ট্রেড লাইসেন্স", "certificate": "সনদ নং", "licence": "লাইসেন্স নং",
        "business": "প্রতিষ্ঠানের নাম", "category": "ব্যবসার ধরন", "owner": "মালিক",
        "holding": "হোল্ডিং নম্বর", "ward": "ওয়ার্ড", "address": "ব্যবসার ঠিকানা", "year": "লাইসেন্স বছর",
        "valid": "মেয়াদ {start} থেকে {end} পর্যন্ত", "fee": "পরিশোধিত ফি", "receipt": "রসিদ নং",
        "issued": "ইস্যুর তারিখ", "first": "প্রথম ইস্যু", "scan": "যাচাই করতে স্ক্যান করুন",
        "statement": "উপরোক্ত প্রতিষ্ঠানকে উল্লিখিত ঠিকানায় উল্লিখিত লাইসেন্স বছরের জন্য এই ধরনের ব্যবসা "
                     "পরিচালনার অনুমতি দেওয়া হলো। সনদটি ব্যবসাস্থলে প্রদর্শন করুন।",
        "note": "কম্পিউটারে তৈরি সনদ। যাচাই করতে কিউআর কোড স্ক্যান করুন বা নিচের ঠিকানায় যান।",
        "signature": "লাইসেন্সিং কর্মকর্তা",
    },
}


def certificate_html(certificate, *, municipality, language: str, root: str) -> str:
    language = "bn" if language.startswith("bn") else "en"
    labels = LABELS[language]
    licence, payment = certificate.licence, certificate.payment
    verify = root + reverse("licences:verify", args=[certificate.number])
    letterhead = municipality_letterhead(municipality, language)
    letterhead["country"] = labels["government"]
    category = licence.category
    return render_to_string("licences/pdf_certificate.html", {
        "lang": language, "labels": labels, "letterhead": letterhead, "number": certificate.number,
        "licence_number": licence.number,
        "business": (licence.business_name_bn or licence.business_name) if language == "bn" else licence.business_name,
        "business_other": licence.business_name_bn if language == "en" else "",
        "category": (category.name_bn or category.name) if language == "bn" else category.name,
        "owner": licence.owner_name, "holding": licence.holding.holding_id,
        "ward": digits(licence.holding.ward.number, language), "address": licence.address,
        "year": formatting.fiscal_year_label(certificate.fiscal_year, language=language),
        "valid": labels["valid"].format(start=format_date(certificate.valid_from, language),
                                        end=format_date(certificate.valid_until, language)),
        "fee": taka(payment.amount, language), "receipt": payment.receipt_number,
        "issued": format_date(certificate.issued_on, language),
        "first": format_date(licence.first_issued_on, language), "qr": qr_data_uri(verify), "verify_url": verify,
    })


def certificate_pdf(certificate, *, municipality, language: str = "en", request=None) -> bytes:
    return html_to_pdf(certificate_html(certificate, municipality=municipality, language=language,
                                        root=site_root(municipality, request)))
