"""Map edges: vector tiles, TileJSON, OGC API Features and the staff map page."""

from __future__ import annotations

import datetime
import json
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from imis.platform.errors import field_error
from imis.platform.permissions import permission_required
from imis.platform.versioning import data_version_current
from imis.shared_apps.tenants.features import is_feature_enabled

from . import analyses
from .analyses import AnalysisResult
from .exports import result_csv, result_geopackage
from .layers import Layer, layer_for, layers_for
from .selectors import MAX_ITEMS, layer_extent, layer_feature, layer_items, municipality_extent
from .tiles import MAX_ZOOM, TileOutOfRange, tile_cached, tile_check, tile_etag

MVT_TYPE = "application/vnd.mapbox-vector-tile"
GEOJSON_TYPE = "application/geo+json"
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.0"


def _layer_or_404(request, name: str) -> Layer:
    layer = layer_for(request.municipality, name)
    if layer is None:
        raise Http404("No such layer here.")
    return layer


# --- vector tiles -------------------------------------------------------------------------------------

@require_GET
@permission_required("map.view")
def tile(request, layer: str, z: int, x: int, y: int):
    spec = _layer_or_404(request, layer)
    try:
        tile_check(z, x, y)
    except TileOutOfRange as error:
        raise Http404(str(error)) from error
    version = data_version_current()
    etag = tile_etag(spec, z, x, y, version=version)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(tile_cached(spec, z, x, y, version=version), content_type=MVT_TYPE)
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie, Authorization"
    return response


@require_GET
@permission_required("map.view")
def tilejson(request, layer: str):
    spec = _layer_or_404(request, layer)
    extent = municipality_extent(request.municipality)
    template = request.build_absolute_uri(reverse("maps:tile", args=[spec.name, 0, 0, 0])).replace(
        "/0/0/0.mvt", "/{z}/{x}/{y}.mvt")
    return JsonResponse({
        "tilejson": "3.0.0",
        "name": str(spec.title),
        "tiles": [template],
        "minzoom": spec.min_zoom,
        "maxzoom": MAX_ZOOM,
        "bounds": extent,
        "center": [(extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2, max(spec.min_zoom, 13)],
        "vector_layers": [{"id": spec.name, "minzoom": spec.min_zoom, "maxzoom": MAX_ZOOM,
                           "fields": {prop.name: prop.type for prop in (*spec.props, *spec.tile_props)}}],
    })


# --- OGC API Features ---------------------------------------------------------------------------------

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
]


class OgcError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _base(request) -> str:
    return request.build_absolute_uri("/ogcapi").rstrip("/")


def _wants_html(request) -> bool:
    requested = request.GET.get("f")
    if requested:
        return requested == "html"
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "json" not in accept


def _ogc(view):
    """OGC API edges: map errors to the standard's JSON exception body."""

    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except OgcError as error:
            return JsonResponse({"code": "InvalidParameterValue" if error.status == 400 else "NotFound",
                                 "description": str(error)}, status=error.status)

    wrapped.__name__ = view.__name__
    return permission_required("map.view")(wrapped)


def _collection_json(request, layer: Layer) -> dict:
    base = _base(request)
    extent = layer_extent(layer)
    return {
        "id": layer.name,
        "title": str(layer.title),
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": {"spatial": {"bbox": [extent] if extent else [[-180, -90, 180, 90]],
                               "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        "links": [
            {"href": f"{base}/collections/{layer.name}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{layer.name}/items", "rel": "items", "type": GEOJSON_TYPE},
            {"href": f"{base}/collections/{layer.name}/items?f=html", "rel": "items", "type": "text/html"},
        ],
    }


def _collections(request) -> list[Layer]:
    return [layer for layer in layers_for(request.municipality) if layer.is_collection]


