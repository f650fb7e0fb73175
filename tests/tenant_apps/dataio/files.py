"""Small GIS files for the import tests, written with GDAL (pyogrio) or as plain text and zips."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio.raw
from django.contrib.gis.geos import GEOSGeometry

from tests.tenant_apps.registry.factories import at, square


def write_layer(path: Path, *, layer: str, geometries: list[GEOSGeometry | None], fields: dict[str, list],
                driver: str = "GPKG", crs: str | None = "EPSG:4326", geometry_type: str | None = None,
                append: bool = False) -> Path:
    """A layer with the given geometries (already in `crs`) and columns."""
    wkb = np.array([None if g is None else bytes(g.wkb) for g in geometries], dtype=object)
    names = list(fields)
    data, masks = [], []
    for name in names:
        values = fields[name]
        nulls = np.array([value is None for value in values], dtype=bool)
        sample = next((value for value in values if value is not None), "")
        if any(isinstance(value, str) for value in values):
            sample = ""
        if isinstance(sample, str):
            data.append(np.array([None if value is None else str(value) for value in values], dtype=object))
        elif isinstance(sample, bool):
            data.append(np.array([bool(value) for value in values], dtype=bool))
        elif isinstance(sample, int):
            data.append(np.array([0 if value is None else value for value in values], dtype=np.int64))
        elif isinstance(sample, float):
            data.append(np.array([np.nan if value is None else value for value in values], dtype=np.float64))
        else:
            data.append(np.array([None if value is None else str(value) for value in values], dtype=object))
        masks.append(nulls if nulls.any() and not isinstance(sample, str | float) else None)
    kind = geometry_type or next((g.geom_type for g in geometries if g is not None), "Unknown")
    pyogrio.raw.write(str(path), wkb, data, names, field_mask=masks, layer=layer, driver=driver, crs=crs,
                      geometry_type=kind, encoding="UTF-8", append=append)
    return path


def buildings_gpkg(path: Path, rows: list[dict], *, layer: str = "buildings", append: bool = False) -> Path:
    """rows: dicts with "geometry" (GEOS) and our field names; `append` adds the layer to an existing file."""
    geometries = [row["geometry"] for row in rows]
    names = [name for name in rows[0] if name != "geometry"]
    return write_layer(path, layer=layer, geometries=geometries,
                       fields={name: [row.get(name) for row in rows] for name in names}, append=append)


def building_rows(count: int = 3, *, x0: float = 100, y0: float = 20, prefix: str = "B-",
                  holding: str | None = "1-2-3") -> list[dict]:
    return [{"geometry": square(x0 + 30 * i, y0), "bin": f"{prefix}{i + 1}", "holding_id": holding,
             "floors": 2, "functional_use": "residential", "sanitation_system": "septic_tank",
             "households": 1, "population_male": 2, "population_female": 2} for i in range(count)]


def zip_files(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def shapefile_zip(tmp_path: Path, *, rows: list[dict], leave_out: tuple[str, ...] = (), name: str = "buildings",
                  crs: str | None = "EPSG:4326") -> Path:
    folder = tmp_path / f"shp-{name}"
    folder.mkdir(exist_ok=True)
    shp = folder / f"{name}.shp"
    geometries = [row["geometry"] for row in rows]
    names = [key for key in rows[0] if key != "geometry"]
    write_layer(shp, layer=name, geometries=geometries, fields={key: [row.get(key) for row in rows] for key in names},
                driver="ESRI Shapefile", crs=crs)
    members = {part.name: part.read_bytes() for part in folder.iterdir()
               if part.suffix.lower() not in leave_out}
    return zip_files(tmp_path / f"{name}.zip", members)


def geojson_text(features: list[tuple[GEOSGeometry, dict]]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(geometry.json), "properties": properties}
        for geometry, properties in features]})


def wkt_square(x_m: float, y_m: float, side_m: float = 10.0) -> str:
    return square(x_m, y_m, side_m).wkt


def lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    return at(x_m, y_m)
