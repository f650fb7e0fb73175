"""Reads for the map: extents, GeoJSON pages of a layer (built in PostgreSQL), single features."""

from __future__ import annotations

import json

from django.db import connection

from .layers import Layer

MAX_ITEMS = 10_000


def layer_extent(layer: Layer) -> list[float] | None:
    """[minx, miny, maxx, maxy] of a layer in WGS 84, or None when it is empty."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                       f"(SELECT ST_Extent(t.{layer.geom}) AS e FROM {layer.table} t) s")
        row = cursor.fetchone()
    return [float(v) for v in row] if row and row[0] is not None else None


def municipality_extent(municipality) -> list[float]:
    """Where the municipality's data lies (its wards, else its buildings, else around its centre)."""
    from .layers import LAYERS

    for name in ("wards", "buildings", "roads"):
        extent = layer_extent(LAYERS[name])
        if extent:
            return extent
    lon, lat = municipality.centroid_lon, municipality.centroid_lat
    return [lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05]


def _conditions(layer: Layer, *, bbox, filters: dict) -> tuple[list[str], dict]:
    conditions, params = [], {}
    if bbox:
        conditions.append(f"t.{layer.geom} && ST_MakeEnvelope(%(minx)s, %(miny)s, %(maxx)s, %(maxy)s, 4326)")
        params.update(zip(("minx", "miny", "maxx", "maxy"), bbox, strict=True))
    for index, (name, value) in enumerate(sorted(filters.items())):
        prop = layer.prop(name)
        conditions.append(f"({prop.sql}) = %(f{index})s")
        params[f"f{index}"] = value
    if layer.where:
        conditions.append(layer.where)
    return conditions, params


def _properties_sql(layer: Layer) -> str:
    pairs = ", ".join(f"'{prop.name}', {prop.sql}" for prop in layer.props)
    return f"json_build_object({pairs})"


def layer_items(layer: Layer, *, bbox=None, filters: dict | None = None, limit: int = 10, offset: int = 0) -> dict:
    """A page of a layer as a GeoJSON FeatureCollection plus numberMatched, built by one query (and one count)."""
    conditions, params = _conditions(layer, bbox=bbox, filters=filters or {})
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    params.update(limit=limit, offset=offset)
    sql = f"""
        SELECT COALESCE(json_agg(f ORDER BY f_id), '[]'::json)::text FROM (
            SELECT t.id AS f_id, json_build_object(
                'type', 'Feature', 'id', t.id, 'geometry', ST_AsGeoJSON(t.{layer.geom}, 7)::json,
                'properties', {_properties_sql(layer)}) AS f
            FROM {layer.table} t {layer.joins} {where}
            ORDER BY t.id LIMIT %(limit)s OFFSET %(offset)s
        ) page
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        features = json.loads(cursor.fetchone()[0])
        cursor.execute(f"SELECT count(*) FROM {layer.table} t {layer.joins} {where}", params)
        matched = cursor.fetchone()[0]
    return {"type": "FeatureCollection", "features": features, "numberMatched": matched,
            "numberReturned": len(features)}


def layer_feature(layer: Layer, feature_id: int) -> dict | None:
    sql = f"""
        SELECT json_build_object('type', 'Feature', 'id', t.id, 'geometry', ST_AsGeoJSON(t.{layer.geom}, 7)::json,
                                 'properties', {_properties_sql(layer)})::text
        FROM {layer.table} t {layer.joins} WHERE t.id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [feature_id])
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None
