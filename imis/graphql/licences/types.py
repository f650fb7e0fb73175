"""Trade licence types (feature `trade_licence`, read with `licence.view`): licences with their certificates,
fee payments and timeline; business categories with their fee for a licence year."""

from __future__ import annotations

import graphene
from graphene_django import DjangoObjectType

from imis.tenant_apps.licences import selectors
from imis.tenant_apps.licences.models import BusinessCategory, Certificate, Licence, LicenceEvent, LicencePayment

from ..base import choice_field, enum_from_choices, guarded
from ..relay import CountableConnection, Node, TenantObjectType

FEATURE = "trade_licence"
VIEW = "licence.view"
MANAGE = "licence.manage"

LicenceStatus = enum_from_choices(Licence.Status, "TradeLicenceStatus",
                                  "Where a licence is in its life cycle. A valid licence past its last day reads "
                                  "EXPIRED even before the nightly task marks it.")
LicencePaymentKind = enum_from_choices(LicencePayment.Kind, "TradeLicencePaymentKind", "New licence or renewal.")


class LicenceType(TenantObjectType, DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        abstract = True


class BusinessCategoryType(LicenceType):
    class Meta:
        model = BusinessCategory
        name = "BusinessCategory"
        description = "A kind of business, with a licence fee per licence year."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("code", "name", "name_bn", "is_active")


class CertificateType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE
    payment = graphene.Field(lambda: LicencePaymentType, required=True, description="The fee that bought it.")

    class Meta:
        model = Certificate
        name = "TradeLicenceCertificate"
        description = "One licence year's certificate (its number is checked on the public verification page)."
        fields = ("number", "fiscal_year", "valid_from", "valid_until", "issued_on")

    def resolve_payment(root, info):
        return root.payment


class LicencePaymentType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE
    kind = choice_field(LicencePaymentKind, "kind", required=True)

    class Meta:
        model = LicencePayment
        name = "TradeLicencePayment"
        description = "A licence fee received."
        fields = ("kind", "fiscal_year", "fee", "late_fee", "amount", "method", "reference", "receipt_number",
                  "received_at", "cashier_label")


class LicenceEventType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        model = LicenceEvent
        name = "TradeLicenceEvent"
        description = "One step of a licence's timeline."
        fields = ("at", "action", "by_label", "note")


class TradeLicenceType(LicenceType):
    status = graphene.Field(LicenceStatus, required=True)
    owner_national_id = guarded(graphene.String(description="Needs licence.manage."), permission=MANAGE)
    certificates = graphene.List(graphene.NonNull(CertificateType), required=True, description="Newest first.")
    payments = graphene.List(graphene.NonNull(LicencePaymentType), required=True, description="Newest first.")
    events = graphene.List(graphene.NonNull(LicenceEventType), required=True, description="Oldest first.")

    class Meta:
        model = Licence
        name = "TradeLicence"
        description = ("A trade licence from application to renewal (feature `trade_licence`): it keeps its number "
                       "for life; each licence year has its certificate.")
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("application_number", "number", "status", "business_name", "business_name_bn", "category",
                  "holding", "address", "owner_name", "owner_phone", "owner_national_id", "applied_on",
                  "inspected_on", "inspection_passed", "inspection_notes", "approved_on", "first_issued_on",
                  "valid_until", "closed_on", "closing_reason", "created", "updated")

    def resolve_status(root, info):
        return Licence.Status(selectors.effective_status(root))

    def resolve_owner_national_id(root, info):
        return root.owner_national_id

    def resolve_certificates(root, info):
        return root.certificates.all()

    def resolve_payments(root, info):
        return root.payments.all()

    def resolve_events(root, info):
        return root.events.all()


class TradeLicenceFeeDue(graphene.ObjectType):
    """What paying now buys: the licence year, new or renewal, the fee and any late fee."""

    imis_permission = VIEW
    imis_feature = FEATURE

    kind = graphene.Field(LicencePaymentKind, required=True)
    fiscal_year = graphene.Int(required=True, description="The licence year it pays for (2026 = 2026-27).")
    fee = graphene.Decimal(required=True)
    late_fee = graphene.Decimal(required=True)
    amount = graphene.Decimal(required=True)
