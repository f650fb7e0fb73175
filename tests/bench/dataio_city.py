"""The bench city for the data import/export benchmark: synthetic Khulna at full scale (registry/synthetic.py).

Loads the layers a building import refers to (wards, roads, holdings) with COPY, and writes the building layer
(156,052 footprints) as a GeoPackage whose columns carry our field names, the way a municipality's GIS officer
would hand it over. Cached under var/bench so repeated runs skip the 15 s generation.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pyogrio.raw
from django.conf import settings
from django.db import connection

from imis.tenant_apps.registry.synthetic import city_generate

CACHE = Path(settings.BASE_DIR) / "var" / "bench"
SCALE = float(os.environ.get("SEED_SCALE", "1"))  # share of Khulna's published counts (1: 156,052 buildings)
BUILDING_COLUMNS = (
    "bin", "holding_id", "structure_type", "floors", "construction_year", "functional_use", "households",
    "population_male", "population_female", "population_other", "population_differently_abled", "is_low_income",
    "water_source", "water_customer_id", "has_toilet", "toilet_count", "has_shared_toilet", "sanitation_system",
    "sewer_code", "drain_code", "is_desludging_vehicle_accessible", "verification_status", "surveyed_at",
)


def city_version() -> str:
    """Changes whenever the generator (or the scale) does: the cached city and its GeoPackage are rebuilt then."""
    from imis.tenant_apps.registry import synthetic

    version = hashlib.sha256(Path(synthetic.__file__).read_bytes()).hexdigest()[:12]
    return version if SCALE == 1 else f"{version}-{SCALE:g}"


def khulna_city():
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"khulna-city-{city_version()}.pickle"
    if cached.exists():
        return pickle.loads(cached.read_bytes())  # noqa: S301 - our own cache file
    figures_file = Path(settings.BASE_DIR) / "imis" / "shared_apps" / "tenants" / "data" / "municipalities.json"
    figures = next(m for m in json.loads(figures_file.read_text())["municipalities"] if m["slug"] == "khulna")
    city = city_generate(figures, scale=SCALE, seed=42)
    cached.write_bytes(pickle.dumps(city))
    return city


def _copy(table: str, columns: tuple[str, ...], rows) -> None:
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def city_base_load(city) -> None:
    """Wards, roads and holdings of the city into the current schema (ids = row index + 1)."""
    wards = city.layers["ward"]
    _copy("registry_ward", ("id", *wards.columns, "updated"),
          ((index + 1, *row, "now") for index, row in enumerate(wards.rows)))
    roads = city.layers["road"]
    _copy("registry_road", ("id", *roads.columns, "created", "updated"),
          ((index + 1, *row, "now", "now") for index, row in enumerate(roads.rows)))
    holdings = city.layers["holding"]
    ward_at, road_at = holdings.columns.index("ward_id"), holdings.columns.index("road_id")

    def holding_rows():
        for index, row in enumerate(holdings.rows):
            row = list(row)
            row[ward_at] += 1
            row[road_at] = None if row[road_at] is None else row[road_at] + 1
            yield (index + 1, *row, "now", "now")

    _copy("registry_holding", ("id", *holdings.columns, "created", "updated"), holding_rows())
    with connection.cursor() as cursor:
        for table in ("registry_ward", "registry_road", "registry_holding"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE registry_ward; ANALYZE registry_road; ANALYZE registry_holding")


def buildings_gpkg(city, path: Path) -> Path:
    """The building layer as a GeoPackage with our field names (holding ID as text)."""
    if path.exists():
        return path
    buildings = city.layers["building"]
    holding_ids = [row[0] for row in city.layers["holding"].rows]
    index = {name: buildings.columns.index(name) for name in buildings.columns}
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_AsBinary(ST_GeomFromEWKT(e)) FROM unnest(%s::text[]) WITH ORDINALITY u(e, n) "
                       "ORDER BY n", [[row[index["footprint"]] for row in buildings.rows]])
        geometry = np.array([bytes(row[0]) for row in cursor.fetchall()], dtype=object)
    data, masks = [], []
    for name in BUILDING_COLUMNS:
        values = [row[index[name]] for row in buildings.rows]
        nulls = np.array([value is None for value in values])
        masks.append(nulls if nulls.any() else None)
        if name == "holding_id":
            data.append(np.array([None if value is None else holding_ids[value] for value in values], dtype=object))
            continue
        sample = next((value for value in values if value is not None), "")
        if isinstance(sample, bool):
            data.append(np.array([bool(value) for value in values], dtype=bool))
        elif isinstance(sample, int):
            data.append(np.array([0 if value is None else value for value in values], dtype=np.int64))
        elif name == "surveyed_at":
            data.append(np.array([None if value is None else value.isoformat() for value in values], dtype=object))
        else:
            data.append(np.array([value for value in values], dtype=object))
    pyogrio.raw.write(str(path), geometry, data, list(BUILDING_COLUMNS), field_mask=masks, layer="buildings",
                      driver="GPKG",
                      geometry_type="Polygon", crs="EPSG:4326", encoding="UTF-8")
    return path
