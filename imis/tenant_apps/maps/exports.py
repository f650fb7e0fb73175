"""Analysis results as files people open elsewhere: CSV (spreadsheets) and GeoPackage (QGIS), written with GDAL."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pyogrio.raw
from django.contrib.gis.geos import GEOSGeometry

from .analyses import AnalysisResult


def result_csv(result: AnalysisResult) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if row.get(column) is None else row.get(column) for column in result.columns])
    return buffer.getvalue().encode("utf-8-sig")  # Excel opens UTF-8 (Bangla names) only with the BOM


def _field_array(values: list):
    sample = next((value for value in values if value is not None), None)
    if isinstance(sample, bool):
        return np.array([bool(value) for value in values], dtype=bool)
    if isinstance(sample, int):
        return np.array([value if value is not None else 0 for value in values], dtype=np.int64)
    if isinstance(sample, float):
        return np.array([value if value is not None else np.nan for value in values], dtype=np.float64)
    return np.array(["" if value is None else str(value) for value in values], dtype=object)


def result_geopackage(result: AnalysisResult) -> bytes:
    """A GeoPackage with one layer named after the analysis (EPSG:4326)."""
    rows = [row for row in result.rows if row.get("geometry")]
    geometries = np.array([GEOSGeometry(json.dumps(row["geometry"])).wkb.tobytes() for row in rows], dtype=object)
    fields = [column for column in result.columns if column != "geometry"]
    data = [_field_array([row.get(column) for row in rows]) for column in fields]
    geometry_type = GEOSGeometry(json.dumps(rows[0]["geometry"])).geom_type if rows else "Unknown"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{result.name}.gpkg"
        pyogrio.raw.write(str(path), geometry=geometries, field_data=data, fields=fields, crs="EPSG:4326",
                          driver="GPKG", layer=result.name, geometry_type=geometry_type, encoding="UTF-8")
        return path.read_bytes()
