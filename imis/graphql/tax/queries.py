"""Holding tax queries: assessments, objections, bills, payments (receipts), adjustments, and due status — a list
filtered like the staff UI's due list (tax/selectors.py) and one holding's due."""

from __future__ import annotations

from decimal import Decimal

import graphene
from django.utils import timezone

from imis.tenant_apps.registry.models import Holding
from imis.tenant_apps.tax import selectors
from imis.tenant_apps.tax.models import Adjustment, Assessment, Bill, Objection, Payment

from ..base import BadUserInput, order_enum, ordered
from ..optimizer import optimized
from ..relay import PagedConnectionField
from . import loaders  # noqa: F401 - registers how tax fields load
from . import types as t

MAX_TEXT = 100
YEAR_BOUNDS = (1900, 2200)

TaxDueOrder = graphene.Enum("TaxDueOrder", [
    ("HOLDING_ID", "holding"), ("BALANCE_DESC", "-balance"), ("BALANCE_ASC", "balance"),
    ("YEARS_DUE_DESC", "-years_due"), ("WARD", "ward"), ("OVERDUE_DESC", "-overdue"),
], description="Orderings of the due list.")
BillOrder = order_enum("TaxBillOrder", {"DUE_DATE": "due_date", "NUMBER": "number"}, "Orderings of bills.")
PaymentOrder = order_enum("TaxPaymentOrder", {"RECEIVED_AT": "received_at", "RECEIPT_NUMBER": "receipt_number"},
                          "Orderings of payments.")


