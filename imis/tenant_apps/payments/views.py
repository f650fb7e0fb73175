"""Webhook endpoint, the residents' portal (public, phone-first) and the staff's online-payment list."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from imis.platform.middleware import public_page
from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission
from imis.shared_apps.tenants.features import is_feature_enabled
from imis.tenant_apps.fsm.models import Application
from imis.tenant_apps.licences.models import Licence
from imis.tenant_apps.registry.models import Holding
from imis.tenant_apps.tax import services as tax
from imis.tenant_apps.tax.models import Bill

from . import payables, services
from .gateways import CHECKOUT_ORIGINS, SignatureError
from .models import OnlinePayment
from .portal import SESSION_KEY, holding_verified, lookup_allowed


@csrf_exempt
@require_POST
@public_page
def stripe_webhook(request):
    try:
        outcome = services.webhook_receive(gateway="stripe", payload=request.body, headers=request.headers)
    except SignatureError:
        return HttpResponseBadRequest("invalid signature")
    except ValidationError:
        return HttpResponseBadRequest("gateway not configured")
    return HttpResponse(outcome, content_type="text/plain")


def _portal_holding(request) -> Holding:
    """The holding this visitor proved is theirs, in this municipality only (sessions live in the public schema:
    the key carries the schema, so a session copied to another municipality's address proves nothing there)."""
    schema, _sep, holding_pk = str(request.session.get(SESSION_KEY, "")).partition(":")
    if schema != request.municipality.schema_name or not holding_pk.isdigit():
        raise Http404
    holding = Holding.objects.filter(pk=int(holding_pk)).first()
    if holding is None:
        raise Http404
    return holding


@public_page
def portal_lookup(request):
    error = ""
    if request.method == "POST":
        address = request.META.get("REMOTE_ADDR", "")
        if not lookup_allowed(address):
            error = _("Too many tries. Please wait 15 minutes and try again.")
        else:
            holding = holding_verified(holding_id=request.POST.get("holding_id", ""),
                                       second_factor=request.POST.get("second_factor", ""))
            if holding is not None:
                request.session.cycle_key()
                request.session[SESSION_KEY] = f"{request.municipality.schema_name}:{holding.pk}"
                return redirect("payments:portal_holding")
            error = _("We could not find a holding with these details. Check the holding ID and the last four "
                      "digits of the owner's phone or a bill number.")
    return render(request, "payments/portal_lookup.html", {"error": error}, status=429 if "15 minutes" in error
                  else 200)


def _language(request) -> str:
    lang = request.GET.get("lang") or translation.get_language() or "en"
    return "bn" if lang.startswith("bn") else "en"


@public_page
@csp_update({"form-action": CHECKOUT_ORIGINS})  # the pay form's POST ends in a redirect to the gateway
def portal_holding(request):
    holding = _portal_holding(request)
    municipality = request.municipality
    has_fsm = is_feature_enabled(municipality, "fsm")
    has_licences = is_feature_enabled(municipality, "trade_licence")
    context = {
        "holding": holding, "due": services.holding_dues(holding),
        "dues": payables.holding_dues(holding, municipality),
        "receipts": payables.holding_receipts(holding, municipality),
        "bills": Bill.objects.filter(holding=holding).order_by("-fiscal_year", "-period")[:12],
        "online": OnlinePayment.objects.filter(holding=holding, status=OnlinePayment.Status.PENDING)
        .order_by("-created")[:3],
        "has_tax": is_feature_enabled(municipality, "holding_tax"),
        "has_fsm": has_fsm, "has_licences": has_licences,
        "applications": (Application.objects.filter(holding=holding).select_related("emptying")
                         .prefetch_related("fee_payments").order_by("-received_at")[:10]) if has_fsm else [],
        "licences": (Licence.objects.filter(holding=holding).select_related("category").order_by("-applied_on")[:10]
                     if has_licences else []),
    }
    return render(request, "payments/portal_holding.html", context)


def _items_from(post) -> list[tuple[str, str, str | None]]:
    """The dues ticked on the portal ("kind:reference"), with an amount where the due may be paid in part."""
    items = []
    for key in post.getlist("due"):
        kind, _sep, reference = key.partition(":")
        items.append((kind, reference, post.get(f"amount-{key}") or None))
    if not items and post.get("amount"):  # the old single-amount form: holding tax
        items.append(("holding_tax", "", post.get("amount")))
    return items


@require_POST
@public_page
def portal_pay(request):
    holding = _portal_holding(request)
    placeholder = "00000000-0000-0000-0000-000000000000"
    return_url = request.build_absolute_uri(reverse("payments:portal_return", args=[placeholder])).replace(
        placeholder, "{payment}")
    items = [(kind, reference or (str(holding.pk) if kind == "holding_tax" else ""), amount)
             for kind, reference, amount in _items_from(request.POST)]
    try:
        payment = services.checkout_start(holding=holding, items=items, success_url=return_url,
                                          cancel_url=return_url)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("payments:portal_holding")
    return redirect(payment.checkout_url)


@public_page
def portal_return(request, payment_id):
    holding = _portal_holding(request)
    payment = get_object_or_404(OnlinePayment.objects.select_related("tax_payment"), pk=payment_id, holding=holding)
    context = {"payment": payment, "lines": list(payment.lines.all())}
    if request.headers.get("HX-Request"):
        return render(request, "payments/_portal_payment_status.html", context)
    return render(request, "payments/portal_return.html", context)


@public_page
def portal_receipt_pdf(request, number: str):
    """A receipt of this holding (any kind), as PDF; nothing of another holding or municipality."""
    holding = _portal_holding(request)
    language = _language(request)
    for payable in payables.payables_enabled(request.municipality):
        content = payable.receipt_pdf(number, holding=holding, municipality=request.municipality,
                                      language=language, request=request)
        if content is not None:
            response = HttpResponse(content, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="receipt-{number}-{language}.pdf"'
            return response
    raise Http404


@public_page
def receipt_verify(request, number: str):
    """A resident scans a fee receipt's QR: number, service, holding ID, amount, date, status — no owner."""
    number = number.strip()
    facts = payables.receipt_verify(number, request.municipality)
    return render(request, "payments/verify.html", {"number": number, "facts": facts},
                  status=200 if facts else 404)


@require_POST
@public_page
def portal_request_desludging(request):
    holding = _portal_holding(request)
    if not is_feature_enabled(request.municipality, "fsm"):
        raise Http404
    from imis.tenant_apps.fsm.services import application_register

    try:
        application = application_register(by=None, applicant_name=request.POST.get("name", ""),
                                           applicant_phone=request.POST.get("phone", ""),
                                           channel=Application.Channel.ONLINE, holding=holding,
                                           notes=request.POST.get("notes", "")[:500])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Request %(number)s received. The help desk will call you.")
                         % {"number": application.number})
    return redirect("payments:portal_holding")


@require_POST
@public_page
def portal_feedback(request, application_id: int):
    holding = _portal_holding(request)
    application = get_object_or_404(Application, pk=application_id, holding=holding)
    from imis.tenant_apps.fsm.models import Feedback
    from imis.tenant_apps.fsm.services import application_record_feedback

    try:
        application_record_feedback(application=application, by=None, channel=Feedback.Channel.ONLINE,
                                    rating=int(request.POST.get("rating", 0) or 0),
                                    service_quality=int(request.POST.get("service_quality", 0) or 0),
                                    had_spillage=request.POST.get("had_spillage") == "yes",
                                    comments=request.POST.get("comments", "")[:1000])
    except (ValidationError, ValueError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("Thank you for your feedback."))
    return redirect("payments:portal_holding")


@public_page
def portal_logout(request):
    request.session.pop(SESSION_KEY, None)
    return redirect("payments:portal")


@permission_required("tax.view")
def online_payments(request):
    payments = (OnlinePayment.objects.select_related("holding", "tax_payment").prefetch_related("lines")
                .order_by("-created")[:200])
    return render(request, "payments/online_list.html", {"payments": payments, "can_collect": _may_collect(request),
                                                         "total": tax.money(
        sum((p.amount for p in payments if p.status == "paid"), 0))})


def _may_collect_payable(request, payable) -> bool:
    return any(has_permission(request, code) for code in payable.collect_permissions)


def _may_collect(request) -> bool:
    """Any due this municipality takes (tax, desludging, licence, water, sewer fees) that the user's role collects:
    each payable names the permissions that collect it."""
    return any(_may_collect_payable(request, payable) for payable in payables.payables_enabled(request.municipality))


def counter(request):
    """One counter for every due of a holding: holding tax, desludging fees, trade licence fees — cash, cheque or
    bank transfer, the same payables as online, one receipt per due."""
    if not _may_collect(request):
        return render(request, "errors/403.html", {"reason": "role", "permission": "tax.collect"}, status=403)
    query = (request.GET.get("holding") or request.POST.get("holding") or "").strip().upper()
    holding = Holding.objects.filter(holding_id=query).select_related("ward").first() if query else None
    context = {"query": query, "holding": holding, "errors": [], "settlements": [],
               "method": request.POST.get("method", "cash"), "reference": request.POST.get("reference", "")}
    if holding is not None and request.method == "POST":
        try:
            context["settlements"] = services.counter_take(
                by=request.user, holding=holding, items=_items_from(request.POST),
                method=request.POST.get("method", ""), reference=request.POST.get("reference", ""))
        except ValidationError as error:
            context["errors"] = error.messages
        else:
            messages.success(request, _("Recorded: %(numbers)s.") % {
                "numbers": ", ".join(s.receipt_number for s in context["settlements"])})
    if holding is not None:
        # the dues this role may take, and the others (shown, to send the resident to the right desk)
        context["dues"], context["dues_elsewhere"] = [], []
        for payable in payables.payables_enabled(request.municipality):
            allowed = _may_collect_payable(request, payable)
            context["dues" if allowed else "dues_elsewhere"].extend(payable.dues(holding))
    context["methods"] = [("cash", _("Cash")), ("cheque", _("Cheque")), ("bank", _("Bank transfer"))]
    return render(request, "payments/counter.html", context)


def staff_receipt_pdf(request, number: str):
    """A desludging or licence fee receipt for the staff who take or check fees."""
    readers = has_permission(request, "tax.view") or has_permission(request, "fsm.view")
    if not (_may_collect(request) or readers):
        return render(request, "errors/403.html", {"reason": "role", "permission": "tax.view"}, status=403)
    for payable in payables.payables_enabled(request.municipality):
        if payable.kind == "holding_tax":
            continue  # tax receipts have their own pages (tax.view)
        if not (readers or _may_collect_payable(request, payable)):
            continue  # e.g. a water clerk sees water receipts only
        record = payable.verify(number)
        if record is None:
            continue
        holding = Holding.objects.filter(holding_id=record["holding_id"]).first()
        content = holding and payable.receipt_pdf(number, holding=holding, municipality=request.municipality,
                                                  language=_language(request), request=request)
        if content:
            response = HttpResponse(content, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="receipt-{number}.pdf"'
            return response
    raise Http404
