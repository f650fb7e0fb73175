"""Small GeoTIFFs made in the tests with rasterio (GDAL underneath), over Khulna's test area and elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from django.core.files.uploadedfile import SimpleUploadedFile
from rasterio.transform import from_origin
from rasterio.warp import transform as warp_transform

from tests.tenant_apps.registry.factories import ORIGIN

UTM_45N = "EPSG:32645"  # Khulna's UTM zone: the upload is reprojected to EPSG:3857


def geotiff(path: Path, *, centre=ORIGIN, size_px: int = 200, pixel_m: float = 2.0, crs: str | None = UTM_45N,
            georeferenced: bool = True) -> Path:
    """An RGB image of `size_px` square pixels of `pixel_m` metres centred on `centre` (lon, lat)."""
    xs, ys = warp_transform("EPSG:4326", UTM_45N, [centre[0]], [centre[1]])
    half = size_px * pixel_m / 2
    ramp = np.linspace(30, 230, size_px, dtype=np.uint8)
    red = np.tile(ramp, (size_px, 1))
    green = red.T.copy()
    blue = np.full((size_px, size_px), 120, dtype=np.uint8)
    profile = {"driver": "GTiff", "width": size_px, "height": size_px, "count": 3, "dtype": "uint8"}
    if georeferenced:
        profile.update(crs=crs, transform=from_origin(xs[0] - half, ys[0] + half, pixel_m, pixel_m))
    with rasterio.open(path, "w", **profile) as out:
        out.write(np.stack([red, green, blue]))
    return path


def upload_of(path: Path, name: str | None = None, content_type: str = "image/tiff") -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


def geotiff_grey16(path: Path, *, centre=ORIGIN, size_px: int = 200, pixel_m: float = 2.0) -> Path:
    """A one-band 16-bit image (values 1000..5000, as satellite scenes have), in EPSG:4326 this time."""
    deg_lon, deg_lat = pixel_m / 102_600, pixel_m / 110_574
    half = size_px / 2
    values = np.tile(np.linspace(1000, 5000, size_px).astype("uint16"), (size_px, 1))
    with rasterio.open(path, "w", driver="GTiff", width=size_px, height=size_px, count=1, dtype="uint16",
                       crs="EPSG:4326", transform=from_origin(centre[0] - half * deg_lon, centre[1] + half * deg_lat,
                                                              deg_lon, deg_lat)) as out:
        out.write(values, 1)
    return path
