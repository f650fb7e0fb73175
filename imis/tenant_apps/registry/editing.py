"""Digitising: geometry edits made on the map (/map/digitise/), for every registry layer that has a shape.

The map page calls these services; they call the registry's own create/update services for buildings and
containments (the same validation as the registry forms: valid polygon, plausible area in m², one ward per
holding, containment distance ...) and the model's own validation for the other layers. On top of that:

- optimistic locking: every feature carries a version (its `updated` time in microseconds); a save with a version
  other than the current one is refused, naming who changed the feature and when, never overwritten silently;
- building footprints may not overlap unless the officer confirms it;
- new buildings get the next free BIN and are "digitised, not verified" until a field survey checks them;
- every edit is audited with before/after geometry (the audit bumps the data version, so tiles change at once);
- a feature's history comes from its audit entries, and any version of it can be restored (audited too).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import connection, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.platform.errors import field_error
from imis.platform.permissions import require_permission
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record

from . import services
from .models import (
    Building,
    Containment,
    Drain,
    LowIncomeCommunity,
    Road,
    Sewer,
    TreatmentPlant,
    Ward,
    WaterBody,
    WaterLine,
)

DIGITISE = "registry.digitise"
# Two footprints sharing an edge (snapped) intersect in a sliver of rounding error, not in an overlap.
OVERLAP_TOLERANCE_M2 = 0.5
BIN_SERIES = "building_bin"
BIN_PATTERN = "B-{n:07d}"
_BIN_NUMBER = re.compile(r"^B-(\d+)$")
_GEOMETRY_TYPES = {"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon"}


@dataclass(frozen=True)
class Layer:
    name: str
    model: type
    geometry: str
    attributes: tuple[str, ...]
    label: object

    @property
    def geometry_type(self) -> str:
        return _GEOMETRY_TYPES[self.model._meta.get_field(self.geometry).geom_type]


LAYERS: dict[str, Layer] = {layer.name: layer for layer in (
    Layer("buildings", Building, "footprint", ("bin", "holding", "functional_use", "structure_type", "floors",
                                               "construction_year", "households", "population_male",
                                               "population_female", "population_other",
                                               "population_differently_abled", "is_low_income", "water_source",
                                               "water_customer_id", "has_toilet", "toilet_count",
                                               "has_shared_toilet", "sanitation_system", "sewer_code",
                                               "drain_code", "is_desludging_vehicle_accessible",
                                               "verification_status", "surveyed_at"),
          gettext_lazy("building")),
    Layer("roads", Road, "geom", ("code", "name", "hierarchy", "width_m", "surface"), gettext_lazy("road")),
    Layer("drains", Drain, "geom", ("code", "kind", "is_covered", "size_mm", "treatment_plant"),
          gettext_lazy("drain")),
    Layer("sewers", Sewer, "geom", ("code", "diameter_mm", "treatment_plant"), gettext_lazy("sewer")),
    Layer("water_lines", WaterLine, "geom", ("code", "diameter_mm", "material"), gettext_lazy("water line")),
    Layer("water_bodies", WaterBody, "geom", ("name", "kind"), gettext_lazy("water body")),
    Layer("low_income_communities", LowIncomeCommunity, "geom", ("name", "households", "population"),
          gettext_lazy("low-income community")),
    Layer("wards", Ward, "boundary", ("number", "name", "name_bn"), gettext_lazy("ward")),
    Layer("containments", Containment, "location", ("code", "type", "outlet", "length_m", "width_m", "diameter_m",
                                                   "depth_m", "volume_m3", "construction_year", "last_emptied_on"),
          gettext_lazy("containment")),
    Layer("treatment_plants", TreatmentPlant, "location", ("name", "type", "capacity_m3_per_day", "status"),
          gettext_lazy("treatment plant")),
)}


def layer_get(name: str) -> Layer:
    try:
        return LAYERS[name]
    except KeyError:
        raise field_error({"layer": _("There is no layer “%(name)s” to edit.") % {"name": name}},
                          code="unknown_layer") from None


def feature_get(*, layer: Layer, pk) -> object:
    """The feature, or ObjectDoesNotExist (another municipality's id is simply not in this schema)."""
    return layer.model.objects.get(pk=pk)


def feature_version(instance) -> int:
    return int(instance.updated.timestamp() * 1_000_000)


# --- geometry -----------------------------------------------------------------------------------------

def geometry_parse(value, *, field: str) -> GEOSGeometry:
    """GeoJSON (text or dict), WKT or EWKT; WGS 84 unless it says otherwise."""
    if value is None or value == "":
        raise field_error({field: _("Draw the shape on the map.")}, code="required")
    if isinstance(value, GEOSGeometry):
        geometry = value.clone()
    else:
        try:
            geometry = GEOSGeometry(json.dumps(value) if isinstance(value, dict) else str(value).strip())
        except (ValueError, TypeError, GEOSException, GDALException) as error:
            raise field_error({field: _("The shape is not a readable geometry.")},
                              code="invalid_geometry") from error
    if geometry.srid is None:
        geometry.srid = 4326
    if geometry.srid != 4326:
        geometry = geometry.transform(4326, clone=True)
    return geometry


def geometry_validate(value, *, layer: Layer) -> GEOSGeometry:
    """A shape fit for the layer: its type, valid, not empty, in the world's coordinates. Buildings' footprints
    go through the registry's footprint_validate (area in m²) instead."""
    field = layer.geometry
    if layer.model is Building:
        return services.footprint_validate(geometry_parse(value, field=field))
    geometry = geometry_parse(value, field=field)
    wanted = layer.geometry_type
    if wanted == "MultiPolygon" and geometry.geom_type == "Polygon":
        geometry = MultiPolygon(geometry, srid=4326)
    if wanted != "MultiPolygon" and geometry.geom_type == f"Multi{wanted}" and len(geometry) == 1:
        geometry = geometry[0]
    if geometry.geom_type != wanted:
        raise field_error({field: _("A %(layer)s must be drawn as a %(wanted)s, not a %(type)s.")
                           % {"layer": layer.label, "wanted": wanted, "type": geometry.geom_type}},
                          code="wrong_geometry_type")
    if geometry.empty or not geometry.valid:
        raise field_error({field: _("The shape is not valid (%(reason)s).") % {"reason": geometry.valid_reason}},
                          code="invalid_geometry")
    for lon, lat in (geometry.extent[:2], geometry.extent[2:]):
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise field_error({field: _("The shape lies outside the world's coordinates.")}, code="out_of_range")
    if wanted == "LineString" and len(set(geometry.coords)) < 2:
        raise field_error({field: _("A line needs at least two different points.")}, code="invalid_geometry")
    return geometry


def footprint_overlaps(footprint: GEOSGeometry, *, exclude_ids=()) -> list[str]:
    """BINs of the buildings whose footprints overlap this one by more than a sliver."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bin FROM registry_building WHERE footprint && ST_GeomFromEWKT(%s) AND NOT (id = ANY(%s)) "
            "AND ST_Area(ST_Intersection(footprint, ST_GeomFromEWKT(%s))::geography) > %s ORDER BY bin",
            [footprint.ewkt, [int(pk) for pk in exclude_ids], footprint.ewkt, OVERLAP_TOLERANCE_M2],
        )
        return [row[0] for row in cursor.fetchall()]


def _check_overlap(footprint, *, exclude_ids=(), confirm_overlap: bool) -> None:
    if confirm_overlap:
        return
    overlapping = footprint_overlaps(footprint, exclude_ids=exclude_ids)
    if overlapping:
        raise field_error(
            {"footprint": _("The footprint overlaps building(s) %(bins)s. Adjust it, or confirm the overlap if "
                            "the buildings really do overlap.") % {"bins": ", ".join(overlapping)}},
            code="overlap",
        )


# --- numbering and locking ----------------------------------------------------------------------------

def building_bin_next() -> str:
    """The next free BIN of the B-0000001 series (the registry's own numbering), gap-free per transaction."""
    from imis.tenant_apps.tax.models import ReceiptCounter
    from imis.tenant_apps.tax.numbering import number_next

    candidate = number_next(BIN_SERIES, BIN_PATTERN)
    if not Building.objects.filter(bin=candidate).exists():
        return candidate
    # Imported BINs already use the series: continue after the highest one.
    highest = max((int(match.group(1)) for bin_ in Building.objects.filter(bin__regex=r"^B-[0-9]+$")
                   .values_list("bin", flat=True).iterator() if (match := _BIN_NUMBER.match(bin_))), default=0)
    ReceiptCounter.objects.filter(series=BIN_SERIES).update(last_number=highest)
    return number_next(BIN_SERIES, BIN_PATTERN)


def _locked(layer: Layer, pk, version) -> object:
    """The feature locked for this transaction, if the caller saw its current version."""
    instance = layer.model.objects.select_for_update().get(pk=pk)
    if version is None or str(version).strip() == "":
        raise field_error({"version": _("The edit does not say which version of the feature it changes.")},
                          code="version_required")
    try:
        seen = int(version)
    except (TypeError, ValueError):
        seen = None
    if seen != feature_version(instance):
        last = (AuditEntry.objects.filter(model=layer.model._meta.label_lower, object_id=str(instance.pk))
                .order_by("-created", "-pk").first())
        raise field_error(
            {"version": _("This %(layer)s was changed by %(who)s at %(when)s since you opened it. Reload it to see "
                          "the change, then make your edit again.")
             % {"layer": layer.label, "who": last.actor_label if last else _("someone else"),
                "when": date_format(timezone.localtime(instance.updated), "DATETIME_FORMAT")}},
            code="stale_version",
        )
    return instance


# --- generic layers (no service of their own) ---------------------------------------------------------

def _generic_apply(instance, layer: Layer, changes: dict) -> None:
    unknown = set(changes) - {layer.geometry, *layer.attributes}
    if unknown:
        raise ValidationError(_("Unknown field(s): %(names)s") % {"names": ", ".join(sorted(unknown))},
                              code="unknown_field")
    for name, value in changes.items():
        setattr(instance, name, value)
    try:
        instance.full_clean(exclude=[layer.geometry])
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            first = next(iter(error.error_dict.values()))[0]
            error.code = getattr(first, "code", None) or "invalid"
        raise


def _roads_relink(building_ids: list[int], *, by) -> None:
    """A road changed: the buildings it can concern get their nearest road decided again (audited per building)."""
    if building_ids:
        services.buildings_link_nearest_roads(by=by, building_ids=building_ids)


def _generic_create(layer: Layer, fields: dict, by):
    with transaction.atomic():
        instance = layer.model()
        _generic_apply(instance, layer, fields)
        instance.save()
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=instance, after=services.snapshot(instance))
        if layer.model is Road:
            _roads_relink(services.road_relink_candidates(geometries=[instance.geom]), by=by)
    return instance


def _generic_update(layer: Layer, instance, changes: dict, by):
    with transaction.atomic():
        instance = layer.model.objects.select_for_update().get(pk=instance.pk)
        before = services.snapshot(instance)
        old_geometry = getattr(instance, layer.geometry)
        _generic_apply(instance, layer, changes)
        instance.save()
        old, new = services._changed(before, services.snapshot(instance))
        if new:
            audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=instance, before=old, after=new)
        if layer.model is Road and layer.geometry in changes and not old_geometry.equals_exact(instance.geom, 0):
            _roads_relink(services.road_relink_candidates(geometries=[old_geometry, instance.geom],
                                                          road_id=instance.pk), by=by)
    return instance


