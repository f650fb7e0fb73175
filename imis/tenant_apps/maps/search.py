"""Map search: a holding ID, BIN, containment code, road code or name, or a ward -> where it is on the map.

Each match carries its bounding box, a point on it and its geometry (to fly to and highlight), and the URL of its
registry record when the user may open the registry. IDs are stored upper-case, so a prefix match on the upper-cased
query uses the columns' unique (pattern) indexes: no scan of 156k buildings per keystroke.
"""

from __future__ import annotations

import json
import re

from django.db import connection
from django.http import JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission

from .layers import layer_for

MAX_RESULTS = 8
MIN_QUERY = 2
_WARD = re.compile(r"^(?:ward|ওয়ার্ড)?\s*(?:no\.?\s*)?(\d{1,3})$", re.IGNORECASE)

# Each query returns: id, label, detail, geometry (GeoJSON), minx, miny, maxx, maxy, lon, lat.
# A line's point is its middle (clicking there hits it); anything else's is a point on its surface.
_POINT = "CASE WHEN GeometryType(g) = 'LINESTRING' THEN ST_LineInterpolatePoint(g, 0.5) ELSE ST_PointOnSurface(g) END"
_PLACE = f"""ST_AsGeoJSON(g, 7) AS geometry, ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g),
            ST_X({_POINT}), ST_Y({_POINT})"""

_QUERIES: dict[str, str] = {
    "ward": f"""
        SELECT id, number::text, name, {_PLACE} FROM (
            SELECT id, number, name, boundary AS g FROM registry_ward
            WHERE number = %(number)s AND boundary IS NOT NULL) s""",
    "holding": f"""
        SELECT id, holding_id, address, {_PLACE} FROM (
            SELECT h.id, h.holding_id, h.address, ST_Collect(b.footprint) AS g
            FROM (SELECT id, holding_id, address FROM registry_holding WHERE holding_id LIKE %(prefix)s
                  ORDER BY holding_id LIMIT %(limit)s) h
            JOIN registry_building b ON b.holding_id = h.id
            GROUP BY h.id, h.holding_id, h.address) s
        ORDER BY holding_id""",
    "building": f"""
        SELECT id, bin, COALESCE(holding_id, ''), {_PLACE} FROM (
            SELECT b.id, b.bin, h.holding_id, b.footprint AS g
            FROM registry_building b LEFT JOIN registry_holding h ON h.id = b.holding_id
            WHERE b.bin LIKE %(prefix)s ORDER BY b.bin LIMIT %(limit)s) s""",
    "containment": f"""
        SELECT id, code, type, {_PLACE} FROM (
            SELECT id, code, type, location AS g FROM registry_containment
            WHERE code LIKE %(prefix)s ORDER BY code LIMIT %(limit)s) s""",
    "road": f"""
        SELECT id, code, name, {_PLACE} FROM (
            SELECT id, code, name, geom AS g FROM registry_road
            WHERE code LIKE %(prefix)s ORDER BY code LIMIT %(limit)s) s""",
    "drain": f"""
        SELECT id, code, kind, {_PLACE} FROM (
            SELECT id, code, kind, geom AS g FROM registry_drain
            WHERE code LIKE %(prefix)s ORDER BY code LIMIT %(limit)s) s""",
    "sewer": f"""
        SELECT id, code, diameter_mm::text, {_PLACE} FROM (
            SELECT id, code, diameter_mm, geom AS g FROM registry_sewer
            WHERE code LIKE %(prefix)s ORDER BY code LIMIT %(limit)s) s""",
    # A road name runs over several segments (one per block): one match per name, all its segments together.
    "road_name": f"""
        SELECT id, name, codes, {_PLACE} FROM (
            SELECT min(id) AS id, name, string_agg(code, ', ' ORDER BY code) AS codes, ST_Collect(geom) AS g
            FROM registry_road WHERE name ILIKE %(contains)s AND code NOT LIKE %(prefix)s
            GROUP BY name ORDER BY name LIMIT %(limit)s) s""",
}

KINDS = ("ward", "holding", "building", "containment", "road", "road_name", "drain", "sewer")
_RECORD_URLS = {"holding": "registry:holding_detail", "building": "registry:building_detail",
                "containment": "registry:containment_detail"}


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def map_search_results(query: str, *, limit: int = MAX_RESULTS, kinds: tuple[str, ...] = KINDS) -> list[dict]:
    """Matches for the map's search box, most specific first (ward, holding, building, containment, road...)."""
    query = " ".join(query.split())
    if len(query) < MIN_QUERY and not query.isdigit():
        return []
    params = {"prefix": _like_escape(query.upper()) + "%", "contains": f"%{_like_escape(query)}%", "limit": limit,
              "number": None}
    ward = _WARD.match(query)
    if ward:
        params["number"] = int(ward.group(1))
    kinds = tuple(kind for kind in kinds if kind != "ward" or ward)
    results: list[dict] = []
    with connection.cursor() as cursor:
        for kind in kinds:
            cursor.execute(_QUERIES[kind], params)
            for row in cursor.fetchall():
                pk, label, detail, geometry, minx, miny, maxx, maxy, lon, lat = row
                results.append({"kind": "road" if kind == "road_name" else kind, "id": pk, "label": label,
                                "detail": detail or "", "geometry": json.loads(geometry),
                                "bbox": [minx, miny, maxx, maxy], "center": [lon, lat]})
    return results[: limit * 2]


@require_GET
@permission_required("map.view")
def map_search(request):
    """GET /map/search/?q=… -> {"query": …, "results": [{kind, kind_label, id, label, detail, url, bbox, center,
    geometry}]}."""
    query = request.GET.get("q", "")[:100]
    kind_labels = {"ward": _("Ward"), "holding": _("Holding"), "building": _("Building"),
                   "containment": _("Containment"), "road": _("Road"), "drain": _("Drain"), "sewer": _("Sewer")}
    may_open = has_permission(request, "registry.view")
    kinds = tuple(kind for kind in KINDS if kind != "sewer" or layer_for(request.municipality, "sewers"))
    results = map_search_results(query, kinds=kinds)
    for result in results:
        result["kind_label"] = kind_labels[result["kind"]]
        name = _RECORD_URLS.get(result["kind"])
        result["url"] = reverse(name, args=[result["id"]]) if name and may_open else ""
    return JsonResponse({"query": query, "results": results})
