"""GIS analyses. Distances in metres on the spheroid (geography), with an index-friendly prefilter in degrees.

Each analysis returns an `AnalysisResult`: rows (one per building/containment/ward) with their geometry as
GeoJSON, and a summary. Views show them on the map and export them as CSV or GeoPackage.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection

from imis.platform.errors import field_error
from imis.platform.geo import degrees_for

# Sanitation that does not safely contain excreta (JMP "unsafe": to drain, water body, open ground, none).
UNSAFE_SANITATION = ("drain", "water_body", "open_ground", "open_defecation")
UNSAFE_OUTLETS = ("drain", "water_body", "open_ground")
# A building `b` with unsafe sanitation, by its system or a containment serving it (parameters: UNSAFE_BUILDING_PARAMS).
UNSAFE_BUILDING_SQL = """(b.sanitation_system = ANY(%(unsafe)s) OR EXISTS (
            SELECT 1 FROM registry_containment_buildings cb JOIN registry_containment c ON c.id = cb.containment_id
            WHERE cb.building_id = b.id AND (c.outlet = ANY(%(outlets)s) OR c.type = 'unlined_pit')))"""
UNSAFE_BUILDING_PARAMS = {"unsafe": list(UNSAFE_SANITATION), "outlets": list(UNSAFE_OUTLETS)}
MAX_DISTANCE_M = 5000


@dataclass
class AnalysisResult:
    name: str
    columns: list[str]
    rows: list[dict]
    summary: dict = field(default_factory=dict)

    def feature_collection(self) -> dict:
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": row.get("geometry"),
             "properties": {key: value for key, value in row.items() if key != "geometry"}}
            for row in self.rows
        ]}


def _latitude() -> float:
    return float(getattr(connection.tenant, "centroid_lat", 23.8))


def _distance(value, *, name: str = "distance_m") -> float:
    try:
        metres = float(value)
    except (TypeError, ValueError) as error:
        raise field_error({name: "Give a distance in metres."}, code="invalid_distance") from error
    if not 0 < metres <= MAX_DISTANCE_M:
        raise field_error({name: f"The distance must be between 0 and {MAX_DISTANCE_M} m."}, code="invalid_distance")
    return metres


def _fetch(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        if isinstance(row.get("geometry"), str):
            row["geometry"] = json.loads(row["geometry"])
    return rows


_BUILDING_COLUMNS = """b.id, b.bin, h.holding_id, w.number AS ward, b.functional_use, b.sanitation_system,
    b.households, (b.population_male + b.population_female + b.population_other) AS population"""
_BUILDING_JOINS = """LEFT JOIN registry_holding h ON h.id = b.holding_id LEFT JOIN registry_ward w ON w.id = b.ward_id"""


# The line networks a building can be near: table -> what its lines are (for `buildings_near_network`).
NETWORK_TABLES = {"registry_drain": "drain", "registry_sewer": "sewer", "registry_waterline": "water"}


def buildings_near_network(*, table: str, distance_m, line_id: int | None = None, not_on: str | None = None,
                           geometry: bool = False) -> list[dict]:
    """Each building within `distance_m` of any line of a network `table` (or of the one line `line_id`), with its
    nearest line (`line_id`, `line_code`), the distance to it, a point inside it (`lat`, `lng`, to open it on the
    map) and, if asked, its footprint as GeoJSON. `not_on` leaves out buildings whose sanitation system already is
    that network ("drain", "sewer"). Ordered by building id; callers sort as they show."""
    if table not in NETWORK_TABLES:
        raise ValueError(f"Not a line network table: {table}")
    metres = _distance(distance_m)
    conditions = ["TRUE"]
    if line_id is not None:
        conditions.append("n.id = %(line)s")
    if not_on:
        conditions.append("b.sanitation_system IS DISTINCT FROM %(not_on)s")
    footprint = ", ST_AsGeoJSON(b.footprint, 7) AS geometry" if geometry else ""
    return _fetch(f"""
        SELECT DISTINCT ON (b.id) {_BUILDING_COLUMNS}, n.id AS line_id, n.code AS line_code,
               round(ST_Distance(b.footprint::geography, n.geom::geography)::numeric, 1)::float8 AS distance_m,
               round(ST_Y(ST_PointOnSurface(b.footprint))::numeric, 6)::float8 AS lat,
               round(ST_X(ST_PointOnSurface(b.footprint))::numeric, 6)::float8 AS lng{footprint}
        FROM {table} n JOIN registry_building b ON ST_DWithin(b.footprint, n.geom, %(deg)s)
             AND ST_DWithin(b.footprint::geography, n.geom::geography, %(m)s)
        {_BUILDING_JOINS}
        WHERE {" AND ".join(conditions)}
        ORDER BY b.id, distance_m, n.id
    """, {"deg": degrees_for(metres, latitude=_latitude()), "m": metres, "line": line_id, "not_on": not_on})


def buildings_connectable_to_network(*, network: str, line_id: int, distance_m) -> AnalysisResult:
    """1. Buildings within N m of a selected drain or sewer that are not yet connected to it."""
    _distance(distance_m)
    if network not in ("drain", "sewer"):
        raise field_error({"network": "Choose a drain or a sewer."}, code="invalid_network")
    rows = buildings_near_network(table=f"registry_{network}", distance_m=distance_m, line_id=line_id,
                                  not_on=network, geometry=True)
    for row in rows:
        for key in ("line_id", "line_code", "lat", "lng"):
            row.pop(key)
    rows.sort(key=lambda row: (row["distance_m"], row["bin"]))
    return AnalysisResult("connectable_buildings", ["bin", "holding_id", "ward", "functional_use",
                          "sanitation_system", "households", "population", "distance_m"], rows,
                          {"buildings": len(rows), "population": sum(r["population"] for r in rows)})


def water_supply_status() -> AnalysisResult:
    """2. Water supply status per ward: buildings on the municipal supply, with a customer ID, and the rest."""
    rows = _fetch("""
        SELECT w.number AS ward, count(b.id) AS buildings,
               count(b.id) FILTER (WHERE b.water_source = 'municipal') AS municipal_supply,
               count(b.id) FILTER (WHERE b.water_customer_id <> '') AS with_customer_id,
               count(b.id) FILTER (WHERE b.water_source IN ('tube_well', 'deep_tube_well')) AS tube_well,
               count(b.id) FILTER (WHERE b.water_source NOT IN ('municipal', 'tube_well', 'deep_tube_well')
                                    OR b.water_source = '') AS other_or_unknown,
               ST_AsGeoJSON(w.boundary, 6) AS geometry
        FROM registry_ward w LEFT JOIN registry_building b ON b.ward_id = w.id
        GROUP BY w.id ORDER BY w.number
    """, {})
    for row in rows:
        row["municipal_share"] = round(row["municipal_supply"] / row["buildings"], 3) if row["buildings"] else 0.0
    total = sum(r["buildings"] for r in rows)
    municipal = sum(r["municipal_supply"] for r in rows)
    return AnalysisResult("water_supply_status", ["ward", "buildings", "municipal_supply", "with_customer_id",
                          "tube_well", "other_or_unknown", "municipal_share"], rows,
                          {"buildings": total, "municipal_supply": municipal})


def unsafe_sanitation_near_water_bodies(*, distance_m) -> AnalysisResult:
    """3. Buildings within N m of a water body whose sanitation is unsafe (by system or containment outlet)."""
    metres = _distance(distance_m)
    rows = _fetch(f"""
        SELECT {_BUILDING_COLUMNS},
               round(min(ST_Distance(b.footprint::geography, wb.geom::geography))::numeric, 1)::float8 AS distance_m,
               ST_AsGeoJSON(b.footprint, 7) AS geometry
        FROM registry_building b
        JOIN registry_waterbody wb ON ST_DWithin(b.footprint, wb.geom, %(deg)s)
             AND ST_DWithin(b.footprint::geography, wb.geom::geography, %(m)s)
        {_BUILDING_JOINS}
        WHERE {UNSAFE_BUILDING_SQL}
        GROUP BY b.id, h.holding_id, w.number ORDER BY distance_m, b.bin
    """, {"deg": degrees_for(metres, latitude=_latitude()), "m": metres, **UNSAFE_BUILDING_PARAMS})
    return AnalysisResult("unsafe_near_water", ["bin", "holding_id", "ward", "sanitation_system", "households",
                          "population", "distance_m"], rows,
                          {"buildings": len(rows), "population": sum(r["population"] for r in rows)})


def hard_to_reach_buildings(*, distance_m, min_road_width_m) -> AnalysisResult:
    """4. Buildings farther than N m from any road at least W m wide (a desludging truck cannot get close)."""
    metres = _distance(distance_m)
    try:
        width = float(min_road_width_m)
    except (TypeError, ValueError) as error:
        raise field_error({"min_road_width_m": "Give a road width in metres."}, code="invalid_width") from error
    rows = _fetch(f"""
        SELECT {_BUILDING_COLUMNS}, ST_AsGeoJSON(b.footprint, 7) AS geometry
        FROM registry_building b {_BUILDING_JOINS}
        WHERE NOT EXISTS (
            SELECT 1 FROM registry_road r
            WHERE r.width_m >= %(width)s AND ST_DWithin(b.footprint, r.geom, %(deg)s)
              AND ST_DWithin(b.footprint::geography, r.geom::geography, %(m)s))
        ORDER BY b.bin
    """, {"width": width, "deg": degrees_for(metres, latitude=_latitude()), "m": metres})
    return AnalysisResult("hard_to_reach", ["bin", "holding_id", "ward", "functional_use", "sanitation_system",
                          "households", "population"], rows,
                          {"buildings": len(rows), "population": sum(r["population"] for r in rows)})


def area_geometry(*, ward: int | None = None, geojson: str | None = None, buffer_m=None) -> GEOSGeometry:
    """The area to summarise: a ward, or a drawn polygon, optionally buffered by N m (a point needs a buffer)."""
    if ward is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT ST_AsEWKT(boundary) FROM registry_ward WHERE number = %s", [ward])
            row = cursor.fetchone()
        if not row or not row[0]:
            raise field_error({"ward": f"There is no ward {ward}."}, code="unknown_ward")
        return GEOSGeometry(row[0])
    if not geojson:
        raise field_error({"geometry": "Choose a ward or draw an area."}, code="required")
    try:
        geometry = GEOSGeometry(geojson, srid=4326)
    except (ValueError, TypeError) as error:
        raise field_error({"geometry": "The drawn area is not readable GeoJSON."}, code="invalid_geometry") from error
    if not geometry.valid:
        raise field_error({"geometry": f"The drawn area is not valid ({geometry.valid_reason})."},
                          code="invalid_geometry")
    if buffer_m not in (None, "", 0, "0"):
        metres = _distance(buffer_m, name="buffer_m")
        with connection.cursor() as cursor:
            cursor.execute("SELECT ST_AsEWKT(ST_Buffer(ST_GeomFromEWKT(%s)::geography, %s)::geometry)",
                           [geometry.ewkt, metres])
            geometry = GEOSGeometry(cursor.fetchone()[0])
    elif geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise field_error({"buffer_m": "A point or a line needs a buffer distance."}, code="buffer_required")
    return geometry


def area_summary(*, geometry: GEOSGeometry) -> AnalysisResult:
    """5. What lies in an area: buildings, households, population, sanitation systems, containments, emptying."""
    params = {"area": geometry.ewkt}
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH area AS (SELECT ST_GeomFromEWKT(%(area)s) AS geom),
            inside AS (SELECT b.* FROM registry_building b, area
                       WHERE b.footprint && area.geom AND ST_Intersects(ST_PointOnSurface(b.footprint), area.geom))
            SELECT count(*), COALESCE(sum(households), 0),
                   COALESCE(sum(population_male + population_female + population_other), 0),
                   (SELECT ST_Area(geom::geography) FROM area)
            FROM inside
        """, params)
        buildings, households, population, area_m2 = cursor.fetchone()
        cursor.execute("""
            WITH area AS (SELECT ST_GeomFromEWKT(%(area)s) AS geom)
            SELECT COALESCE(b.sanitation_system, ''), count(*) FROM registry_building b, area
            WHERE b.footprint && area.geom AND ST_Intersects(ST_PointOnSurface(b.footprint), area.geom)
            GROUP BY 1 ORDER BY 2 DESC
        """, params)
        by_sanitation = dict(cursor.fetchall())
        cursor.execute("""
            WITH area AS (SELECT ST_GeomFromEWKT(%(area)s) AS geom)
            SELECT count(*),
                   count(*) FILTER (WHERE c.last_emptied_on >= current_date - interval '3 years'),
                   count(*) FILTER (WHERE c.next_emptying_due < current_date)
            FROM registry_containment c, area
            WHERE c.location && area.geom AND ST_Intersects(c.location, area.geom)
        """, params)
        containments, emptied_3y, overdue = cursor.fetchone()
    summary = {
        "area_m2": round(float(area_m2 or 0), 1), "buildings": buildings, "households": int(households),
        "population": int(population), "containments": containments,
        "containments_emptied_last_3_years": emptied_3y, "containments_overdue": overdue,
        "by_sanitation_system": by_sanitation,
    }
    rows = [{"sanitation_system": key or "not recorded", "buildings": value} for key, value in by_sanitation.items()]
    return AnalysisResult("area_summary", ["sanitation_system", "buildings"], rows, summary)


