"""What can go in and out of each registry layer: one declaration serves import, export and the data dictionary.

Layer names are the ones the tile and OGC API endpoints use (maps/layers.py). Field types, lengths, allowed
values and ranges are read from the registry models, so an import checks a value exactly as the edit forms do;
this module only adds what the models cannot say: the key, natural-key lookups (holding ID -> holding, BINs ->
buildings, ward number -> ward), aliases that map a file's columns by themselves, and short names for Shapefiles
(10 characters at most).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from imis.shared_apps.tenants.features import enabled_features_of
from imis.tenant_apps.registry import models as registry

INT_LIMITS = {
    "PositiveSmallIntegerField": (0, 32767), "SmallIntegerField": (-32768, 32767),
    "PositiveIntegerField": (0, 2147483647), "IntegerField": (-2147483648, 2147483647),
    "BigIntegerField": (-(2**63), 2**63 - 1), "PositiveBigIntegerField": (0, 2**63 - 1),
}


@dataclass(frozen=True)
class Lookup:
    """A foreign key given in files by a natural key: `holding_id` text -> registry_holding.id."""

    table: str
    column: str
    upper: bool = False
    create_missing: bool = False  # buildings may bring new holdings (their ward is the building's)
    many: bool = False  # several keys in one cell ("B-1;B-2"): a many-to-many
    integer: bool = False  # the natural key is a number (ward number)
    unique: bool = True  # the natural key is unique in its table (else: ambiguous names are refused)


@dataclass(frozen=True)
class Field:
    name: str  # the column name in our files
    model_field: str | None = None  # the model field written; None: exported only (derived, read-only)
    required: bool = False
    upper: bool = False
    lookup: Lookup | None = None
    aliases: tuple[str, ...] = ()
    shp_name: str = ""
    export_sql: str = ""  # SQL over the layer's table `t`; default t.<column>
    kind_override: str = ""  # "holding_id": checked against the municipality's pattern
    help: str = ""

    @property
    def is_importable(self) -> bool:
        return self.model_field is not None or bool(self.lookup and self.lookup.many)


@dataclass(frozen=True)
class FieldType:
    kind: str  # text | choice | int | decimal | float | bool | date | datetime | holding_id | keys
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    nullable: bool = False
    default: object = None
    column: str = ""  # the database column written


@dataclass(frozen=True)
class LayerSpec:
    name: str
    title: str
    model: type[models.Model]
    fields: tuple[Field, ...]
    key: str | None = None  # the natural key (unique) for "upsert by key"; None: the layer has none
    geometry: str | None = None  # model field; None for a table without geometry (holdings)
    geometry_type: str = ""  # Polygon | LineString | Point | MultiPolygon
    feature: str | None = None
    derives_ward: bool = False  # the ward comes from the geometry (ward_at), as in the registry services
    joins: str = ""  # for export_sql
    order: int = 100  # package imports load layers in this order (wards before buildings ...)
    can_replace: bool = True
    help: str = ""

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def importable(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.is_importable)

    @cached_property
    def types(self) -> dict[str, FieldType]:
        return {f.name: field_type(self, f) for f in self.importable}

    def geometry_srid(self) -> int:
        return self.model._meta.get_field(self.geometry).srid if self.geometry else 0


def field_type(spec: LayerSpec, f: Field) -> FieldType:
    """A file column's type, read from the model field it writes."""
    if f.lookup and f.lookup.many:
        return FieldType("keys", nullable=True, default=None, column="")
    model_field = spec.model._meta.get_field(f.model_field)
    column = model_field.column
    if f.lookup:
        if f.lookup.integer:
            return FieldType("int", minimum=0, maximum=32767, nullable=True, column=column)
        return FieldType("holding_id" if f.kind_override == "holding_id" else "text", max_length=200,
                         nullable=True, column=column)
    default = model_field.get_default() if model_field.has_default() else None
    internal = model_field.get_internal_type()
    nullable = model_field.null
    if internal in ("CharField", "TextField"):
        if model_field.choices:
            return FieldType("choice", choices=tuple((str(v), str(label)) for v, label in model_field.flatchoices),
                             nullable=False, default=default if default is not None else "", column=column,
                             max_length=model_field.max_length)
        return FieldType(f.kind_override or "text", max_length=model_field.max_length, nullable=False,
                         default=default if default is not None else "", column=column)
    if internal in INT_LIMITS:
        low, high = INT_LIMITS[internal]
        for validator in model_field.validators:
            limit = validator.limit_value() if callable(getattr(validator, "limit_value", None)) else \
                getattr(validator, "limit_value", None)
            if isinstance(validator, MinValueValidator):
                low = max(low, limit)
            if isinstance(validator, MaxValueValidator):
                high = min(high, limit)
        return FieldType("int", minimum=low, maximum=high, nullable=nullable, default=default, column=column)
    if internal == "DecimalField":
        return FieldType("decimal", max_digits=model_field.max_digits, decimal_places=model_field.decimal_places,
                         minimum=0, nullable=nullable, default=default, column=column)
    if internal == "FloatField":
        return FieldType("float", nullable=nullable, default=default, column=column)
    if internal == "BooleanField":
        return FieldType("bool", nullable=nullable, default=default, column=column)
    if internal == "DateField":
        return FieldType("date", nullable=nullable, default=default, column=column)
    if internal == "DateTimeField":
        return FieldType("datetime", nullable=nullable, default=default, column=column)
    raise TypeError(f"{spec.name}.{f.name}: no import type for {internal}")


