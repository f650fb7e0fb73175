"""The trade licence fee (new licence or renewal, with its late fee) as a payable of the one payment flow
(imis.tenant_apps.payments.payables).

A due is one licence year of one licence, exactly as `services.fee_due` prices it; paying it runs the same
`services.licence_pay` the licence desk uses, so the certificate for the year is issued and the receipt is
numbered in the licence series (TLR-). If the year was paid meanwhile (at the desk, or by a second online
payment), or its price changed, the money becomes a credit to refund — never a second certificate.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.platform.formatting import fiscal_year_label
from imis.tenant_apps.payments.models import FeePayment
from imis.tenant_apps.payments.payables import AlreadySettled, Due, Payable, ReceiptRow, Settlement, payable_register

from . import services
from .models import Licence, LicencePayment

KIND = "licence_fee"
PAYABLE_STATUSES = (Licence.Status.APPROVED, Licence.Status.ACTIVE, Licence.Status.EXPIRED)


def _title(licence: Licence, fiscal_year: int, kind: str) -> str:
    what = _("new licence") if kind == LicencePayment.Kind.NEW else _("renewal")
    return _("Trade licence %(number)s (%(business)s), %(year)s %(what)s") % {
        "number": licence.number or licence.application_number, "business": licence.business_name,
        "year": fiscal_year_label(fiscal_year), "what": what}


@payable_register
class TradeLicenceFeePayable(Payable):
    kind = KIND
    feature = "trade_licence"
    verbose_name = gettext_lazy("Trade licence fee")
    collect_permissions = ("tax.collect", "licence.manage")

    def _due(self, licence: Licence) -> Due | None:
        try:
            fee = services.fee_due(licence)
        except ValidationError:  # no fee schedule for the year yet: nothing can be paid
            return None
        if fee is None:
            return None
        detail = ""
        if fee["late_fee"]:
            detail = _("Fee ৳ %(fee)s + late fee ৳ %(late)s") % {"fee": fee["fee"], "late": fee["late_fee"]}
        return Due(kind=self.kind, reference=f"{licence.pk}:{fee['fiscal_year']}", holding_id=licence.holding_id,
                   title=_title(licence, fee["fiscal_year"], fee["kind"]), amount=fee["amount"], detail=detail)

    def dues(self, holding) -> list[Due]:
        licences = Licence.objects.filter(holding=holding, status__in=PAYABLE_STATUSES).select_related("category")
        return [due for due in (self._due(licence) for licence in licences.order_by("pk")) if due]

    @staticmethod
    def _parse(reference: str) -> tuple[int, int] | None:
        licence_id, _sep, year = reference.partition(":")
        return (int(licence_id), int(year)) if licence_id.isdigit() and year.isdigit() else None

    def due(self, reference: str) -> Due | None:
        parsed = self._parse(reference)
        licence = Licence.objects.filter(pk=parsed[0]).select_related("category").first() if parsed else None
        due = self._due(licence) if licence else None
        return due if due is not None and due.reference == reference else None

    def settle(self, *, reference, amount, method, by, payment_reference="", received_at=None) -> Settlement:
        parsed = self._parse(reference)
        licence = Licence.objects.select_for_update().select_related("category").get(pk=parsed[0])
        due = self._due(licence)
        if due is None or due.reference != reference:
            raise AlreadySettled(_("Licence %(number)s has no fee to pay for %(year)s any more.") % {
                "number": licence.number or licence.application_number, "year": fiscal_year_label(parsed[1])})
        if due.amount != Decimal(amount):
            raise AlreadySettled(_("%(what)s now costs ৳ %(due)s, not ৳ %(paid)s.") % {
                "what": due.title, "due": due.amount, "paid": amount})
        certificate = services.licence_pay(by=by, licence=licence, method=method, reference=payment_reference[:60],
                                           received_at=received_at)
        return Settlement(receipt_number=certificate.payment.receipt_number, record=certificate.payment)

    def receipts(self, holding) -> list[ReceiptRow]:
        payments = (LicencePayment.objects.filter(licence__holding=holding)
                    .select_related("licence", "certificate").order_by("-received_at")[:24])
        return [ReceiptRow(kind=self.kind, number=p.receipt_number, title=_title(p.licence, p.fiscal_year, p.kind),
                           amount=p.amount, received_at=p.received_at,
                           method=str(dict(FeePayment.Method.choices).get(p.method, p.method)), status="valid",
                           extra={"certificate": getattr(getattr(p, "certificate", None), "number", "")})
                for p in payments]

    def _fee_receipt(self, payment: LicencePayment):
        from imis.tenant_apps.payments.pdf import FeeReceipt

        licence = payment.licence
        holding = licence.holding
        lines = [(_title(licence, payment.fiscal_year, payment.kind), payment.fee)]
        if payment.late_fee:
            lines.append((_("Late renewal fee"), payment.late_fee))
        return FeeReceipt(
            kind=self.kind, number=payment.receipt_number, holding_id=holding.holding_id,
            ward=holding.ward.number if holding.ward_id else None, address=licence.address,
            payer=f"{licence.business_name} · {licence.owner_name}", lines=lines, amount=payment.amount,
            received_at=payment.received_at, method=payment.method, reference=payment.reference,
            cashier_label=payment.cashier_label)

    def receipt_pdf(self, number, *, holding, municipality, language, request=None) -> bytes | None:
        from imis.tenant_apps.payments.pdf import fee_receipt_pdf

        payment = (LicencePayment.objects.filter(receipt_number=number, licence__holding=holding)
                   .select_related("licence__holding__ward").first())
        if payment is None:
            return None
        return fee_receipt_pdf(self._fee_receipt(payment), municipality=municipality, language=language,
                               request=request)

    def verify(self, number: str) -> dict | None:
        payment = LicencePayment.objects.filter(receipt_number=number).select_related(
            "licence__holding", "certificate").first()
        if payment is None:
            return None
        certificate = getattr(payment, "certificate", None)
        return {"kind": self.kind, "what": str(self.verbose_name), "number": payment.receipt_number,
                "service": certificate.number if certificate else payment.licence.number,
                "holding_id": payment.licence.holding.holding_id, "amount": payment.amount,
                "date": payment.received_at, "is_valid": True}
