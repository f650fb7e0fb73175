"""Registry queries: one paginated list per layer (filters, bbox, ordering) and look-ups by business key.

Lists read through the registry's selectors (the same search and filters as the staff UI), then load exactly
what the query selects (loaders.py).
"""

from __future__ import annotations

import graphene
from django.db.models import Q

from imis.tenant_apps.registry import selectors
from imis.tenant_apps.registry.models import (
    Building,
    Containment,
    Drain,
    LowIncomeCommunity,
    MunicipalBoundary,
    PublicToilet,
    Road,
    Sewer,
    TreatmentPlant,
    WaterBody,
    WaterLine,
    WaterloggingArea,
)

from ..base import BadUserInput, order_enum, ordered
from ..geometry import BoundingBox, within_bbox
from ..optimizer import optimized
from ..relay import PagedConnectionField
from . import loaders  # noqa: F401 - registers how registry fields load
from . import types as t

MAX_SEARCH_LENGTH = 100

WardOrder = order_enum("WardOrder", {"NUMBER": "number", "NAME": "name"}, "Orderings of wards.")
BuildingOrder = order_enum("BuildingOrder", {
    "BIN": "bin", "WARD": "ward__number", "FLOORS": "floors", "HOUSEHOLDS": "households",
    "CONSTRUCTION_YEAR": "construction_year", "SURVEYED_AT": "surveyed_at", "UPDATED": "updated",
}, "Orderings of buildings.")
HoldingOrder = order_enum("HoldingOrder", {"HOLDING_ID": "holding_id", "WARD": "ward__number", "UPDATED": "updated"},
                          "Orderings of holdings.")
ContainmentOrder = order_enum("ContainmentOrder", {
    "CODE": "code", "WARD": "ward__number", "VOLUME": "volume_m3", "LAST_EMPTIED_ON": "last_emptied_on",
    "NEXT_EMPTYING_DUE": "next_emptying_due", "UPDATED": "updated",
}, "Orderings of containments.")
CodeOrder = order_enum("CodeOrder", {"CODE": "code", "UPDATED": "updated"}, "Orderings of coded network lines.")
NameOrder = order_enum("NameOrder", {"NAME": "name", "UPDATED": "updated"}, "Orderings of named features.")
BoundaryOrder = order_enum("BoundaryOrder", {"NAME": "name"}, "Orderings of municipal boundaries.")