F = Field
WARD_NUMBER = F("ward", export_sql="w.number", help=_("Ward number, from the geometry (read only)."))
WARD_JOIN = "LEFT JOIN registry_ward w ON w.id = t.ward_id"
SURVEYED = F("surveyed_at", "surveyed_at", shp_name="surveyed", aliases=("survey_date", "surveyed"))

LAYER_SPECS: dict[str, LayerSpec] = {spec.name: spec for spec in [
    LayerSpec(
        "wards", _("Wards"), registry.Ward, key="number", geometry="boundary", geometry_type="MultiPolygon",
        fields=(F("number", "number", required=True, aliases=("ward", "ward_no", "ward_number", "wardno")),
                F("name", "name"), F("name_bn", "name_bn", aliases=("name_bangla", "bangla_name"))),
        order=10, can_replace=False,
        help=_("Ward boundaries. Buildings and holdings refer to wards, so wards are updated, never replaced."),
    ),
    LayerSpec(
        "roads", _("Roads"), registry.Road, key="code", geometry="geom", geometry_type="LineString",
        fields=(F("code", "code", required=True, aliases=("road_code", "road_id")), F("name", "name"),
                F("hierarchy", "hierarchy", aliases=("road_type", "class")),
                F("width_m", "width_m", aliases=("width", "carriage_width")), F("surface", "surface")),
        order=20,
    ),
    LayerSpec(
        "treatment_plants", _("Treatment plants"), registry.TreatmentPlant, key="name", geometry="location",
        geometry_type="Point",
        fields=(F("name", "name", required=True), F("type", "type", required=True),
                F("capacity_m3_per_day", "capacity_m3_per_day", required=True, shp_name="capacity",
                  aliases=("capacity",)),
                F("status", "status")),
        order=25,
    ),
    LayerSpec(
        "holdings", _("Holdings"), registry.Holding, key="holding_id",
        fields=(F("holding_id", "holding_id", required=True, upper=True, kind_override="holding_id",
                  aliases=("holding", "holding_no", "holdingid")),
                F("ward", "ward", required=True, lookup=Lookup("registry_ward", "number", integer=True),
                  export_sql="w.number", aliases=("ward_no", "ward_number")),
                F("road", "road", lookup=Lookup("registry_road", "code"), export_sql="r.code",
                  aliases=("road_code",)),
                F("address", "address"),
                F("is_multi_ward_confirmed", "is_multi_ward_confirmed", shp_name="multi_ward")),
        joins=WARD_JOIN + " LEFT JOIN registry_road r ON r.id = t.road_id",
        order=30,
        help=_("Holdings without geometry (a CSV is enough); buildings refer to them by holding ID."),
    ),
    LayerSpec(
        "buildings", _("Buildings"), registry.Building, key="bin", geometry="footprint", geometry_type="Polygon",
        derives_ward=True,
        fields=(
            F("bin", "bin", required=True, upper=True, aliases=("building_id", "bin_no", "building_no")),
            F("holding_id", "holding", upper=True, kind_override="holding_id",
              lookup=Lookup("registry_holding", "holding_id", upper=True, create_missing=True),
              export_sql="h.holding_id", aliases=("holding", "holding_no", "holdingid"), shp_name="holding_id",
              help=_("a holding ID the registry lacks is created, in the building's ward")),
            WARD_NUMBER,
            F("structure_type", "structure_type", shp_name="structure", aliases=("structure",)),
            F("floors", "floors", aliases=("floor_count", "storeys", "no_of_floors")),
            F("construction_year", "construction_year", shp_name="built_year", aliases=("year_built",)),
            F("functional_use", "functional_use", shp_name="use", aliases=("use", "building_use")),
            F("households", "households", shp_name="households"),
            F("population_male", "population_male", shp_name="pop_male", aliases=("male",)),
            F("population_female", "population_female", shp_name="pop_female", aliases=("female",)),
            F("population_other", "population_other", shp_name="pop_other"),
            F("population_differently_abled", "population_differently_abled", shp_name="pop_dis"),
            F("is_low_income", "is_low_income", shp_name="low_income", aliases=("low_income",)),
            F("water_source", "water_source", shp_name="water_src"),
            F("water_customer_id", "water_customer_id", shp_name="water_cust"),
            F("has_toilet", "has_toilet", shp_name="has_toilet"),
            F("toilet_count", "toilet_count", shp_name="toilets", aliases=("toilets",)),
            F("has_shared_toilet", "has_shared_toilet", shp_name="shared_tlt"),
            F("sanitation_system", "sanitation_system", shp_name="sanitation", aliases=("sanitation",)),
            F("sewer_code", "sewer_code", shp_name="sewer_code"),
            F("drain_code", "drain_code", shp_name="drain_code"),
            F("is_desludging_vehicle_accessible", "is_desludging_vehicle_accessible", shp_name="vehicle_ok"),
            F("verification_status", "verification_status", shp_name="verified"),
            SURVEYED,
            F("nearest_road", export_sql="r.code", shp_name="road", help=_("Nearest road code (derived).")),
            F("road_distance_m", export_sql="round(t.road_distance_m::numeric, 1)::float8", shp_name="road_dist",
              help=_("Distance to the nearest road in metres (derived).")),
            F("road_link_status", export_sql="t.road_link_status", shp_name="road_link",
              help=_("linked, ambiguous, far or none (derived).")),
        ),
        joins=("LEFT JOIN registry_holding h ON h.id = t.holding_id " + WARD_JOIN
               + " LEFT JOIN registry_road r ON r.id = t.nearest_road_id"),
        order=40,
    ),
    LayerSpec(
        "containments", _("Containments"), registry.Containment, key="code", geometry="location",
        geometry_type="Point", feature=None, derives_ward=True,
        fields=(
            F("code", "code", required=True, upper=True, aliases=("containment_code", "containment_id")),
            F("type", "type", required=True, aliases=("containment_type",)),
            F("outlet", "outlet"),
            F("length_m", "length_m", aliases=("length",)), F("width_m", "width_m", aliases=("width",)),
            F("diameter_m", "diameter_m", shp_name="diameter", aliases=("diameter",)),
            F("depth_m", "depth_m", aliases=("depth",)),
            F("volume_m3", "volume_m3", shp_name="volume", aliases=("volume", "size_m3")),
            F("construction_year", "construction_year", shp_name="built_year", aliases=("year_built",)),
            F("last_emptied_on", "last_emptied_on", shp_name="emptied_on", aliases=("last_emptied",)),
            F("times_emptied", "times_emptied", shp_name="times_empt"),
            SURVEYED,
            F("buildings", lookup=Lookup("registry_building", "bin", upper=True, many=True),
              shp_name="buildings", aliases=("bins", "building_bins", "bin"),
              export_sql=("(SELECT string_agg(b.bin, ';' ORDER BY b.bin) FROM registry_containment_buildings cb "
                          "JOIN registry_building b ON b.id = cb.building_id WHERE cb.containment_id = t.id)"),
              help=_("BINs of the buildings it serves, separated by ';'.")),
            WARD_NUMBER,
            F("next_emptying_due", export_sql="t.next_emptying_due", shp_name="due_on",
              help=_("Next emptying due (derived).")),
        ),
        joins=WARD_JOIN, order=50,
    ),
    LayerSpec(
        "drains", _("Drains"), registry.Drain, key="code", geometry="geom", geometry_type="LineString",
        fields=(F("code", "code", required=True, aliases=("drain_code",)), F("kind", "kind"),
                F("is_covered", "is_covered", shp_name="covered", aliases=("covered",)),
                F("size_mm", "size_mm", aliases=("size",)),
                F("treatment_plant", "treatment_plant", lookup=Lookup("registry_treatmentplant", "name", unique=False),
                  export_sql="p.name", shp_name="plant")),
        joins="LEFT JOIN registry_treatmentplant p ON p.id = t.treatment_plant_id", order=60,
    ),
    LayerSpec(
        "sewers", _("Sewers"), registry.Sewer, key="code", geometry="geom", geometry_type="LineString",
        feature="sewer",
        fields=(F("code", "code", required=True, aliases=("sewer_code",)),
                F("diameter_mm", "diameter_mm", shp_name="diameter", aliases=("diameter",)),
                F("treatment_plant", "treatment_plant", lookup=Lookup("registry_treatmentplant", "name", unique=False),
                  export_sql="p.name", shp_name="plant")),
        joins="LEFT JOIN registry_treatmentplant p ON p.id = t.treatment_plant_id", order=61,
    ),
    LayerSpec(
        "water_lines", _("Water supply lines"), registry.WaterLine, key="code", geometry="geom",
        geometry_type="LineString", feature="water_supply",
        fields=(F("code", "code", required=True), F("diameter_mm", "diameter_mm", shp_name="diameter",
                                                   aliases=("diameter",)),
                F("material", "material")),
        order=62,
    ),
    LayerSpec(
        "water_bodies", _("Water bodies"), registry.WaterBody, geometry="geom", geometry_type="Polygon",
        fields=(F("name", "name"), F("kind", "kind")), order=70,
    ),
    LayerSpec(
        "waterlogging", _("Water-logging areas"), registry.WaterloggingArea, geometry="geom",
        geometry_type="Polygon", fields=(F("name", "name"), F("severity", "severity")), order=71,
    ),
    LayerSpec(
        "low_income_communities", _("Low-income communities"), registry.LowIncomeCommunity, key="name",
        geometry="geom", geometry_type="Polygon",
        fields=(F("name", "name", required=True), F("households", "households"),
                F("population", "population")),
        order=72,
    ),
    LayerSpec(
        "toilets", _("Public and community toilets"), registry.PublicToilet, geometry="location",
        geometry_type="Point", derives_ward=True,
        fields=(F("name", "name", required=True), F("kind", "kind"),
                F("seats_male", "seats_male", shp_name="seats_m"), F("seats_female", "seats_female",
                                                                     shp_name="seats_f"),
                F("seats_pwd", "seats_pwd", shp_name="seats_pwd"),
                F("has_universal_design", "has_universal_design", shp_name="universal"),
                F("fee_bdt", "fee_bdt", shp_name="fee_bdt", aliases=("fee",)), WARD_NUMBER),
        joins=WARD_JOIN, order=80,
    ),
]}


