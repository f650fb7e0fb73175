"""Trade licence mutations: the life cycle — apply, inspect, approve or reject, take the fee (a certificate for the
licence year; a renewal later), cancel — each calling the same service as the staff UI (licences/services.py)."""

from __future__ import annotations

import graphene
from django.core.exceptions import ValidationError

from imis.tenant_apps.licences import services
from imis.tenant_apps.licences.models import BusinessCategory, Licence
from imis.tenant_apps.registry.models import Holding

from ..base import ServiceMutation, clean_columns
from ..relay import node_of
from . import types as t

FEATURE = t.FEATURE
MANAGE = t.MANAGE

LicenceFeeMethod = graphene.Enum("TradeLicenceFeeMethod", [("CASH", "cash"), ("CHEQUE", "cheque"), ("BANK", "bank")],
                                 description="How a licence fee was paid at the counter.")


def _licence(global_id) -> Licence:
    return node_of(Licence, global_id, expected="TradeLicence", field="id")


class TradeLicenceApply(ServiceMutation):
    """Register a licence application for a business on a holding; it waits for inspection."""

    imis_permission = MANAGE
    imis_feature = FEATURE

    class Input:
        business_name = graphene.String(required=True)
        business_name_bn = graphene.String()
        category = graphene.String(required=True, description="The business category's code.")
        holding = graphene.ID(required=True, description="Global ID of the holding where the business is.")
        owner_name = graphene.String(required=True)
        owner_phone = graphene.String(description="A mobile number, e.g. 01712345678.")
        owner_national_id = graphene.String()
        address = graphene.String(description="The holding's address when left out.")
        applied_on = graphene.Date(description="Today when left out.")

    licence = graphene.Field(t.TradeLicenceType)

    @classmethod
    def perform(cls, info, category, holding, **data):
        found = BusinessCategory.objects.filter(code=category.strip()[:20]).first()
        if found is None:
            raise ValidationError({"category": ValidationError("No business category has this code.",
                                                               code="not_found")})
        site = node_of(Holding, holding, expected="Holding", field="holding")
        licence = services.licence_apply(by=info.context.user, category=found, holding=site,
                                         **clean_columns(Licence, data))
        return cls.success(licence=licence)


class TradeLicenceInspect(ServiceMutation):
    """Record the inspection of a new application: passed (it goes on to approval) or failed (rejected)."""

    imis_permission = MANAGE
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the licence.")
        passed = graphene.Boolean(required=True)
        notes = graphene.String(required=True, description="What the inspection found.")
        inspected_on = graphene.Date(description="Today when left out.")

    licence = graphene.Field(t.TradeLicenceType)

    @classmethod
    def perform(cls, info, id, passed, notes, inspected_on=None):
        arguments = clean_columns(Licence, {"inspected_on": inspected_on})
        licence = services.licence_inspect(by=info.context.user, licence=_licence(id), passed=passed, notes=notes,
                                           **arguments)
        return cls.success(licence=licence)


class TradeLicenceApprove(ServiceMutation):
    """Approve an inspected application: the licence is issued when its fee is paid."""

    imis_permission = MANAGE
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the licence.")

    licence = graphene.Field(t.TradeLicenceType)

    @classmethod
    def perform(cls, info, id):
        return cls.success(licence=services.licence_approve(by=info.context.user, licence=_licence(id)))


class TradeLicenceReject(ServiceMutation):
    """Reject an application (applied, inspected or approved), saying why."""

    imis_permission = MANAGE
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the licence.")
        reason = graphene.String(required=True)

    licence = graphene.Field(t.TradeLicenceType)

    @classmethod
    def perform(cls, info, id, reason):
        return cls.success(licence=services.licence_reject(by=info.context.user, licence=_licence(id),
                                                           reason=reason))


class TradeLicencePay(ServiceMutation):
    """Take the licence fee (new licence or renewal, with any late fee) and issue the year's certificate."""

    imis_permission = (MANAGE, "tax.collect")
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the licence.")
        method = LicenceFeeMethod(required=True)
        reference = graphene.String(description="Cheque or transfer reference (required for those).")

    licence = graphene.Field(t.TradeLicenceType)
    certificate = graphene.Field(t.CertificateType)

    @classmethod
    def perform(cls, info, id, method, reference=None):
        reference = (reference or "").strip()
        if len(reference) > 60:
            raise ValidationError({"reference": ValidationError("At most 60 characters.", code="max_length")})
        certificate = services.licence_pay(by=info.context.user, licence=_licence(id),
                                           method=getattr(method, "value", method), reference=reference)
        return cls.success(licence=certificate.licence, certificate=certificate)


class TradeLicenceCancel(ServiceMutation):
    """Cancel an issued licence, saying why."""

    imis_permission = MANAGE
    imis_feature = FEATURE

    class Input:
        id = graphene.ID(required=True, description="Global ID of the licence.")
        reason = graphene.String(required=True)

    licence = graphene.Field(t.TradeLicenceType)

    @classmethod
    def perform(cls, info, id, reason):
        return cls.success(licence=services.licence_cancel(by=info.context.user, licence=_licence(id),
                                                           reason=reason))


class LicenceMutation(graphene.ObjectType):
    trade_licence_apply = TradeLicenceApply.Field()
    trade_licence_inspect = TradeLicenceInspect.Field()
    trade_licence_approve = TradeLicenceApprove.Field()
    trade_licence_reject = TradeLicenceReject.Field()
    trade_licence_pay = TradeLicencePay.Field()
    trade_licence_cancel = TradeLicenceCancel.Field()
