"""Holding tax staff screens, and the public verify page for bills and receipts.

Views parse input, check the feature and the permission, call one selector or service and render. A service's
ValidationError is shown beside the field it names and nothing is written. Long work (bill runs, a ward's
notices) runs as a job whose page shows the progress.
"""

from __future__ import annotations

import datetime
import math
import uuid
from decimal import Decimal
from functools import wraps

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from imis.platform.csvexport import csv_response
from imis.platform.formatting import fiscal_year_label
from imis.platform.middleware import public_page
from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission
from imis.shared_apps.tenants.features import feature_required
from imis.tenant_apps.registry.forms import add_service_errors
from imis.tenant_apps.registry.models import Holding

from . import pdf, selectors, services
from .forms import (
    AdjustmentForm,
    AssessmentForm,
    BillRunForm,
    CashBookForm,
    DefaulterFilterForm,
    DueFilterForm,
    HoldingLookupForm,
    NoticesForm,
    ObjectionDecideForm,
    ObjectionForm,
    PaymentForm,
    RateScheduleForm,
    ReversalForm,
)
from .models import Adjustment, Assessment, Bill, Objection, Payment

FEATURE = "holding_tax"
PER_PAGE = 50
NONCE_SECONDS = 6 * 3600
CASH_BOOK_PAGE = 100


def tax_view(permission: str | None):
    """The feature gate (404 when holding tax is off), then the role check (403)."""

    def decorator(view):
        inner = permission_required(permission)(view) if permission else view
        return feature_required(FEATURE)(inner)

    return decorator


