"""Holding tax types (feature `holding_tax`, read with `tax.view`): assessments and objections, bills with what
is paid on them, payments (receipts) with their apportionment, adjustments, and a holding's due status.

Money is a Decimal in the municipality's currency (BDT), sent as a string ("1250.00").
"""

from __future__ import annotations

from decimal import Decimal

import graphene
from graphene_django import DjangoObjectType

from imis.tenant_apps.tax.models import (
    Adjustment,
    Assessment,
    Bill,
    Objection,
    Payment,
    PaymentAllocation,
    TaxZone,
)

from ..base import choice_field, enum_from_choices
from ..registry.types import BuildingFunctionalUse, HoldingType
from ..relay import CountableConnection, Node, TenantObjectType

ZERO = Decimal("0.00")
FEATURE = "holding_tax"
VIEW = "tax.view"

AssessmentBasis = enum_from_choices(Assessment.Basis, "TaxAssessmentBasis", "How a holding's annual value is found.")
AssessmentExemption = enum_from_choices(Assessment.Exemption, "TaxExemption", "Why a holding pays no holding tax.")
ObjectionStatus = enum_from_choices(Objection.Status, "TaxObjectionStatus", "Where an objection stands.")
PaymentMethod = enum_from_choices(Payment.Method, "TaxPaymentMethod", "How a payment was made.")
PaymentStatus = enum_from_choices(Payment.Status, "TaxPaymentStatus", "Whether a receipt still counts.")
AdjustmentKind = enum_from_choices(Adjustment.Kind, "TaxAdjustmentKind", "The kind of adjustment to a holding's due.")
AdjustmentStatus = enum_from_choices(Adjustment.Status, "TaxAdjustmentStatus", "Where an adjustment request stands.")


class TaxType(TenantObjectType, DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        abstract = True


class TaxZoneType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        model = TaxZone
        name = "TaxZone"
        description = "A location zone whose factor weighs owner-occupied annual values."
        fields = ("code", "name", "factor")


class ObjectionType(TaxType):
    status = choice_field(ObjectionStatus, "status", required=True)

    class Meta:
        model = Objection
        name = "TaxObjection"
        description = "An owner's objection to an assessment, and its decision."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("assessment", "filed_on", "grounds", "status", "decided_on", "decision", "revised_annual_value")


class AssessmentType(TaxType):
    basis = choice_field(AssessmentBasis, "basis", required=True)
    functional_use = choice_field(BuildingFunctionalUse, "functional_use")
    exemption = choice_field(AssessmentExemption, "exemption", description="Null when the holding pays.")
    objections = graphene.List(graphene.NonNull(ObjectionType), required=True)

    class Meta:
        model = Assessment
        name = "TaxAssessment"
        description = "A holding's annual value for a fiscal year (2026 = 2026-27); reassessment keeps history."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("holding", "fiscal_year", "basis", "monthly_rent", "floor_area_m2", "functional_use", "zone",
                  "annual_value", "exemption", "exemption_reason", "version", "is_current", "reason", "created")

    def resolve_objections(root, info):
        return root.objections.all()


class TaxHeadAmount(graphene.ObjectType):
    """One tax head's share of a bill."""

    code = graphene.String(required=True, description="holding_tax, conservancy, lighting or water.")
    amount = graphene.Decimal(required=True)


class BillType(TaxType):
    heads = graphene.List(graphene.NonNull(TaxHeadAmount), required=True, description="This period's charges by head.")
    paid = graphene.Decimal(required=True, description="What valid payments have settled of this bill.")
    left = graphene.Decimal(required=True, description="Charges (this period's and surcharge) not yet settled.")

    class Meta:
        model = Bill
        name = "TaxBill"
        description = "One instalment's bill of a holding."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("holding", "fiscal_year", "period", "number", "issue_date", "due_date", "annual_value",
                  "current_amount", "arrears", "surcharge", "total_payable")

    def resolve_heads(root, info):
        return [TaxHeadAmount(code=code, amount=Decimal(str(amount)).quantize(ZERO))
                for code, amount in sorted((root.heads or {}).items())]

    def resolve_paid(root, info):
        paid = getattr(root, "paid_total", None)
        if paid is None:
            from imis.tenant_apps.tax.selectors import bill_paid

            paid = bill_paid(root)
        return paid

    def resolve_left(root, info):
        return max(root.current_amount + root.surcharge - BillType.resolve_paid(root, info), ZERO)


class PaymentAllocationType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE
    bill = graphene.Field(BillType, description="Null for the part paid in advance.")

    class Meta:
        model = PaymentAllocation
        name = "TaxPaymentAllocation"
        description = "The part of a payment that settled one bill."
        fields = ("bill", "amount")


class PaymentType(TaxType):
    method = choice_field(PaymentMethod, "method", required=True)
    status = choice_field(PaymentStatus, "status", required=True)
    allocations = graphene.List(graphene.NonNull(PaymentAllocationType), required=True,
                                description="How it was apportioned, oldest bills first.")

    class Meta:
        model = Payment
        name = "TaxPayment"
        description = "A payment with its receipt number (numbered without gaps)."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("holding", "amount", "method", "reference", "received_at", "cashier_label", "receipt_number",
                  "status", "reversal_reason")

    def resolve_allocations(root, info):
        return root.allocations.all()


class AdjustmentType(TaxType):
    kind = choice_field(AdjustmentKind, "kind", required=True)
    status = choice_field(AdjustmentStatus, "status", required=True)

    class Meta:
        model = Adjustment
        name = "TaxAdjustment"
        description = "A write-off, court settlement or correction: it changes the due once approved."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("holding", "kind", "amount", "reason", "status", "requested_at", "decided_at")


class TaxDueType(graphene.ObjectType):
    """A holding's due status: its balance (charges minus credits), how many fiscal years it owes and what of it
    is past its due date. Payments settle the oldest bills first, so what is owed sits in the newest years."""

    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        name = "TaxDue"

    holding = graphene.Field(HoldingType)
    holding_id = graphene.String(required=True, description="The holding ID people quote.")
    ward_number = graphene.Int(description="The holding's ward.")
    balance = graphene.Decimal(required=True, description="Positive: owed; negative: paid in advance.")
    years_due = graphene.Int(required=True, description="Fiscal years it owes (0 when nothing is owed).")
    overdue = graphene.Decimal(required=True, description="What of the balance is past its due date.")
    oldest_year_due = graphene.Int(description="The oldest fiscal year still owed.")
    credit = graphene.Decimal(required=True, description="Paid in advance (0 when it owes).")

    def resolve_holding(root, info):
        return root.load_holding(info)


class TaxDueConnection(graphene.relay.Connection):
    class Meta:
        node = TaxDueType

    total_count = graphene.Int(required=True, description="How many holdings match the filters.")
    balance_total = graphene.Decimal(required=True, description="The balance of every holding that matches.")
    overdue_total = graphene.Decimal(required=True, description="What of it is past its due date.")

    def resolve_total_count(root, info):
        return root._queryset.totals["count"]

    def resolve_balance_total(root, info):
        return root._queryset.totals["balance"]

    def resolve_overdue_total(root, info):
        return root._queryset.totals["overdue"]

