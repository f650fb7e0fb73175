"""The GraphQL API (graphene-django): one schema (schema.py) assembled from one sub-package per domain.

    base.py       errors with codes, permission/feature gates, the base mutation, enums
    relay.py      global IDs scoped to the municipality, `node`, paginated connections
    optimizer.py  loads what a query selects in a bounded number of SQL statements
    limits.py     depth, cost and introspection limits
    geometry.py   GeoJSON scalars (in and out) and the bbox filter
    views.py      the endpoint: session or API token, members only
    core/         node, me, municipality
    registry/     the registry layers and workflow steps
"""