def layer_specs_for(municipality) -> list[LayerSpec]:
    """The layers this municipality may import and export: a disabled feature's layers are not offered."""
    features = enabled_features_of(municipality)
    return sorted((spec for spec in LAYER_SPECS.values() if spec.feature is None or spec.feature in features),
                  key=lambda spec: spec.order)


def layer_spec_for(municipality, name: str) -> LayerSpec | None:
    spec = LAYER_SPECS.get(name)
    if spec is None or (spec.feature and spec.feature not in enabled_features_of(municipality)):
        return None
    return spec


@dataclass
class DictionaryRow:
    name: str
    shp_name: str
    title: str
    type: str
    required: str
    allowed: str
    notes: str = ""
    extra: dict = field(default_factory=dict)


def data_dictionary(spec: LayerSpec) -> list[DictionaryRow]:
    """One row per column of the layer's files: what it holds, its type and allowed values."""
    rows = []
    if spec.geometry:
        rows.append(DictionaryRow("geometry", "", str(_("Geometry")), spec.geometry_type,
                                  str(_("yes")), "EPSG:4326",
                                  str(_("WKT in CSV and Excel; the file's geometry elsewhere."))))
    types = spec.types
    for f in spec.fields:
        if not f.is_importable:
            title = str(f.help)
            rows.append(DictionaryRow(f.name, f.shp_name or f.name, title, "", "", "", str(_("read only"))))
            continue
        kind = types[f.name]
        model_field = spec.model._meta.get_field(f.model_field) if not (f.lookup and f.lookup.many) else None
        title = str(model_field.verbose_name) if model_field is not None else str(f.help)
        allowed = ""
        if kind.kind == "choice":
            allowed = ", ".join(value for value, _label in kind.choices if value)
        elif kind.kind == "int":
            if kind.maximum is not None and kind.maximum < 32767:
                allowed = f"{int(kind.minimum)}–{int(kind.maximum)}"
            else:
                allowed = str(_("a whole number from %(min)s")) % {"min": int(kind.minimum)}
        elif kind.kind == "decimal":
            allowed = str(_("up to %(places)s decimal places")) % {"places": kind.decimal_places}
        elif kind.kind == "bool":
            allowed = "true, false" + (", " + str(_("blank")) if kind.nullable else "")
        elif kind.kind in ("date", "datetime"):
            allowed = "YYYY-MM-DD" + (" HH:MM " + str(_("(local time unless an offset is given)"))
                                      if kind.kind == "datetime" else "")
        elif kind.kind == "holding_id":
            allowed = str(_("the municipality's holding ID pattern"))
        elif kind.max_length:
            allowed = str(_("at most %(n)s characters")) % {"n": kind.max_length}
        notes = []
        if f.name == spec.key:
            notes.append(str(_("unique key")))
        if f.lookup:
            notes.append(str(f.help) if f.help else str(_("refers to %(table)s by %(column)s"))
                         % {"table": f.lookup.table.removeprefix("registry_"), "column": f.lookup.column})
        if kind.default not in (None, "") and not f.required:
            default = {True: "true", False: "false"}.get(kind.default, kind.default) \
                if isinstance(kind.default, bool) else kind.default
            notes.append(str(_("blank means %(default)s")) % {"default": default})
        rows.append(DictionaryRow(f.name, f.shp_name or f.name, title, kind.kind, str(_("yes")) if f.required else "",
                                  allowed, "; ".join(notes)))
    return rows
