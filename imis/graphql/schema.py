"""The one GraphQL schema, assembled from each domain's Query and Mutation classes.

A new domain (fsm, tax, …) adds `imis/graphql/<domain>/` with types.py, queries.py, mutations.py and loaders.py,
sets `imis_permission` / `imis_feature` on its types and mutations (base.py), and lists its classes below. Then
`python manage.py print_graphql_schema --write` updates schema.graphql (a test fails while it differs).
"""

from __future__ import annotations

import graphene

from .base import guard_schema
from .core.queries import CoreQuery
from .fsm.mutations import FsmMutation, FsmSetupMutation
from .fsm.queries import FsmQuery
from .kpi.queries import KpiQuery
from .licences.mutations import LicenceMutation
from .licences.queries import LicenceQuery
from .payments.queries import PaymentsQuery
from .registry.mutations import RegistryMutation
from .registry.queries import RegistryQuery
from .sewer.mutations import SewerMutation
from .sewer.queries import SewerQuery
from .surveys.queries import SurveyQuery
from .tax.mutations import TaxMutation
from .tax.queries import TaxQuery
from .water.mutations import WaterMutation
from .water.queries import WaterQuery

QUERIES = (CoreQuery, RegistryQuery, FsmQuery, TaxQuery, LicenceQuery, KpiQuery, SurveyQuery, PaymentsQuery,
           WaterQuery, SewerQuery)
MUTATIONS = (RegistryMutation, FsmMutation, FsmSetupMutation, TaxMutation, LicenceMutation, WaterMutation,
             SewerMutation)


class Query(*QUERIES, graphene.ObjectType):
    """Every read of the API. Lists are Relay connections: `first` (at most 100) and `after`."""


class Mutation(*MUTATIONS, graphene.ObjectType):
    """Every change. Each answers `errors: [{field, message, code}]`, empty on success."""


schema = graphene.Schema(query=Query, mutation=Mutation)
guard_schema(schema.graphql_schema)
