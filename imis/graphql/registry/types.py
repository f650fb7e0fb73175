"""Registry types: every layer of the municipal GIS database, read with `registry.view`.

Sewers need the `sewer` feature and water lines `water_supply`; an owner's phone and national ID need
`registry.edit`. Geometry is GeoJSON in WGS 84 longitude/latitude.
"""

from __future__ import annotations

import graphene
from graphene_django import DjangoObjectType

from imis.tenant_apps.registry.models import (
    Building,
    Containment,
    Drain,
    Holding,
    LowIncomeCommunity,
    MunicipalBoundary,
    Owner,
    PublicToilet,
    Road,
    Sewer,
    TreatmentPlant,
    Ward,
    WaterBody,
    WaterLine,
    WaterloggingArea,
)

from ..base import choice_field, enum_from_choices, guarded
from ..geometry import LineStringGeoJSON, PolygonGeoJSON
from ..relay import CountableConnection, Node, TenantObjectType

VIEW = "registry.view"
EDIT = "registry.edit"

BuildingStructureType = enum_from_choices(Building.StructureType, "BuildingStructureType", "How a building is built.")
BuildingFunctionalUse = enum_from_choices(Building.FunctionalUse, "BuildingFunctionalUse", "What a building is used for.")
BuildingWaterSource = enum_from_choices(Building.WaterSource, "BuildingWaterSource", "Where a building's water comes from.")
SanitationSystem = enum_from_choices(Building.SanitationSystem, "SanitationSystem",
                                     "Where a building's toilet waste goes.")
VerificationStatus = enum_from_choices(Building.Verification, "VerificationStatus",
                                       "Whether a building's survey data was checked.")
RoadLinkStatus = enum_from_choices(Building.RoadLink, "RoadLinkStatus", "How a building is linked to its nearest road.")
ContainmentTypeEnum = enum_from_choices(Containment.Type, "ContainmentType", "The kind of on-site containment.")
ContainmentOutlet = enum_from_choices(Containment.Outlet, "ContainmentOutlet", "Where a containment's effluent goes.")
OwnerGender = enum_from_choices(Owner.Gender, "OwnerGender", "An owner's gender.")
RoadHierarchy = enum_from_choices(Road.Hierarchy, "RoadHierarchy", "A road's place in the network.")
RoadSurface = enum_from_choices(Road.Surface, "RoadSurface", "What a road is paved with.")
TreatmentPlantTypeEnum = enum_from_choices(TreatmentPlant.Type, "TreatmentPlantType", "What a treatment plant treats.")
TreatmentPlantStatus = enum_from_choices(TreatmentPlant.Status, "TreatmentPlantStatus",
                                         "Whether a treatment plant works.")
DrainKind = enum_from_choices(Drain.Kind, "DrainKind", "Open or closed drain.")
WaterLineMaterial = enum_from_choices(WaterLine.Material, "WaterLineMaterial", "What a water line is made of.")
WaterBodyKind = enum_from_choices(WaterBody.Kind, "WaterBodyKind", "The kind of water body.")
WaterloggingSeverity = enum_from_choices(WaterloggingArea.Severity, "WaterloggingSeverity",
                                         "How badly an area is water-logged.")
PublicToiletKind = enum_from_choices(PublicToilet.Kind, "PublicToiletKind", "Public or community toilet.")


def _float(attname: str, description: str = "") -> graphene.Float:
    def resolve(root, info):
        value = getattr(root, attname)
        return None if value is None else float(value)

    return graphene.Float(resolver=resolve, description=description)


def _geometry(scalar, attname: str = "geom", description: str | None = None) -> graphene.Field:
    def resolve(root, info):
        return getattr(root, attname)

    return graphene.Field(scalar, required=True, resolver=resolve, description=description)


class RegistryType(TenantObjectType, DjangoObjectType):
    """A registry layer's type: a node, readable with registry.view."""

    imis_permission = VIEW

    class Meta:
        abstract = True


class WardType(RegistryType):
    class Meta:
        model = Ward
        name = "Ward"
        description = "An administrative ward of the municipality."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("number", "name", "name_bn", "boundary")


class RoadType(RegistryType):
    hierarchy = choice_field(RoadHierarchy, "hierarchy", required=True)
    surface = choice_field(RoadSurface, "surface")
    width_m = _float("width_m", "Width in metres.")
    geometry = _geometry(LineStringGeoJSON, description="The centre line.")

    class Meta:
        model = Road
        name = "Road"
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("code", "name", "hierarchy", "width_m", "surface", "created", "updated")


class OwnerType(DjangoObjectType):
    imis_permission = VIEW

    gender = choice_field(OwnerGender, "gender")
    phone = guarded(graphene.String(description="E.164 phone number; needs registry.edit."), permission=EDIT)
    national_id = guarded(graphene.String(description="National ID number; needs registry.edit."), permission=EDIT)

    class Meta:
        model = Owner
        name = "Owner"
        description = "An owner of a holding."
        fields = ("name", "gender", "phone", "national_id")


class HoldingType(RegistryType):
    owners = graphene.List(graphene.NonNull(OwnerType), required=True)
    buildings = graphene.List(graphene.NonNull(lambda: BuildingType), required=True,
                              description="The holding's buildings, by BIN.")
    building_count = graphene.Int(required=True, description="How many buildings the holding has.")

    class Meta:
        model = Holding
        name = "Holding"
        description = "The tax/property unit a resident knows by its holding ID."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("holding_id", "ward", "road", "address", "is_multi_ward_confirmed", "created", "updated")

    def resolve_owners(root, info):
        return root.owners.all()

    def resolve_buildings(root, info):
        return root.buildings.all()

    def resolve_building_count(root, info):
        count = getattr(root, "building_count", None)
        return count if count is not None else root.buildings.count()


