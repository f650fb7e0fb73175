"""Sewer queries: applications filtered like the staff UI's list (sewer/selectors.py) plus a map rectangle, one
application by its number, and the campaign list of buildings that could connect."""

from __future__ import annotations

import graphene
from django.core.exceptions import ValidationError

from imis.tenant_apps.sewer import selectors, services

from ..base import BadUserInput
from ..geometry import BoundingBox, within_bbox
from ..optimizer import optimized
from ..relay import PagedConnectionField, TenantGlobalID, current_schema, global_id_parse
from . import loaders  # noqa: F401 - registers how sewer fields load
from . import types as t

MAX_TEXT = 100
MAX_CAMPAIGN_ROWS = 1000

ConnectionListStatus = graphene.Enum("SewerConnectionListStatus", [
    *[(choice.name, choice.value) for choice in t.SewerConnection.Status], ("OPEN", "open"),
], description="A status, or OPEN (applied, surveyed, approved or fee paid).")


def _text(value: str | None, name: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise BadUserInput(f"`{name}` is longer than {MAX_TEXT} characters.")
    return value


class SewerQuery(graphene.ObjectType):
    sewer_connections = PagedConnectionField(
        t.SewerConnectionType, description="Sewer connection applications, newest first.",
        search=graphene.String(description="Application number, BIN or holding ID (prefix), applicant name."),
        status=graphene.Argument(ConnectionListStatus), ward=graphene.Int(description="Ward number of the building."),
        sewer=graphene.String(description="Code of the sewer line."),
        bbox=BoundingBox(description="Only applications whose building touches this longitude/latitude rectangle."))
    sewer_connection = graphene.Field(t.SewerConnectionType, application_number=graphene.String(required=True),
                                      description="An application by its number.")
    sewer_campaign = graphene.Field(
        t.SewerCampaign, description="Buildings that could connect to a sewer (the campaign list).",
        distance_m=graphene.Float(description="Within this many metres of a sewer; the municipality's maximum "
                                              "connection distance when left out."),
        ward=graphene.Int(description="Only this ward's buildings."),
        sewer=graphene.ID(description="Global ID of one sewer line; any line when left out."),
        limit=graphene.Int(description=f"How many rows to list, at most {MAX_CAMPAIGN_ROWS}; 100 when left out."))

    @staticmethod
    def resolve_sewer_connections(root, info, search=None, status=None, ward=None, sewer=None, bbox=None,
                                  **_paging):
        connections = selectors.connections_listed(query=_text(search, "search"),
                                                   status=getattr(status, "value", status) or "", ward=ward,
                                                   sewer=_text(sewer, "sewer"))
        connections = within_bbox(connections, "building__footprint", bbox)
        return optimized(connections.order_by("-applied_on", "-id"), info)

    @staticmethod
    def resolve_sewer_connection(root, info, application_number):
        number = _text(application_number, "applicationNumber").upper()
        return optimized(selectors.connections_listed().filter(application_number=number), info).first()

    @staticmethod
    def resolve_sewer_campaign(root, info, distance_m=None, ward=None, sewer=None, limit=None):
        limit = 100 if limit is None else limit
        if not 0 <= limit <= MAX_CAMPAIGN_ROWS:
            raise BadUserInput(f"`limit` must be between 0 and {MAX_CAMPAIGN_ROWS}.")
        sewer_id = None
        if sewer:
            type_name, schema, sewer_id = global_id_parse(sewer)
            if type_name != "Sewer" or schema != current_schema():
                raise BadUserInput("`sewer` is not the ID of a sewer line here.")
        try:
            result = selectors.campaign_buildings(
                distance_m=services.max_connection_distance_m() if distance_m is None else distance_m,
                ward=ward, sewer_id=sewer_id)
        except ValidationError as error:
            raise BadUserInput(" ".join(error.messages), reason=getattr(error, "code", None) or "invalid")
        rows = [t.SewerCampaignBuilding(
            building_id=TenantGlobalID.to_global_id("Building", row["id"]), bin=row["bin"], holding_id=row.get("holding_id"),
            ward=row.get("ward"), functional_use=row.get("functional_use"),
            sanitation_system=row.get("sanitation_system"), households=row.get("households"),
            population=row.get("population"), sewer_code=row.get("sewer_code"), distance_m=row["distance_m"],
            application_number=row.get("application_number") or None) for row in result.rows[:limit]]
        summary = result.summary
        return t.SewerCampaign(
            buildings=summary["buildings"], population=summary["population"],
            with_application=summary["with_application"], rows=rows,
            by_ward=[t.SewerCampaignWard(**entry) for entry in summary["by_ward"]])
