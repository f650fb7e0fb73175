"""Trade licence screens: the list with its filters, the application form, the licence page with each step of
its life cycle, fees per category and year, the certificate PDF, and the public verification page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from imis.platform.formatting import fiscal_year_label
from imis.platform.middleware import public_page
from imis.platform.permissions import permission_required
from imis.platform.workflow import workflow_step
from imis.shared_apps.accounts.selectors import has_permission
from imis.shared_apps.tenants.features import feature_required
from imis.tenant_apps.registry.forms import add_service_errors

from . import pdf, selectors, services
from .forms import (
    ApplicationForm,
    CategoryFeeForm,
    CategoryForm,
    FeePaymentForm,
    InspectionForm,
    LicenceFilterForm,
    ReasonForm,
)
from .models import Licence

FEATURE = "trade_licence"
PER_PAGE = 50
S = Licence.Status
STATUS_BADGES = {S.ACTIVE: "status-active", S.APPLIED: "status-suspended", S.INSPECTED: "status-suspended",
                 S.APPROVED: "status-suspended", S.EXPIRED: "status-archived", S.CANCELLED: "status-archived",
                 S.REJECTED: "status-archived"}


def licence_view(permission: str):
    def decorator(view):
        return feature_required(FEATURE)(permission_required(permission)(view))

    return decorator


def _licence_or_404(pk: int) -> Licence:
    try:
        return selectors.licence_detail(pk)
    except Licence.DoesNotExist as error:
        raise Http404(str(error)) from error


def _decorate(licence: Licence) -> Licence:
    status = selectors.effective_status(licence)
    licence.effective_status = status
    licence.effective_status_label = S(status).label
    licence.badge = STATUS_BADGES.get(status, "status-archived")
    phone = licence.owner_phone or ""
    licence.phone_local = "0" + phone[4:] if phone.startswith("+880") else phone  # as people write it
    return licence


@licence_view("licence.view")
def index(request):
    form = LicenceFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    licences = selectors.licences_listed(query=data.get("q") or "", status=data.get("status") or "",
                                         category=data.get("category") or "", ward=data.get("ward"))
    page = Paginator(licences, PER_PAGE).get_page(request.GET.get("page"))
    for licence in page.object_list:
        _decorate(licence)
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "licences/index.html", {
        "form": form, "page": page, "query": params.urlencode(), "counts": selectors.licence_counts(),
        "can_manage": has_permission(request, "licence.manage"),
        "is_filtered": any(request.GET.get(key) for key in ("q", "status", "category", "ward"))})


@licence_view("licence.manage")
def apply(request):
    form = ApplicationForm(request.POST or None, initial={"holding": request.GET.get("holding", "")})
    if request.method == "POST" and form.is_valid():
        try:
            licence = services.licence_apply(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Application %(number)s registered; it waits for inspection.") % {
                "number": licence.application_number})
            return redirect("licences:detail", pk=licence.pk)
    return render(request, "licences/apply.html", {"form": form})


@licence_view("licence.view")
def detail(request, pk: int):
    licence = _decorate(_licence_or_404(pk))
    can_manage = has_permission(request, "licence.manage")
    can_take_fee = can_manage or has_permission(request, "tax.collect")
    due = None
    fee_problem = ""
    try:
        due = services.fee_due(licence)
    except ValidationError as error:
        fee_problem = " ".join(error.messages)
    if due:
        due["year_label"] = fiscal_year_label(due["fiscal_year"])
    payments = list(licence.payments.all())
    for payment in payments:
        payment.fy_label = fiscal_year_label(payment.fiscal_year)
    return render(request, "licences/detail.html", {
        "licence": licence, "due": due, "fee_problem": fee_problem, "can_manage": can_manage,
        "can_take_fee": can_take_fee, "inspection_form": InspectionForm(), "payment_form": FeePaymentForm(),
        "reason_form": ReasonForm(), "certificates": list(licence.certificates.all()),
        "payments": payments, "events": list(licence.events.all()),
        "reminders": list(licence.reminders.all()[:10]),
        "renewal_window": services.RENEWAL_WINDOW_DAYS})


def _step(request, pk: int, form_class, call, success: str, title: str = ""):
    return workflow_step(request, record=_decorate(_licence_or_404(pk)), form_class=form_class, call=call,
                         success=success, title=title, back=reverse("licences:detail", args=[pk]),
                         template="licences/step.html", context_name="licence")


@licence_view("licence.manage")
def inspect(request, pk: int):
    return _step(request, pk, InspectionForm,
                 lambda licence, data: services.licence_inspect(by=request.user, licence=licence, **data),
                 _("Inspection recorded."), title=_("Record the inspection"))


@require_POST
@licence_view("licence.manage")
def approve(request, pk: int):
    return _step(request, pk, None, lambda licence, data: services.licence_approve(by=request.user, licence=licence),
                 _("Approved: the licence is issued when the fee is paid."))


@licence_view("licence.manage")
def reject(request, pk: int):
    return _step(request, pk, ReasonForm,
                 lambda licence, data: services.licence_reject(by=request.user, licence=licence, **data),
                 _("Application rejected."), title=_("Reject the application"))


@licence_view("licence.manage")
def cancel(request, pk: int):
    return _step(request, pk, ReasonForm,
                 lambda licence, data: services.licence_cancel(by=request.user, licence=licence, **data),
                 _("Licence cancelled."), title=_("Cancel the licence"))


@feature_required(FEATURE)
def pay(request, pk: int):
    if not (has_permission(request, "licence.manage") or has_permission(request, "tax.collect")):
        return render(request, "errors/403.html", {"reason": "role", "permission": "licence.manage"}, status=403)
    licence = _licence_or_404(pk)
    form = FeePaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            certificate = services.licence_pay(by=request.user, licence=licence, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Fee received (receipt %(receipt)s); certificate %(number)s issued.") % {
                "receipt": certificate.payment.receipt_number, "number": certificate.number})
            return redirect("licences:detail", pk=pk)
    return render(request, "licences/step.html", {"licence": _decorate(licence), "form": form,
                                                  "title": _("Take the licence fee")})


@licence_view("licence.view")
def certificate_pdf(request, number: str):
    certificate = selectors.certificate_by_number(number)
    if certificate is None:
        raise Http404("No such certificate")
    language = request.GET.get("lang") or translation.get_language() or "en"
    content = pdf.certificate_pdf(certificate, municipality=request.municipality, language=language, request=request)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{certificate.number}.pdf"'
    return response


@licence_view("licence.view")
def categories(request):
    from imis.tenant_apps.tax.services import fiscal_year_of

    can_manage = has_permission(request, "licence.manage")
    try:
        year = int(request.GET.get("fy") or fiscal_year_of(timezone.localdate()))
    except ValueError:
        year = fiscal_year_of(timezone.localdate())
    fee_form = CategoryFeeForm(request.POST if request.POST.get("form") == "fee" else None,
                               initial={"fiscal_year": year})
    category_form = CategoryForm(request.POST if request.POST.get("form") == "category" else None)
    if request.method == "POST":
        if not can_manage:
            return render(request, "errors/403.html", {"reason": "role", "permission": "licence.manage"}, status=403)
        if request.POST.get("form") == "fee" and fee_form.is_valid():
            try:
                services.category_fee_set(by=request.user, **fee_form.cleaned_data)
            except ValidationError as error:
                add_service_errors(fee_form, error)
            else:
                messages.success(request, _("Fee saved."))
                return redirect(f"{request.path}?fy={fee_form.cleaned_data['fiscal_year']}")
        elif request.POST.get("form") == "category" and category_form.is_valid():
            category_form.save()
            messages.success(request, _("Category saved."))
            return redirect(request.path)
    return render(request, "licences/categories.html", {
        "rows": selectors.categories_with_fees(year), "year": year, "year_label": fiscal_year_label(year),
        "fee_form": fee_form, "category_form": category_form, "can_manage": can_manage})


@public_page
@feature_required(FEATURE)
def verify(request, number: str):
    """A resident or inspector scans a certificate: business, category, holding, validity — no owner data."""
    certificate = selectors.certificate_by_number(number)
    licence = certificate.licence if certificate else selectors.licence_by_number(number)
    context = {"number": number, "certificate": certificate, "licence": licence}
    if licence is not None:
        status = selectors.effective_status(licence)
        if certificate is not None and status == S.ACTIVE and certificate.valid_until < licence.valid_until:
            status = "superseded"  # an older year's certificate of a licence renewed since
        context.update(status=status, badge=STATUS_BADGES.get(status, "status-archived"),
                       status_label=_("Valid, renewed since") if status == "superseded" else S(status).label,
                       is_valid=status == S.ACTIVE)
    response = render(request, "licences/verify.html", context, status=200 if licence else 404)
    response["X-Robots-Tag"] = "noindex"
    return response
