"""Who is asking (`me`) and where (`municipality`): for clients deciding what to show and ask for."""

from __future__ import annotations

import graphene
from django.contrib.gis.geos import Point

from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.accounts.selectors import request_permissions, request_roles
from imis.shared_apps.tenants.features import CATALOGUE, enabled_features_of

from ..base import enum_from_choices
from ..geometry import PointGeoJSON

RoleEnum = enum_from_choices(Role, "Role", "A member's role in a municipality.")


class Me(graphene.ObjectType):
    """The signed-in user, with their roles and permissions in this municipality."""

    email = graphene.String(required=True)
    full_name = graphene.String(required=True)
    preferred_language = graphene.String(description="`en` or `bn`; null when not chosen.")
    roles = graphene.List(graphene.NonNull(RoleEnum), required=True)
    permissions = graphene.List(graphene.NonNull(graphene.String), required=True,
                                description="Permission codes, e.g. `registry.edit`.")
    is_token_authenticated = graphene.Boolean(required=True, description="True when called with an API token.")

    def resolve_email(request, info):
        return request.user.email

    def resolve_full_name(request, info):
        return request.user.full_name

    def resolve_preferred_language(request, info):
        return request.user.preferred_language or None

    def resolve_roles(request, info):
        return sorted(request_roles(request))

    def resolve_permissions(request, info):
        return sorted(request_permissions(request))

    def resolve_is_token_authenticated(request, info):
        return bool(getattr(request, "is_token_authenticated", False))


class FeatureState(graphene.ObjectType):
    """A service of the feature catalogue and whether this municipality has switched it on."""

    code = graphene.String(required=True, description="e.g. `fsm`, `sewer`, `holding_tax`.")
    name = graphene.String(required=True)
    description = graphene.String(required=True)
    is_enabled = graphene.Boolean(required=True)


class MunicipalityType(graphene.ObjectType):
    """The municipality this endpoint serves."""

    class Meta:
        name = "Municipality"

    slug = graphene.String(required=True)
    name = graphene.String(required=True)
    name_bn = graphene.String(required=True)
    country = graphene.String(required=True)
    timezone = graphene.String(required=True)
    currency = graphene.String(required=True)
    default_language = graphene.String(required=True)
    centre = graphene.Field(PointGeoJSON, required=True, description="Where the map opens.")
    holding_id_pattern = graphene.String(required=True, description="The regular expression holding IDs follow.")
    features = graphene.List(graphene.NonNull(FeatureState), required=True, description="The whole catalogue.")
    enabled_features = graphene.List(graphene.NonNull(graphene.String), required=True,
                                     description="Codes of the features switched on here.")

    def resolve_centre(municipality, info):
        return Point(municipality.centroid_lon, municipality.centroid_lat, srid=4326)

    def resolve_features(municipality, info):
        enabled = enabled_features_of(municipality)
        return [FeatureState(code=code, name=str(spec.name), description=str(spec.description),
                             is_enabled=code in enabled) for code, spec in CATALOGUE.items()]

    def resolve_enabled_features(municipality, info):
        return sorted(enabled_features_of(municipality))