# --- the services the map page calls ------------------------------------------------------------------

def feature_create(*, layer: Layer, geometry, by, attributes: dict | None = None, building_ids=None,
                   confirm_overlap: bool = False):
    """Draw a new feature. Buildings get the next BIN (unless one is given) and are "digitised, not verified"."""
    require_permission(by, DIGITISE, action=_("digitise the map"))
    fields = dict(attributes or {})
    shape = geometry_validate(geometry, layer=layer)
    fields[layer.geometry] = shape
    with transaction.atomic():
        if layer.model is Building:
            _check_overlap(shape, confirm_overlap=confirm_overlap)
            if not (fields.get("bin") or "").strip():
                fields["bin"] = building_bin_next()
            fields["verification_status"] = Building.Verification.DIGITISED
            return services.building_create(by=by, **fields)
        if layer.model is Containment:
            return services.containment_create(by=by, building_ids=building_ids, **fields)
        return _generic_create(layer, fields, by)


def feature_update(*, layer: Layer, pk, version, by, geometry=None, attributes: dict | None = None,
                   building_ids=None, confirm_overlap: bool = False):
    """Reshape or move a feature (new geometry) and/or change its attributes, if `version` is still current."""
    require_permission(by, DIGITISE, action=_("digitise the map"))
    changes = dict(attributes or {})
    if geometry is not None:
        changes[layer.geometry] = geometry_validate(geometry, layer=layer)
    with transaction.atomic():
        instance = _locked(layer, pk, version)
        if layer.model is Building:
            if layer.geometry in changes:
                _check_overlap(changes["footprint"], exclude_ids=[instance.pk], confirm_overlap=confirm_overlap)
            return services.building_update(building=instance, by=by, **changes)
        if layer.model is Containment:
            return services.containment_update(containment=instance, by=by, building_ids=building_ids, **changes)
        return _generic_update(layer, instance, changes, by)


