"""Small, explicit registry geometry for tests: metres converted to degrees around Khulna."""

from __future__ import annotations

import math

from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon

from imis.tenant_apps.registry.models import Road, Ward

ORIGIN = (89.5403, 22.8456)
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(ORIGIN[1]))


def at(x_m: float, y_m: float) -> tuple[float, float]:
    """Metres east/north of the origin -> (lon, lat)."""
    return ORIGIN[0] + x_m / M_PER_DEG_LON, ORIGIN[1] + y_m / M_PER_DEG_LAT


def square(x_m: float, y_m: float, side_m: float = 10.0) -> Polygon:
    corners = [at(x_m, y_m), at(x_m + side_m, y_m), at(x_m + side_m, y_m + side_m), at(x_m, y_m + side_m)]
    return Polygon([*corners, corners[0]], srid=4326)


def point(x_m: float, y_m: float) -> Point:
    return Point(*at(x_m, y_m), srid=4326)


def ward(number: int, x0_m: float, y0_m: float, x1_m: float, y1_m: float) -> Ward:
    box = Polygon.from_bbox((*at(x0_m, y0_m), *at(x1_m, y1_m)))
    box.srid = 4326
    return Ward.objects.create(number=number, name=f"Ward {number}", boundary=MultiPolygon(box, srid=4326))


def road(code: str, start_m: tuple[float, float], end_m: tuple[float, float], **fields) -> Road:
    return Road.objects.create(code=code, geom=LineString(at(*start_m), at(*end_m), srid=4326), **fields)
