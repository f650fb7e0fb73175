"""The sewer connection fee as a payable of the one payment flow (imis.tenant_apps.payments.payables).

A fee is due once a connection is approved with a fee above zero, on the building's holding. Paying it — online
or at the payments counter — runs the same `services.connection_pay` the sewer desk uses, so the receipt is
numbered in the sewer series (SCR-) and the connection moves to "fee paid". If it was paid meanwhile (at the
desk, or by a second online payment) or its fee changed, the money becomes a credit to refund. Registered when
the app loads (SewerConfig.ready).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.tenant_apps.payments import pdf as fee_pdf
from imis.tenant_apps.payments.models import FeePayment
from imis.tenant_apps.payments.payables import AlreadySettled, Due, Payable, ReceiptRow, Settlement, payable_register

from . import services
from .models import SewerConnection, SewerConnectionPayment

KIND = "sewer_fee"

# The fee receipt's heading for this kind, beside those of the other fees.
for _language, _section, _title_text in (("en", "Sewerage Section", "Money receipt — sewer connection fee"),
                                         ("bn", "পয়ঃনিষ্কাশন শাখা", "টাকা প্রাপ্তির রসিদ — সুয়ার সংযোগ ফি")):
    fee_pdf.LABELS[_language]["section"].setdefault(KIND, _section)
    fee_pdf.LABELS[_language]["receipt_title"].setdefault(KIND, _title_text)


def _title(connection: SewerConnection) -> str:
    return _("Sewer connection %(number)s (building %(bin)s)") % {"number": connection.application_number,
                                                                   "bin": connection.building.bin}


@payable_register
class SewerConnectionFeePayable(Payable):
    kind = KIND
    feature = "sewer"
    verbose_name = gettext_lazy("Sewer connection fee")
    collect_permissions = ("tax.collect", "sewer.manage")

    def _due(self, connection: SewerConnection) -> Due | None:
        if connection.status != SewerConnection.Status.APPROVED or not connection.fee_amount \
                or connection.holding_id is None:
            return None
        return Due(kind=self.kind, reference=str(connection.pk), holding_id=connection.holding_id,
                   title=_title(connection), amount=connection.fee_amount,
                   detail=_("Sewer line %(code)s") % {"code": connection.sewer.code})

    def _open(self):
        return SewerConnection.objects.filter(status=SewerConnection.Status.APPROVED, fee_amount__gt=0
                                              ).select_related("building", "sewer")

    def dues(self, holding) -> list[Due]:
        return [due for due in (self._due(c) for c in self._open().filter(holding=holding).order_by("pk")) if due]

    def due(self, reference: str) -> Due | None:
        connection = self._open().filter(pk=int(reference)).first() if reference.isdigit() else None
        return self._due(connection) if connection else None

    def settle(self, *, reference, amount, method, by, payment_reference="", received_at=None) -> Settlement:
        connection = SewerConnection.objects.select_for_update().select_related("building", "sewer").get(
            pk=int(reference))
        due = self._due(connection)
        if due is None:
            raise AlreadySettled(_("%(what)s has nothing to pay any more.") % {"what": _title(connection)})
        if due.amount != Decimal(amount):
            raise AlreadySettled(_("%(what)s now costs ৳ %(due)s, not ৳ %(paid)s.") % {
                "what": _title(connection), "due": due.amount, "paid": amount})
        payment = services.connection_pay(by=by, connection=connection, method=method,
                                          reference=(payment_reference or "")[:100], received_at=received_at)
        return Settlement(receipt_number=payment.receipt_number, record=payment)

    def receipts(self, holding) -> list[ReceiptRow]:
        payments = (SewerConnectionPayment.objects.filter(connection__holding=holding)
                    .select_related("connection__building").order_by("-received_at")[:24])
        return [ReceiptRow(kind=self.kind, number=p.receipt_number, title=_title(p.connection), amount=p.amount,
                           received_at=p.received_at,
                           method=str(dict(FeePayment.Method.choices).get(p.method, p.method)), status="valid")
                for p in payments]

    def receipt_pdf(self, number, *, holding, municipality, language, request=None) -> bytes | None:
        payment = (SewerConnectionPayment.objects.filter(receipt_number=number, connection__holding=holding)
                   .select_related("connection__building", "connection__holding__ward").first())
        if payment is None:
            return None
        connection = payment.connection
        receipt = fee_pdf.FeeReceipt(
            kind=self.kind, number=payment.receipt_number, holding_id=holding.holding_id,
            ward=holding.ward.number if holding.ward_id else None, address=holding.address,
            payer=connection.applicant_name, lines=[(_title(connection), payment.amount)], amount=payment.amount,
            received_at=payment.received_at, method=payment.method, reference=payment.reference,
            cashier_label=payment.cashier_label)
        return fee_pdf.fee_receipt_pdf(receipt, municipality=municipality, language=language, request=request)

    def verify(self, number: str) -> dict | None:
        payment = SewerConnectionPayment.objects.filter(receipt_number=number).select_related(
            "connection__holding").first()
        if payment is None:
            return None
        holding = payment.connection.holding
        return {"kind": self.kind, "what": str(self.verbose_name), "number": payment.receipt_number,
                "service": payment.connection.application_number,
                "holding_id": holding.holding_id if holding else "", "amount": payment.amount,
                "date": payment.received_at, "is_valid": True}
