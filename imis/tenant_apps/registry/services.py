"""Writes on the registry. Every change is validated, done in one transaction and audited."""

from __future__ import annotations

import datetime
import math
import re
from decimal import Decimal

from django.contrib.gis.geos import GEOSGeometry, Point, Polygon
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.platform.geo import degrees_for
from imis.platform.scratch import scratch_schema
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record, audit_record_many

from .models import Building, Containment, Holding, Owner, Road, Ward

# Sludge and scum may fill this share of a containment before it should be emptied.
EMPTYING_FILL_SHARE = Decimal("0.667")
DEFAULT_ACCUMULATION_L_PER_PERSON_YEAR = Decimal("40")
DEFAULT_MAX_EMPTYING_INTERVAL_YEARS = 5
MIN_EMPTYING_INTERVAL_YEARS = Decimal("0.5")
PERSONS_PER_HOUSEHOLD = Decimal("4.5")
MIN_FOOTPRINT_M2 = 4
MAX_FOOTPRINT_M2 = 200_000
AMBIGUOUS_ROAD_MARGIN_M = 2.0


def current_municipality():
    """The municipality whose schema the connection is on (django-tenants sets it)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or not hasattr(tenant, "holding_id_pattern"):
        raise RuntimeError("Registry services run inside a municipality's schema.")
    return tenant


def snapshot(instance, fields: list[str] | None = None) -> dict:
    """Field values of a model instance as audit-friendly data (geometry as EWKT, FKs as ids)."""
    values = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in ("created", "updated"):
            continue
        value = getattr(instance, field.attname)
        if isinstance(value, GEOSGeometry):
            value = value.ewkt
        values[field.attname] = value
    return values


def _changed(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


# --- holdings -----------------------------------------------------------------------------------------

def holding_id_validate(holding_id: str, *, pattern: str | None = None) -> str:
    holding_id = (holding_id or "").strip().upper()
    pattern = pattern or current_municipality().holding_id_pattern
    if not holding_id:
        raise field_error({"holding_id": _("A holding ID is required.")}, code="required")
    if not re.fullmatch(pattern, holding_id):
        raise field_error(
            {"holding_id": _("“%(value)s” does not match this municipality's holding ID pattern %(pattern)s.")
             % {"value": holding_id, "pattern": pattern}},
            code="invalid_holding_id",
        )
    return holding_id


def _holding_check_unique(holding_id: str, *, exclude_pk=None) -> None:
    if Holding.objects.filter(holding_id=holding_id).exclude(pk=exclude_pk).exists():
        raise field_error({"holding_id": _("Holding ID %(value)s is already registered.") % {"value": holding_id}},
                              code="duplicate_holding_id")


def holding_create(
    *, holding_id: str, ward: Ward, by, road: Road | None = None, address: str = "",
    owners: list[dict] | None = None,
) -> Holding:
    from imis.shared_apps.accounts.services import phone_to_e164

    holding_id = holding_id_validate(holding_id)
    with transaction.atomic():
        _holding_check_unique(holding_id)
        holding = Holding(holding_id=holding_id, ward=ward, road=road, address=(address or "").strip())
        holding.full_clean(exclude=["ward", "road"], validate_unique=False)  # lengths: a clear error, not a 500
        checked = _owners_clean(owners or [], phone_to_e164)
        holding.save()
        for owner in checked:
            Owner.objects.create(holding=holding, **owner)
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=holding, after=snapshot(holding))
    return holding


def holding_update(*, holding: Holding, by, **changes) -> Holding:
    with transaction.atomic():
        holding = Holding.objects.select_for_update().get(pk=holding.pk)
        before = snapshot(holding)
        if "holding_id" in changes:
            changes["holding_id"] = holding_id_validate(changes["holding_id"])
            _holding_check_unique(changes["holding_id"], exclude_pk=holding.pk)
        for name, value in changes.items():
            setattr(holding, name, value)
        if "ward" in changes or "ward_id" in changes:
            _holding_check_single_ward(holding)
        holding.full_clean(exclude=["ward", "road"], validate_unique=False)
        holding.save()
        old, new = _changed(before, snapshot(holding))
        if new:
            audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=holding, before=old, after=new)
    return holding


def _owners_clean(owners: list[dict], phone_to_e164) -> list[dict]:
    """Each owner checked like the model would (name required, lengths, gender choice); errors name the owner."""
    cleaned = []
    for index, owner in enumerate(owners):
        name = (owner.get("name") or "").strip()
        if not name:
            raise field_error({"owners": _("Owner %(n)s needs a name.") % {"n": index + 1}}, code="required")
        row = {"name": name, "phone": phone_to_e164(owner.get("phone", "")),
               "national_id": (owner.get("national_id") or "").strip(), "gender": owner.get("gender", "") or ""}
        try:
            Owner(**row).full_clean(exclude=["holding"], validate_unique=False)
        except ValidationError as error:
            details = "; ".join(f"{Owner._meta.get_field(field).verbose_name}: {' '.join(messages)}"
                                for field, messages in error.message_dict.items())
            raise field_error({"owners": _("Owner %(n)s: %(details)s") % {"n": index + 1, "details": details}},
                              code="invalid") from error
        cleaned.append(row)
    return cleaned


def holding_owners_set(*, holding: Holding, owners: list[dict], by) -> Holding:
    """Replace a holding's owners (name, phone, national ID, gender), validated and audited as one change."""
    from imis.shared_apps.accounts.services import phone_to_e164

    cleaned = _owners_clean(owners, phone_to_e164)
    with transaction.atomic():
        holding = Holding.objects.select_for_update().get(pk=holding.pk)
        before = list(holding.owners.order_by("pk").values("name", "phone", "national_id", "gender"))
        if before == cleaned:
            return holding
        holding.owners.all().delete()
        Owner.objects.bulk_create([Owner(holding=holding, **owner) for owner in cleaned])
        audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=holding, before={"owners": before},
                     after={"owners": cleaned})
    return holding