def _delete_audited(instance, *, by) -> None:
    before = services.snapshot(instance)
    label = str(instance)
    relink = (services.road_relink_candidates(geometries=[instance.geom], road_id=instance.pk)
              if isinstance(instance, Road) else [])
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError) as error:
        used_by = sorted({obj._meta.verbose_name for obj in error.protected_objects if hasattr(obj, "_meta")}
                         if hasattr(error, "protected_objects") else set())
        raise field_error({"__all__": _("%(feature)s cannot be deleted: records refer to it (%(what)s).")
                           % {"feature": label, "what": ", ".join(str(name) for name in used_by)}},
                          code="in_use") from error
    pk = before.get("id")
    instance.pk = pk
    audit_record(actor=by, action=AuditEntry.Action.DELETE, instance=instance, before=before)
    _roads_relink(relink, by=by)


def feature_delete(*, layer: Layer, pk, version, by) -> None:
    require_permission(by, DIGITISE, action=_("digitise the map"))
    with transaction.atomic():
        instance = _locked(layer, pk, version)
        _delete_audited(instance, by=by)


def building_split(*, pk, version, line, by) -> tuple[Building, Building]:
    """Cut a footprint in two along a drawn line. The larger part keeps the building (BIN, holding, attributes);
    the other becomes a new building with the next BIN, a copy of the attributes, "digitised, not verified"."""
    require_permission(by, DIGITISE, action=_("digitise the map"))
    cut = geometry_parse(line, field="line")
    if cut.geom_type != "LineString" or not cut.valid:
        raise field_error({"line": _("Draw the cut as a single line across the footprint.")},
                          code="wrong_geometry_type")
    with transaction.atomic():
        building = _locked(LAYERS["buildings"], pk, version)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ST_AsEWKT(d.geom) FROM registry_building b, "
                "ST_Dump(ST_Split(b.footprint, ST_GeomFromEWKT(%s))) d WHERE b.id = %s "
                "ORDER BY ST_Area(d.geom::geography) DESC", [cut.ewkt, building.pk],
            )
            parts = [GEOSGeometry(row[0]) for row in cursor.fetchall()]
        if len(parts) != 2:
            raise field_error(
                {"line": _("The line must cross the footprint once from side to side (it cut %(n)s part(s)).")
                 % {"n": len(parts)}}, code="split_failed")
        larger, smaller = (services.footprint_validate(part) for part in parts)
        copied = {name: getattr(building, name) for name in LAYERS["buildings"].attributes
                  if name not in ("bin", "verification_status")}
        kept = services.building_update(building=building, by=by, footprint=larger)
        other = services.building_create(by=by, bin=building_bin_next(), footprint=smaller,
                                         verification_status=Building.Verification.DIGITISED, **copied)
    return kept, other


