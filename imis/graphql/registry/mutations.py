"""Registry mutations: the staff UI's workflow steps, calling the same services (registry/services.py).

Each mutation parses its input (global IDs to objects, enums to values, the same bounds the web forms apply)
and calls one service; a service's ValidationError comes back as `errors: [{field, message, code}]`.
"""

from __future__ import annotations

import datetime

import graphene
from django.core.exceptions import ValidationError
from django.db import transaction

from imis.tenant_apps.registry import services
from imis.tenant_apps.registry.models import Building, Containment, Holding, Owner, Road, Ward
from imis.tenant_apps.registry.tasks import link_buildings_to_roads

from ..base import ServiceMutation, clean_input
from ..geometry import GeoJSON
from ..relay import node_of, node_pk, nodes_of
from . import types as t

EDIT = "registry.edit"
MAX_IDS = 5000
MAX_OWNERS = 20
MAX_SERVED_BUILDINGS = 500
# The bounds the staff UI's forms apply to what people type, and plausible dates for a municipal register.
YEAR_BOUNDS = (1800, 2200)
DATE_BOUNDS = (datetime.date(1800, 1, 1), datetime.date(2200, 12, 31))


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _check_bounds(data: dict, *, years=(), dates=(), non_negative=()) -> None:
    for name in years:
        if data.get(name) is not None and not YEAR_BOUNDS[0] <= data[name] <= YEAR_BOUNDS[1]:
            raise _error(name, f"Enter a year from {YEAR_BOUNDS[0]} to {YEAR_BOUNDS[1]}.", "out_of_range")
    for name in dates:
        value = data.get(name)
        day = value.date() if isinstance(value, datetime.datetime) else value
        if day is not None and not DATE_BOUNDS[0] <= day <= DATE_BOUNDS[1]:
            raise _error(name, f"Enter a date from {DATE_BOUNDS[0].year} to {DATE_BOUNDS[1].year}.", "out_of_range")
    for name in non_negative:
        if data.get(name) is not None and data[name] < 0:
            raise _error(name, "Enter a number of zero or more.", "min_value")


def _check_count(values, field: str, limit: int) -> None:
    if values is not None and len(values) > limit:
        raise _error(field, f"At most {limit} at a time.", "too_many")


# --- buildings ----------------------------------------------------------------------------------------------

def _building_input(*, create: bool) -> type:
    fields = {
        "bin": graphene.String(required=create, description="Building identification number."),
        "footprint": GeoJSON(required=create, description="The footprint: a GeoJSON Polygon."),
        "holding": graphene.ID(description="Global ID of the building's holding; null for none."),
        "structure_type": t.BuildingStructureType(),
        "floors": graphene.Int(),
        "construction_year": graphene.Int(),
        "functional_use": t.BuildingFunctionalUse(),
        "households": graphene.Int(),
        "population_male": graphene.Int(),
        "population_female": graphene.Int(),
        "population_other": graphene.Int(),
        "population_differently_abled": graphene.Int(),
        "is_low_income": graphene.Boolean(),
        "water_source": t.BuildingWaterSource(),
        "water_customer_id": graphene.String(),
        "has_toilet": graphene.Boolean(),
        "toilet_count": graphene.Int(),
        "has_shared_toilet": graphene.Boolean(),
        "sanitation_system": t.SanitationSystem(),
        "sewer_code": graphene.String(),
        "drain_code": graphene.String(),
        "is_desludging_vehicle_accessible": graphene.Boolean(),
        "verification_status": t.VerificationStatus(),
        "surveyed_at": graphene.DateTime(),
    }
    if not create:
        fields["id"] = graphene.ID(required=True, description="Global ID of the building.")
    return type("Input", (), fields)


def _building_changes(data: dict) -> dict:
    _check_bounds(data, dates=("surveyed_at",))
    if data.get("holding") is not None:
        data["holding"] = node_of(Holding, data["holding"], expected="Holding", field="holding")
    return clean_input(Building, data)


class BuildingCreate(ServiceMutation):
    """Register a building: validated footprint, its ward found from the map, linked to its nearest road."""

    imis_permission = EDIT
    Input = _building_input(create=True)
    building = graphene.Field(t.BuildingType)

    @classmethod
    def perform(cls, info, **data):
        building = services.building_create(by=info.context.user, **_building_changes(data))
        return cls.success(building=building)


class BuildingUpdate(ServiceMutation):
    """Change a building's attributes; only the fields given change (null clears an optional one)."""

    imis_permission = EDIT
    Input = _building_input(create=False)
    building = graphene.Field(t.BuildingType)

    @classmethod
    def perform(cls, info, **data):
        building = node_of(Building, data.pop("id"), expected="Building", field="id")
        building = services.building_update(building=building, by=info.context.user, **_building_changes(data))
        return cls.success(building=building)


