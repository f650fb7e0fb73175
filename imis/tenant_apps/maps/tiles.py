"""Vector tiles: one ST_AsMVT query per tile, cached in Redis under the municipality's data version."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import connection

from imis.platform.versioning import data_version_current

from .layers import Layer

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
WORLD_METRES = 40075016.68557849
TILE_CACHE_SECONDS = 7 * 24 * 3600


class TileOutOfRange(ValueError):
    pass


def tile_check(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise TileOutOfRange(f"No tile {z}/{x}/{y}.")


def _geometry_sql(layer: Layer, z: int) -> str:
    projected = f"ST_Transform(t.{layer.geom}, 3857)"
    if layer.geometry_type != "Point" and z < 16:
        # half a tile pixel: invisible, and it spares ST_AsMVTGeom most vertices at low zooms
        tolerance = WORLD_METRES / (2**z) / EXTENT / 2
        projected = f"ST_SimplifyPreserveTopology({projected}, {tolerance:.6f})"
    return f"ST_AsMVTGeom({projected}, bounds.envelope, {EXTENT}, {BUFFER}, true)"


def tile_sql(layer: Layer, z: int) -> str:
    """The SQL for one tile of a layer; parameters: z, x, y (for the envelope)."""
    props = ", ".join(f"{prop.sql} AS \"{prop.name}\"" for prop in (*layer.props, *layer.tile_props))
    conditions = [f"t.{layer.geom} && bounds.filter"]
    if layer.where:
        conditions.append(layer.where)
    conditions += [condition for below_zoom, condition in layer.zoom_where if z < below_zoom]
    return f"""
        WITH bounds AS (
            SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS envelope,
                   ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => {BUFFER / EXTENT}), 4326) AS filter
        ), features AS (
            SELECT t.id, {_geometry_sql(layer, z)} AS geom, {props}
            FROM {layer.table} t {layer.joins}, bounds
            WHERE {" AND ".join(conditions)}
        )
        SELECT ST_AsMVT(features, %(name)s, {EXTENT}, 'geom', 'id') FROM features WHERE geom IS NOT NULL
    """


def tile_render(layer: Layer, z: int, x: int, y: int) -> bytes:
    """The tile straight from PostGIS (no cache)."""
    tile_check(z, x, y)
    if z < layer.min_zoom:
        return b""
    with connection.cursor() as cursor:
        cursor.execute(tile_sql(layer, z), {"z": z, "x": x, "y": y, "name": layer.name})
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def tile_etag(layer: Layer, z: int, x: int, y: int, *, version: int | None = None) -> str:
    version = data_version_current() if version is None else version
    digest = hashlib.blake2b(f"{connection.schema_name}/{layer.name}/{version}/{z}/{x}/{y}".encode(),
                             digest_size=12).hexdigest()
    return f'"{digest}"'


def tile_cached(layer: Layer, z: int, x: int, y: int, *, version: int) -> bytes:
    """The tile from Redis, rendered on a miss. Keys carry tenant (by the cache's key function), layer and version."""
    key = f"tile:{layer.name}:{version}:{z}:{x}:{y}"
    tile = cache.get(key)
    if tile is None:
        tile = tile_render(layer, z, x, y)
        cache.set(key, tile, timeout=TILE_CACHE_SECONDS)
    return tile