def _holding_check_single_ward(holding: Holding, *, extra_ward_id=None) -> None:
    """A holding's buildings lie in its ward, unless someone confirmed otherwise."""
    if holding.is_multi_ward_confirmed:
        return
    wards = set(holding.buildings.exclude(ward__isnull=True).values_list("ward_id", flat=True))
    if extra_ward_id:
        wards.add(extra_ward_id)
    if wards - {holding.ward_id}:
        raise field_error(
            {"holding": _("The buildings of holding %(holding)s would lie in more than one ward. Confirm it on the "
                          "holding if that is right.") % {"holding": holding.holding_id}},
            code="multi_ward_holding",
        )


# --- buildings ----------------------------------------------------------------------------------------

def footprint_area_m2(footprint: Polygon) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Area(ST_GeomFromEWKT(%s)::geography)", [footprint.ewkt])
        return float(cursor.fetchone()[0])


def footprint_validate(footprint) -> Polygon:
    if footprint is None:
        raise field_error({"footprint": _("Draw the building's footprint.")}, code="required")
    if not isinstance(footprint, GEOSGeometry):
        try:
            footprint = GEOSGeometry(str(footprint))
        except (ValueError, TypeError) as error:
            raise field_error({"footprint": _("The footprint is not a readable geometry.")},
                                  code="invalid_geometry") from error
    if footprint.srid is None:
        footprint.srid = 4326
    if footprint.geom_type == "MultiPolygon" and len(footprint) == 1:
        footprint = footprint[0]
    if footprint.geom_type != "Polygon":
        raise field_error({"footprint": _("A footprint must be a polygon, not a %(type)s.")
                               % {"type": footprint.geom_type}}, code="wrong_geometry_type")
    if footprint.srid != 4326:
        footprint = footprint.transform(4326, clone=True)
    if footprint.empty or not footprint.valid:
        raise field_error({"footprint": _("The footprint is not a valid polygon (%(reason)s).")
                               % {"reason": footprint.valid_reason}}, code="invalid_geometry")
    lon, lat = footprint.centroid.coords
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise field_error({"footprint": _("The footprint lies outside the world's coordinates.")},
                              code="out_of_range")
    area = footprint_area_m2(footprint)
    if not MIN_FOOTPRINT_M2 <= area <= MAX_FOOTPRINT_M2:
        raise field_error(
            {"footprint": _("A footprint of %(area).0f m² is not plausible (%(low)s–%(high)s m²).")
             % {"area": area, "low": MIN_FOOTPRINT_M2, "high": MAX_FOOTPRINT_M2}},
            code="implausible_area",
        )
    return footprint


