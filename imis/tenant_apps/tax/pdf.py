"""Holding tax PDFs: demand notices (one bill, or every bill of a ward in one file) and counter receipts, in
English or Bangla, on the municipality's letterhead with a QR code that opens the public verify page.

PDFs are printed by Chromium (Playwright's sync API, Debian's /usr/bin/chromium): its Bangla text both looks
right and copies out right (pdftotext), which WeasyPrint's does not. Bangla is set in Lohit Bengali (fonts-beng)
and Latin in Liberation Sans (fonts-liberation): system fonts, so nothing is fetched while printing. The
Noto Sans Bengali woff2 of the web UI draws well but its PDF text extracts with stray spaces.

One browser serves a process: single documents go to a renderer thread that keeps Chromium open between
requests (starting it costs ~3 s, a page then ~0.1 s); bulk notices open their own browser for the job and
print a whole ward in one document.
"""

from __future__ import annotations

import datetime
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import segno
from celery import shared_task
from django.conf import settings
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format

from imis.platform import formatting

from .models import Bill, LedgerEntry

CHROMIUM_PATH = getattr(settings, "IMIS_CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]
RENDER_TIMEOUT_SECONDS = 120
IDLE_CLOSE_SECONDS = 300
BULK_PAGES = 250
# browsers printing a ward's parts side by side (measured on 2 cores: 1 → 43 pages/s, 2 → 65 pages/s)
BULK_PRINTERS = getattr(settings, "IMIS_PDF_PRINTERS", min(2, os.cpu_count() or 1))
BULK_QR_MASK = 2


class PdfError(Exception):
    pass


# --- Chromium ------------------------------------------------------------------------------------------

class ChromiumPdf:
    """One headless Chromium; `render(html)` prints the HTML to PDF bytes (A4 unless the page's CSS says
    otherwise) in a fresh tab (a tab reused for big documents gets slower with every one: measured 6 s → 36 s
    per 250 pages). Use from one thread only, and close it."""

    def __init__(self):
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        except Exception:
            self._playwright.stop()
            raise

    def render(self, html: str) -> bytes:
        context = self._browser.new_context()
        try:
            page = context.new_page()
            page.set_content(html, wait_until="load", timeout=RENDER_TIMEOUT_SECONDS * 1000)
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            context.close()

    def close(self) -> None:
        try:
            self._browser.close()
        finally:
            self._playwright.stop()


@contextmanager
def chromium_pdf() -> Iterator[ChromiumPdf]:
    renderer = ChromiumPdf()
    try:
        yield renderer
    finally:
        renderer.close()


@dataclass
class _Request:
    html: str
    done: threading.Event = field(default_factory=threading.Event)
    result: bytes = b""
    error: BaseException | None = None


class _RendererThread:
    """A daemon thread that owns a ChromiumPdf, started on first use, closed after some idle minutes and
    restarted after a failure. Requests from any thread queue up (one document at a time per printer).

    The browser lives in its own thread because Playwright's sync API runs an event loop in the thread that uses
    it, and Django then hands that thread a different database connection (and tenant-keyed cache) than the
    caller's: the thread asking for PDFs keeps its connection, tenant and cache."""

    def __init__(self, *, idle_close: float | None = IDLE_CLOSE_SECONDS):
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle_close = idle_close

    def close(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._queue.put(None)
                self._thread.join(timeout=30)
            self._thread = None

    def render(self, html: str) -> bytes:
        return self.result(self.submit(html))

    def submit(self, html: str) -> _Request:
        """Queue a document; `result()` waits for it (the caller can prepare the next one meanwhile)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="imis-pdf", daemon=True)
                self._thread.start()
        request = _Request(html)
        self._queue.put(request)
        return request

    @staticmethod
    def result(request: _Request) -> bytes:
        if not request.done.wait(RENDER_TIMEOUT_SECONDS * 2):
            raise PdfError("The PDF printer did not answer in time.")
        if request.error is not None:
            raise PdfError(str(request.error)) from request.error
        return request.result

    def _run(self) -> None:
        renderer: ChromiumPdf | None = None
        while True:
            try:
                request = self._queue.get(timeout=self._idle_close)
            except queue.Empty:
                if renderer is not None:
                    renderer.close()
                    renderer = None
                continue
            if request is None:  # close()
                if renderer is not None:
                    renderer.close()
                return
            try:
                if renderer is None:
                    renderer = ChromiumPdf()
                request.result = renderer.render(request.html)
            except BaseException as error:  # noqa: BLE001 - handed to the waiting request
                request.error = error
                if renderer is not None:
                    try:
                        renderer.close()
                    except Exception:  # noqa: BLE001, S110 - a dead browser may not close cleanly
                        pass
                    renderer = None
            finally:
                request.done.set()


_RENDERER = _RendererThread()


def html_to_pdf(html: str) -> bytes:
    """Print one document with the process's shared browser."""
    return _RENDERER.render(html)


@contextmanager
def pdf_printers(count: int = 1) -> Iterator[list[_RendererThread]]:
    """Browsers of one's own for bulk work (a job): `printer.submit(html)` / `.result()` from the calling thread."""
    printers = [_RendererThread(idle_close=None) for _ in range(max(1, count))]
    try:
        yield printers
    finally:
        for printer in printers:
            printer.close()


def pdf_merge(parts: list[bytes]) -> bytes:
    """Documents printed in parts, as one PDF (Chromium prints a few hundred pages at a time comfortably)."""
    if len(parts) == 1:
        return parts[0]
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(part))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- what every document shares -----------------------------------------------------------------------

def qr_data_uri(text: str, *, fast: bool = False) -> str:
    """A QR code as an SVG data URI (prints sharp at any size). `fast` fixes the mask pattern instead of scoring
    all eight (5× faster, for a ward's thousands of notices); such codes decode as well (tested with zxing)."""
    code = segno.make(text, error="m", micro=False, mask=BULK_QR_MASK if fast else None)
    return code.svg_data_uri(scale=4, border=2, dark="#0f172a")


def format_date(day: datetime.date | datetime.datetime | None, language: str) -> str:
    """28 Nov 2026 / ২৮ নভেম্বর ২০২৬."""
    if day is None:
        return ""
    if isinstance(day, datetime.datetime):
        day = timezone.localtime(day) if timezone.is_aware(day) else day
    with translation.override(language):
        if language == "bn":
            return formatting.to_bangla_digits(date_format(day, "j F Y"))
        return date_format(day, "j M Y")


def format_time(moment: datetime.datetime, language: str) -> str:
    text = timezone.localtime(moment).strftime("%H:%M")
    return formatting.to_bangla_digits(text) if language == "bn" else text


def taka(value, language: str) -> str:
    return formatting.format_taka(value, language=language)


def digits(value, language: str) -> str:
    return formatting.to_bangla_digits(str(value)) if language == "bn" else str(value)


def municipality_letterhead(municipality, language: str) -> dict:
    return {
        "name": (municipality.name_bn or municipality.name) if language == "bn" else municipality.name,
        "other_name": municipality.name_bn if language != "bn" else "",
        "country": LABELS[language]["government"],
    }


def site_root(municipality, request=None) -> str:
    """https://khulna.example.org — from the request when there is one, else the primary domain."""
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    domain = municipality.get_primary_domain()
    scheme = getattr(settings, "IMIS_PUBLIC_SCHEME", "https")
    return f"{scheme}://{domain.domain}" if domain else ""


LABELS = {
    "en": {
        "government": "Government of the People's Republic of Bangladesh",
        "section": "Holding Tax Section",
        "notice_title": "Holding tax demand notice",
        "receipt_title": "Money receipt — holding tax",
        "bill_number": "Bill no.", "issue_date": "Issue date", "due_date": "Pay by", "fiscal_year": "Fiscal year",
        "instalment": "Instalment", "of": "of", "holding_id": "Holding ID", "ward": "Ward", "address": "Address",
        "owner": "Owner", "annual_value": "Annual value", "head": "Tax head", "amount": "Amount (৳)",
        "heads": {"holding_tax": "Holding tax", "conservancy": "Conservancy rate", "lighting": "Lighting rate",
                  "water": "Water rate"},
        "this_period": "Charges this instalment", "arrears": "Arrears brought forward",
        "surcharge": "Surcharge on arrears", "total_payable": "Total payable",
        "how_to_pay": "How to pay",
        "pay_counter": "At the municipality's tax counter (cash, cheque or bank transfer): quote the holding ID.",
        "pay_online": "Scan the QR code to check this bill and pay online.",
        "after_due": "After the due date a surcharge of {pct}% is added on what is left unpaid.",
        "rebate": "Paying the whole year before the first instalment's due date earns a rebate of {pct}%.",
        "scan": "Scan to verify and pay", "generated": "Computer-generated notice; no signature is needed.",
        "receipt_number": "Receipt no.", "received": "Received on", "method": "Paid by", "reference": "Reference",
        "cashier": "Received by", "amount_received": "Amount received", "applied_to": "Applied to",
        "advance": "Paid in advance", "balance_after": "Still due after this payment",
        "credit_after": "In credit after this payment", "signature_cashier": "Cashier",
        "signature_checked": "Checked by (accounts)",
        "nothing_due": "Nothing is due.", "credit": "in credit", "status": "Status",
        "cancelled": "CANCELLED", "dishonoured": "DISHONOURED", "rebate_line": "Rebate for paying early",
        "receipt_note": "Computer-generated receipt; valid without signature. Scan the QR code to check it.",
        "bill": "Bill", "period_names": {1: "1st", 2: "2nd", 3: "3rd", 4: "4th"},
        "methods": {"cash": "Cash", "cheque": "Cheque", "bank": "Bank transfer", "online": "Online"},
        "cash_book_title": "Daily cash book", "date": "Date", "time": "Time", "holding": "Holding",
        "total": "Total", "all_cashiers": "All counters", "count": "Receipts", "by_method": "Totals by method",
        "no_payments": "No payments on this day.", "valid_total": "Total received (valid receipts)",
    },
    "bn": {
        "government": "গণপ্রজাতন্ত্রী বাংলাদেশ সরকার",
        "section": "হোল্ডিং কর শাখা",
        "notice_title": "হোল্ডিং কর ডিমান্ড নোটিশ",
        "receipt_title": "টাকা প্রাপ্তির রসিদ — হোল্ডিং কর",
        "bill_number": "বিল নং", "issue_date": "ইস্যুর তারিখ", "due_date": "পরিশোধের শেষ তারিখ",
        "fiscal_year": "অর্থবছর", "instalment": "কিস্তি", "of": "এর", "holding_id": "হোল্ডিং নম্বর",
        "ward": "ওয়ার্ড", "address": "ঠিকানা", "owner": "মালিক", "annual_value": "বার্ষিক মূল্যায়ন",
        "head": "করের খাত", "amount": "টাকা (৳)",
        "heads": {"holding_tax": "হোল্ডিং কর", "conservancy": "পরিচ্ছন্নতা রেইট", "lighting": "সড়কবাতি রেইট",
                  "water": "পানি রেইট"},
        "this_period": "এই কিস্তির দাবি", "arrears": "পূর্বের বকেয়া", "surcharge": "বকেয়ার উপর সারচার্জ",
        "total_payable": "সর্বমোট প্রদেয়",
        "how_to_pay": "কীভাবে পরিশোধ করবেন",
        "pay_counter": "পৌর কর কাউন্টারে (নগদ, চেক বা ব্যাংক ট্রান্সফার) হোল্ডিং নম্বর উল্লেখ করে।",
        "pay_online": "কিউআর কোড স্ক্যান করে বিলটি যাচাই ও অনলাইনে পরিশোধ করুন।",
        "after_due": "শেষ তারিখের পরে অপরিশোধিত টাকার উপর {pct}% সারচার্জ যোগ হবে।",
        "rebate": "প্রথম কিস্তির শেষ তারিখের আগে পুরো বছরের কর দিলে {pct}% রেয়াত পাবেন।",
        "scan": "যাচাই ও পরিশোধের জন্য স্ক্যান করুন",
        "generated": "কম্পিউটারে তৈরি নোটিশ; স্বাক্ষরের প্রয়োজন নেই।",
        "receipt_number": "রসিদ নং", "received": "গ্রহণের তারিখ", "method": "পরিশোধের মাধ্যম",
        "reference": "রেফারেন্স", "cashier": "গ্রহণকারী", "amount_received": "গৃহীত টাকা",
        "applied_to": "যে বিলে জমা হয়েছে", "advance": "অগ্রিম জমা", "balance_after": "এই পরিশোধের পরে বকেয়া",
        "credit_after": "এই পরিশোধের পরে অগ্রিম জমা", "signature_cashier": "ক্যাশিয়ার",
        "signature_checked": "যাচাইকারী (হিসাব শাখা)",
        "nothing_due": "কোনো বকেয়া নেই।", "credit": "অগ্রিম", "status": "অবস্থা",
        "cancelled": "বাতিল", "dishonoured": "চেক প্রত্যাখ্যাত", "rebate_line": "আগাম পরিশোধের রেয়াত",
        "receipt_note": "কম্পিউটারে তৈরি রসিদ; স্বাক্ষর ছাড়াই বৈধ। যাচাই করতে কিউআর কোড স্ক্যান করুন।",
        "bill": "বিল", "period_names": {1: "১ম", 2: "২য়", 3: "৩য়", 4: "৪র্থ"},
        "methods": {"cash": "নগদ", "cheque": "চেক", "bank": "ব্যাংক ট্রান্সফার", "online": "অনলাইন"},
        "cash_book_title": "দৈনিক ক্যাশ বই", "date": "তারিখ", "time": "সময়", "holding": "হোল্ডিং",
        "total": "মোট", "all_cashiers": "সকল কাউন্টার", "count": "রসিদ", "by_method": "মাধ্যম অনুযায়ী মোট",
        "no_payments": "এই দিনে কোনো পরিশোধ নেই।", "valid_total": "মোট গৃহীত (বৈধ রসিদ)",
    },
}


def _language(language: str | None) -> str:
    return "bn" if (language or translation.get_language() or "en").startswith("bn") else "en"


def _instalment_label(period: int, instalments: int, language: str) -> str:
    labels = LABELS[language]
    if instalments == 1:
        return "—"
    name = labels["period_names"].get(period, digits(period, language))
    if language == "bn":
        return f"{digits(instalments, language)}টির মধ্যে {name}"
    return f"{name} {labels['of']} {instalments}"


# --- demand notices -----------------------------------------------------------------------------------

def _notice_context(bill, *, owners: list[str], schedule, language: str, root: str, fast_qr: bool = False) -> dict:
    from django.urls import reverse

    labels = LABELS[language]
    verify = root + reverse("tax:verify", args=[bill.number])
    heads = [{"label": labels["heads"].get(code, code), "amount": taka(Decimal(str(amount)), language)}
             for code, amount in sorted(bill.heads.items(), key=lambda item: HEAD_ORDER.get(item[0], 9))]
    return {
        "bill": bill, "number": bill.number, "holding_id": bill.holding.holding_id,
        "ward": digits(bill.holding.ward.number, language), "address": bill.holding.address,
        "owners": ", ".join(owners) or "—",
        "fiscal_year": formatting.fiscal_year_label(bill.fiscal_year, language=language),
        "instalment": _instalment_label(bill.period, schedule.instalments if schedule else 4, language),
        "issue_date": format_date(bill.issue_date, language), "due_date": format_date(bill.due_date, language),
        "annual_value": taka(bill.annual_value, language), "heads": heads,
        "current": taka(bill.current_amount, language), "arrears": taka(bill.arrears, language),
        "surcharge": taka(bill.surcharge, language), "total": taka(bill.total_payable, language),
        "has_arrears": bill.arrears > 0 or bill.surcharge > 0,
        "after_due": labels["after_due"].format(pct=digits(_pct(schedule.surcharge_percent if schedule else 5),
                                                               language)),
        "rebate": labels["rebate"].format(pct=digits(_pct(schedule.rebate_percent), language))
        if schedule and schedule.rebate_percent and bill.period == 1 else "",
        "qr": qr_data_uri(verify, fast=fast_qr), "verify_url": verify,
    }


HEAD_ORDER = {"holding_tax": 0, "conservancy": 1, "lighting": 2, "water": 3}


def _pct(value) -> str:
    return f"{Decimal(value).normalize():f}"


def _document(template: str, *, municipality, language: str, pages: str | list[str], title: str) -> str:
    return render_to_string("tax/pdf_document.html", {
        "lang": language, "title": title, "letterhead": municipality_letterhead(municipality, language),
        "labels": LABELS[language], "pages": pages if isinstance(pages, list) else [pages], "kind": template,
    })


def _owners_by_holding(holding_ids: Iterable[int]) -> dict[int, list[str]]:
    from imis.tenant_apps.registry.models import Owner

    owners: dict[int, list[str]] = {}
    for holding_id, name in Owner.objects.filter(holding_id__in=list(holding_ids)).order_by("id").values_list(
            "holding_id", "name"):
        owners.setdefault(holding_id, []).append(name)
    return owners


def _schedules(years: Iterable[int]) -> dict:
    from .services import rate_schedule_for

    found = {}
    for year in set(years):
        try:
            found[year] = rate_schedule_for(year)
        except Exception:  # noqa: BLE001 - a notice prints without the rate notes
            found[year] = None
    return found


def notice_pages(bills: list, *, municipality, language: str, root: str, bulk: bool = False) -> list[str]:
    from django.template.loader import get_template
    from django.utils.safestring import mark_safe

    labels = LABELS[language]
    owners = _owners_by_holding(bill.holding_id for bill in bills)
    schedules = _schedules(bill.fiscal_year for bill in bills)
    letterhead = mark_safe(render_to_string("tax/_pdf_letterhead.html", {  # noqa: S308 - our own template
        "letterhead": municipality_letterhead(municipality, language), "labels": labels}))
    template = get_template("tax/pdf_notice.html")
    return [template.render({
        **_notice_context(bill, owners=owners.get(bill.holding_id, []), schedule=schedules[bill.fiscal_year],
                          language=language, root=root, fast_qr=bulk),
        "labels": labels, "letterhead_html": letterhead, "lang": language}) for bill in bills]


def demand_notice_pdf(bill, *, municipality, language: str | None = None, request=None) -> bytes:
    language = _language(language)
    pages = notice_pages([bill], municipality=municipality, language=language, root=site_root(municipality, request))
    return html_to_pdf(_document("notice", municipality=municipality, language=language, pages=pages,
                                 title=f"{LABELS[language]['notice_title']} {bill.number}"))


def ward_bills(*, fiscal_year: int, period: int, ward_number: int):
    return (Bill.objects.filter(fiscal_year=fiscal_year, period=period, holding__ward__number=ward_number)
            .select_related("holding", "holding__ward").order_by("holding__holding_id"))


def ward_notices_pdf(*, fiscal_year: int, period: int, ward_number: int, municipality, language: str | None = None,
                     root: str = "", progress: Callable[[int, int], None] | None = None) -> tuple[bytes, int]:
    """Every notice of a ward, in holding ID order, as one PDF: printed BULK_PAGES at a time by a browser of its
    own, then joined. Returns (pdf, pages)."""
    language = _language(language)
    root = root or site_root(municipality)
    ids = list(ward_bills(fiscal_year=fiscal_year, period=period, ward_number=ward_number)
               .values_list("pk", flat=True))
    title = f"{LABELS[language]['notice_title']} · {LABELS[language]['ward']} {digits(ward_number, language)}"
    parts: list[bytes] = []
    pending: deque = deque()
    with pdf_printers(BULK_PRINTERS) as printers:
        for number, start in enumerate(range(0, len(ids), BULK_PAGES)):
            wanted = ids[start:start + BULK_PAGES]
            bills = sorted(Bill.objects.filter(pk__in=wanted).select_related("holding", "holding__ward"),
                           key=lambda bill: bill.holding.holding_id)
            pages = notice_pages(bills, municipality=municipality, language=language, root=root, bulk=True)
            html = _document("notice", municipality=municipality, language=language, pages=pages, title=title)
            pending.append((start + len(wanted), printers[number % len(printers)].submit(html)))
            while len(pending) > len(printers):  # the next part is built while the printers work
                done, request = pending.popleft()
                parts.append(_RendererThread.result(request))
                if progress:
                    progress(done, len(ids))
        while pending:
            done, request = pending.popleft()
            parts.append(_RendererThread.result(request))
            if progress:
                progress(done, len(ids))
    return (pdf_merge(parts) if parts else b""), len(ids)


@shared_task
def ward_notices_task(job_id: str, fiscal_year: int, period: int, ward_number: int, language: str = "en",
                      root: str = "") -> dict:
    """The bulk notices of one ward as a job: one browser, one PDF, offered for download on the job page."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from imis.tenant_apps.jobs.services import job_fail, job_progress, job_start, job_succeed

    job_start(job_id=job_id)
    try:
        with translation.override(language):
            pdf, pages = ward_notices_pdf(
                fiscal_year=fiscal_year, period=period, ward_number=ward_number, municipality=connection.tenant,
                language=language, root=root,
                progress=lambda done, total: job_progress(job_id=job_id, done=done, total=total + 1,
                                                          message=f"{done} / {total}"))
        name = (f"tax-notices/{connection.schema_name}/{job_id}/notices-{fiscal_year}-{period}-ward-{ward_number}"
                f"-{language}.pdf")
        path = default_storage.save(name, ContentFile(pdf))
    except Exception as error:
        job_fail(job_id=job_id, error=str(error))
        raise
    result = {"pages": pages, "bytes": len(pdf)}
    job_succeed(job_id=job_id, result=result, result_file=path)
    return result


# --- receipts -----------------------------------------------------------------------------------------

def receipt_context(payment, *, language: str, root: str) -> dict:
    from django.db.models import Sum
    from django.urls import reverse

    labels = LABELS[language]
    verify = root + reverse("tax:verify", args=[payment.receipt_number])
    allocations = []
    for allocation in payment.allocations.select_related("bill").order_by("bill__fiscal_year", "bill__period", "id"):
        if allocation.bill is None:
            label = labels["advance"]
        else:
            label = (f"{allocation.bill.number} · "
                     f"{formatting.fiscal_year_label(allocation.bill.fiscal_year, language=language)}")
        allocations.append({"label": label, "amount": taka(allocation.amount, language)})
    rebate = -sum((entry.amount for entry in payment.ledger_entries.filter(kind="rebate")), Decimal(0))
    owners = _owners_by_holding([payment.holding_id]).get(payment.holding_id, [])
    balance_after = (LedgerEntry.objects.filter(holding_id=payment.holding_id, at__lte=payment.received_at)
                     .aggregate(total=Sum("amount"))["total"] or Decimal(0))
    return {
        "payment": payment, "number": payment.receipt_number, "holding_id": payment.holding.holding_id,
        "ward": digits(payment.holding.ward.number, language), "address": payment.holding.address,
        "owners": ", ".join(owners) or "—",
        "received": f"{format_date(payment.received_at, language)}, {format_time(payment.received_at, language)}",
        "method": labels["methods"].get(payment.method, payment.method), "reference": payment.reference,
        "cashier": payment.cashier_label, "amount": taka(payment.amount, language),
        "rebate": taka(rebate, language) if rebate else "", "allocations": allocations,
        "status": "" if payment.status == "valid" else labels.get(payment.status, payment.status),
        "balance_after": taka(max(balance_after, Decimal(0)), language),
        "credit_after": taka(-balance_after, language) if balance_after < 0 else "",
        "qr": qr_data_uri(verify), "verify_url": verify, "labels": labels, "lang": language,
    }


def receipt_pdf(payment, *, municipality, language: str | None = None, request=None) -> bytes:
    language = _language(language)
    context = receipt_context(payment, language=language, root=site_root(municipality, request))
    page = render_to_string("tax/pdf_receipt.html", {**context,
                                                     "letterhead": municipality_letterhead(municipality, language)})
    return html_to_pdf(_document("receipt", municipality=municipality, language=language, pages=page,
                                 title=f"{LABELS[language]['receipt_title']} {payment.receipt_number}"))


# --- the cash book ------------------------------------------------------------------------------------

def cash_book_pdf(book: dict, *, municipality, cashier_label: str, language: str | None = None) -> bytes:
    language = _language(language)
    labels = LABELS[language]
    rows = [{"time": format_time(p.received_at, language), "number": p.receipt_number,
             "holding": p.holding.holding_id, "method": labels["methods"].get(p.method, p.method),
             "reference": p.reference, "amount": taka(p.amount, language),
             "status": "" if p.status == "valid" else labels.get(p.status, p.status)} for p in book["payments"]]
    totals = [{"label": labels["methods"].get(row["method"], row["label"]), "count": digits(row["count"], language),
               "amount": taka(row["amount"], language)} for row in book["by_method"]]
    page = render_to_string("tax/pdf_cash_book.html", {
        "labels": labels, "lang": language, "letterhead": municipality_letterhead(municipality, language),
        "day": format_date(book["day"], language), "cashier": cashier_label or labels["all_cashiers"],
        "rows": rows, "totals": totals, "total": taka(book["total"], language),
        "count": digits(book["count"], language),
    })
    return html_to_pdf(_document("cash_book", municipality=municipality, language=language, pages=page,
                                 title=f"{labels['cash_book_title']} {book['day'].isoformat()}"))