def _search(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_SEARCH_LENGTH:
        raise BadUserInput(f"`search` is longer than {MAX_SEARCH_LENGTH} characters.")
    return text


def _value(enum_value) -> str:
    return getattr(enum_value, "value", enum_value) or ""


def _list(node_type, description: str, *, bbox: bool = True, order=None, **filters) -> PagedConnectionField:
    arguments = dict(filters)
    if bbox:
        arguments["bbox"] = BoundingBox(description="Only items touching this longitude/latitude rectangle.")
    if order is not None:
        arguments["order_by"] = graphene.List(graphene.NonNull(order), description="Sort keys, in order.")
    return PagedConnectionField(node_type, description=description, **arguments)


def _page(queryset, info, *, column: str | None, bbox, order_by, default_order: list[str]):
    if column:
        queryset = within_bbox(queryset, column, bbox)
    return optimized(ordered(queryset, order_by, default_order), info)


class RegistryQuery(graphene.ObjectType):
    wards = _list(t.WardType, "The municipality's wards.", order=WardOrder,
                  number=graphene.Int(description="Only the ward with this number."))
    buildings = _list(
        t.BuildingType, "Buildings, filtered like the staff UI's building list.", order=BuildingOrder,
        search=graphene.String(description="BIN, holding ID, owner name or phone."),
        ward=graphene.Int(description="Ward number."),
        functional_use=graphene.Argument(t.BuildingFunctionalUse),
        sanitation_system=graphene.Argument(t.SanitationSystem),
        verification_status=graphene.Argument(t.VerificationStatus),
        road_link_status=graphene.Argument(t.RoadLinkStatus),
        has_holding=graphene.Boolean(),
        has_containment=graphene.Boolean(),
    )
    holdings = _list(
        t.HoldingType, "Holdings with their owners.", bbox=False, order=HoldingOrder,
        search=graphene.String(description="Holding ID, owner name or phone."),
        ward=graphene.Int(description="Ward number."),
    )
    containments = _list(
        t.ContainmentType, "Septic tanks and pits.", order=ContainmentOrder,
        search=graphene.String(description="Containment code, BIN, holding ID, owner name or phone."),
        ward=graphene.Int(description="Ward number."),
        type=graphene.Argument(t.ContainmentTypeEnum),
        outlet=graphene.Argument(t.ContainmentOutlet),
        emptying_due_before=graphene.Date(description="Next emptying due on or before this date."),
    )
    roads = _list(t.RoadType, "The road network.", order=CodeOrder,
                  hierarchy=graphene.Argument(t.RoadHierarchy), search=graphene.String(description="Code or name."))
    drains = _list(t.DrainType, "Drains.", order=CodeOrder, kind=graphene.Argument(t.DrainKind))
    sewers = _list(t.SewerType, "Sewer lines (feature `sewer`).", order=CodeOrder)
    water_lines = _list(t.WaterLineType, "Water supply lines (feature `water_supply`).", order=CodeOrder,
                        material=graphene.Argument(t.WaterLineMaterial))
    water_bodies = _list(t.WaterBodyType, "Ponds, lakes, canals and rivers.", order=NameOrder,
                         kind=graphene.Argument(t.WaterBodyKind))
    waterlogging_areas = _list(t.WaterloggingAreaType, "Areas that flood.", order=NameOrder,
                               severity=graphene.Argument(t.WaterloggingSeverity))
    low_income_communities = _list(t.LowIncomeCommunityType, "Low-income communities.", order=NameOrder)
    treatment_plants = _list(t.TreatmentPlantType, "Faecal sludge and wastewater treatment plants.", order=NameOrder,
                             type=graphene.Argument(t.TreatmentPlantTypeEnum),
                             status=graphene.Argument(t.TreatmentPlantStatus))
    public_toilets = _list(t.PublicToiletType, "Public and community toilets.", order=NameOrder,
                           ward=graphene.Int(description="Ward number."), kind=graphene.Argument(t.PublicToiletKind))
    municipal_boundaries = _list(t.MunicipalBoundaryType, "The municipality's outer boundary.", order=BoundaryOrder)

    building = graphene.Field(t.BuildingType, bin=graphene.String(required=True), description="A building by BIN.")
    holding = graphene.Field(t.HoldingType, holding_id=graphene.String(required=True),
                             description="A holding by its holding ID.")
    containment = graphene.Field(t.ContainmentType, code=graphene.String(required=True),
                                 description="A containment by its code.")

    @staticmethod
    def resolve_wards(root, info, number=None, bbox=None, order_by=None, **_paging):
        wards = selectors.wards_listed()
        if number is not None:
            wards = wards.filter(number=number)
        return _page(wards, info, column="boundary", bbox=bbox, order_by=order_by, default_order=["number"])

    @staticmethod
    def resolve_buildings(root, info, search=None, ward=None, functional_use=None, sanitation_system=None,
                          verification_status=None, road_link_status=None, has_holding=None, has_containment=None,
                          bbox=None, order_by=None, **_paging):
        buildings = selectors.buildings_listed(
            query=_search(search), ward=ward, functional_use=_value(functional_use),
            sanitation_system=_value(sanitation_system), verification_status=_value(verification_status),
            road_link_status=_value(road_link_status), has_holding=has_holding, has_containment=has_containment,
        )
        return _page(buildings, info, column="footprint", bbox=bbox, order_by=order_by, default_order=["bin"])

    @staticmethod
    def resolve_holdings(root, info, search=None, ward=None, order_by=None, **_paging):
        holdings = selectors.holdings_listed(query=_search(search), ward=ward)
        return _page(holdings, info, column=None, bbox=None, order_by=order_by, default_order=["holding_id"])

    @staticmethod
    def resolve_containments(root, info, search=None, ward=None, type=None, outlet=None, emptying_due_before=None,
                             bbox=None, order_by=None, **_paging):
        containments = selectors.containments_listed(
            query=_search(search), ward=ward, type=_value(type), outlet=_value(outlet),
            emptying_due_before=emptying_due_before,
        )
        return _page(containments, info, column="location", bbox=bbox, order_by=order_by, default_order=["code"])

    @staticmethod
    def resolve_roads(root, info, hierarchy=None, search=None, bbox=None, order_by=None, **_paging):
        roads = Road.objects.all()
        if hierarchy:
            roads = roads.filter(hierarchy=_value(hierarchy))
        text = _search(search)
        if text:
            roads = roads.filter(Q(code__istartswith=text) | Q(name__icontains=text))
        return _page(roads, info, column="geom", bbox=bbox, order_by=order_by, default_order=["code"])

    @staticmethod
    def resolve_drains(root, info, kind=None, bbox=None, order_by=None, **_paging):
        drains = Drain.objects.filter(kind=_value(kind)) if kind else Drain.objects.all()
        return _page(drains, info, column="geom", bbox=bbox, order_by=order_by, default_order=["code"])

    @staticmethod
    def resolve_sewers(root, info, bbox=None, order_by=None, **_paging):
        return _page(Sewer.objects.all(), info, column="geom", bbox=bbox, order_by=order_by, default_order=["code"])

    @staticmethod
    def resolve_water_lines(root, info, material=None, bbox=None, order_by=None, **_paging):
        lines = WaterLine.objects.filter(material=_value(material)) if material else WaterLine.objects.all()
        return _page(lines, info, column="geom", bbox=bbox, order_by=order_by, default_order=["code"])

    @staticmethod
    def resolve_water_bodies(root, info, kind=None, bbox=None, order_by=None, **_paging):
        bodies = WaterBody.objects.filter(kind=_value(kind)) if kind else WaterBody.objects.all()
        return _page(bodies, info, column="geom", bbox=bbox, order_by=order_by, default_order=["name"])

    @staticmethod
    def resolve_waterlogging_areas(root, info, severity=None, bbox=None, order_by=None, **_paging):
        areas = WaterloggingArea.objects.all()
        if severity:
            areas = areas.filter(severity=_value(severity))
        return _page(areas, info, column="geom", bbox=bbox, order_by=order_by, default_order=["name"])

    @staticmethod
    def resolve_low_income_communities(root, info, bbox=None, order_by=None, **_paging):
        return _page(LowIncomeCommunity.objects.all(), info, column="geom", bbox=bbox, order_by=order_by,
                     default_order=["name"])

    @staticmethod
    def resolve_treatment_plants(root, info, type=None, status=None, bbox=None, order_by=None, **_paging):
        plants = TreatmentPlant.objects.all()
        if type:
            plants = plants.filter(type=_value(type))
        if status:
            plants = plants.filter(status=_value(status))
        return _page(plants, info, column="location", bbox=bbox, order_by=order_by, default_order=["name"])

    @staticmethod
    def resolve_public_toilets(root, info, ward=None, kind=None, bbox=None, order_by=None, **_paging):
        toilets = PublicToilet.objects.all()
        if ward is not None:
            toilets = toilets.filter(ward__number=ward)
        if kind:
            toilets = toilets.filter(kind=_value(kind))
        return _page(toilets, info, column="location", bbox=bbox, order_by=order_by, default_order=["name"])

    @staticmethod
    def resolve_municipal_boundaries(root, info, bbox=None, order_by=None, **_paging):
        return _page(MunicipalBoundary.objects.all(), info, column="boundary", bbox=bbox, order_by=order_by,
                     default_order=["name"])

    @staticmethod
    def resolve_building(root, info, bin):
        return optimized(Building.objects.filter(bin=bin.strip().upper()), info).first()

    @staticmethod
    def resolve_holding(root, info, holding_id):
        return optimized(selectors.holdings_listed().filter(holding_id=holding_id.strip().upper()), info).first()

    @staticmethod
    def resolve_containment(root, info, code):
        return optimized(Containment.objects.filter(code=code.strip().upper()), info).first()