def ward_at(point: Point) -> Ward | None:
    return Ward.objects.filter(boundary__intersects=point).order_by("number").first()


BUILDING_EDITABLE = {
    "bin", "footprint", "holding", "structure_type", "floors", "construction_year", "functional_use",
    "households", "population_male", "population_female", "population_other", "population_differently_abled",
    "is_low_income", "water_source", "water_customer_id", "has_toilet", "toilet_count", "has_shared_toilet",
    "sanitation_system", "sewer_code", "drain_code", "is_desludging_vehicle_accessible", "verification_status",
    "surveyed_at",
}


def _building_apply(building: Building, changes: dict) -> None:
    unknown = set(changes) - BUILDING_EDITABLE
    if unknown:
        raise ValidationError(_("Unknown building field(s): %(names)s") % {"names": ", ".join(sorted(unknown))},
                              code="unknown_field")
    if "bin" in changes:
        changes["bin"] = (changes["bin"] or "").strip().upper()
        if not changes["bin"]:
            raise field_error({"bin": _("A BIN is required.")}, code="required")
        if Building.objects.filter(bin=changes["bin"]).exclude(pk=building.pk).exists():
            raise field_error({"bin": _("BIN %(bin)s is already registered.") % {"bin": changes["bin"]}},
                                  code="duplicate_bin")
    if "footprint" in changes:
        changes["footprint"] = footprint_validate(changes["footprint"])
    for name, value in changes.items():
        setattr(building, name, value)
    if "footprint" in changes:
        building.ward = ward_at(building.footprint.point_on_surface)
    if building.has_toilet is False and building.toilet_count:
        raise field_error({"toilet_count": _("A building without a toilet cannot have toilets counted.")},
                              code="inconsistent_toilets")
    if building.holding_id and ("holding" in changes or "footprint" in changes):
        _holding_check_single_ward(Holding.objects.get(pk=building.holding_id), extra_ward_id=building.ward_id)
    building.full_clean(exclude=["footprint", "holding", "ward", "nearest_road"], validate_unique=False)


def building_create(*, by, **fields) -> Building:
    if "bin" not in fields:
        raise field_error({"bin": _("A BIN is required.")}, code="required")
    if "footprint" not in fields:
        raise field_error({"footprint": _("Draw the building's footprint.")}, code="required")
    with transaction.atomic():
        building = Building()
        _building_apply(building, dict(fields))
        building.save()
        building_link_nearest_road(building=building, by=None, audit=False)
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=building, after=snapshot(building))
    return building


def building_update(*, building: Building, by, **changes) -> Building:
    with transaction.atomic():
        building = Building.objects.select_for_update().get(pk=building.pk)
        before = snapshot(building)
        _building_apply(building, dict(changes))
        building.save()
        if "footprint" in changes:
            building_link_nearest_road(building=building, by=None, audit=False)
        old, new = _changed(before, snapshot(building))
        if new:
            audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=building, before=old, after=new)
    return building


BULK_EDITABLE = {"verification_status", "functional_use", "structure_type", "sanitation_system", "water_source",
                 "is_low_income", "is_desludging_vehicle_accessible"}