def any_permission(*codes: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not any(has_permission(request, code) for code in codes):
                return render(request, "errors/403.html", {"reason": "role", "permission": codes[0]}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _fiscal_year(request) -> int:
    try:
        return int(request.GET.get("fy") or services.fiscal_year_of(timezone.localdate()))
    except ValueError:
        return services.fiscal_year_of(timezone.localdate())


def _language(request) -> str:
    lang = request.GET.get("lang") or translation.get_language() or "en"
    return "bn" if lang.startswith("bn") else "en"


def _pdf_response(content: bytes, filename: str, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response


def _holding_or_404(pk: int) -> Holding:
    return get_object_or_404(Holding.objects.select_related("ward", "road"), pk=pk)


def _pay_url() -> str | None:
    """The online payment page of the payments issue, once it exists."""
    try:
        return reverse("payments:pay")
    except NoReverseMatch:
        return None


def phone_local(phone: str | None) -> str:
    """+8801712345678 → 01712345678, as people write it."""
    if phone and phone.startswith("+880"):
        return "0" + phone[4:]
    return phone or ""


class _Page:
    """Pagination over a counted SQL list."""

    def __init__(self, request, count: int, per_page: int = PER_PAGE):
        self.count, self.per_page = count, per_page
        self.num_pages = max(1, math.ceil(count / per_page))
        try:
            number = int(request.GET.get("page", 1))
        except ValueError:
            number = 1
        self.number = min(max(number, 1), self.num_pages)
        self.offset = (self.number - 1) * per_page
        params = request.GET.copy()
        params.pop("page", None)
        self.query = params.urlencode()
        self.start_index = self.offset + 1 if count else 0
        self.end_index = min(self.offset + per_page, count)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages


def _labelled(runs) -> list:
    runs = list(runs)
    for run in runs:
        run.fy_label = fiscal_year_label(run.fiscal_year)
    return runs


# --- home ---------------------------------------------------------------------------------------------

@tax_view("tax.view")
def index(request):
    fiscal_year = _fiscal_year(request)
    key = f"tax:wards:{selectors.data_version_current()}:{fiscal_year}"
    wards = cache.get(key)
    if wards is None:
        wards = selectors.collection_by_ward(fiscal_year)
        cache.set(key, wards, selectors.SUMMARY_CACHE_SECONDS)
    return render(request, "tax/index.html", {
        "section": "home", "fiscal_year": fiscal_year, "fy_label": fiscal_year_label(fiscal_year),
        "years": [(year, fiscal_year_label(year)) for year in selectors.fiscal_years_known()],
        "totals": selectors.tax_totals(fiscal_year), "due_summary": selectors.due_status_summary(), "wards": wards,
        "runs": _labelled(selectors.bill_runs_listed()[:5]), "pending_adjustments": selectors.adjustments_pending().count(),
        "pending_objections": selectors.objections_pending().count(),
        "assessed": selectors.assessments_count(fiscal_year), "lookup": HoldingLookupForm(),
    })


@tax_view("tax.view")
def holding_lookup(request):
    form = HoldingLookupForm(request.GET or None)
    if form.is_valid():
        holding = selectors.holding_for_tax(form.cleaned_data["holding"])
        if holding is not None:
            return redirect("tax:holding", pk=holding.pk)
        form.add_error("holding", _("No holding has this ID."))
    return render(request, "tax/holding_lookup.html", {"section": "home", "form": form})


# --- the holding's tax page ---------------------------------------------------------------------------

@tax_view("tax.view")
def holding_page(request, pk: int):
    holding = _holding_or_404(pk)
    statement = selectors.holding_statement(holding)
    current = next((a for a in statement["assessments"] if a.is_current and
                    a.fiscal_year == services.fiscal_year_of(timezone.localdate())), None)
    return render(request, "tax/holding.html", {
        "section": "home", "holding": holding, "owners": list(holding.owners.all()), **statement,
        "current_assessment": current, "latest_bill": selectors.latest_bill(holding),
        "can_collect": has_permission(request, "tax.collect"), "can_manage": has_permission(request, "tax.manage"),
    })


@tax_view("tax.manage")
def assessment_create_view(request, pk: int):
    holding = _holding_or_404(pk)
    latest = Assessment.objects.filter(holding=holding, is_current=True).order_by("-fiscal_year").first()
    initial = {"fiscal_year": services.fiscal_year_of(timezone.localdate()), "basis": Assessment.Basis.RENT}
    if latest is not None:
        initial.update(basis=latest.basis, monthly_rent=latest.monthly_rent, floor_area_m2=latest.floor_area_m2,
                       functional_use=latest.functional_use, zone=latest.zone_id, exemption=latest.exemption,
                       exemption_reason=latest.exemption_reason)
    form = AssessmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.assessment_create(by=request.user, holding=holding, **form.service_arguments())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Holding %(id)s assessed for %(year)s at an annual value of %(value)s.") % {
                "id": holding.holding_id, "year": fiscal_year_label(assessment.fiscal_year),
                "value": pdf.taka(assessment.annual_value, translation.get_language() or "en")})
            return redirect(reverse("tax:holding", args=[holding.pk]) + "#assessments")
    return render(request, "tax/assessment_form.html", {"section": "home", "holding": holding, "form": form,
                                                        "latest": latest})


@tax_view("tax.manage")
def objection_file_view(request, pk: int):
    assessment = get_object_or_404(Assessment.objects.select_related("holding"), pk=pk)
    form = ObjectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.objection_file(by=request.user, assessment=assessment, grounds=form.cleaned_data["grounds"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Objection recorded; it waits for a decision."))
            return redirect(reverse("tax:holding", args=[assessment.holding_id]) + "#assessments")
    return render(request, "tax/objection_form.html", {"section": "objections", "assessment": assessment,
                                                       "form": form})


@tax_view("tax.view")
def objection_list(request):
    return render(request, "tax/objections.html", {
        "section": "objections", "objections": selectors.objections_pending(),
        "decided": Objection.objects.exclude(status=Objection.Status.PENDING)
        .select_related("assessment__holding").order_by("-decided_on", "-id")[:20],
        "can_decide": has_permission(request, "tax.approve")})


@tax_view("tax.approve")
def objection_decide_view(request, pk: int):
    objection = get_object_or_404(Objection.objects.select_related("assessment__holding"), pk=pk)
    form = ObjectionDecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.objection_decide(by=request.user, objection=objection, upheld=form.cleaned_data["upheld"],
                                      decision=form.cleaned_data["decision"],
                                      revised_annual_value=form.cleaned_data["revised_annual_value"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Objection decided."))
            return redirect("tax:objections")
    return render(request, "tax/objection_decide.html", {"section": "objections", "objection": objection,
                                                         "form": form})


# --- rates --------------------------------------------------------------------------------------------

@tax_view("tax.view")
def rate_list(request):
    schedules = list(selectors.rate_schedules_listed())
    for schedule in schedules:
        schedule.total_percent = sum((head.percent for head in schedule.heads.all()), Decimal(0))
    return render(request, "tax/rates.html", {"section": "rates", "schedules": schedules,
                                              "can_manage": has_permission(request, "tax.manage")})


@tax_view("tax.manage")
def rate_create(request):
    latest = selectors.rate_schedules_listed().first()
    initial = {"fiscal_year": services.fiscal_year_of(timezone.localdate()),
               "effective_from": datetime.date(services.fiscal_year_of(timezone.localdate()),
                                               services.fiscal_year_start_month(), 1)}
    if latest is not None:
        initial.update({head.code: head.percent for head in latest.heads.all()})
        initial.update(surcharge_percent=latest.surcharge_percent, rebate_percent=latest.rebate_percent,
                       instalments=latest.instalments)
    form = RateScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.rate_schedule_set(by=request.user, fiscal_year=data["fiscal_year"],
                                       effective_from=data["effective_from"], heads=form.heads(),
                                       surcharge_percent=data["surcharge_percent"],
                                       rebate_percent=data["rebate_percent"], instalments=data["instalments"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Rates for %(year)s saved.") % {"year": fiscal_year_label(data["fiscal_year"])})
            return redirect("tax:rates")
    return render(request, "tax/rate_form.html", {"section": "rates", "form": form})


# --- bill runs and notices ----------------------------------------------------------------------------

def _nonce(request) -> str:
    return request.POST.get("nonce") or uuid.uuid4().hex


@tax_view("tax.view")
def bill_runs(request):
    form = BillRunForm(request.POST or None, initial={"fiscal_year": services.fiscal_year_of(timezone.localdate())})
    can_run = has_permission(request, "tax.manage")
    if request.method == "POST":
        if not can_run:
            return render(request, "errors/403.html", {"reason": "role", "permission": "tax.manage"}, status=403)
        if form.is_valid():
            job = _bill_run_start(request, form)
            if job is not None:
                return redirect("jobs:detail", job_id=job.pk)
    runs = _labelled(selectors.bill_runs_listed()[:50])
    return render(request, "tax/bill_runs.html", {"section": "bill_runs", "form": form, "runs": runs,
                                                  "can_run": can_run, "nonce": _nonce(request)})


def _bill_run_start(request, form):
    from imis.tenant_apps.jobs.services import job_create, job_enqueue

    from .tasks import bill_run_task

    data = form.cleaned_data
    try:
        schedule = services.rate_schedule_for(data["fiscal_year"])
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    if not 1 <= data["period"] <= schedule.instalments:
        form.add_error("period", _("Choose an instalment from 1 to %(n)s.") % {"n": schedule.instalments})
        return None
    ward = data.get("ward")
    where = _("ward %(n)s") % {"n": ward} if ward else _("all wards")
    title = _("Bill run %(year)s, instalment %(period)s, %(where)s") % {
        "year": fiscal_year_label(data["fiscal_year"]), "period": data["period"], "where": where}
    existing = _job_submitted("tax.bill_run", request)
    if existing is not None:
        return existing  # the same form sent twice
    job = job_create(kind="tax.bill_run", title=title, by=request.user, idempotency_key=_nonce(request)[:100],
                     params={"fiscal_year": data["fiscal_year"], "period": data["period"], "ward": ward})
    return job_enqueue(job=job, task=bill_run_task, fiscal_year=data["fiscal_year"], period=data["period"],
                       ward_number=ward, user_id=request.user.pk)


def _job_submitted(kind: str, request):
    from imis.tenant_apps.jobs.models import Job

    nonce = request.POST.get("nonce")
    return Job.objects.filter(kind=kind, idempotency_key=nonce[:100]).first() if nonce else None


@tax_view("tax.manage")
def notices(request):
    form = NoticesForm(request.POST or None, initial={"fiscal_year": services.fiscal_year_of(timezone.localdate()),
                                                      "language": _language(request)})
    if request.method == "POST" and form.is_valid():
        from imis.tenant_apps.jobs.services import job_create, job_enqueue

        data = form.cleaned_data
        count = pdf.ward_bills(fiscal_year=data["fiscal_year"], period=data["period"],
                               ward_number=data["ward"]).count()
        if not count:
            form.add_error(None, _("No bills for this ward and instalment yet: run the bills first."))
        else:
            title = _("Demand notices %(year)s, instalment %(period)s, ward %(ward)s (%(lang)s)") % {
                "year": fiscal_year_label(data["fiscal_year"]), "period": data["period"], "ward": data["ward"],
                "lang": "বাংলা" if data["language"] == "bn" else "English"}
            job = _job_submitted("tax.notices", request)
            if job is None:
                job = job_create(kind="tax.notices", title=title, by=request.user,
                                 idempotency_key=_nonce(request)[:100], params={**data})
                job_enqueue(job=job, task=pdf.ward_notices_task, fiscal_year=data["fiscal_year"],
                            period=data["period"], ward_number=data["ward"], language=data["language"],
                            root=pdf.site_root(request.municipality, request))
            return redirect("jobs:detail", job_id=job.pk)
    return render(request, "tax/notices.html", {"section": "bill_runs", "form": form, "nonce": _nonce(request)})


@tax_view("tax.view")
def bill_notice_pdf(request, number: str):
    bill = get_object_or_404(Bill.objects.select_related("holding", "holding__ward"), number=number)
    language = _language(request)
    content = pdf.demand_notice_pdf(bill, municipality=request.municipality, language=language, request=request)
    return _pdf_response(content, f"notice-{bill.number}-{language}.pdf")


# --- counter payments ---------------------------------------------------------------------------------

@tax_view("tax.collect")
def payment_create(request):
    holding = None
    lookup = HoldingLookupForm(request.GET or None)
    if request.method == "POST":
        holding = selectors.holding_for_tax(request.POST.get("holding", ""))
    elif lookup.is_valid():
        holding = selectors.holding_for_tax(lookup.cleaned_data["holding"])
        if holding is None:
            lookup.add_error("holding", _("No holding has this ID. Check it against the bill."))
    form = None
    due = None
    if holding is not None:
        due = selectors.holding_due(holding)
        form = PaymentForm(request.POST or None, initial={
            "holding": holding.holding_id, "nonce": uuid.uuid4().hex, "amount": max(due.balance, Decimal(0)) or None})
        if request.method == "POST" and form.is_valid():
            payment = _payment_once(request, form, holding)
            if payment is not None:
                messages.success(request, _("Receipt %(number)s: %(amount)s received.") % {
                    "number": payment.receipt_number,
                    "amount": pdf.taka(payment.amount, translation.get_language() or "en")})
                return redirect("tax:receipt", number=payment.receipt_number)
    return render(request, "tax/payment_form.html", {
        "section": "pay", "lookup": lookup, "holding": holding, "form": form, "due": due,
        "owners": list(holding.owners.all()) if holding else [],
        "latest_bill": selectors.latest_bill(holding) if holding else None})


def _payment_once(request, form, holding):
    """A double-clicked button takes the money once: the form's nonce remembers its receipt."""
    key = f"tax:pay-nonce:{form.cleaned_data['nonce']}"
    if not cache.add(key, "", NONCE_SECONDS):
        number = cache.get(key)
        existing = selectors.payment_by_receipt(number) if number else None
        if existing is not None:
            return existing
        form.add_error(None, _("This payment is already being recorded. Check the cash book before trying again."))
        return None
    data = form.cleaned_data
    try:
        payment = services.payment_record(by=request.user, holding=holding, amount=data["amount"],
                                          method=data["method"], reference=data["reference"])
    except ValidationError as error:
        cache.delete(key)
        add_service_errors(form, error)
        return None
    cache.set(key, payment.receipt_number, NONCE_SECONDS)
    return payment


def _payment_or_404(number: str) -> Payment:
    payment = selectors.payment_by_receipt(number)
    if payment is None:
        raise Http404("No such receipt")
    return payment


@tax_view("tax.view")
def receipt(request, number: str):
    payment = _payment_or_404(number)
    language = translation.get_language() or "en"
    context = pdf.receipt_context(payment, language="bn" if language == "bn" else "en",
                                  root=pdf.site_root(request.municipality, request))
    return render(request, "tax/receipt.html", {
        "section": "pay", "payment": payment, "receipt": context, "due": selectors.holding_due(payment.holding),
        "can_reverse": has_permission(request, "tax.collect") and payment.status == Payment.Status.VALID})


@tax_view("tax.view")
def receipt_pdf(request, number: str):
    payment = _payment_or_404(number)
    language = _language(request)
    content = pdf.receipt_pdf(payment, municipality=request.municipality, language=language, request=request)
    return _pdf_response(content, f"receipt-{payment.receipt_number}-{language}.pdf")


@tax_view("tax.collect")
def payment_reverse_view(request, number: str):
    payment = _payment_or_404(number)
    form = ReversalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.payment_reverse(by=request.user, payment=payment, reason=form.cleaned_data["reason"],
                                     status=form.cleaned_data["status"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.warning(request, _("Receipt %(number)s reversed; the amount is due again.") % {
                "number": payment.receipt_number})
            return redirect("tax:receipt", number=payment.receipt_number)
    return render(request, "tax/payment_reverse.html", {"section": "pay", "payment": payment, "form": form})


# --- adjustments --------------------------------------------------------------------------------------

@tax_view("tax.manage")
def adjustment_request_view(request, pk: int):
    holding = _holding_or_404(pk)
    form = AdjustmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.adjustment_request(by=request.user, holding=holding, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Adjustment requested; someone with approval rights decides it."))
            return redirect(reverse("tax:holding", args=[holding.pk]) + "#adjustments")
    return render(request, "tax/adjustment_form.html", {"section": "adjustments", "holding": holding, "form": form,
                                                        "due": selectors.holding_due(holding)})


@tax_view("tax.view")
def adjustment_list(request):
    return render(request, "tax/adjustments.html", {
        "section": "adjustments", "pending": selectors.adjustments_pending(),
        "decided": Adjustment.objects.exclude(status=Adjustment.Status.PENDING).select_related("holding")
        .order_by("-decided_at")[:20], "can_decide": has_permission(request, "tax.approve")})


@require_POST
@tax_view("tax.approve")
def adjustment_decide_view(request, pk: int):
    adjustment = get_object_or_404(Adjustment, pk=pk)
    approve = request.POST.get("decision") == "approve"
    try:
        services.adjustment_decide(by=request.user, adjustment=adjustment, approve=approve)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Adjustment approved: the due is reduced.") if approve
                         else _("Adjustment rejected."))
    return redirect("tax:adjustments")


# --- due status and defaulters ------------------------------------------------------------------------

def _due_filters(form: DueFilterForm) -> selectors.DueFilter:
    if not form.is_valid():
        return selectors.DueFilter()
    data = form.cleaned_data
    years = data.get("years_due")
    return selectors.DueFilter(
        ward=data.get("ward"), holding_prefix=data.get("q") or "", order=data.get("order") or "holding",
        years_due=int(years) if years in ("0", "1", "2") else None, min_years_due=3 if years == "3" else None)


def _due_page(request, filters):
    """The requested page and the totals in one query; a page past the end falls back to the last one."""
    try:
        number = max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        number = 1
    rows, counted = selectors.due_status_page(filters, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
    page = _Page(request, counted["count"])
    if page.number != number and counted["count"]:
        rows, counted = selectors.due_status_page(filters, limit=PER_PAGE, offset=page.offset)
    return rows, counted, page


@tax_view("tax.view")
def due_list(request):
    form = DueFilterForm(request.GET or None)
    filters = _due_filters(form)
    if request.GET.get("format") == "csv":
        rows = selectors.due_status_rows(filters, limit=None)
        return csv_response("tax-due-status.csv",
                             [_("Holding ID"), _("Ward"), _("Owner"), _("Balance (BDT)"), _("Years due"),
                              _("Overdue (BDT)")],
                             ([r["holding_id"], r["ward"], r["owner"] or "", r["balance"], r["years_due"],
                               r["overdue"]] for r in rows))
    rows, counted, page = _due_page(request, filters)
    return render(request, "tax/due_list.html", {
        "section": "due", "form": form, "rows": rows, "page": page, "counted": counted,
        "summary": selectors.due_status_summary(ward=filters.ward),
        "is_filtered": any(request.GET.get(k) for k in ("q", "ward", "years_due"))})


@tax_view("tax.view")
def defaulters(request):
    form = DefaulterFilterForm(request.GET or None)
    ward, min_years = None, 1
    if form.is_valid():
        ward, min_years = form.cleaned_data.get("ward"), form.cleaned_data.get("min_years") or 1
    filters = selectors.DueFilter(ward=ward, min_years_due=min_years, defaulters_only=True, order="-overdue")
    if request.GET.get("format") == "csv":
        rows = selectors.due_status_rows(filters, limit=None)
        return csv_response("tax-defaulters.csv",
                             [_("Holding ID"), _("Ward"), _("Owner"), _("Phone"), _("Overdue (BDT)"),
                              _("Balance (BDT)"), _("Years due"), _("Owing since")],
                             ([r["holding_id"], r["ward"], r["owner"] or "", r["phone"] or "", r["overdue"],
                               r["balance"], r["years_due"],
                               fiscal_year_label(r["oldest_year_due"]) if r["oldest_year_due"] else ""]
                              for r in rows))
    rows, counted, page = _due_page(request, filters)
    for row in rows:
        row["since"] = fiscal_year_label(row["oldest_year_due"]) if row["oldest_year_due"] else ""
        row["phone_local"] = phone_local(row["phone"])
    return render(request, "tax/defaulters.html", {"section": "defaulters", "form": form, "rows": rows,
                                                   "page": page, "counted": counted, "min_years": min_years})


# --- the cash book ------------------------------------------------------------------------------------

@tax_view(None)
@any_permission("tax.collect", "tax.approve", "tax.manage")
def cash_book(request):
    supervisor = has_permission(request, "tax.approve") or has_permission(request, "tax.manage")
    probe = CashBookForm(request.GET or None)
    day = probe.day_or_today()
    cashiers = selectors.cashiers_with_payments(day=day) if supervisor else [(request.user.pk, request.user.email)]
    form = CashBookForm(request.GET or None, cashiers=cashiers, initial={"day": day})
    cashier_id = request.user.pk
    if supervisor:
        cashier_id = form.cleaned_data.get("cashier") if form.is_valid() else None
    book = selectors.cash_book(day=day, cashier_id=cashier_id)
    label = next((name for pk, name in cashiers if pk == cashier_id), "") if cashier_id else ""
    output = request.GET.get("format")
    if output == "csv":
        return csv_response(f"cash-book-{day.isoformat()}.csv",
                             [_("Time"), _("Receipt"), _("Holding ID"), _("Method"), _("Reference"),
                              _("Amount (BDT)"), _("Status"), _("Cashier")],
                             ([timezone.localtime(p.received_at).strftime("%H:%M"), p.receipt_number,
                               p.holding.holding_id, p.get_method_display(), p.reference, p.amount,
                               p.get_status_display(), p.cashier_label] for p in book["payments"]))
    if output == "pdf":
        content = pdf.cash_book_pdf(book, municipality=request.municipality, cashier_label=label,
                                    language=_language(request))
        return _pdf_response(content, f"cash-book-{day.isoformat()}.pdf")
    from django.core.paginator import Paginator

    rows = Paginator(book["payments"], CASH_BOOK_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "tax/cash_book.html", {"section": "cash_book", "form": form, "book": book, "rows": rows,
                                                  "query": params.urlencode(), "cashier_label": label,
                                                  "supervisor": supervisor})


# --- public verification ------------------------------------------------------------------------------

@public_page
@feature_required(FEATURE)
def verify(request, number: str):
    """A resident scans the QR: number, holding ID, amount, date and status — nothing about the owner."""
    number = number.strip()
    context: dict = {"number": number, "found": False, "pay_url": None}
    payment = selectors.payment_by_receipt(number)
    if payment is not None:
        context.update(found=True, kind="receipt", holding_id=payment.holding.holding_id, amount=payment.amount,
                       date=payment.received_at, status=payment.status, status_label=payment.get_status_display())
    else:
        bill = selectors.bill_by_number(number)
        if bill is not None:
            paid = selectors.bill_paid(bill)
            charged = bill.current_amount + bill.surcharge
            if paid >= charged:
                status, label = "paid", _("Paid")
            elif paid > 0:
                status, label = "part_paid", _("Partly paid")
            else:
                status, label = "unpaid", _("Not paid yet")
            pay_url = _pay_url()
            context.update(found=True, kind="bill", holding_id=bill.holding.holding_id, amount=bill.total_payable,
                           date=bill.due_date, issue_date=bill.issue_date, status=status, status_label=label,
                           fiscal_year=fiscal_year_label(bill.fiscal_year), period=bill.period,
                           left=max(charged - paid, Decimal(0)),
                           pay_url=f"{pay_url}?bill={bill.number}" if pay_url and status != "paid" else None)
    response = render(request, "tax/verify.html", context, status=200 if context["found"] else 404)
    response["X-Robots-Tag"] = "noindex"
    return response
