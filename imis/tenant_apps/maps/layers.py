"""The map layers: one declaration serves vector tiles, TileJSON, OGC API Features, the map page and legends.

Properties are an allow-list of SQL expressions over the layer's table `t` (and its joins): nothing else about a
feature ever leaves the database through a tile or a collection.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from imis.shared_apps.tenants.features import enabled_features_of


@dataclass(frozen=True)
class Prop:
    name: str
    sql: str
    type: str = "string"  # string | integer | number | boolean | date
    filterable: bool = False


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    table: str
    geom: str
    geometry_type: str  # Polygon | LineString | Point | MultiPolygon
    props: tuple[Prop, ...]
    min_zoom: int = 0
    feature: str | None = None
    joins: str = ""
    where: str = ""
    zoom_where: tuple[tuple[int, str], ...] = ()  # below zoom z, add this condition (thin out at low zooms)
    thematic_of: str | None = None  # thematic layers share a base layer's table
    style_property: str | None = None
    legend: tuple[tuple[str, str, str], ...] = ()  # (value, label, colour)
    colour: str = "#2563eb"
    is_collection: bool = True  # offered through OGC API Features
    sort_order: int = 100
    # properties only vector tiles carry; their SQL may use `bounds.envelope` (the tile, EPSG:3857)
    tile_props: tuple[Prop, ...] = ()

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)


P = Prop
SANITATION_LEGEND = (
    ("sewer", _("Sewer"), "#0ea5e9"),
    ("septic_tank", _("Septic tank"), "#16a34a"),
    ("shared_septic_tank", _("Shared septic tank"), "#4ade80"),
    ("pit", _("Pit / holding tank"), "#eab308"),
    ("onsite_treatment", _("Onsite treatment"), "#14b8a6"),
    ("composting", _("Composting toilet"), "#84cc16"),
    ("community_toilet", _("Community toilet"), "#a855f7"),
    ("shared_toilet", _("Shared toilet"), "#c084fc"),
    ("drain", _("Drain"), "#f97316"),
    ("water_body", _("Water body"), "#dc2626"),
    ("open_ground", _("Open ground"), "#b91c1c"),
    ("open_defecation", _("Open defecation"), "#7f1d1d"),
    ("", _("Not recorded"), "#9ca3af"),
)
DUE_LEGEND = (
    ("overdue", _("Overdue"), "#dc2626"),
    ("due_soon", _("Due within 90 days"), "#f59e0b"),
    ("ok", _("Not due"), "#16a34a"),
    ("unknown", _("No date"), "#9ca3af"),
)
TAX_DUE_LEGEND = (
    ("paid", _("Paid up"), "#16a34a"),
    ("one_year", _("1 year due"), "#f59e0b"),
    ("two_years", _("2 years due"), "#ea580c"),
    ("three_plus", _("3 or more years due"), "#b91c1c"),
    ("not_assessed", _("No holding or no tax record"), "#9ca3af"),
)
WATER_LEGEND = (
    ("connected", _("Municipal supply, connected"), "#2563eb"),
    ("municipal_no_id", _("Municipal supply, no customer ID"), "#7c3aed"),
    ("tube_well", _("Tube well"), "#0d9488"),
    ("surface", _("Pond / surface water"), "#dc2626"),
    ("other", _("Other"), "#f59e0b"),
    ("unknown", _("Not recorded"), "#9ca3af"),
)
BUILDING_PROPS = (
    P("bin", "t.bin"), P("holding_id", "h.holding_id"), P("ward", "w.number", "integer", True),
    P("functional_use", "t.functional_use", filterable=True), P("floors", "t.floors", "integer", True),
    P("sanitation_system", "t.sanitation_system", filterable=True),
    P("verification_status", "t.verification_status", filterable=True),
    P("road_link_status", "t.road_link_status", filterable=True),
    P("is_low_income", "t.is_low_income", "boolean", True),
)
BUILDING_JOINS = ("LEFT JOIN registry_holding h ON h.id = t.holding_id "
                  "LEFT JOIN registry_ward w ON w.id = t.ward_id")

LAYERS: dict[str, Layer] = {layer.name: layer for layer in [
    # `_label`: true in the one tile holding the ward's point on surface, so a ward is named once, not once per tile
    Layer("wards", _("Wards"), "registry_ward", "boundary", "MultiPolygon",
          (P("number", "t.number", "integer", True), P("name", "t.name")), colour="#6366f1", sort_order=10,
          tile_props=(P("_label", "ST_Intersects(ST_Transform(ST_PointOnSurface(t.boundary), 3857), bounds.envelope)",
                        "boolean"),)),
    Layer("buildings", _("Buildings"), "registry_building", "footprint", "Polygon", BUILDING_PROPS, min_zoom=14,
          joins=BUILDING_JOINS, colour="#64748b", sort_order=20),
    Layer("containments", _("Containments"), "registry_containment", "location", "Point",
          (P("code", "t.code"), P("type", "t.type", filterable=True), P("outlet", "t.outlet", filterable=True),
           P("volume_m3", "t.volume_m3::float8", "number"), P("next_emptying_due", "t.next_emptying_due::text", "date"),
           P("ward", "w.number", "integer", True)),
          min_zoom=15, joins="LEFT JOIN registry_ward w ON w.id = t.ward_id", colour="#92400e", sort_order=30),
    Layer("roads", _("Roads"), "registry_road", "geom", "LineString",
          (P("code", "t.code"), P("name", "t.name"), P("hierarchy", "t.hierarchy", filterable=True),
           P("width_m", "t.width_m::float8", "number"), P("surface", "t.surface", filterable=True)),
          min_zoom=10, zoom_where=((13, "t.hierarchy IN ('primary', 'secondary')"),
                                   (15, "t.hierarchy IN ('primary', 'secondary', 'tertiary')")),
          colour="#475569", sort_order=40),
    Layer("drains", _("Drains"), "registry_drain", "geom", "LineString",
          (P("code", "t.code"), P("kind", "t.kind", filterable=True), P("is_covered", "t.is_covered", "boolean")),
          min_zoom=13, colour="#0891b2", sort_order=50),
    Layer("sewers", _("Sewers"), "registry_sewer", "geom", "LineString",
          (P("code", "t.code"), P("diameter_mm", "t.diameter_mm", "integer")), min_zoom=12, feature="sewer",
          colour="#7c3aed", sort_order=60),
    Layer("water_lines", _("Water supply lines"), "registry_waterline", "geom", "LineString",
          (P("code", "t.code"), P("diameter_mm", "t.diameter_mm", "integer"), P("material", "t.material")),
          min_zoom=12, feature="water_supply", colour="#2563eb", sort_order=70),
    Layer("water_bodies", _("Water bodies"), "registry_waterbody", "geom", "Polygon",
          (P("name", "t.name"), P("kind", "t.kind", filterable=True)), min_zoom=11, colour="#38bdf8", sort_order=15),
    Layer("waterlogging", _("Water-logging areas"), "registry_waterloggingarea", "geom", "Polygon",
          (P("name", "t.name"), P("severity", "t.severity", filterable=True)), min_zoom=10, colour="#0284c7",
          sort_order=16),
    Layer("low_income_communities", _("Low-income communities"), "registry_lowincomecommunity", "geom", "Polygon",
          (P("name", "t.name"), P("households", "t.households", "integer"), P("population", "t.population", "integer")),
          min_zoom=10, colour="#db2777", sort_order=17),
    Layer("treatment_plants", _("Treatment plants"), "registry_treatmentplant", "location", "Point",
          (P("name", "t.name"), P("type", "t.type", filterable=True), P("status", "t.status", filterable=True),
           P("capacity_m3_per_day", "t.capacity_m3_per_day::float8", "number")), colour="#15803d", sort_order=80),
    Layer("toilets", _("Public and community toilets"), "registry_publictoilet", "location", "Point",
          (P("name", "t.name"), P("kind", "t.kind", filterable=True), P("seats_male", "t.seats_male", "integer"),
           P("seats_female", "t.seats_female", "integer"), P("seats_pwd", "t.seats_pwd", "integer")),
          min_zoom=12, colour="#9333ea", sort_order=85),
    Layer("fsm_applications", _("Emptying applications"), "fsm_application", "location", "Point",
          (P("number", "t.number"), P("status", "t.status", filterable=True),
           P("channel", "t.channel", filterable=True), P("is_emergency", "t.is_emergency", "boolean", True),
           P("received", "t.received_at::date::text", "date")),
          min_zoom=10, feature="fsm", colour="#ea580c", sort_order=90),
    Layer("fsm_not_disposed", _("Emptied, not disposed (possible illegal dumping)"), "fsm_application", "location",
          "Point", (P("number", "t.number"), P("emptied", "t.emptied_at::text", "date"),
                    P("vehicle", "v.registration")),
          joins="LEFT JOIN fsm_vehicle v ON v.id = t.vehicle_id",
          where="t.status = 'emptied' AND t.emptied_at < now() - interval '24 hours'",
          min_zoom=10, feature="fsm", colour="#b91c1c", sort_order=91),
    # outside data (links app): health department's cases and water samples, to read against sanitation
    Layer("disease_cases", _("Waterborne disease cases"), "links_diseasecase", "location", "Point",
          (P("disease", "t.disease", filterable=True), P("kind", "t.kind", filterable=True),
           P("cases", "t.cases", "integer"), P("deaths", "t.deaths", "integer"),
           P("reported_on", "t.reported_on::text", "date"), P("ward", "w.number", "integer", True)),
          joins="LEFT JOIN registry_ward w ON w.id = t.ward_id", min_zoom=10, colour="#be123c", sort_order=92),
    Layer("water_samples", _("Water quality samples"), "links_watersample", "location", "Point",
          (P("sample", "t.sample_code"), P("sampled_on", "t.sampled_on::text", "date"),
           P("cfu_per_100ml", "t.cfu_per_100ml::float8", "number"), P("is_pass", "t.is_pass", "boolean", True),
           P("result", "CASE WHEN t.is_pass THEN 'pass' ELSE 'fail' END"), P("ward", "w.number", "integer", True)),
          joins="LEFT JOIN registry_ward w ON w.id = t.ward_id", min_zoom=10, style_property="result",
          legend=(("pass", _("Passes"), "#16a34a"), ("fail", _("Fails (E. coli above threshold)"), "#dc2626")),
          colour="#0891b2", sort_order=93),
    # thematic layers
    Layer("buildings_sanitation", _("Buildings by sanitation system"), "registry_building", "footprint", "Polygon",
          BUILDING_PROPS, min_zoom=14, joins=BUILDING_JOINS, thematic_of="buildings",
          style_property="sanitation_system", legend=SANITATION_LEGEND, is_collection=False, sort_order=21),
    Layer("containments_emptying_due", _("Containments by emptying due"), "registry_containment", "location", "Point",
          (P("code", "t.code"), P("type", "t.type"), P("next_emptying_due", "t.next_emptying_due::text", "date"),
           P("due_status", "CASE WHEN t.next_emptying_due IS NULL THEN 'unknown' "
                           "WHEN t.next_emptying_due < current_date THEN 'overdue' "
                           "WHEN t.next_emptying_due < current_date + 90 THEN 'due_soon' ELSE 'ok' END")),
          min_zoom=14, feature="fsm", thematic_of="containments", style_property="due_status", legend=DUE_LEGEND,
          is_collection=False, sort_order=31),
]}


def _tax_due_layer() -> Layer:
    # The rule for years due lives with the tax ledger (apportionment to the oldest dues first); the layer joins it.
    from imis.tenant_apps.tax.selectors import holding_years_due_join

    status = ("CASE WHEN tax_due.balance IS NULL OR (tax_due.balance = 0 AND tax_due.years_due = 0 "
              "AND NOT EXISTS (SELECT 1 FROM tax_ledgerentry l WHERE l.holding_id = t.holding_id)) "
              "THEN 'not_assessed' WHEN tax_due.years_due = 0 THEN 'paid' WHEN tax_due.years_due = 1 THEN 'one_year' "
              "WHEN tax_due.years_due = 2 THEN 'two_years' ELSE 'three_plus' END")
    return Layer("buildings_tax_due", _("Buildings by tax due status"), "registry_building", "footprint", "Polygon",
                 (*BUILDING_PROPS, P("years_due", "tax_due.years_due", "integer", True),
                  P("balance", "tax_due.balance::float8", "number"), P("tax_status", status)),
                 min_zoom=14, feature="holding_tax", joins=BUILDING_JOINS + " " + holding_years_due_join("t.holding_id"),
                 thematic_of="buildings", style_property="tax_status", legend=TAX_DUE_LEGEND, is_collection=False,
                 sort_order=22)


_WATER_STATUS = ("CASE WHEN t.water_source = 'municipal' AND t.water_customer_id <> '' THEN 'connected' "
                 "WHEN t.water_source = 'municipal' THEN 'municipal_no_id' "
                 "WHEN t.water_source IN ('tube_well', 'deep_tube_well') THEN 'tube_well' "
                 "WHEN t.water_source = 'pond' THEN 'surface' WHEN t.water_source = 'other' THEN 'other' "
                 "ELSE 'unknown' END")
LAYERS["buildings_water"] = Layer(
    "buildings_water", _("Buildings by water connection"), "registry_building", "footprint", "Polygon",
    (*BUILDING_PROPS, P("water_source", "t.water_source", filterable=True), P("water_status", _WATER_STATUS)),
    min_zoom=14, feature="water_supply", joins=BUILDING_JOINS, thematic_of="buildings", style_property="water_status",
    legend=WATER_LEGEND, is_collection=False, sort_order=23)
LAYERS["buildings_tax_due"] = _tax_due_layer()


def layers_for(municipality) -> list[Layer]:
    """The layers this municipality may see: a disabled feature's layers are not served."""
    features = enabled_features_of(municipality)
    return sorted((layer for layer in LAYERS.values() if layer.feature is None or layer.feature in features),
                  key=lambda layer: layer.sort_order)


def layer_for(municipality, name: str) -> Layer | None:
    layer = LAYERS.get(name)
    if layer is None or (layer.feature and layer.feature not in enabled_features_of(municipality)):
        return None
    return layer