def buildings_bulk_update(*, building_ids: list[int], by, **changes) -> int:
    """Set the same values on many buildings: one UPDATE, one audit row per building that changed."""
    unknown = set(changes) - BULK_EDITABLE
    if unknown:
        raise ValidationError(_("These fields cannot be changed in bulk: %(names)s")
                              % {"names": ", ".join(sorted(unknown))}, code="not_bulk_editable")
    probe = Building(**{name: value for name, value in changes.items()})
    probe.full_clean(exclude=[f.name for f in Building._meta.fields if f.name not in changes],
                     validate_unique=False)
    with transaction.atomic():
        rows = list(Building.objects.select_for_update().filter(pk__in=building_ids)
                    .values("pk", "bin", *changes.keys()))
        changed = [row for row in rows if any(row[name] != value for name, value in changes.items())]
        Building.objects.filter(pk__in=[row["pk"] for row in changed]).update(**changes, updated=timezone.now())
        audit_record_many(
            actor=by, action=AuditEntry.Action.BULK_UPDATE,
            rows=[("registry.building", row["pk"], row["bin"], {k: row[k] for k in changes}, changes)
                  for row in changed],
        )
    return len(changed)


# --- nearest road -------------------------------------------------------------------------------------

_NEAREST_ROADS_SQL = """
    SELECT r.id, ST_Distance(r.geom::geography, b.footprint::geography) AS metres
    FROM registry_building b
    CROSS JOIN LATERAL (
        SELECT id, geom FROM registry_road ORDER BY geom <-> b.footprint LIMIT 4
    ) r
    WHERE b.id = %s ORDER BY metres LIMIT 2
"""


def road_link_classify(distances: list[tuple[int, float]], *, max_distance_m: float) -> tuple[int | None, float | None, str]:
    """(road_id, metres, status) from the two nearest roads: far, ambiguous (two about as near) or linked."""
    if not distances:
        return None, None, Building.RoadLink.NONE
    road_id, metres = distances[0]
    if metres > max_distance_m:
        return road_id, metres, Building.RoadLink.FAR
    if len(distances) > 1 and distances[1][1] - metres < AMBIGUOUS_ROAD_MARGIN_M:
        return road_id, metres, Building.RoadLink.AMBIGUOUS
    return road_id, metres, Building.RoadLink.LINKED


def building_link_nearest_road(*, building: Building, by, audit: bool = True) -> Building:
    with connection.cursor() as cursor:
        cursor.execute(_NEAREST_ROADS_SQL, [building.pk])
        distances = [(row[0], float(row[1])) for row in cursor.fetchall()]
    road_id, metres, status = road_link_classify(
        distances, max_distance_m=current_municipality().road_link_max_distance_m
    )
    before = snapshot(building, ["nearest_road", "road_distance_m", "road_link_status"])
    building.nearest_road_id, building.road_distance_m, building.road_link_status = road_id, metres, status
    Building.objects.filter(pk=building.pk).update(nearest_road_id=road_id, road_distance_m=metres,
                                                   road_link_status=status)
    if audit:
        after = snapshot(building, ["nearest_road", "road_distance_m", "road_link_status"])
        old, new = _changed(before, after)
        if new:
            audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=building, before=old, after=new)
    return building


# Bulk road linking works in the municipality's projected CRS (metres, planar: exact enough over a city, and free of
# the PostGIS 3.3 geography quirk that gives 0 m for a footprint about a metre from a road). Roads and footprints are
# projected once into indexed temporary tables; one spatial join finds every road within ROAD_LINK_SEARCH_M of each
# footprint, which decides every building whose nearest road lies at most ROAD_LINK_SEARCH_M - margin away (a
# runner-up within the margin is then in the join too). The others (far from roads) take an exact KNN (`<->`) index
# scan each. At 156,052 footprints this replaced ~200 s of geography distances (tests/bench/test_dataio.py).
ROAD_LINK_SEARCH_M = 30.0

