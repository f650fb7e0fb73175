"""Raster tiles of uploaded imagery, read from its COG with rio-tiler and cached in Redis like the vector tiles
(the cache's key function adds the tenant; the key carries the image id and version).

A tile outside the image's bounds is "no tile" (the view answers 404): MapLibre requests only tiles inside the
source's `bounds` anyway, and an empty answer costs nothing. Inside the bounds but beyond the image's edge the
tile is transparent (the COG has an alpha band)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import connection

from imis.tenant_apps.maps.tiles import TILE_CACHE_SECONDS, tile_check

from .models import Imagery
from .services import imagery_path, shown_bands

TILE_SIZE = 256
NO_TILE = b""


def imagery_tile_render(imagery: Imagery, z: int, x: int, y: int) -> bytes:
    """The PNG tile straight from the COG (no cache); NO_TILE outside the image."""
    from rio_tiler.errors import TileOutsideBounds
    from rio_tiler.io import Reader

    tile_check(z, x, y)
    with Reader(str(imagery_path(imagery))) as cog:
        if not cog.tile_exists(x, y, z):
            return NO_TILE
        try:
            image = cog.tile(x, y, z, tilesize=TILE_SIZE, indexes=shown_bands(cog.dataset))
        except TileOutsideBounds:
            return NO_TILE
    if image.data.dtype != "uint8":  # the stretch measured once at conversion: no seams between tiles
        ranges = imagery.value_range or [[float(image.data.min()), float(image.data.max())]] * image.count
        image.rescale(in_range=[tuple(band) for band in ranges])
    return image.render(img_format="PNG")


def imagery_tile_etag(imagery: Imagery, z: int, x: int, y: int) -> str:
    digest = hashlib.blake2b(f"{connection.schema_name}/imagery/{imagery.pk}/{imagery.version}/{z}/{x}/{y}".encode(),
                             digest_size=12).hexdigest()
    return f'"{digest}"'


def imagery_tile_key(imagery: Imagery, z: int, x: int, y: int) -> str:
    return f"imagery-tile:{imagery.pk}:{imagery.version}:{z}:{x}:{y}"


def imagery_tile_cached(imagery: Imagery, z: int, x: int, y: int) -> bytes:
    """The tile from Redis, rendered on a miss (NO_TILE is cached too)."""
    key = imagery_tile_key(imagery, z, x, y)
    tile = cache.get(key)
    if tile is None:
        tile = imagery_tile_render(imagery, z, x, y)
        cache.set(key, tile, timeout=TILE_CACHE_SECONDS)
    return tile