def _text(value: str | None, name: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise BadUserInput(f"`{name}` is longer than {MAX_TEXT} characters.")
    return value


def _year(value: int | None, name: str = "fiscalYear") -> int | None:
    if value is not None and not YEAR_BOUNDS[0] <= value <= YEAR_BOUNDS[1]:
        raise BadUserInput(f"`{name}` must be a year from {YEAR_BOUNDS[0]} to {YEAR_BOUNDS[1]}.")
    return value


def _value(enum_value) -> str:
    return getattr(enum_value, "value", enum_value) or ""


def _of_holding(queryset, holding_id: str | None, ward: int | None = None):
    text = _text(holding_id, "holdingId")
    if text:
        queryset = queryset.filter(holding__holding_id__iexact=text)
    if ward is not None:
        queryset = queryset.filter(holding__ward__number=ward)
    return queryset


# --- the due list: rows from the selectors, holdings loaded once per page ------------------------------------

class TaxDueRow:
    def __init__(self, *, pk, holding_id, ward_number, balance, years_due, overdue, oldest_year_due, page):
        self.pk, self.holding_id, self.ward_number = pk, holding_id, ward_number
        self.balance, self.years_due, self.overdue, self.oldest_year_due = balance, years_due, overdue, oldest_year_due
        self.credit = -balance if balance < 0 else Decimal("0.00")
        self.page = page  # shared by the rows of one page: their holdings load in one query

    def load_holding(self, info):
        if self.page.get("holdings") is None:
            holdings = Holding.objects.filter(pk__in=self.page["pks"])
            holdings = optimized(holdings, info, object_type=info.schema.get_type("Holding"),
                                 field_nodes=info.field_nodes)
            self.page["holdings"] = {holding.pk: holding for holding in holdings}
        return self.page["holdings"].get(self.pk)


def _taka(paisa: int) -> Decimal:
    return (Decimal(paisa) / 100).quantize(Decimal("0.01"))


class DueRows:
    """The selector's matching rows, paged by PagedConnectionField like a queryset."""

    def __init__(self, rows: list[tuple]):
        self.rows = rows
        self.totals = {"count": len(rows), "balance": _taka(sum(row[3] for row in rows)),
                       "overdue": _taka(sum(row[5] for row in rows))}

    def order_by(self, *_keys):
        return self

    def count(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: slice) -> list[TaxDueRow]:
        rows = self.rows[index]
        page = {"pks": [row[0] for row in rows], "holdings": None}
        return [TaxDueRow(pk=pk, holding_id=code, ward_number=ward, balance=_taka(balance), years_due=years,
                          overdue=_taka(overdue), oldest_year_due=oldest, page=page)
                for pk, code, ward, balance, years, overdue, oldest in rows]


class TaxQuery(graphene.ObjectType):
    tax_assessments = PagedConnectionField(
        t.AssessmentType, description="Assessments (current ones only unless `isCurrent: false`).",
        holding_id=graphene.String(), ward=graphene.Int(), fiscal_year=graphene.Int(),
        is_current=graphene.Boolean(default_value=True), is_exempt=graphene.Boolean())
    tax_objections = PagedConnectionField(
        t.ObjectionType, description="Objections to assessments.",
        status=graphene.Argument(t.ObjectionStatus), holding_id=graphene.String())
    tax_bills = PagedConnectionField(
        t.BillType, description="Bills, with what is paid and left on each.",
        holding_id=graphene.String(), ward=graphene.Int(), fiscal_year=graphene.Int(), period=graphene.Int(),
        number=graphene.String(), order_by=graphene.List(graphene.NonNull(BillOrder)))
    tax_payments = PagedConnectionField(
        t.PaymentType, description="Payments and their receipts, newest first.",
        holding_id=graphene.String(), receipt_number=graphene.String(), status=graphene.Argument(t.PaymentStatus),
        method=graphene.Argument(t.PaymentMethod), received_from=graphene.Date(), received_until=graphene.Date(),
        order_by=graphene.List(graphene.NonNull(PaymentOrder)))
    tax_adjustments = PagedConnectionField(
        t.AdjustmentType, description="Adjustment requests and decisions.",
        status=graphene.Argument(t.AdjustmentStatus), holding_id=graphene.String())
    tax_dues = PagedConnectionField(
        t.TaxDueConnection, description="Every assessed or billed holding's due status, filtered like the due list.",
        ward=graphene.Int(), years_due=graphene.Int(description="Exactly this many years due."),
        min_years_due=graphene.Int(description="At least this many years due."),
        holding_prefix=graphene.String(description="Holding IDs starting with this."),
        defaulters_only=graphene.Boolean(description="Only holdings with something past its due date unpaid."),
        order=graphene.Argument(TaxDueOrder, description="HOLDING_ID when left out."))
    tax_holding_due = graphene.Field(t.TaxDueType, holding_id=graphene.String(required=True),
                                     description="One holding's due status (null when no holding has this ID).")

    @staticmethod
    def resolve_tax_assessments(root, info, holding_id=None, ward=None, fiscal_year=None, is_current=True,
                                is_exempt=None, **_paging):
        assessments = _of_holding(Assessment.objects.all(), holding_id, ward)
        if fiscal_year is not None:
            assessments = assessments.filter(fiscal_year=_year(fiscal_year))
        if is_current is not None:
            assessments = assessments.filter(is_current=is_current)
        if is_exempt is not None:
            assessments = assessments.exclude(exemption="") if is_exempt else assessments.filter(exemption="")
        return optimized(ordered(assessments, None, ["holding__holding_id", "-fiscal_year", "-version"]), info)

    @staticmethod
    def resolve_tax_objections(root, info, status=None, holding_id=None, **_paging):
        objections = Objection.objects.all()
        text = _text(holding_id, "holdingId")
        if text:
            objections = objections.filter(assessment__holding__holding_id__iexact=text)
        if status:
            objections = objections.filter(status=_value(status))
        return optimized(ordered(objections, None, ["filed_on"]), info)

    @staticmethod
    def resolve_tax_bills(root, info, holding_id=None, ward=None, fiscal_year=None, period=None, number=None,
                          order_by=None, **_paging):
        bills = _of_holding(Bill.objects.all(), holding_id, ward)
        if fiscal_year is not None:
            bills = bills.filter(fiscal_year=_year(fiscal_year))
        if period is not None:
            bills = bills.filter(period=period)
        text = _text(number, "number")
        if text:
            bills = bills.filter(number=text)
        return optimized(ordered(bills, order_by, ["holding__holding_id", "fiscal_year", "period"]), info)

    @staticmethod
    def resolve_tax_payments(root, info, holding_id=None, receipt_number=None, status=None, method=None,
                             received_from=None, received_until=None, order_by=None, **_paging):
        payments = _of_holding(Payment.objects.all(), holding_id)
        text = _text(receipt_number, "receiptNumber")
        if text:
            payments = payments.filter(receipt_number=text)
        if status:
            payments = payments.filter(status=_value(status))
        if method:
            payments = payments.filter(method=_value(method))
        for name, day in (("receivedFrom", received_from), ("receivedUntil", received_until)):
            if day is not None:
                _year(day.year, name)
        if received_from is not None:
            payments = payments.filter(received_at__date__gte=received_from)
        if received_until is not None:
            payments = payments.filter(received_at__date__lte=received_until)
        return optimized(ordered(payments, order_by, ["-received_at"]), info)

    @staticmethod
    def resolve_tax_adjustments(root, info, status=None, holding_id=None, **_paging):
        adjustments = _of_holding(Adjustment.objects.all(), holding_id)
        if status:
            adjustments = adjustments.filter(status=_value(status))
        return optimized(ordered(adjustments, None, ["-requested_at"]), info)

    @staticmethod
    def resolve_tax_dues(root, info, ward=None, years_due=None, min_years_due=None, holding_prefix=None,
                         defaulters_only=None, order=None, **_paging):
        filters = selectors.DueFilter(
            ward=ward, years_due=years_due, min_years_due=min_years_due,
            holding_prefix=_text(holding_prefix, "holdingPrefix"), defaulters_only=bool(defaulters_only),
            order=_value(order) or "holding")
        return DueRows(selectors.due_matching(filters, today=timezone.localdate()))

    @staticmethod
    def resolve_tax_holding_due(root, info, holding_id):
        holding = selectors.holding_for_tax(_text(holding_id, "holdingId"))
        if holding is None:
            return None
        due = selectors.holding_due(holding)
        page = {"pks": [holding.pk], "holdings": {holding.pk: holding}}
        return TaxDueRow(pk=holding.pk, holding_id=holding.holding_id, ward_number=holding.ward.number,
                         balance=due.balance, years_due=due.years_due, overdue=due.overdue, oldest_year_due=None,
                         page=page)