_ROAD_LINKS_DECIDE_SQL = """
    DROP TABLE IF EXISTS road_link_roads, road_link_buildings, road_link_pairs, road_link_near,
                         road_link_decided;
    CREATE UNLOGGED TABLE road_link_roads AS
        SELECT id, ST_Transform(geom, %(srid)s) AS g FROM registry_road WHERE NOT ST_IsEmpty(geom);
    CREATE INDEX ON road_link_roads USING gist (g);
    ANALYZE road_link_roads;
    -- Each road finds the footprints near it through their index; a few thousand roads are below PostgreSQL's
    -- size for a parallel scan, but each of them costs many distance computations: split them over the workers.
    ALTER TABLE road_link_roads SET (parallel_workers = 2);
    CREATE UNLOGGED TABLE road_link_buildings AS
        SELECT id, ST_Transform(footprint, %(srid)s) AS g FROM ({source}) s (id, footprint);
    CREATE INDEX ON road_link_buildings USING gist (g);
    ANALYZE road_link_buildings (id);
    CREATE UNLOGGED TABLE road_link_pairs AS
        SELECT b.id, r.id AS road_id, ST_Distance(r.g, b.g) AS metres
        FROM road_link_roads r JOIN road_link_buildings b ON ST_DWithin(r.g, b.g, %(search)s);
    CREATE UNLOGGED TABLE road_link_near AS
        SELECT id, road_id, metres FROM (
            SELECT id, road_id, array_agg(metres) OVER w AS metres, row_number() OVER w AS n FROM road_link_pairs
            WINDOW w AS (PARTITION BY id ORDER BY metres, road_id ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)) p
        WHERE n = 1 AND metres[1] <= %(search)s - %(margin)s;
    CREATE UNIQUE INDEX ON road_link_near (id);
    ANALYZE road_link_near;
    INSERT INTO road_link_near
        SELECT b.id, k.road_id, k.metres FROM road_link_buildings b
        CROSS JOIN LATERAL (
            SELECT (array_agg(c.id ORDER BY c.metres, c.id))[1] AS road_id,
                   array_agg(c.metres ORDER BY c.metres, c.id) AS metres
            FROM (SELECT r.id, ST_Distance(r.g, b.g) AS metres FROM road_link_roads r ORDER BY r.g <-> b.g LIMIT 2) c
        ) k
        WHERE NOT EXISTS (SELECT 1 FROM road_link_near d WHERE d.id = b.id);
    CREATE UNLOGGED TABLE road_link_decided AS
        SELECT id, road_id, metres[1] AS metres,
            CASE WHEN road_id IS NULL THEN 'none'
                 WHEN metres[1] > %(max_m)s THEN 'far'
                 WHEN array_length(metres, 1) > 1 AND metres[2] - metres[1] < %(margin)s THEN 'ambiguous'
                 ELSE 'linked' END AS status
        FROM road_link_near;
    CREATE UNIQUE INDEX ON road_link_decided (id);
    ANALYZE road_link_decided;
    DROP TABLE road_link_roads, road_link_buildings, road_link_pairs, road_link_near;
"""


def road_links_decide_sql(*, source_sql: str, params: dict | None = None) -> tuple[str, dict]:
    """The statements of road_links_decide and their parameters (for a caller that runs them itself)."""
    from imis.shared_apps.tenants.models import utm_epsg_for

    municipality = current_municipality()
    srid = municipality.projected_srid or utm_epsg_for(longitude=municipality.centroid_lon,
                                                       latitude=municipality.centroid_lat)
    values = {**(params or {}), "max_m": municipality.road_link_max_distance_m, "margin": AMBIGUOUS_ROAD_MARGIN_M,
              "search": max(ROAD_LINK_SEARCH_M, AMBIGUOUS_ROAD_MARGIN_M * 2), "srid": srid}
    return _ROAD_LINKS_DECIDE_SQL.format(source=source_sql), values


def road_links_decide(*, source_sql: str, params: dict | None = None) -> None:
    """Decide the nearest road of many footprints at once, set-based, with the same rule as road_link_classify.

    `source_sql` selects (id, footprint in EPSG:4326); the result is the table `road_link_decided` (id, road_id,
    metres, status) in the transaction's scratch schema (imis.platform.scratch), which the caller drops. Used by
    the bulk job below and by bulk imports, which write the links with the rows instead of updating every row a
    second time."""
    sql, values = road_links_decide_sql(source_sql=source_sql, params=params)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


