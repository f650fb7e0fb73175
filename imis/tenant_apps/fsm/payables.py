"""The desludging fee as a payable of the one payment flow (imis.tenant_apps.payments.payables).

A fee is due once the emptying is recorded and priced (`Application.fee_amount`), unless the crew took it on
site (the emptying carries the crew's receipt number). It is paid online or at the counter into the payments
app's fee register (`FeePayment`, receipt series FSR-): at most one valid payment per application, so a second
payment for the same fee becomes a credit to refund, never a second settlement.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.payments.models import FeePayment
from imis.tenant_apps.payments.payables import AlreadySettled, Due, Payable, ReceiptRow, Settlement, payable_register
from imis.tenant_apps.tax.numbering import number_next

from .models import Application, ApplicationEvent

KIND = "fsm_fee"
FEE_STATUSES = (Application.Status.EMPTIED, Application.Status.DISPOSED, Application.Status.CLOSED)
RECEIPT_SERIES = "fsm-fee"


def _next_receipt_number() -> str:
    return number_next(RECEIPT_SERIES, "FSR-{n:08d}")


def _with_fee_state(applications):
    return applications.select_related("emptying").annotate(is_fee_paid=Exists(FeePayment.objects.filter(
        fsm_application=OuterRef("pk"), status=FeePayment.Status.VALID)))


def _fee_open(application: Application) -> Decimal | None:
    """The fee still to pay, or None. `application` comes from `_with_fee_state` (one query for a list)."""
    if application.status not in FEE_STATUSES or not application.fee_amount or application.fee_amount <= 0:
        return None
    emptying = getattr(application, "emptying", None)
    if emptying is not None and emptying.receipt_number:
        return None  # taken by the crew on site
    if application.is_fee_paid:
        return None
    return application.fee_amount


def _title(application: Application) -> str:
    return _("Desludging %(number)s") % {"number": application.number}


@payable_register
class DesludgingFeePayable(Payable):
    kind = KIND
    feature = "fsm"
    verbose_name = gettext_lazy("Desludging fee")
    collect_permissions = ("tax.collect", "fsm.approve")
    is_reversible = True

    def _due(self, application: Application) -> Due | None:
        amount = _fee_open(application)
        if amount is None or application.holding_id is None:
            return None
        detail = ""
        if application.emptied_at:
            day = date_format(timezone.localtime(application.emptied_at).date(), "j M Y")
            detail = _("Emptied on %(day)s") % {"day": day}
        return Due(kind=self.kind, reference=str(application.pk), holding_id=application.holding_id,
                   title=_title(application), amount=amount, detail=detail)

    def dues(self, holding) -> list[Due]:
        applications = _with_fee_state(Application.objects.filter(holding=holding, status__in=FEE_STATUSES,
                                                                  fee_amount__gt=0)).order_by("received_at")
        return [due for due in (self._due(application) for application in applications) if due]

    def due(self, reference: str) -> Due | None:
        if not reference.isdigit():
            return None
        application = _with_fee_state(Application.objects.filter(pk=int(reference))).first()
        return self._due(application) if application else None

    def settle(self, *, reference, amount, method, by, payment_reference="", received_at=None) -> Settlement:
        Application.objects.select_for_update().filter(pk=int(reference)).first()  # one payment at a time
        application = _with_fee_state(Application.objects.filter(pk=int(reference))).get()
        due = self._due(application)
        if due is None:
            raise AlreadySettled(_("%(what)s has nothing to pay any more.") % {"what": _title(application)})
        if due.amount != Decimal(amount):
            raise AlreadySettled(_("%(what)s now costs ৳ %(due)s, not ৳ %(paid)s.") % {
                "what": _title(application), "due": due.amount, "paid": amount})
        received_at = received_at or timezone.now()
        payment = FeePayment.objects.create(
            kind=self.kind, holding_id=application.holding_id, fsm_application=application, amount=due.amount,
            method=method, reference=payment_reference[:100], receipt_number=_next_receipt_number(),
            received_at=received_at, cashier_id=getattr(by, "pk", None),
            cashier_label=getattr(by, "email", "") or "online")
        ApplicationEvent.objects.create(
            application=application, at=received_at, from_status=application.status, to_status=application.status,
            actor_id=getattr(by, "pk", None), actor_label=getattr(by, "email", "") or "system",
            note=_("Fee ৳ %(amount)s paid (%(method)s), receipt %(number)s") % {
                "amount": due.amount, "method": payment.get_method_display(), "number": payment.receipt_number},
            data={"fee_paid": str(due.amount), "receipt": payment.receipt_number, "method": method})
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=payment,
                     after={"application": application.number, "amount": str(due.amount), "method": method,
                            "receipt": payment.receipt_number})
        return Settlement(receipt_number=payment.receipt_number, record=payment)

    def receipts(self, holding) -> list[ReceiptRow]:
        return [ReceiptRow(kind=self.kind, number=p.receipt_number, title=_title(p.fsm_application),
                           amount=p.amount, received_at=p.received_at, method=p.get_method_display(),
                           status=p.status)
                for p in FeePayment.objects.filter(holding=holding, kind=self.kind).select_related("fsm_application")
                .order_by("-received_at")[:24]]

    def _fee_receipt(self, payment: FeePayment):
        from imis.tenant_apps.payments.pdf import FeeReceipt

        application = payment.fsm_application
        holding = payment.holding
        return FeeReceipt(
            kind=self.kind, number=payment.receipt_number, holding_id=holding.holding_id if holding else "—",
            ward=holding.ward.number if holding and holding.ward_id else None,
            address=application.address or (holding.address if holding else ""), payer=application.applicant_name,
            lines=[(_title(application), payment.amount)], amount=payment.amount, received_at=payment.received_at,
            method=payment.method, reference=payment.reference, cashier_label=payment.cashier_label,
            is_valid=payment.status == FeePayment.Status.VALID)

    def receipt_pdf(self, number, *, holding, municipality, language, request=None) -> bytes | None:
        from imis.tenant_apps.payments.pdf import fee_receipt_pdf

        payment = (FeePayment.objects.filter(kind=self.kind, receipt_number=number, holding=holding)
                   .select_related("fsm_application", "holding__ward").first())
        if payment is None:
            return None
        return fee_receipt_pdf(self._fee_receipt(payment), municipality=municipality, language=language,
                               request=request)

    def verify(self, number: str) -> dict | None:
        payment = FeePayment.objects.filter(kind=self.kind, receipt_number=number).select_related(
            "holding", "fsm_application").first()
        if payment is None:
            return None
        return {"kind": self.kind, "what": str(self.verbose_name), "number": payment.receipt_number,
                "service": payment.fsm_application.number,
                "holding_id": payment.holding.holding_id if payment.holding else "", "amount": payment.amount,
                "date": payment.received_at, "is_valid": payment.status == FeePayment.Status.VALID}

    def reverse(self, *, receipt_number, reason, by) -> bool:
        payment = FeePayment.objects.select_for_update().get(kind=self.kind, receipt_number=receipt_number)
        if payment.status == FeePayment.Status.VALID:
            payment.status, payment.reversal_reason = FeePayment.Status.REVERSED, reason[:300]
            payment.save(update_fields=["status", "reversal_reason"])
            audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=payment, before={"status": "valid"},
                         after={"status": "reversed", "reason": reason})
        return True
