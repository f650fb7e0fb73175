"""Relay conventions: global IDs that name their municipality, `node`, cursor connections with a page size cap.

A global ID is base64("Building:khulna:42"). The municipality is part of it because every municipality has its
own schema and its own row 42: an ID minted on one municipality's endpoint is never taken for another's object
(it resolves to null there, and mutations answer `not_found`).
"""

from __future__ import annotations

import binascii

import graphene
from django.core.exceptions import ValidationError
from django.db import connection
from graphene.relay.id_type import BaseGlobalIDType
from graphql import GraphQLObjectType
from graphql_relay import from_global_id, offset_to_cursor, to_global_id
from graphql_relay.utils import unbase64

from .base import BadUserInput, type_rule
from .optimizer import optimized

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_OFFSET = 10_000_000


def current_schema() -> str:
    return getattr(connection, "schema_name", "public")


def global_id_parse(global_id) -> tuple[str, str, int]:
    """(type name, municipality schema, primary key); BAD_USER_INPUT when it is not one of our IDs at all."""
    try:
        type_name, scoped = from_global_id(str(global_id))
        schema, _, pk = scoped.rpartition(":")
        number = int(pk)
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
        raise BadUserInput(f"“{str(global_id)[:80]}” is not an ID of this API.")
    if not type_name or not schema or not 0 < number < 2**63:
        raise BadUserInput(f"“{str(global_id)[:80]}” is not an ID of this API.")
    return type_name, schema, number


class TenantGlobalID(BaseGlobalIDType):
    graphene_type = graphene.ID

    @classmethod
    def resolve_global_id(cls, info, global_id):
        type_name, schema, pk = global_id_parse(global_id)
        return type_name, (schema, pk)

    @classmethod
    def to_global_id(cls, _type, _id):
        return to_global_id(_type, f"{current_schema()}:{_id}")


class Node(graphene.relay.Node):
    """An object with a global ID, valid in the municipality whose endpoint gave it out."""

    class Meta:
        name = "Node"
        global_id_type = TenantGlobalID

    @classmethod
    def get_node_from_global_id(cls, info, global_id, only_type=None):
        type_name, (schema, pk) = cls.resolve_global_id(info, global_id)
        if schema != current_schema():
            return None
        gql_type = info.schema.get_type(type_name)
        graphene_type = getattr(gql_type, "graphene_type", None)
        if graphene_type is None or cls not in getattr(graphene_type._meta, "interfaces", ()):
            return None
        if only_type and graphene_type is not only_type:
            raise BadUserInput(f"Expected the ID of a {only_type._meta.name}, got one of a {type_name}.")
        type_rule(graphene_type).check(info.context)  # the type's feature and permission, for every node type
        return graphene_type.get_node(info, pk)


class TenantObjectType:
    """Mixin for DjangoObjectTypes that are nodes: `node(id:)` loads what the query selects in one go.

    A type whose rows are not all visible to everyone allowed to read it (a service provider sees only its own
    work orders) defines `visible_to(cls, info, queryset)`; `node(id:)` and its lists apply it."""

    @classmethod
    def visible_to(cls, info, queryset):
        return queryset

    @classmethod
    def get_node(cls, info, pk):
        queryset = cls.visible_to(info, cls._meta.model._default_manager.filter(pk=pk))
        gql_type = info.schema.get_type(cls._meta.name)
        return optimized(queryset, info, object_type=gql_type, field_nodes=info.field_nodes).first()


def node_pk(global_id, *, expected: str, field: str) -> int:
    """The primary key behind a global ID given as mutation input; a ValidationError (payload error) otherwise."""
    try:
        type_name, schema, pk = global_id_parse(global_id)
    except BadUserInput as error:
        raise ValidationError({field: ValidationError(error.message, code="invalid_id")})
    if type_name != expected or schema != current_schema():
        raise ValidationError({field: ValidationError(f"No {expected} with this ID exists here.", code="not_found")})
    return pk


def nodes_of(model, global_ids, *, expected: str, field: str) -> list:
    """The objects behind a list of global IDs, in one query; `not_found` when any is missing."""
    pks = [node_pk(global_id, expected=expected, field=field) for global_id in global_ids]
    found = model._default_manager.in_bulk(pks)
    missing = [pk for pk in dict.fromkeys(pks) if pk not in found]
    if missing:
        raise ValidationError({field: ValidationError(
            f"{len(missing)} of the given {expected} IDs do not exist here.", code="not_found")})
    return [found[pk] for pk in dict.fromkeys(pks)]


def node_of(model, global_id, *, expected: str, field: str):
    return nodes_of(model, [global_id], expected=expected, field=field)[0]