def buildings_merge(*, pk, version, other_pk, other_version, by) -> Building:
    """Join two adjacent footprints. The first building keeps its BIN and attributes and takes the other's
    containments (and holding, if it had none); the other building is deleted. Both versions must be current."""
    require_permission(by, DIGITISE, action=_("digitise the map"))
    layer = LAYERS["buildings"]
    if str(pk) == str(other_pk):
        raise field_error({"other": _("Choose two different buildings to merge.")}, code="same_building")
    with transaction.atomic():
        first_pk, second_pk = sorted([int(pk), int(other_pk)])  # lock in a fixed order: no deadlock
        locked = {first_pk: None, second_pk: None}
        versions = {int(pk): version, int(other_pk): other_version}
        for key in locked:
            locked[key] = _locked(layer, key, versions[key])
        building, other = locked[int(pk)], locked[int(other_pk)]
        if building.holding_id and other.holding_id and building.holding_id != other.holding_id:
            raise field_error({"other": _("%(a)s and %(b)s belong to different holdings; they cannot be merged.")
                               % {"a": building.bin, "b": other.bin}}, code="different_holdings")
        with connection.cursor() as cursor:
            cursor.execute("SELECT ST_AsEWKT(ST_UnaryUnion(ST_Collect(footprint))) FROM registry_building "
                           "WHERE id IN (%s, %s)", [building.pk, other.pk])
            union = GEOSGeometry(cursor.fetchone()[0])
        if union.geom_type != "Polygon":
            raise field_error({"other": _("%(a)s and %(b)s do not share an edge; only adjacent footprints can be "
                                          "merged.") % {"a": building.bin, "b": other.bin}}, code="not_adjacent")
        containment_ids = list(other.containments.values_list("pk", flat=True))
        changes = {"footprint": union}
        if other.holding_id and not building.holding_id:
            changes["holding"] = other.holding
        _delete_audited(other, by=by)
        merged = services.building_update(building=building, by=by, **changes)
        for containment in Containment.objects.filter(pk__in=containment_ids):
            ids = sorted({*containment.buildings.values_list("pk", flat=True), merged.pk})
            services.containment_update(containment=containment, by=by, building_ids=ids)
    return merged


