"""Holding tax mutations: counter payments and their reversal, assessments and objections, adjustment requests
and decisions — each calling the same service as the staff UI (tax/services.py)."""

from __future__ import annotations

import graphene
from django.core.cache import cache
from django.core.exceptions import ValidationError

from imis.tenant_apps.tax import selectors, services
from imis.tenant_apps.tax.models import Adjustment, Assessment, Objection, Payment, TaxZone

from ..base import ServiceMutation, clean_columns
from ..relay import current_schema, node_of
from . import types as t

FEATURE = t.FEATURE
YEAR_BOUNDS = (1900, 2200)
IDEMPOTENCY_SECONDS = 6 * 3600
MAX_KEY_LENGTH = 100

CounterPaymentMethod = graphene.Enum("TaxCounterPaymentMethod", [
    ("CASH", Payment.Method.CASH.value), ("CHEQUE", Payment.Method.CHEQUE.value), ("BANK", Payment.Method.BANK.value),
], description="How a payment was made at the counter (online payments come from the payment gateway).")
ReversalStatus = graphene.Enum("TaxReversalStatus", [
    ("CANCELLED", Payment.Status.CANCELLED.value), ("DISHONOURED", Payment.Status.DISHONOURED.value),
], description="Why a receipt stops counting.")


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _holding(holding_id: str, field: str = "holding_id"):
    holding = selectors.holding_for_tax((holding_id or "")[:100])
    if holding is None:
        raise _error(field, "No holding has this ID here.", "not_found")
    return holding


def _fiscal_year(value: int) -> int:
    if not YEAR_BOUNDS[0] <= value <= YEAR_BOUNDS[1]:
        raise _error("fiscal_year", f"Enter a year from {YEAR_BOUNDS[0]} to {YEAR_BOUNDS[1]}.", "out_of_range")
    return value


def _value(enum_value):
    return getattr(enum_value, "value", enum_value)


# --- payments -------------------------------------------------------------------------------------------

class TaxPaymentRecord(ServiceMutation):
    """Take a payment at the counter: a receipt numbered without gaps, apportioned to the oldest dues first.

    Send an `idempotencyKey` (e.g. a UUID made when the cashier opened the form): a retried request with the same
    key returns the first receipt instead of taking the money twice."""

    imis_permission = "tax.collect"
    imis_feature = FEATURE

    class Input:
        holding_id = graphene.String(required=True, description="The holding ID on the bill.")
        amount = graphene.Decimal(required=True, description="BDT, e.g. \"1250.00\".")
        method = CounterPaymentMethod(required=True)
        reference = graphene.String(description="Cheque or transfer reference (required for those).")
        idempotency_key = graphene.String(description=f"At most {MAX_KEY_LENGTH} characters.")

    payment = graphene.Field(t.PaymentType)

    @classmethod
    def perform(cls, info, holding_id, idempotency_key=None, **data):
        holding = _holding(holding_id)
        arguments = clean_columns(Payment, {**data, "method": _value(data["method"])})
        user = info.context.user
        key = None
        if idempotency_key:
            if len(idempotency_key) > MAX_KEY_LENGTH:
                raise _error("idempotency_key", f"At most {MAX_KEY_LENGTH} characters.", "max_length")
            key = f"graphql:tax-payment:{current_schema()}:{user.pk}:{idempotency_key}"
            if not cache.add(key, "", IDEMPOTENCY_SECONDS):
                number = cache.get(key)
                existing = selectors.payment_by_receipt(number) if number else None
                if existing is None:
                    raise _error("idempotency_key", "A payment with this key is being recorded; check the cash "
                                                    "book before trying again.", "in_progress")
                return cls.success(payment=existing)
        try:
            payment = services.payment_record(by=user, holding=holding, **arguments)
        except Exception:
            if key:
                cache.delete(key)
            raise
        if key:
            cache.set(key, payment.receipt_number, IDEMPOTENCY_SECONDS)
        return cls.success(payment=payment)


class TaxPaymentReverse(ServiceMutation):
    """Cancel a receipt or mark a cheque dishonoured: its credits come back as charges."""

    imis_permission = "tax.collect"
    imis_feature = FEATURE

    class Input:
        payment = graphene.ID(required=True, description="Global ID of the payment.")
        reason = graphene.String(required=True)
        status = ReversalStatus(description="CANCELLED when left out.")

    payment = graphene.Field(t.PaymentType)

    @classmethod
    def perform(cls, info, payment, reason, status=None):
        target = node_of(Payment, payment, expected="TaxPayment", field="payment")
        reversed_payment = services.payment_reverse(by=info.context.user, payment=target, reason=reason,
                                                    status=_value(status) or Payment.Status.CANCELLED)
        return cls.success(payment=reversed_payment)


# --- assessment and objections ----------------------------------------------------------------------------