class BuildingsBulkUpdate(ServiceMutation):
    """Set the same values on many buildings at once (one audit entry per building that changed)."""

    imis_permission = EDIT

    class Input:
        ids = graphene.List(graphene.NonNull(graphene.ID), required=True,
                            description=f"Global IDs of the buildings, at most {MAX_IDS}.")
        verification_status = t.VerificationStatus()
        functional_use = t.BuildingFunctionalUse()
        structure_type = t.BuildingStructureType()
        sanitation_system = t.SanitationSystem()
        water_source = t.BuildingWaterSource()
        is_low_income = graphene.Boolean()
        is_desludging_vehicle_accessible = graphene.Boolean()

    changed_count = graphene.Int(description="How many buildings actually changed.")

    @classmethod
    def perform(cls, info, ids, **changes):
        _check_count(ids, "ids", MAX_IDS)
        pks = [node_pk(global_id, expected="Building", field="ids") for global_id in ids]
        changed = services.buildings_bulk_update(building_ids=pks, by=info.context.user,
                                                 **clean_input(Building, changes))
        return cls.success(changed_count=changed)


class BuildingsLinkNearestRoads(ServiceMutation):
    """Link buildings to their nearest road (flagging ambiguous and far ones): now, or every building in the
    background (`inBackground: true`, for a whole municipality)."""

    imis_permission = EDIT

    class Input:
        buildings = graphene.List(graphene.NonNull(graphene.ID),
                                  description=f"Global IDs of the buildings to link (at most {MAX_IDS}); all when "
                                              f"left out.")
        in_background = graphene.Boolean(default_value=False,
                                         description="Queue the job for every building and return at once.")

    counts = graphene.Field(t.RoadLinkCounts, description="Buildings per link status after the run; null when queued.")
    is_queued = graphene.Boolean(required=True, description="True when the job was queued to run in the background.")

    def resolve_is_queued(root, info):
        return bool(root.is_queued)

    @classmethod
    def perform(cls, info, buildings=None, in_background=False):
        user = info.context.user
        if in_background:
            if buildings is not None:
                raise _error("buildings", "A background run links every building; leave `buildings` out.",
                             "not_supported")
            user_id = user.pk
            transaction.on_commit(lambda: link_buildings_to_roads.delay(user_id))
            return cls.success(counts=None, is_queued=True)
        pks = None
        if buildings is not None:
            _check_count(buildings, "buildings", MAX_IDS)
            pks = [node_pk(global_id, expected="Building", field="buildings") for global_id in buildings]
        counts = services.buildings_link_nearest_roads(by=user, building_ids=pks)
        return cls.success(counts=t.RoadLinkCounts(**counts), is_queued=False)


# --- holdings -----------------------------------------------------------------------------------------------

class OwnerInput(graphene.InputObjectType):
    name = graphene.String(required=True)
    phone = graphene.String(description="A mobile number, e.g. 01712345678.")
    national_id = graphene.String()
    gender = t.OwnerGender()


def _owners(owners) -> list[dict]:
    _check_count(owners, "owners", MAX_OWNERS)
    rows = []
    for index, owner in enumerate(owners or []):
        row = {key: owner.get(key) for key in ("name", "phone", "national_id", "gender")}
        row = clean_input(Owner, row)
        try:
            Owner(**{**row, "phone": ""}).full_clean(exclude=["holding", "phone"], validate_unique=False)
        except ValidationError as error:
            raise ValidationError({f"owners.{index}.{name}": items for name, items in error.error_dict.items()})
        rows.append(row)
    return rows


def _holding_changes(data: dict) -> dict:
    if "ward" in data and data["ward"] is not None:
        data["ward"] = node_of(Ward, data["ward"], expected="Ward", field="ward")
    if data.get("road") is not None:
        data["road"] = node_of(Road, data["road"], expected="Road", field="road")
    return clean_input(Holding, data)


class HoldingCreate(ServiceMutation):
    """Register a holding with its owners."""

    imis_permission = EDIT

    class Input:
        holding_id = graphene.String(required=True, description="Must match the municipality's holding ID pattern.")
        ward = graphene.ID(required=True, description="Global ID of the ward.")
        road = graphene.ID(description="Global ID of the road it lies on.")
        address = graphene.String()
        owners = graphene.List(graphene.NonNull(OwnerInput), description=f"At most {MAX_OWNERS}.")

    holding = graphene.Field(t.HoldingType)

    @classmethod
    def perform(cls, info, owners=None, **data):
        owner_rows = _owners(owners)
        holding = services.holding_create(by=info.context.user, owners=owner_rows, **_holding_changes(data))
        return cls.success(holding=holding)