_BULK_LINK_UPDATE_SQL = """
    WITH changed AS (
        UPDATE registry_building b SET nearest_road_id = d.road_id, road_distance_m = d.metres,
               road_link_status = d.status, updated = now()
        FROM road_link_decided d, registry_building old
        WHERE b.id = d.id AND old.id = d.id
          AND (b.nearest_road_id IS DISTINCT FROM d.road_id OR b.road_link_status <> d.status)
        RETURNING b.id, b.bin, old.nearest_road_id AS old_road, old.road_link_status AS old_status,
                  d.road_id, d.status
    ), audited AS (
        INSERT INTO audit_auditentry (created, actor_id, actor_label, action, model, object_id, object_label,
                                      before, after, batch)
        SELECT now(), %(actor_id)s, %(actor_label)s, %(action)s, 'registry.building', id::text, left(bin, 200),
               jsonb_build_object('nearest_road_id', old_road, 'road_link_status', old_status),
               jsonb_build_object('nearest_road_id', road_id, 'road_link_status', status), %(batch)s
        FROM changed
    )
    SELECT count(*) FROM changed
"""


def buildings_link_nearest_roads(*, by, building_ids: list[int] | None = None) -> dict[str, int]:
    """The bulk job: link every (or the given) building to its nearest road, set-based, in one transaction, with
    one audit entry per changed building (before/after of its link). Returns the count of buildings per link
    status and "changed"."""
    import uuid

    from imis.platform.versioning import data_version_bump_on_commit

    where = " WHERE id = ANY(%(ids)s)" if building_ids is not None else ""
    params = {"ids": list(building_ids) if building_ids is not None else None,
              "actor_id": getattr(by, "pk", None), "actor_label": getattr(by, "email", "") or "system",
              "action": AuditEntry.Action.BULK_UPDATE, "batch": uuid.uuid4()}
    with transaction.atomic(), scratch_schema("roadlinks"), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        road_links_decide(source_sql=f"SELECT id, footprint FROM registry_building{where}", params=params)
        cursor.execute(_BULK_LINK_UPDATE_SQL, params)
        changed = cursor.fetchone()[0]
        cursor.execute("DROP TABLE road_link_decided")
        if changed:
            data_version_bump_on_commit(source="registry")
        cursor.execute("SELECT road_link_status, count(*) FROM registry_building GROUP BY road_link_status")
        counts = dict.fromkeys(Building.RoadLink.values, 0)
        counts.update(dict(cursor.fetchall()))
    counts["changed"] = changed
    return counts


def road_relink_candidates(*, geometries: list[GEOSGeometry], road_id: int | None = None) -> list[int]:
    """The buildings whose road link a road drawn, moved, restored or deleted can change: those linked to it,
    those within the link distance (plus the ambiguity margin) of any of its geometries (old and new), and those
    far from every road or without one that lie nearer to it than to their own road."""
    reach = current_municipality().road_link_max_distance_m + AMBIGUOUS_ROAD_MARGIN_M
    ids: set[int] = set()
    with connection.cursor() as cursor:
        if road_id is not None:
            cursor.execute("SELECT id FROM registry_building WHERE nearest_road_id = %s", [road_id])
            ids.update(row[0] for row in cursor.fetchall())
        for geometry in geometries:
            cursor.execute("""
                SELECT b.id FROM registry_building b, (SELECT ST_GeomFromEWKT(%(g)s) AS g) r
                WHERE b.footprint && ST_Expand(r.g, %(deg)s) AND ST_DWithin(b.footprint::geography, r.g::geography,
                                                                               %(reach)s)
                UNION
                SELECT b.id FROM registry_building b, (SELECT ST_GeomFromEWKT(%(g)s) AS g) r
                WHERE b.road_link_status IN ('far', 'none') AND (b.road_distance_m IS NULL
                      OR ST_DWithin(b.footprint::geography, r.g::geography, b.road_distance_m))""",
                           {"g": geometry.ewkt, "reach": reach,
                            "deg": degrees_for(reach, latitude=geometry.centroid.y)})
            ids.update(row[0] for row in cursor.fetchall())
    return sorted(ids)


# --- containments -------------------------------------------------------------------------------------

