"""Sewer connection mutations: apply, survey, approve (with the fee), take the fee, connect, reject, cancel — each
calling the same service as the staff UI (sewer/services.py)."""

from __future__ import annotations

import graphene
from django.core.exceptions import ValidationError

from imis.tenant_apps.registry.models import Building, Sewer
from imis.tenant_apps.sewer import services
from imis.tenant_apps.sewer.models import SewerConnection

from ..base import ServiceMutation, check_date, clean_columns
from ..relay import node_of
from . import types as t

FEATURE = t.FEATURE
MANAGE = t.MANAGE

FeeMethod = graphene.Enum("SewerFeeMethod", [("CASH", "cash"), ("CHEQUE", "cheque"), ("BANK", "bank")],
                          description="How a sewer connection fee was paid at the desk.")


def _connection(global_id) -> SewerConnection:
    return node_of(SewerConnection, global_id, expected="SewerConnectionApplication", field="id")


def _sewer(global_id) -> Sewer | None:
    return node_of(Sewer, global_id, expected="Sewer", field="sewer") if global_id else None


class SewerMutationBase(ServiceMutation):
    class Meta:
        abstract = True

    imis_permission = MANAGE
    imis_feature = FEATURE
    connection = graphene.Field(t.SewerConnectionType)


class SewerConnectionApply(SewerMutationBase):
    """Register a building's application to connect; the sewer line defaults to the nearest one on the map."""

    class Input:
        building = graphene.ID(required=True, description="Global ID of the building.")
        applicant_name = graphene.String(required=True)
        applicant_phone = graphene.String(description="A mobile number, e.g. 01712345678.")
        sewer = graphene.ID(description="Global ID of the sewer line; the nearest when left out.")
        applied_on = graphene.Date(description="Today when left out.")

    @classmethod
    def perform(cls, info, building, sewer=None, **data):
        data = {key: value for key, value in clean_columns(SewerConnection, data).items() if value is not None}
        connection = services.connection_apply(
            by=info.context.user, building=node_of(Building, building, expected="Building", field="building"),
            sewer=_sewer(sewer), **data)
        return cls.success(connection=connection)


class SewerConnectionSurvey(SewerMutationBase):
    """Record the site survey: the measured distance and notes; an infeasible connection is rejected."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        is_feasible = graphene.Boolean(required=True)
        notes = graphene.String(required=True)
        distance_m = graphene.Decimal(required=True, description="Measured distance to the sewer, metres.")
        sewer = graphene.ID(description="Global ID of another sewer line, if the survey chose one.")
        surveyed_on = graphene.Date(description="Today when left out.")

    @classmethod
    def perform(cls, info, id, is_feasible, notes, distance_m, sewer=None, surveyed_on=None):
        check_date("surveyed_on", surveyed_on)
        metres = clean_columns(SewerConnection, {"survey_distance_m": distance_m})["survey_distance_m"]
        connection = services.connection_survey(by=info.context.user, connection=_connection(id),
                                                is_feasible=is_feasible, notes=notes[:2000], distance_m=metres,
                                                sewer=_sewer(sewer), surveyed_on=surveyed_on)
        return cls.success(connection=connection)


class SewerConnectionApprove(SewerMutationBase):
    """Approve a surveyed application and set its fee (zero: waived, counts as paid)."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        fee_amount = graphene.Decimal(required=True, description="The connection fee in taka.")

    @classmethod
    def perform(cls, info, id, fee_amount):
        fee = clean_columns(SewerConnection, {"fee_amount": fee_amount})["fee_amount"]
        return cls.success(connection=services.connection_approve(by=info.context.user, connection=_connection(id),
                                                                  fee_amount=fee))


class SewerConnectionPay(SewerMutationBase):
    """Take the connection fee at the desk, with a numbered receipt."""

    imis_permission = (MANAGE, "tax.collect")

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        method = FeeMethod(required=True)
        reference = graphene.String(description="Cheque or transfer reference (required for those).")

    payment = graphene.Field(t.SewerPaymentType)

    @classmethod
    def perform(cls, info, id, method, reference=None):
        reference = (reference or "").strip()
        if len(reference) > 100:
            raise ValidationError({"reference": ValidationError("At most 100 characters.", code="max_length")})
        payment = services.connection_pay(by=info.context.user, connection=_connection(id),
                                          method=getattr(method, "value", method), reference=reference)
        return cls.success(connection=payment.connection, payment=payment)


class SewerConnectionConnect(SewerMutationBase):
    """The building is on the sewer: its sanitation system changes in the registry."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        connected_on = graphene.Date(description="Today when left out.")
        note = graphene.String()

    @classmethod
    def perform(cls, info, id, connected_on=None, note=None):
        check_date("connected_on", connected_on)
        return cls.success(connection=services.connection_connect(
            by=info.context.user, connection=_connection(id), connected_on=connected_on, note=(note or "")[:300]))


class SewerConnectionReject(SewerMutationBase):
    """Reject an application not yet approved, saying why."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        reason = graphene.String(required=True)

    @classmethod
    def perform(cls, info, id, reason):
        return cls.success(connection=services.connection_reject(by=info.context.user, connection=_connection(id),
                                                                 reason=reason))


class SewerConnectionCancel(SewerMutationBase):
    """The applicant withdraws an application in progress (a paid fee is refunded outside this step)."""

    class Input:
        id = graphene.ID(required=True, description="Global ID of the application.")
        reason = graphene.String(required=True)

    @classmethod
    def perform(cls, info, id, reason):
        return cls.success(connection=services.connection_cancel(by=info.context.user, connection=_connection(id),
                                                                 reason=reason))


class SewerMutation(graphene.ObjectType):
    sewer_connection_apply = SewerConnectionApply.Field()
    sewer_connection_survey = SewerConnectionSurvey.Field()
    sewer_connection_approve = SewerConnectionApprove.Field()
    sewer_connection_pay = SewerConnectionPay.Field()
    sewer_connection_connect = SewerConnectionConnect.Field()
    sewer_connection_reject = SewerConnectionReject.Field()
    sewer_connection_cancel = SewerConnectionCancel.Field()