def node_in(queryset, global_id, *, expected: str | tuple[str, ...], field: str):
    """The object behind a mutation input's global ID, looked up in `queryset` (what the caller may see) and
    accepting any of the `expected` type names; `invalid_id` / `not_found` payload errors otherwise."""
    names = (expected,) if isinstance(expected, str) else tuple(expected)
    try:
        type_name, schema, pk = global_id_parse(global_id)
    except BadUserInput as error:
        raise ValidationError({field: ValidationError(error.message, code="invalid_id")})
    found = queryset.filter(pk=pk).first() if type_name in names and schema == current_schema() else None
    if found is None:
        raise ValidationError({field: ValidationError(f"No {names[0]} with this ID exists here.", code="not_found")})
    return found


# --- connections --------------------------------------------------------------------------------------------


class CountableConnection(graphene.relay.Connection):
    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="How many items match the filters, on all pages.")

    def resolve_total_count(root, info):
        if getattr(root, "_count", None) is None:
            root._count = root._queryset.order_by().count()
        return root._count


def _cursor_offset(cursor, name: str) -> int:
    try:
        text = unbase64(str(cursor))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, number = text.partition(":")
    if prefix != "arrayconnection" or not number.isdigit() or int(number) > MAX_OFFSET:
        raise BadUserInput(f"`{name}` is not a cursor of this connection.")
    return int(number)


def _page_size(value, name: str) -> int | None:
    if value is None:
        return None
    if not 0 <= value <= MAX_PAGE_SIZE:
        raise BadUserInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE} (the maximum page size).",
                           maxPageSize=MAX_PAGE_SIZE)
    return value


class PagedConnectionField(graphene.relay.ConnectionField):
    """A list field paginated by cursors: `first`/`after` (or `last`/`before`), at most MAX_PAGE_SIZE per page.

    Give it a node type (its connection is used) or a connection class.

    The resolver returns a queryset (filtered, ordered and optimised); this field reads one page of it in one
    query, plus one COUNT only when `totalCount` or `last` without `before` needs it.
    """

    def __init__(self, node_type, *args, **kwargs):
        kwargs.setdefault("first", graphene.Int(
            description=f"Page size, at most {MAX_PAGE_SIZE}; {DEFAULT_PAGE_SIZE} when neither first nor last."))
        kwargs.setdefault("last", graphene.Int(description=f"The last items of the list, at most {MAX_PAGE_SIZE}."))
        kwargs.setdefault("after", graphene.String(description="A cursor: items after it."))
        kwargs.setdefault("before", graphene.String(description="A cursor: items before it."))
        is_connection = isinstance(node_type, type) and issubclass(node_type, graphene.relay.Connection)
        super().__init__(node_type if is_connection else node_type._meta.connection, *args, **kwargs)

    @classmethod
    def resolve_connection(cls, connection_type, args, resolved):
        first = _page_size(args.get("first"), "first")
        last = _page_size(args.get("last"), "last")
        if first is not None and last is not None:
            raise BadUserInput("Give either `first` or `last`, not both.")
        start = _cursor_offset(args["after"], "after") + 1 if args.get("after") else 0
        end = _cursor_offset(args["before"], "before") if args.get("before") else None
        if end is not None and end < start:
            end = start
        count = None
        if last is None:
            size = DEFAULT_PAGE_SIZE if first is None else first
            stop = start + size if end is None else min(start + size, end)
            rows = list(resolved[start:stop + 1]) if end is None or stop < end else list(resolved[start:stop])
            has_next = len(rows) > stop - start
            rows = rows[:stop - start]
            offset, has_previous = start, start > 0
        else:
            if end is None:
                count = end = resolved.order_by().count()
            offset = max(start, end - last)
            rows = list(resolved[offset:end])
            has_previous, has_next = offset > start or offset > 0, args.get("before") is not None
        edges = [connection_type.Edge(node=row, cursor=offset_to_cursor(offset + index))
                 for index, row in enumerate(rows)]
        page = connection_type(edges=edges, page_info=graphene.relay.PageInfo(
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
            has_previous_page=has_previous,
            has_next_page=has_next,
        ))
        page._queryset, page._count = resolved, count
        return page


def connection_node_type(info) -> GraphQLObjectType:
    """The GraphQL object type of the nodes of the connection being resolved."""
    connection_type = info.return_type
    while hasattr(connection_type, "of_type"):
        connection_type = connection_type.of_type
    edge_type = connection_type.fields["edges"].type
    while hasattr(edge_type, "of_type"):
        edge_type = edge_type.of_type
    node_type = edge_type.fields["node"].type
    while hasattr(node_type, "of_type"):
        node_type = node_type.of_type
    return node_type
