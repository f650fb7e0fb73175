"""The root fields every client starts with: `node`, `me`, `municipality`."""

from __future__ import annotations

import graphene

from ..base import guarded
from ..relay import Node
from .types import Me, MunicipalityType


class CoreQuery(graphene.ObjectType):
    node = Node.Field(description="Any object by its global ID (null when it does not exist in this municipality).")
    me = graphene.Field(Me, required=True, description="The signed-in user here.")
    municipality = guarded(graphene.Field(MunicipalityType, required=True), permission="home.view")

    @staticmethod
    def resolve_me(root, info):
        return info.context

    @staticmethod
    def resolve_municipality(root, info):
        return info.context.municipality