# --- history and restore ------------------------------------------------------------------------------

def feature_history(*, layer: Layer, pk) -> list[AuditEntry]:
    """The feature's audit entries, newest first (each is a version of it: the state after that entry)."""
    return list(AuditEntry.objects.filter(model=layer.model._meta.label_lower, object_id=str(pk))
                .exclude(action=AuditEntry.Action.SUPPORT).order_by("-created", "-pk"))


def _state_after(entries: list[AuditEntry], entry_id: int, current: dict) -> dict:
    """Roll the current state back over every entry newer than `entry_id` (their `before` values)."""
    state = dict(current)
    for entry in entries:  # newest first
        if entry.pk == int(entry_id):
            return state
        for key, value in (entry.before or {}).items():
            state[key] = value
    raise field_error({"entry": _("That version is not in this feature's history.")}, code="unknown_version")


def feature_restore(*, layer: Layer, pk, entry_id, version, by):
    """Bring back the feature's shape and attributes as they were right after the audit entry `entry_id`."""
    require_permission(by, DIGITISE, action=_("digitise the map"))
    with transaction.atomic():
        instance = _locked(layer, pk, version)
        current = services.snapshot(instance)
        if layer.model is Containment:
            current["building_ids"] = sorted(instance.buildings.values_list("pk", flat=True))
        target = _state_after(feature_history(layer=layer, pk=instance.pk), entry_id, current)
        changes, building_ids = {}, None
        for name in (layer.geometry, *layer.attributes):
            field = layer.model._meta.get_field(name)
            key = field.attname
            if key not in target or target[key] == current.get(key):
                continue
            value = target[key]
            if name == layer.geometry:
                value = GEOSGeometry(value) if value else None
            elif field.is_relation:
                value = field.related_model.objects.filter(pk=value).first() if value is not None else None
            else:
                value = field.to_python(value)
            changes[name] = value
        if layer.model is Containment and target.get("building_ids") != current.get("building_ids"):
            building_ids = target.get("building_ids") or []
        if not changes and building_ids is None:
            return instance
        if layer.model is Building:
            return services.building_update(building=instance, by=by, **changes)
        if layer.model is Containment:
            return services.containment_update(containment=instance, by=by, building_ids=building_ids, **changes)
        return _generic_update(layer, instance, changes, by)


__all__ = [
    "LAYERS", "ObjectDoesNotExist", "building_bin_next", "building_split", "buildings_merge", "feature_create",
    "feature_delete", "feature_get", "feature_history", "feature_restore", "feature_update", "feature_version",
    "footprint_overlaps", "geometry_validate", "layer_get",
]