class HoldingUpdate(ServiceMutation):
    """Change a holding; only the fields given change."""

    imis_permission = EDIT

    class Input:
        id = graphene.ID(required=True, description="Global ID of the holding.")
        holding_id = graphene.String()
        ward = graphene.ID(description="Global ID of the ward.")
        road = graphene.ID(description="Global ID of the road; null for none.")
        address = graphene.String()
        is_multi_ward_confirmed = graphene.Boolean(description="Confirm that its buildings lie in several wards.")

    holding = graphene.Field(t.HoldingType)

    @classmethod
    def perform(cls, info, **data):
        holding = node_of(Holding, data.pop("id"), expected="Holding", field="id")
        holding = services.holding_update(holding=holding, by=info.context.user, **_holding_changes(data))
        return cls.success(holding=holding)


# --- containments -------------------------------------------------------------------------------------------

def _containment_input(*, create: bool) -> type:
    fields = {
        "code": graphene.String(required=create),
        "type": t.ContainmentTypeEnum(required=create),
        "outlet": t.ContainmentOutlet(),
        "length_m": graphene.Float(description="Metres."),
        "width_m": graphene.Float(description="Metres."),
        "diameter_m": graphene.Float(description="Metres."),
        "depth_m": graphene.Float(description="Metres."),
        "volume_m3": graphene.Float(description="Cubic metres; worked out from the dimensions when they allow."),
        "construction_year": graphene.Int(description=f"{YEAR_BOUNDS[0]} to {YEAR_BOUNDS[1]}."),
        "location": GeoJSON(required=create, description="A GeoJSON Point."),
        "last_emptied_on": graphene.Date(),
        "times_emptied": graphene.Int(),
        "surveyed_at": graphene.DateTime(),
        "buildings": graphene.List(graphene.NonNull(graphene.ID),
                                   description="Global IDs of the buildings it serves (replacing the current ones)."),
    }
    if not create:
        fields["id"] = graphene.ID(required=True, description="Global ID of the containment.")
    return type("Input", (), fields)


def _containment_changes(data: dict) -> tuple[dict, list[int] | None]:
    buildings = data.pop("buildings", None)
    _check_bounds(data, years=("construction_year",), dates=("last_emptied_on", "surveyed_at"),
                  non_negative=("length_m", "width_m", "diameter_m", "depth_m", "volume_m3", "times_emptied"))
    location = data.get("location")
    if location is not None and location.geom_type != "Point":
        raise _error("location", f"The location must be a Point, not a {location.geom_type}.", "wrong_geometry_type")
    building_ids = None
    if buildings is not None:
        _check_count(buildings, "buildings", MAX_SERVED_BUILDINGS)
        building_ids = [b.pk for b in nodes_of(Building, buildings, expected="Building", field="buildings")]
    return clean_input(Containment, data), building_ids


class ContainmentCreate(ServiceMutation):
    """Register a containment, the buildings it serves and its next emptying date."""

    imis_permission = EDIT
    Input = _containment_input(create=True)
    containment = graphene.Field(t.ContainmentType)

    @classmethod
    def perform(cls, info, **data):
        fields, building_ids = _containment_changes(data)
        containment = services.containment_create(by=info.context.user, building_ids=building_ids, **fields)
        return cls.success(containment=containment)


class ContainmentUpdate(ServiceMutation):
    """Change a containment; only the fields given change. `buildings` replaces the buildings it serves."""

    imis_permission = EDIT
    Input = _containment_input(create=False)
    containment = graphene.Field(t.ContainmentType)

    @classmethod
    def perform(cls, info, **data):
        containment = node_of(Containment, data.pop("id"), expected="Containment", field="id")
        fields, building_ids = _containment_changes(data)
        containment = services.containment_update(containment=containment, by=info.context.user,
                                                  building_ids=building_ids, **fields)
        return cls.success(containment=containment)


class RegistryMutation(graphene.ObjectType):
    building_create = BuildingCreate.Field()
    building_update = BuildingUpdate.Field()
    buildings_bulk_update = BuildingsBulkUpdate.Field()
    buildings_link_nearest_roads = BuildingsLinkNearestRoads.Field()
    holding_create = HoldingCreate.Field()
    holding_update = HoldingUpdate.Field()
    containment_create = ContainmentCreate.Field()
    containment_update = ContainmentUpdate.Field()