def containment_volume_m3(*, type: str, length_m=None, width_m=None, diameter_m=None, depth_m=None) -> Decimal | None:
    """Volume from dimensions: a box for tanks; a cylinder for pits (or a box when length and width are given)."""
    if depth_m is None:
        return None
    depth = Decimal(str(depth_m))
    if diameter_m is not None and (length_m is None or width_m is None):
        radius = Decimal(str(diameter_m)) / 2
        return (Decimal(str(math.pi)) * radius * radius * depth).quantize(Decimal("0.01"))
    if length_m is not None and width_m is not None:
        return (Decimal(str(length_m)) * Decimal(str(width_m)) * depth).quantize(Decimal("0.01"))
    return None


def _fsm_rates() -> tuple[Decimal, int]:
    municipality = current_municipality()
    row = municipality.features.filter(feature_id="fsm").first()
    settings_data = row.settings if row else {}
    rate = Decimal(str(settings_data.get("sludge_accumulation_litres_per_person_year",
                                         DEFAULT_ACCUMULATION_L_PER_PERSON_YEAR)))
    return rate, int(settings_data.get("max_emptying_interval_years", DEFAULT_MAX_EMPTYING_INTERVAL_YEARS))


def containment_users(containment: Containment) -> int:
    users = 0
    for building in containment.buildings.all():
        population = building.population
        users += population or int(building.households * PERSONS_PER_HOUSEHOLD)
    return users


def containment_next_emptying_date(
    *, volume_m3, users: int, since: datetime.date, accumulation_l_per_person_year: Decimal,
    max_interval_years: int,
) -> datetime.date:
    """When sludge will fill two thirds of the volume: volume × 2/3 ÷ (users × rate), within sane bounds."""
    if not volume_m3 or users <= 0:
        years = Decimal(max_interval_years)
    else:
        litres = Decimal(str(volume_m3)) * 1000 * EMPTYING_FILL_SHARE
        years = litres / (Decimal(users) * accumulation_l_per_person_year)
        years = min(max(years, MIN_EMPTYING_INTERVAL_YEARS), Decimal(max_interval_years))
    return since + datetime.timedelta(days=int(years * Decimal("365.25")))


def _containment_since(containment: Containment) -> datetime.date:
    if containment.last_emptied_on:
        return containment.last_emptied_on
    if containment.construction_year:
        return datetime.date(containment.construction_year, 7, 1)
    if containment.surveyed_at:
        return timezone.localdate(containment.surveyed_at)  # the municipality's calendar day, not UTC's
    return timezone.localdate()


def containment_refresh_emptying_due(*, containment: Containment) -> Containment:
    rate, max_years = _fsm_rates()
    containment.next_emptying_due = containment_next_emptying_date(
        volume_m3=containment.volume_m3, users=containment_users(containment), since=_containment_since(containment),
        accumulation_l_per_person_year=rate, max_interval_years=max_years,
    )
    Containment.objects.filter(pk=containment.pk).update(next_emptying_due=containment.next_emptying_due)
    return containment


