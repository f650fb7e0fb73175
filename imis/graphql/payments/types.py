"""Online payment types (read with `tax.view`): each checkout at the payment gateway and what became of it.
A payment of a switched-off feature (holding tax, FSM fees) is not listed."""

from __future__ import annotations

import graphene
from graphene_django import DjangoObjectType

from imis.tenant_apps.payments.models import OnlinePayment

from ..base import choice_field, enum_from_choices
from ..fsm.types import ApplicationType
from ..registry.types import HoldingType
from ..relay import CountableConnection
from ..tax.types import PaymentType

OnlinePaymentStatus = enum_from_choices(OnlinePayment.Status, "OnlinePaymentStatus", "Where a checkout stands.")
OnlinePaymentKind = enum_from_choices(OnlinePayment.Kind, "OnlinePaymentKind", "What an online payment pays for.")


class OnlinePaymentType(DjangoObjectType):
    imis_permission = "tax.view"
    reference = graphene.String(required=True, description="Our reference of the checkout (a UUID).")
    kind = choice_field(OnlinePaymentKind, "kind", required=True)
    status = choice_field(OnlinePaymentStatus, "status", required=True)
    holding = graphene.Field(HoldingType)
    fsm_application = graphene.Field(ApplicationType, description="For an FSM fee (needs fsm.view).")
    tax_payment = graphene.Field(PaymentType, description="The receipt it became, once paid (holding tax).")
    bill_numbers = graphene.List(graphene.NonNull(graphene.String), required=True)

    class Meta:
        model = OnlinePayment
        name = "OnlinePayment"
        description = "A checkout at the online payment gateway (Stripe) and its outcome."
        use_connection = True
        connection_class = CountableConnection
        fields = ("kind", "holding", "fsm_application", "bill_numbers", "amount", "currency", "description",
                  "gateway", "gateway_payment_reference", "status", "status_reason", "created", "confirmed_at",
                  "tax_payment")

    def resolve_reference(root, info):
        return str(root.pk)

    def resolve_holding(root, info):
        return root.holding

    def resolve_fsm_application(root, info):
        return root.fsm_application

    def resolve_tax_payment(root, info):
        return root.tax_payment

    def resolve_bill_numbers(root, info):
        return [str(number) for number in root.bill_numbers or []]