def containments_due(*, before) -> AnalysisResult:
    """6. Containments due for emptying by a date, by ward."""
    rows = _fetch("""
        SELECT c.id, c.code, c.type, w.number AS ward, c.next_emptying_due::text AS next_emptying_due,
               c.volume_m3::float8 AS volume_m3, ST_AsGeoJSON(c.location, 7) AS geometry
        FROM registry_containment c LEFT JOIN registry_ward w ON w.id = c.ward_id
        WHERE c.next_emptying_due <= %(before)s
        ORDER BY c.next_emptying_due, c.code
    """, {"before": before})
    by_ward: dict = {}
    for row in rows:
        by_ward[row["ward"]] = by_ward.get(row["ward"], 0) + 1
    return AnalysisResult("containments_due", ["code", "type", "ward", "next_emptying_due", "volume_m3"], rows,
                          {"containments": len(rows), "by_ward": {str(k): v for k, v in sorted(
                              by_ward.items(), key=lambda item: (item[0] is None, item[0] or 0))}})




def application_density(*, cell_m=250, since=None) -> AnalysisResult:
    """7. Density of service (FSM) applications: counts per hexagon of `cell_m` metres, in the local metric CRS."""
    metres = _distance(cell_m, name="cell_m")
    srid = int(getattr(connection.tenant, "projected_srid", 3857))
    rows = _fetch("""
        WITH apps AS (
            SELECT ST_Transform(location, %(srid)s) AS geom FROM fsm_application
            WHERE location IS NOT NULL AND (%(since)s::date IS NULL OR received_at::date >= %(since)s::date)
        ), grid AS (
            SELECT hex.geom FROM ST_HexagonGrid(%(size)s, (SELECT ST_SetSRID(ST_Expand(ST_Extent(geom)::geometry, %(size)s), %(srid)s)
                                                        FROM apps)) AS hex
        )
        SELECT count(*) AS applications, ST_AsGeoJSON(ST_Transform(grid.geom, 4326), 6) AS geometry
        FROM grid JOIN apps ON ST_Intersects(grid.geom, apps.geom)
        GROUP BY grid.geom ORDER BY applications DESC
    """, {"srid": srid, "since": since, "size": metres / math.sqrt(3)})
    return AnalysisResult("application_density", ["applications"], rows,
                          {"cells": len(rows), "applications": sum(r["applications"] for r in rows),
                           "busiest_cell": rows[0]["applications"] if rows else 0})