def containments_refresh_emptying_due() -> int:
    """All containments at once, in SQL, with the same rule as containment_next_emptying_date."""
    rate, max_years = _fsm_rates()
    sql = """
        WITH users AS (
            SELECT cb.containment_id,
                   SUM(CASE WHEN b.population_male + b.population_female + b.population_other > 0
                            THEN b.population_male + b.population_female + b.population_other
                            ELSE floor(b.households * %(pph)s) END) AS users
            FROM registry_containment_buildings cb JOIN registry_building b ON b.id = cb.building_id
            GROUP BY cb.containment_id
        )
        UPDATE registry_containment c SET next_emptying_due = (
            COALESCE(c.last_emptied_on, make_date(c.construction_year, 7, 1),
                     (c.surveyed_at AT TIME ZONE %(tz)s)::date, %(today)s)
            + (floor(365.25 * CASE
                WHEN c.volume_m3 IS NULL OR c.volume_m3 = 0 OR COALESCE(u.users, 0) <= 0 THEN %(max_years)s
                ELSE LEAST(GREATEST(c.volume_m3 * 1000 * %(fill)s / (u.users * %(rate)s), %(min_years)s),
                           %(max_years)s) END))::int
        )
        FROM registry_containment c2 LEFT JOIN users u ON u.containment_id = c2.id
        WHERE c.id = c2.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"pph": PERSONS_PER_HOUSEHOLD, "max_years": max_years, "fill": EMPTYING_FILL_SHARE,
                             "rate": rate, "min_years": MIN_EMPTYING_INTERVAL_YEARS,
                             "tz": timezone.get_current_timezone_name(), "today": timezone.localdate()})
        return cursor.rowcount


CONTAINMENT_EDITABLE = {
    "code", "type", "outlet", "length_m", "width_m", "diameter_m", "depth_m", "volume_m3", "construction_year",
    "location", "last_emptied_on", "times_emptied", "surveyed_at",
}


def _containment_check_distance(containment: Containment, building_ids: list[int]) -> None:
    if not building_ids:
        return
    limit = current_municipality().containment_max_distance_m
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bin, ST_Distance(footprint::geography, ST_GeomFromEWKT(%s)::geography) FROM registry_building "
            "WHERE id = ANY(%s)", [containment.location.ewkt, list(building_ids)],
        )
        too_far = [(bin_, metres) for bin_, metres in cursor.fetchall() if metres > limit]
    if too_far:
        listed = ", ".join(f"{bin_} ({metres:.0f} m)" for bin_, metres in too_far)
        raise field_error(
            {"buildings": _("The containment lies more than %(limit)s m from: %(list)s.")
             % {"limit": limit, "list": listed}},
            code="containment_too_far",
        )


def _containment_apply(containment: Containment, changes: dict, building_ids) -> None:
    unknown = set(changes) - CONTAINMENT_EDITABLE
    if unknown:
        raise ValidationError(_("Unknown containment field(s): %(names)s") % {"names": ", ".join(sorted(unknown))},
                              code="unknown_field")
    if "code" in changes:
        changes["code"] = (changes["code"] or "").strip().upper()
        if Containment.objects.filter(code=changes["code"]).exclude(pk=containment.pk).exists():
            raise field_error({"code": _("Containment code %(code)s is already registered.")
                                   % {"code": changes["code"]}}, code="duplicate_code")
    for name, value in changes.items():
        setattr(containment, name, value)
    derived = containment_volume_m3(type=containment.type, length_m=containment.length_m,
                                    width_m=containment.width_m, diameter_m=containment.diameter_m,
                                    depth_m=containment.depth_m)
    if derived is not None:
        containment.volume_m3 = derived
    if containment.location is None:
        raise field_error({"location": _("Place the containment on the map.")}, code="required")
    if containment.location.srid is None:
        containment.location.srid = 4326
    containment.ward = ward_at(containment.location)
    containment.full_clean(exclude=["location", "ward", "buildings"], validate_unique=False)
    _containment_check_distance(containment, building_ids if building_ids is not None else
                                list(containment.buildings.values_list("pk", flat=True)) if containment.pk else [])


def containment_create(*, by, building_ids: list[int] | None = None, **fields) -> Containment:
    with transaction.atomic():
        containment = Containment()
        _containment_apply(containment, dict(fields), building_ids or [])
        containment.save()
        if building_ids:
            containment.buildings.set(building_ids)
        containment_refresh_emptying_due(containment=containment)
        after = snapshot(containment) | {"building_ids": sorted(building_ids or [])}
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=containment, after=after)
    return containment


def containment_update(*, containment: Containment, by, building_ids: list[int] | None = None,
                       **changes) -> Containment:
    with transaction.atomic():
        containment = Containment.objects.select_for_update().get(pk=containment.pk)
        before = snapshot(containment) | {"building_ids": sorted(containment.buildings.values_list("pk", flat=True))}
        _containment_apply(containment, dict(changes), building_ids)
        containment.save()
        if building_ids is not None:
            containment.buildings.set(building_ids)
        containment_refresh_emptying_due(containment=containment)
        after = snapshot(containment) | {"building_ids": sorted(containment.buildings.values_list("pk", flat=True))}
        old, new = _changed(before, after)
        if new:
            audit_record(actor=by, action=AuditEntry.Action.UPDATE, instance=containment, before=old, after=new)
    return containment