class BuildingType(RegistryType):
    structure_type = choice_field(BuildingStructureType, "structure_type")
    functional_use = choice_field(BuildingFunctionalUse, "functional_use", required=True)
    water_source = choice_field(BuildingWaterSource, "water_source")
    sanitation_system = choice_field(SanitationSystem, "sanitation_system")
    verification_status = choice_field(VerificationStatus, "verification_status", required=True)
    road_link_status = choice_field(RoadLinkStatus, "road_link_status", required=True)
    population = graphene.Int(required=True, description="Men, women and others living in the building.")
    containments = graphene.List(graphene.NonNull(lambda: ContainmentType), required=True,
                                 description="The containments serving the building.")

    class Meta:
        model = Building
        name = "Building"
        description = "A building footprint with its survey attributes."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = (
            "bin", "footprint", "holding", "ward", "structure_type", "floors", "construction_year", "functional_use",
            "households", "population_male", "population_female", "population_other",
            "population_differently_abled", "is_low_income", "water_source", "water_customer_id", "has_toilet",
            "toilet_count", "has_shared_toilet", "sanitation_system", "sewer_code", "drain_code",
            "is_desludging_vehicle_accessible", "verification_status", "surveyed_at", "nearest_road",
            "road_distance_m", "road_link_status", "created", "updated",
        )

    def resolve_population(root, info):
        return root.population

    def resolve_containments(root, info):
        return root.containments.all()


class ContainmentType(RegistryType):
    type = choice_field(ContainmentTypeEnum, "type", required=True)
    outlet = choice_field(ContainmentOutlet, "outlet", required=True)
    length_m = _float("length_m", "Length in metres.")
    width_m = _float("width_m", "Width in metres.")
    diameter_m = _float("diameter_m", "Diameter in metres.")
    depth_m = _float("depth_m", "Depth in metres.")
    volume_m3 = _float("volume_m3", "Volume in cubic metres.")
    buildings = graphene.List(graphene.NonNull(BuildingType), required=True, description="The buildings it serves.")
    building_count = graphene.Int(required=True, description="How many buildings it serves.")

    class Meta:
        model = Containment
        name = "Containment"
        description = "A septic tank or pit, with its emptying record."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("code", "type", "outlet", "construction_year", "location", "ward", "last_emptied_on",
                  "times_emptied", "next_emptying_due", "surveyed_at", "created", "updated")

    def resolve_buildings(root, info):
        return root.buildings.all()

    def resolve_building_count(root, info):
        count = getattr(root, "building_count", None)
        return count if count is not None else root.buildings.count()


class TreatmentPlantType(RegistryType):
    type = choice_field(TreatmentPlantTypeEnum, "type", required=True)
    status = choice_field(TreatmentPlantStatus, "status", required=True)
    capacity_m3_per_day = _float("capacity_m3_per_day", "Capacity in cubic metres per day.")

    class Meta:
        model = TreatmentPlant
        name = "TreatmentPlant"
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("name", "type", "status", "location", "created", "updated")


class DrainType(RegistryType):
    kind = choice_field(DrainKind, "kind", required=True)
    geometry = _geometry(LineStringGeoJSON)

    class Meta:
        model = Drain
        name = "Drain"
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("code", "kind", "is_covered", "size_mm", "treatment_plant", "created", "updated")


class SewerType(RegistryType):
    imis_feature = "sewer"
    geometry = _geometry(LineStringGeoJSON)

    class Meta:
        model = Sewer
        name = "Sewer"
        description = "A sewer line (feature `sewer`)."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("code", "diameter_mm", "treatment_plant", "created", "updated")


class WaterLineType(RegistryType):
    imis_feature = "water_supply"
    material = choice_field(WaterLineMaterial, "material")
    geometry = _geometry(LineStringGeoJSON)

    class Meta:
        model = WaterLine
        name = "WaterLine"
        description = "A water supply line (feature `water_supply`)."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("code", "diameter_mm", "material", "created", "updated")


class WaterBodyType(RegistryType):
    kind = choice_field(WaterBodyKind, "kind", required=True)
    geometry = _geometry(PolygonGeoJSON)

    class Meta:
        model = WaterBody
        name = "WaterBody"
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("name", "kind", "created", "updated")


class WaterloggingAreaType(RegistryType):
    severity = choice_field(WaterloggingSeverity, "severity", required=True)
    geometry = _geometry(PolygonGeoJSON)

    class Meta:
        model = WaterloggingArea
        name = "WaterloggingArea"
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("name", "severity", "created", "updated")


class LowIncomeCommunityType(RegistryType):
    geometry = _geometry(PolygonGeoJSON)

    class Meta:
        model = LowIncomeCommunity
        name = "LowIncomeCommunity"
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("name", "households", "population", "created", "updated")


class PublicToiletType(RegistryType):
    kind = choice_field(PublicToiletKind, "kind", required=True)
    fee_bdt = graphene.Decimal(required=True, description="Fee per use in BDT.")

    class Meta:
        model = PublicToilet
        name = "PublicToilet"
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("name", "kind", "ward", "seats_male", "seats_female", "seats_pwd", "has_universal_design",
                  "fee_bdt", "location", "created", "updated")


class MunicipalBoundaryType(RegistryType):
    class Meta:
        model = MunicipalBoundary
        name = "MunicipalBoundary"
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("name", "boundary")


class RoadLinkCounts(graphene.ObjectType):
    """Buildings per road-link status after a linking run, and how many changed in it."""

    linked = graphene.Int(required=True)
    ambiguous = graphene.Int(required=True)
    far = graphene.Int(required=True)
    none = graphene.Int(required=True)
    changed = graphene.Int(required=True)
