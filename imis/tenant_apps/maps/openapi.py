"""The OpenAPI 3.0 document of our OGC API Features, generated from the layer declarations."""

from __future__ import annotations

from .layers import Layer

_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean", "date": "string", "string": "string"}


def openapi_document(request, layers: list[Layer], base: str) -> dict:
    paths: dict = {
        "/": {"get": {"summary": "Landing page", "operationId": "getLandingPage",
                      "responses": {"200": {"description": "The landing page"}}}},
        "/conformance": {"get": {"summary": "Conformance classes", "operationId": "getConformance",
                                 "responses": {"200": {"description": "The conformance classes"}}}},
        "/collections": {"get": {"summary": "Collections", "operationId": "getCollections",
                                 "responses": {"200": {"description": "The feature collections"}}}},
    }
    common = [
        {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
         "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}},
        {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
    ]
    for layer in layers:
        filters = [{"name": prop.name, "in": "query", "required": False, "schema": {"type": _TYPES[prop.type]}}
                   for prop in layer.props if prop.filterable]
        paths[f"/collections/{layer.name}"] = {"get": {
            "summary": f"The {layer.title} collection", "operationId": f"describe_{layer.name}",
            "responses": {"200": {"description": "Metadata of the collection"}}}}
        paths[f"/collections/{layer.name}/items"] = {"get": {
            "summary": f"Features of {layer.title}", "operationId": f"getFeatures_{layer.name}",
            "parameters": common + filters,
            "responses": {"200": {"description": "A GeoJSON FeatureCollection",
                                  "content": {"application/geo+json": {"schema": {"type": "object"}}}},
                          "400": {"description": "A bad parameter"}}}}
        paths[f"/collections/{layer.name}/items/{{featureId}}"] = {"get": {
            "summary": f"One feature of {layer.title}", "operationId": f"getFeature_{layer.name}",
            "parameters": [{"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "A GeoJSON Feature"}, "404": {"description": "Not found"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": f"IMIS OGC API Features — {request.municipality.name}", "version": "1.0.0"},
        "servers": [{"url": base}],
        "components": {"securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization",
                                                      "description": "Token <personal API token>"}}},
        "security": [{"token": []}],
        "paths": paths,
    }