class TaxAssessmentCreate(ServiceMutation):
    """Assess a holding for a fiscal year, or reassess it (give a `reason`; the old assessment stays as history).
    The annual value is worked out from the declared rent, or from floor area × use rate × zone."""

    imis_permission = "tax.manage"
    imis_feature = FEATURE

    class Input:
        holding_id = graphene.String(required=True)
        fiscal_year = graphene.Int(required=True, description="2026 for 2026-27.")
        basis = t.AssessmentBasis(required=True)
        monthly_rent = graphene.Decimal(description="BDT; for the RENT basis.")
        floor_area_m2 = graphene.Decimal(description="For the OWNER_OCCUPIED basis.")
        functional_use = t.BuildingFunctionalUse(description="For the OWNER_OCCUPIED basis.")
        zone = graphene.String(description="Tax zone code, for the OWNER_OCCUPIED basis.")
        exemption = t.AssessmentExemption()
        exemption_reason = graphene.String()
        reason = graphene.String(description="Why the holding is (re)assessed; required for a reassessment.")

    assessment = graphene.Field(t.AssessmentType)

    @classmethod
    def perform(cls, info, holding_id, zone=None, **data):
        holding = _holding(holding_id)
        arguments = clean_columns(Assessment, data)
        arguments["fiscal_year"] = _fiscal_year(arguments["fiscal_year"])
        if zone:
            arguments["zone"] = TaxZone.objects.filter(code=zone.strip()[:10]).first()
            if arguments["zone"] is None:
                raise _error("zone", "No tax zone has this code.", "not_found")
        assessment = services.assessment_create(by=info.context.user, holding=holding, **arguments)
        return cls.success(assessment=assessment)


class TaxObjectionFile(ServiceMutation):
    """File an owner's objection to an assessment."""

    imis_permission = "tax.manage"
    imis_feature = FEATURE

    class Input:
        assessment = graphene.ID(required=True, description="Global ID of the assessment.")
        grounds = graphene.String(required=True)
        filed_on = graphene.Date(description="Today when left out.")

    objection = graphene.Field(t.ObjectionType)

    @classmethod
    def perform(cls, info, assessment, **data):
        target = node_of(Assessment, assessment, expected="TaxAssessment", field="assessment")
        arguments = clean_columns(Objection, data)
        objection = services.objection_file(by=info.context.user, assessment=target, **arguments)
        return cls.success(objection=objection)


class TaxObjectionDecide(ServiceMutation):
    """Decide an objection; upholding it reassesses the holding at the revised annual value."""

    imis_permission = "tax.approve"
    imis_feature = FEATURE

    class Input:
        objection = graphene.ID(required=True, description="Global ID of the objection.")
        upheld = graphene.Boolean(required=True)
        decision = graphene.String(required=True)
        revised_annual_value = graphene.Decimal(description="BDT; required when upheld.")

    objection = graphene.Field(t.ObjectionType)

    @classmethod
    def perform(cls, info, objection, **data):
        target = node_of(Objection, objection, expected="TaxObjection", field="objection")
        arguments = clean_columns(Objection, data)
        decided = services.objection_decide(by=info.context.user, objection=target, **arguments)
        return cls.success(objection=decided)


# --- adjustments ----------------------------------------------------------------------------------------

class TaxAdjustmentRequest(ServiceMutation):
    """Ask for a write-off, court settlement or correction of a holding's due (someone else approves it)."""

    imis_permission = "tax.manage"
    imis_feature = FEATURE

    class Input:
        holding_id = graphene.String(required=True)
        kind = t.AdjustmentKind(required=True)
        amount = graphene.Decimal(required=True, description="BDT taken off the due; a correction may be negative.")
        reason = graphene.String(required=True)

    adjustment = graphene.Field(t.AdjustmentType)

    @classmethod
    def perform(cls, info, holding_id, **data):
        holding = _holding(holding_id)
        adjustment = services.adjustment_request(by=info.context.user, holding=holding,
                                                 **clean_columns(Adjustment, data))
        return cls.success(adjustment=adjustment)


class TaxAdjustmentDecide(ServiceMutation):
    """Approve (the ledger changes) or reject a pending adjustment; not one's own request."""

    imis_permission = "tax.approve"
    imis_feature = FEATURE

    class Input:
        adjustment = graphene.ID(required=True, description="Global ID of the adjustment.")
        approve = graphene.Boolean(required=True)

    adjustment = graphene.Field(t.AdjustmentType)

    @classmethod
    def perform(cls, info, adjustment, approve):
        target = node_of(Adjustment, adjustment, expected="TaxAdjustment", field="adjustment")
        decided = services.adjustment_decide(by=info.context.user, adjustment=target, approve=approve)
        return cls.success(adjustment=decided)


class TaxMutation(graphene.ObjectType):
    tax_payment_record = TaxPaymentRecord.Field()
    tax_payment_reverse = TaxPaymentReverse.Field()
    tax_assessment_create = TaxAssessmentCreate.Field()
    tax_objection_file = TaxObjectionFile.Field()
    tax_objection_decide = TaxObjectionDecide.Field()
    tax_adjustment_request = TaxAdjustmentRequest.Field()
    tax_adjustment_decide = TaxAdjustmentDecide.Field()
