"""Water connection fees and water bills as payables of the one payment flow (imis.tenant_apps.payments.payables).

Two kinds of due under one payable: the connection fee of an approved connection (reference `fee:<connection>`)
and each unpaid monthly bill (`bill:<bill>`). Both are paid in full, online or at the counter, into the water
payment register (`WaterPayment`, receipt series WSR-): at most one valid payment per bill and per connection fee,
so money for a due paid meanwhile becomes a credit to refund, never a second settlement.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.payments.models import FeePayment
from imis.tenant_apps.payments.payables import AlreadySettled, Due, Payable, ReceiptRow, Settlement, payable_register

from . import services
from .models import ConnectionEvent, WaterBill, WaterConnection, WaterPayment

KIND = "water"
S = WaterConnection.Status


def _fee_title(connection: WaterConnection) -> str:
    return _("Water connection fee %(customer)s") % {"customer": connection.customer_id}


def _bill_title(bill: WaterBill) -> str:
    return _("Water bill %(customer)s, %(month)s") % {"customer": bill.connection.customer_id,
                                                       "month": date_format(bill.period, "F Y")}


def _parse(reference: str) -> tuple[str, int] | None:
    what, _sep, pk = (reference or "").partition(":")
    return (what, int(pk)) if what in ("fee", "bill") and pk.isdigit() else None


@payable_register
class WaterPayable(Payable):
    kind = KIND
    feature = "water_supply"
    verbose_name = gettext_lazy("Water supply")
    collect_permissions = ("tax.collect", "water.manage")
    is_reversible = True

    def fee_due_of(self, connection: WaterConnection) -> Due | None:
        amount = services.connection_fee_open(connection)
        if amount is None:
            return None
        return Due(kind=self.kind, reference=f"fee:{connection.pk}", holding_id=connection.holding_id,
                   title=_fee_title(connection), amount=amount, detail=_("Paid before the supply is connected."))

    def bill_due_of(self, bill: WaterBill) -> Due | None:
        if bill.status != WaterBill.Status.ISSUED:
            return None
        detail = _("Due by %(day)s") % {"day": date_format(bill.due_date, "j M Y")}
        if bill.consumption is not None:
            detail = _("%(used)s m³ · %(detail)s") % {"used": bill.consumption, "detail": detail}
        return Due(kind=self.kind, reference=f"bill:{bill.pk}", holding_id=bill.connection.holding_id,
                   title=_bill_title(bill), amount=bill.amount, detail=detail)

    def dues(self, holding) -> list[Due]:
        fees = [self.fee_due_of(c) for c in WaterConnection.objects.filter(holding=holding, status=S.APPROVED)]
        bills = [self.bill_due_of(bill) for bill in WaterBill.objects.filter(
            connection__holding=holding, status=WaterBill.Status.ISSUED).select_related("connection")
            .order_by("period", "pk")]
        return [due for due in fees + bills if due]

    def due(self, reference: str) -> Due | None:
        parsed = _parse(reference)
        if parsed is None:
            return None
        what, pk = parsed
        if what == "fee":
            connection = WaterConnection.objects.filter(pk=pk).first()
            return self.fee_due_of(connection) if connection else None
        bill = WaterBill.objects.filter(pk=pk).select_related("connection").first()
        return self.bill_due_of(bill) if bill else None

    def settle(self, *, reference, amount, method, by, payment_reference="", received_at=None) -> Settlement:
        parsed = _parse(reference)
        if parsed is None:
            raise AlreadySettled(_("No such water due."))
        what, pk = parsed
        received_at = received_at or timezone.now()
        if what == "fee":
            connection = WaterConnection.objects.select_for_update().get(pk=pk)
            bill, due = None, self.fee_due_of(connection)
        else:
            bill = WaterBill.objects.select_for_update().select_related("connection").get(pk=pk)
            connection, due = bill.connection, self.bill_due_of(bill)
        if due is None:
            raise AlreadySettled(_("%(what)s has nothing to pay any more.") % {
                "what": _fee_title(connection) if bill is None else _bill_title(bill)})
        if due.amount != Decimal(amount):
            raise AlreadySettled(_("%(what)s now costs ৳ %(due)s, not ৳ %(paid)s.") % {
                "what": due.title, "due": due.amount, "paid": amount})
        payment = WaterPayment.objects.create(
            kind=WaterPayment.Kind.CONNECTION_FEE if bill is None else WaterPayment.Kind.BILL,
            connection=connection, bill=bill, amount=due.amount, method=method, reference=payment_reference[:100],
            receipt_number=services.next_number("water-receipt", "WSR-{n:08d}"), received_at=received_at,
            cashier_id=getattr(by, "pk", None), cashier_label=getattr(by, "email", "") or "online")
        if bill is None:
            connection.fee_paid_on = timezone.localtime(received_at).date()
            connection.save(update_fields=["fee_paid_on", "updated"])
        else:
            bill.status = WaterBill.Status.PAID
            bill.save(update_fields=["status"])
        ConnectionEvent.objects.create(
            connection=connection, at=received_at, action="paid", by_id=getattr(by, "pk", None),
            by_label=getattr(by, "email", "") or "online",
            note=_("%(what)s ৳ %(amount)s paid (%(method)s), receipt %(number)s") % {
                "what": due.title, "amount": due.amount, "method": method, "number": payment.receipt_number})
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=payment,
                     after={"connection": connection.customer_id, "bill": bill.number if bill else None,
                            "amount": str(due.amount), "method": method, "receipt": payment.receipt_number})
        return Settlement(receipt_number=payment.receipt_number, record=payment)

    def _title(self, payment: WaterPayment) -> str:
        return _fee_title(payment.connection) if payment.bill is None else _bill_title(payment.bill)

    def _payments(self):
        return WaterPayment.objects.select_related("connection", "bill", "bill__connection")

    def receipts(self, holding) -> list[ReceiptRow]:
        return [ReceiptRow(kind=self.kind, number=p.receipt_number, title=self._title(p), amount=p.amount,
                           received_at=p.received_at,
                           method=str(dict(FeePayment.Method.choices).get(p.method, p.method)), status=p.status)
                for p in self._payments().filter(connection__holding=holding).order_by("-received_at")[:24]]

    def receipt_pdf(self, number, *, holding, municipality, language, request=None) -> bytes | None:
        from imis.tenant_apps.payments.pdf import FeeReceipt, fee_receipt_pdf

        payment = self._payments().select_related("connection__holding__ward").filter(
            receipt_number=number, connection__holding=holding).first()
        if payment is None:
            return None
        connection = payment.connection
        receipt = FeeReceipt(
            kind=self.kind, number=payment.receipt_number, holding_id=holding.holding_id,
            ward=holding.ward.number if holding.ward_id else None, address=holding.address,
            payer=f"{connection.customer_id} · {connection.applicant_name}", lines=[(self._title(payment),
                                                                                     payment.amount)],
            amount=payment.amount, received_at=payment.received_at, method=payment.method,
            reference=payment.reference, cashier_label=payment.cashier_label,
            is_valid=payment.status == WaterPayment.Status.VALID)
        return fee_receipt_pdf(receipt, municipality=municipality, language=language, request=request)

    def verify(self, number: str) -> dict | None:
        payment = self._payments().select_related("connection__holding").filter(receipt_number=number).first()
        if payment is None:
            return None
        return {"kind": self.kind, "what": str(self.verbose_name), "number": payment.receipt_number,
                "service": payment.bill.number if payment.bill else payment.connection.customer_id,
                "holding_id": payment.connection.holding.holding_id, "amount": payment.amount,
                "date": payment.received_at, "is_valid": payment.status == WaterPayment.Status.VALID}

    def reverse(self, *, receipt_number, reason, by) -> bool:
        """After a refund the bill (or the fee) is due again."""
        payment = WaterPayment.objects.select_for_update(of=("self",)).select_related("bill", "connection").get(
            receipt_number=receipt_number)
        if payment.status != WaterPayment.Status.VALID:
            return True
        payment.status, payment.reversal_reason = WaterPayment.Status.REVERSED, reason[:300]
        payment.save(update_fields=["status", "reversal_reason"])
        if payment.bill is not None:
            WaterBill.objects.filter(pk=payment.bill_id).update(status=WaterBill.Status.ISSUED)
        elif payment.connection.status == S.APPROVED:
            WaterConnection.objects.filter(pk=payment.connection_id).update(fee_paid_on=None)
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=payment, before={"status": "valid"},
                     after={"status": "reversed", "reason": reason})
        return True
