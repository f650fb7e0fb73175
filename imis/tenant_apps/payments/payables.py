"""The Payable notion: anything a resident owes the municipality — a holding's tax, a desludging fee, a trade
licence fee — offered to the one payment flow (start → gateway → webhook → the payable records it → receipt).

Each kind of payable is one class registered here. It lists a holding's dues, re-reads one due by its reference
(always in the current municipality's schema, so another municipality's due simply does not exist), records a
payment in its own ledger or register, and finds, prints and verifies its receipts. The fee-specific classes live
beside their domain (`imis/tenant_apps/fsm/payables.py`, `imis/tenant_apps/licences/payables.py`); holding tax,
which the payments app has always settled, is here.
"""

from __future__ import annotations

import abc
import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import import_module

from django.db import connection
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.shared_apps.tenants.features import is_feature_enabled

# Modules whose import registers a payable (kept here so the fee domains need no wiring of their own).
PAYABLE_MODULES = ("imis.tenant_apps.fsm.payables", "imis.tenant_apps.licences.payables",
                   "imis.tenant_apps.water.payables", "imis.tenant_apps.sewer.payables")


class AlreadySettled(Exception):
    """The due was paid (or changed) since the payment started: the money becomes a credit, not a second
    settlement."""


@dataclass(frozen=True)
class Due:
    kind: str
    reference: str  # what the payable finds it by again, e.g. an application's id
    holding_id: int
    title: str
    amount: Decimal
    detail: str = ""
    is_partial_allowed: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.reference}"


@dataclass(frozen=True)
class Settlement:
    receipt_number: str
    record: object = None  # the domain's own payment row


@dataclass(frozen=True)
class ReceiptRow:
    kind: str
    number: str
    title: str
    amount: Decimal
    received_at: datetime.datetime
    method: str
    status: str
    extra: dict = field(default_factory=dict)


class Payable(abc.ABC):
    kind = ""
    feature = ""
    verbose_name = ""
    # any one of these lets a staff member take this payable at the counter
    collect_permissions: tuple[str, ...] = ("tax.collect",)
    is_reversible = False  # can a settled payment be taken back after a refund?

    def is_enabled(self, municipality=None) -> bool:
        return is_feature_enabled(municipality or connection.tenant, self.feature)

    @abc.abstractmethod
    def dues(self, holding) -> list[Due]:
        """What the holding owes now, of this kind."""

    @abc.abstractmethod
    def due(self, reference: str) -> Due | None:
        """The due as it stands now; None when there is nothing to pay (or no such thing here)."""

    @abc.abstractmethod
    def settle(self, *, reference: str, amount: Decimal, method: str, by, payment_reference: str = "",
               received_at: datetime.datetime | None = None) -> Settlement:
        """Record the money in the domain's ledger/register and number the receipt; raise AlreadySettled when
        the due is no longer there as it was asked. Runs inside the caller's transaction."""

    @abc.abstractmethod
    def receipts(self, holding) -> list[ReceiptRow]:
        """The holding's receipts of this kind, newest first."""

    @abc.abstractmethod
    def receipt_pdf(self, number: str, *, holding, municipality, language: str, request=None) -> bytes | None:
        """The receipt as PDF, only if it belongs to the holding; None otherwise."""

    def verify(self, number: str) -> dict | None:
        """What a QR scan may show of a receipt: number, amount, date, status — nothing about the owner."""
        return None

    def reverse(self, *, receipt_number: str, reason: str, by) -> bool:
        """Take a settled payment back (after a refund); False when this payable cannot."""
        return False


_REGISTRY: dict[str, Payable] = {}
_loaded = False


def payable_register(cls: type[Payable]) -> type[Payable]:
    _REGISTRY[cls.kind] = cls()
    return cls


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in PAYABLE_MODULES:
            import_module(module)
        _loaded = True


def payable_for(kind: str) -> Payable | None:
    _load()
    return _REGISTRY.get(kind)


def payables_enabled(municipality=None) -> list[Payable]:
    _load()
    return [payable for payable in _REGISTRY.values() if payable.is_enabled(municipality)]


def holding_dues(holding, municipality=None) -> list[Due]:
    return [due for payable in payables_enabled(municipality) for due in payable.dues(holding)]


def holding_receipts(holding, municipality=None) -> list[ReceiptRow]:
    rows = [row for payable in payables_enabled(municipality) for row in payable.receipts(holding)]
    return sorted(rows, key=lambda row: row.received_at, reverse=True)


def receipt_verify(number: str, municipality=None) -> dict | None:
    for payable in payables_enabled(municipality):
        facts = payable.verify(number)
        if facts is not None:
            return facts
    return None


# --- holding tax ------------------------------------------------------------------------------------------

@payable_register
class HoldingTaxPayable(Payable):
    kind = "holding_tax"
    feature = "holding_tax"
    verbose_name = gettext_lazy("Holding tax")
    is_reversible = True

    def _due_for(self, holding) -> Due | None:
        from imis.tenant_apps.tax import services as tax

        due = max(tax.holding_balance(holding), Decimal(0))
        if due <= 0:
            return None
        return Due(kind=self.kind, reference=str(holding.pk), holding_id=holding.pk,
                   title=_("Holding tax %(holding)s") % {"holding": holding.holding_id}, amount=due,
                   detail=_("Everything due on the holding; you may pay part of it."), is_partial_allowed=True)

    def dues(self, holding) -> list[Due]:
        due = self._due_for(holding)
        return [due] if due else []

    def due(self, reference: str) -> Due | None:
        from imis.tenant_apps.registry.models import Holding

        holding = Holding.objects.filter(pk=int(reference)).first() if reference.isdigit() else None
        return self._due_for(holding) if holding else None

    def settle(self, *, reference, amount, method, by, payment_reference="", received_at=None) -> Settlement:
        """Tax is a running account: money for a bill paid meanwhile stays on the holding as a credit."""
        from imis.tenant_apps.registry.models import Holding
        from imis.tenant_apps.tax import services as tax

        holding = Holding.objects.get(pk=int(reference))
        online = method == "online"
        receipt = tax.payment_record(by=by, holding=holding, amount=amount, method=method,
                                     reference="" if online else payment_reference,
                                     gateway_reference=payment_reference if online else "",
                                     received_at=received_at)
        return Settlement(receipt_number=receipt.receipt_number, record=receipt)

    def receipts(self, holding) -> list[ReceiptRow]:
        from imis.tenant_apps.tax.models import Payment

        return [ReceiptRow(kind=self.kind, number=p.receipt_number, title=str(self.verbose_name), amount=p.amount,
                           received_at=p.received_at, method=p.get_method_display(), status=p.status)
                for p in Payment.objects.filter(holding=holding).order_by("-received_at")[:24]]

    def receipt_pdf(self, number, *, holding, municipality, language, request=None) -> bytes | None:
        from imis.tenant_apps.tax import pdf
        from imis.tenant_apps.tax.models import Payment

        payment = Payment.objects.filter(receipt_number=number, holding=holding).select_related(
            "holding__ward").first()
        if payment is None:
            return None
        return pdf.receipt_pdf(payment, municipality=municipality, language=language, request=request)

    def reverse(self, *, receipt_number, reason, by) -> bool:
        from imis.tenant_apps.tax import services as tax
        from imis.tenant_apps.tax.models import Payment

        payment = Payment.objects.get(receipt_number=receipt_number)
        if payment.status == Payment.Status.VALID:
            tax.payment_reverse(by=by, payment=payment, reason=reason)
        return True

    def verify_url(self, number: str) -> str:
        return reverse("tax:verify", args=[number])