@_ogc
def ogc_landing(request):
    base = _base(request)
    body = {
        "title": f"IMIS — {request.municipality.name}",
        "description": "Municipal GIS layers as OGC API Features.",
        "links": [
            {"href": f"{base}/", "rel": "self", "type": "application/json", "title": "this document"},
            {"href": f"{base}/api", "rel": "service-desc", "type": OPENAPI_TYPE, "title": "the API definition"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json"},
        ],
    }
    if _wants_html(request):
        return render(request, "maps/ogc_landing.html", {"collections": _collections(request), "base": base})
    return JsonResponse(body)


@_ogc
def ogc_conformance(request):
    return JsonResponse({"conformsTo": CONFORMANCE})


@_ogc
def ogc_collections(request):
    collections = [_collection_json(request, layer) for layer in _collections(request)]
    if _wants_html(request):
        return render(request, "maps/ogc_landing.html", {"collections": _collections(request), "base": _base(request)})
    return JsonResponse({"collections": collections,
                         "links": [{"href": f"{_base(request)}/collections", "rel": "self",
                                    "type": "application/json"}]})


def _collection_or_404(request, collection_id: str) -> Layer:
    layer = layer_for(request.municipality, collection_id)
    if layer is None or not layer.is_collection:
        raise OgcError(404, f"No collection {collection_id}.")
    return layer


@_ogc
def ogc_collection(request, collection_id: str):
    return JsonResponse(_collection_json(request, _collection_or_404(request, collection_id)))


def _parse_bbox(text: str) -> list[float] | None:
    if not text:
        return None
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError as error:
        raise OgcError(400, "bbox must be four numbers: minx,miny,maxx,maxy.") from error
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or values[0] > values[2] or values[1] > values[3]:
        raise OgcError(400, "bbox must be four numbers: minx,miny,maxx,maxy (min before max).")
    return values


def _parse_int(text: str | None, *, name: str, default: int, low: int, high: int | None = None) -> int:
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError as error:
        raise OgcError(400, f"{name} must be a whole number.") from error
    if value < low:
        raise OgcError(400, f"{name} must be at least {low}.")
    return min(value, high) if high else value


RESERVED_PARAMS = {"f", "bbox", "bbox-crs", "limit", "offset", "datetime", "crs"}


def _parse_filters(layer: Layer, params) -> dict:
    filters = {}
    for name, value in params.items():
        if name in RESERVED_PARAMS:
            continue
        prop = layer.prop(name)
        if prop is None or not prop.filterable:
            raise OgcError(400, f"Unknown or unfilterable property: {name}.")
        if prop.type == "integer":
            try:
                value = int(value)
            except ValueError as error:
                raise OgcError(400, f"{name} must be a whole number.") from error
        elif prop.type == "boolean":
            value = value.lower() in ("true", "1", "yes")
        filters[name] = value
    return filters


@_ogc
def ogc_items(request, collection_id: str):
    layer = _collection_or_404(request, collection_id)
    bbox = _parse_bbox(request.GET.get("bbox", ""))
    limit = _parse_int(request.GET.get("limit"), name="limit", default=10, low=1, high=MAX_ITEMS)
    offset = _parse_int(request.GET.get("offset"), name="offset", default=0, low=0)
    filters = _parse_filters(layer, request.GET)
    page = layer_items(layer, bbox=bbox, filters=filters, limit=limit, offset=offset)
    base = f"{_base(request)}/collections/{layer.name}/items"
    kept = {key: value for key, value in request.GET.items() if key not in ("offset", "f")}

    def link(rel: str, new_offset: int, media: str = GEOJSON_TYPE) -> dict:
        query = urlencode({**kept, "offset": new_offset, **({"f": "html"} if media == "text/html" else {})})
        return {"href": f"{base}?{query}", "rel": rel, "type": media}

    links = [link("self", offset), link("alternate", offset, "text/html")]
    if offset + limit < page["numberMatched"]:
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    page["links"] = links
    if _wants_html(request):
        return render(request, "maps/ogc_items.html", {"layer": layer, "page": page, "links": links})
    return HttpResponse(json.dumps(page), content_type=GEOJSON_TYPE)


@_ogc
def ogc_item(request, collection_id: str, feature_id: str):
    layer = _collection_or_404(request, collection_id)
    if not feature_id.isdigit():
        raise OgcError(404, "No such feature.")
    feature = layer_feature(layer, int(feature_id))
    if feature is None:
        raise OgcError(404, "No such feature.")
    base = _base(request)
    feature["links"] = [
        {"href": f"{base}/collections/{layer.name}/items/{feature_id}", "rel": "self", "type": GEOJSON_TYPE},
        {"href": f"{base}/collections/{layer.name}", "rel": "collection", "type": "application/json"},
    ]
    return HttpResponse(json.dumps(feature), content_type=GEOJSON_TYPE)


@_ogc
def ogc_api(request):
    from .openapi import openapi_document

    return HttpResponse(json.dumps(openapi_document(request, _collections(request), _base(request))),
                        content_type=OPENAPI_TYPE)


# --- the map page -------------------------------------------------------------------------------------

@permission_required("map.view")
def map_page(request):
    layers = [
        {"name": layer.name, "title": str(layer.title), "geometry": layer.geometry_type, "minzoom": layer.min_zoom,
         "colour": layer.colour, "thematic_of": layer.thematic_of, "style_property": layer.style_property,
         "legend": [[value, str(label), colour] for value, label, colour in layer.legend],
         "tiles": request.build_absolute_uri(f"/tiles/{layer.name}/") + "{z}/{x}/{y}.mvt"}
        for layer in layers_for(request.municipality)
    ]
    config = {"layers": layers, "bounds": municipality_extent(request.municipality),
              "basemap_url": ""}
    return render(request, "maps/map.html", {"map_config": config})


# --- analyses -----------------------------------------------------------------------------------------

def _run_analysis(name: str, params) -> AnalysisResult:
    if name == "connectable":
        line = params.get("line_id", "")
        if not line.isdigit():
            raise field_error({"line_id": "Select a drain or a sewer on the map."}, code="required")
        return analyses.buildings_connectable_to_network(network=params.get("network", "drain"), line_id=int(line),
                                                         distance_m=params.get("distance_m", 30))
    if name == "water_supply":
        return analyses.water_supply_status()
    if name == "unsafe_near_water":
        return analyses.unsafe_sanitation_near_water_bodies(distance_m=params.get("distance_m", 30))
    if name == "hard_to_reach":
        return analyses.hard_to_reach_buildings(distance_m=params.get("distance_m", 50),
                                                min_road_width_m=params.get("min_road_width_m", 3))
    if name == "area_summary":
        ward = params.get("ward", "")
        geometry = analyses.area_geometry(ward=int(ward) if ward.isdigit() else None,
                                          geojson=params.get("geometry"), buffer_m=params.get("buffer_m"))
        return analyses.area_summary(geometry=geometry)
    if name == "application_density":
        since = params.get("since") or None
        if since:
            try:
                datetime.date.fromisoformat(since)
            except ValueError as error:
                raise field_error({"since": "Give a date as YYYY-MM-DD."}, code="invalid_date") from error
        return analyses.application_density(cell_m=params.get("cell_m", 250), since=since)
    if name == "containments_due":
        try:
            before = datetime.date.fromisoformat(params.get("before") or datetime.date.today().isoformat())
        except ValueError as error:
            raise field_error({"before": "Give a date as YYYY-MM-DD."}, code="invalid_date") from error
        return analyses.containments_due(before=before)
    raise Http404("No such analysis.")


ANALYSIS_FEATURES = {"connectable": None, "containments_due": "fsm", "application_density": "fsm"}


@permission_required("map.view")
def analysis(request, name: str):
    feature = ANALYSIS_FEATURES.get(name)
    if feature and not is_feature_enabled(request.municipality, feature):
        raise Http404("Feature not enabled")
    params = request.POST if request.method == "POST" else request.GET
    try:
        result = _run_analysis(name, params)
    except ValidationError as error:
        errors = [{"field": field, "message": message, "code": getattr(error, "code", None)}
                  for field, messages in getattr(error, "message_dict", {"": error.messages}).items()
                  for message in messages]
        return JsonResponse({"errors": errors}, status=400)
    export = params.get("format", "geojson")
    if export == "csv":
        response = HttpResponse(result_csv(result), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{result.name}.csv"'
        return response
    if export == "gpkg":
        response = HttpResponse(result_geopackage(result), content_type="application/geopackage+sqlite3")
        response["Content-Disposition"] = f'attachment; filename="{result.name}.gpkg"'
        return response
    return JsonResponse({"name": result.name, "summary": result.summary, "columns": result.columns,
                         "features": result.feature_collection()})
