"""Sewer connection types (feature `sewer`, read with `sewer.view`): applications to join a sewer line with their
fee payment and timeline; the campaign list of buildings that could connect."""

from __future__ import annotations

import graphene
from graphene_django import DjangoObjectType

from imis.tenant_apps.sewer.models import SewerConnection, SewerConnectionEvent, SewerConnectionPayment

from ..base import choice_field, enum_from_choices
from ..relay import CountableConnection, Node, TenantObjectType

FEATURE = "sewer"
VIEW = "sewer.view"
MANAGE = "sewer.manage"

ConnectionStatus = enum_from_choices(SewerConnection.Status, "SewerConnectionStatus",
                                     "Where a sewer connection application is in its life cycle.")


class SewerPaymentType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        model = SewerConnectionPayment
        name = "SewerConnectionPayment"
        description = "The connection fee received (receipt series SCR-)."
        fields = ("amount", "method", "reference", "receipt_number", "received_at", "cashier_label")


class SewerEventType(DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    class Meta:
        model = SewerConnectionEvent
        name = "SewerConnectionEvent"
        description = "One step of an application's timeline."
        fields = ("at", "action", "by_label", "note")


class SewerConnectionType(TenantObjectType, DjangoObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE
    status = choice_field(ConnectionStatus, "status", required=True)
    is_open = graphene.Boolean(required=True, description="Applied, surveyed, approved or fee paid.")
    payment = graphene.Field(SewerPaymentType, description="Null until the fee is paid (or when it was waived).")
    events = graphene.List(graphene.NonNull(SewerEventType), required=True, description="Oldest first.")

    class Meta:
        model = SewerConnection
        name = "SewerConnectionApplication"
        description = ("A building's application to connect to a sewer line, from application to connection "
                       "(feature `sewer`).")
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("application_number", "status", "building", "holding", "sewer", "applicant_name",
                  "applicant_phone", "map_distance_m", "applied_on", "surveyed_on", "survey_distance_m",
                  "survey_notes", "approved_on", "fee_amount", "fee_paid_on", "connected_on", "closed_on",
                  "closing_reason", "created", "updated")

    def resolve_is_open(root, info):
        return root.is_open

    def resolve_payment(root, info):
        return getattr(root, "payment", None)

    def resolve_events(root, info):
        return root.events.all()


class SewerCampaignBuilding(graphene.ObjectType):
    imis_permission = VIEW
    imis_feature = FEATURE

    building_id = graphene.ID(required=True, description="Global ID of the building.")
    bin = graphene.String(required=True)
    holding_id = graphene.String()
    ward = graphene.Int()
    functional_use = graphene.String()
    sanitation_system = graphene.String()
    households = graphene.Int()
    population = graphene.Int()
    sewer_code = graphene.String(description="The nearest sewer line within the distance.")
    distance_m = graphene.Float(required=True, description="Metres to that line.")
    application_number = graphene.String(description="The application in progress, if any.")


class SewerCampaignWard(graphene.ObjectType):
    ward = graphene.Int()
    buildings = graphene.Int(required=True)
    population = graphene.Int(required=True)
    with_application = graphene.Int(required=True)


class SewerCampaign(graphene.ObjectType):
    """Buildings within a distance of a sewer not yet on it, by ward then distance (the staff UI's campaign list)."""

    imis_permission = VIEW
    imis_feature = FEATURE

    buildings = graphene.Int(required=True, description="How many buildings match (all rows, not only listed).")
    population = graphene.Int(required=True)
    with_application = graphene.Int(required=True, description="Of them, how many have an application in progress.")
    by_ward = graphene.List(graphene.NonNull(SewerCampaignWard), required=True)
    rows = graphene.List(graphene.NonNull(SewerCampaignBuilding), required=True,
                         description="The first `limit` buildings.")
