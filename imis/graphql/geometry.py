"""Geometry in the API: GeoJSON out (graphene-gis scalars), GeoJSON in (our `GeoJSON` input scalar), bbox filters.

graphene-gis converts only Point, LineString, Polygon, MultiPolygon and Geometry model fields, and its converters
load only once `graphene_gis.converter` is imported — which this module does. MultiPoint, MultiLineString and
GeometryCollection fields would otherwise hit a KeyError inside graphene-gis; they are registered here.
"""

from __future__ import annotations

import json

import graphene
from django.contrib.gis.db import models as gis_models
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Polygon
from graphene_django.converter import convert_django_field
from graphene_gis import scalars
from graphene_gis.converter import gis_converter  # noqa: F401 - importing registers graphene-gis' converters
from graphql import GraphQLError
from graphql.language import ObjectValueNode, StringValueNode
from graphql.utilities import value_from_ast_untyped

MAX_INPUT_COORDINATES = 10_000


class MultiPointScalar(scalars.GISScalar):
    geom_typeid = 4

    class Meta:
        description = "A GIS MultiPoint geojson"


class MultiLineStringScalar(scalars.GISScalar):
    geom_typeid = 5

    class Meta:
        description = "A GIS MultiLineString geojson"


class GeometryCollectionScalar(scalars.GISScalar):
    geom_typeid = 7

    class Meta:
        description = "A GIS GeometryCollection geojson"


_SCALARS = {
    gis_models.PointField: scalars.PointScalar,
    gis_models.LineStringField: scalars.LineStringScalar,
    gis_models.PolygonField: scalars.PolygonScalar,
    gis_models.MultiPolygonField: scalars.MultiPolygonScalar,
    gis_models.MultiPointField: MultiPointScalar,
    gis_models.MultiLineStringField: MultiLineStringScalar,
    gis_models.GeometryCollectionField: GeometryCollectionScalar,
}


# Registered after graphene-gis' own converters, so these win: the three types it lacks, and for all of them a
# description only when the model field has help text (graphene-gis prints an empty one otherwise).
@convert_django_field.register(gis_models.PointField)
@convert_django_field.register(gis_models.LineStringField)
@convert_django_field.register(gis_models.PolygonField)
@convert_django_field.register(gis_models.MultiPolygonField)
@convert_django_field.register(gis_models.MultiPointField)
@convert_django_field.register(gis_models.MultiLineStringField)
@convert_django_field.register(gis_models.GeometryCollectionField)
def convert_geometry_field(field, registry=None):
    scalar = _SCALARS.get(type(field), scalars.GISScalar)
    return scalar(required=not field.null, description=str(field.help_text) if field.help_text else None)


# Output scalars, for fields declared by hand (renamed model fields such as `geom` -> `geometry`).
PointGeoJSON = scalars.PointScalar
LineStringGeoJSON = scalars.LineStringScalar
PolygonGeoJSON = scalars.PolygonScalar
MultiPolygonGeoJSON = scalars.MultiPolygonScalar


def _invalid(reason: str) -> GraphQLError:
    return GraphQLError(f"Not a usable geometry: {reason}", extensions={"code": "BAD_USER_INPUT"})


def geometry_from_input(value) -> GEOSGeometry:
    """A GeoJSON geometry object (or GeoJSON/WKT text) in WGS 84 longitude/latitude -> GEOSGeometry (SRID 4326)."""
    if isinstance(value, dict):
        text = json.dumps(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise _invalid("send a GeoJSON geometry object, e.g. {type: \"Point\", coordinates: [89.54, 22.84]}.")
    if not text:
        raise _invalid("the value is empty.")
    try:
        geometry = GEOSGeometry(text)
        if geometry.srid is None:
            geometry.srid = 4326
        elif geometry.srid != 4326:
            geometry = geometry.transform(4326, clone=True)
    except (ValueError, TypeError, IndexError, GEOSException, GDALException):
        raise _invalid("it is neither GeoJSON nor WKT.")
    if geometry.empty:
        raise _invalid("the geometry is empty.")
    if geometry.num_coords > MAX_INPUT_COORDINATES:
        raise _invalid(f"more than {MAX_INPUT_COORDINATES} coordinates.")
    west, south, east, north = geometry.extent
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise _invalid("coordinates must be longitude (-180..180) and latitude (-90..90).")
    return geometry


class GeoJSON(graphene.Scalar):
    """A geometry as a GeoJSON geometry object (RFC 7946, WGS 84 longitude/latitude), e.g.
    `{type: "Point", coordinates: [89.5403, 22.8456]}`. A string holding GeoJSON or WKT is accepted too."""

    @staticmethod
    def serialize(geometry):
        return json.loads(geometry.geojson)

    @staticmethod
    def parse_value(value):
        return geometry_from_input(value)

    @staticmethod
    def parse_literal(node, _variables=None):
        if isinstance(node, ObjectValueNode):
            return geometry_from_input(value_from_ast_untyped(node, _variables))
        if isinstance(node, StringValueNode):
            return geometry_from_input(node.value)
        raise _invalid("send a GeoJSON geometry object.")


class BoundingBox(graphene.InputObjectType):
    """A longitude/latitude rectangle (WGS 84): items touching it are returned."""

    west = graphene.Float(required=True)
    south = graphene.Float(required=True)
    east = graphene.Float(required=True)
    north = graphene.Float(required=True)


def within_bbox(queryset, column: str, bbox):
    """Filter a queryset to rows whose `column` geometry intersects the bounding box (uses the spatial index)."""
    if not bbox:
        return queryset
    west, south, east, north = bbox.west, bbox.south, bbox.east, bbox.north
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise GraphQLError(
            "bbox: west <= east within -180..180 and south <= north within -90..90 (longitude/latitude).",
            extensions={"code": "BAD_USER_INPUT"},
        )
    box = Polygon.from_bbox((west, south, east, north))
    box.srid = 4326
    return queryset.filter(**{f"{column}__intersects": box})
