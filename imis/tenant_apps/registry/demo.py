"""Demo wards: a grid of ward boundaries tiling a square city around the municipality's centre."""

from __future__ import annotations

import math

from django.contrib.gis.geos import MultiPolygon, Polygon

from imis.platform.demo import demo_step

from .models import Ward

CITY_SIDE_KM = 8.0


@demo_step("registry.wards", order=10)
def demo_wards(*, municipality, figures, scale, seed, log):
    if Ward.objects.exists():
        return
    count = int(figures["wards"])
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    lon0, lat0 = figures["centroid"]
    degrees_lat = CITY_SIDE_KM / 110.574
    degrees_lon = CITY_SIDE_KM / (111.320 * math.cos(math.radians(lat0)))
    west, south = lon0 - degrees_lon / 2, lat0 - degrees_lat / 2
    cell_w, cell_h = degrees_lon / columns, degrees_lat / rows
    wards = []
    for number in range(1, count + 1):
        row, column = divmod(number - 1, columns)
        x0, y0 = west + column * cell_w, south + row * cell_h
        polygon = Polygon.from_bbox((x0, y0, x0 + cell_w, y0 + cell_h))
        polygon.srid = 4326
        wards.append(Ward(number=number, name=f"Ward {number}", boundary=MultiPolygon(polygon, srid=4326)))
    Ward.objects.bulk_create(wards)
    log(f"  {municipality.slug}: {count} wards")
