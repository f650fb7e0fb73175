"""Load what the query asks for, in a bounded number of SQL statements, whatever the page size and nesting.

Each domain's `loaders.py` tells, per GraphQL type, which fields are ORM relations, which are heavy columns
(geometry) to leave out unless asked for, and which are annotations. `optimized(queryset, info)` then reads the
query's selection (fragments, aliases and @skip/@include included) and adds to the queryset:

- `select_related` for a foreign key whose own selection needs no further query (one JOIN, no statement);
- `prefetch_related` for reverse and many-to-many relations, and for foreign keys whose selection needs
  prefetches or annotations of its own (one statement per relation, for the whole page);
- `defer` of heavy columns nobody asked for; annotations that were asked for.

So `containments { buildings { holding { owners ward } } ward }` costs the page query plus one query per
prefetched relation — the same for 10 rows as for 100.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from graphql import GraphQLObjectType
from graphql.execution.collect_fields import collect_sub_fields


@dataclass(frozen=True)
class Loader:
    relations: dict[str, str] = field(default_factory=dict)
    heavy: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, tuple[str, object]] = field(default_factory=dict)


_LOADERS: dict[str, Loader] = {}


def register_loader(graphene_type, *, relations: dict[str, str] | None = None, heavy: dict[str, str] | None = None,
                    annotations: dict[str, tuple[str, object]] | None = None) -> None:
    """Declare how a GraphQL type's fields map to the ORM. Keys are GraphQL field names (camelCase)."""
    _LOADERS[graphene_type._meta.name] = Loader(relations or {}, heavy or {}, annotations or {})


@dataclass
class Plan:
    select: list[str] = field(default_factory=list)
    prefetch: list[tuple[str, QuerySet]] = field(default_factory=list)
    defer: list[str] = field(default_factory=list)
    annotate: dict[str, object] = field(default_factory=dict)


def _unwrap(gql_type):
    while hasattr(gql_type, "of_type"):
        gql_type = gql_type.of_type
    return gql_type


def selected(info, object_type: GraphQLObjectType, field_nodes) -> dict[str, list]:
    """GraphQL field name -> the field nodes selecting it (merged over aliases and fragments)."""
    grouped: dict[str, list] = {}
    collected = collect_sub_fields(info.schema, info.fragments, info.variable_values, object_type, field_nodes)
    for nodes in collected.values():
        for node in nodes:
            grouped.setdefault(node.name.value, []).append(node)
    return grouped


def plan_for(info, object_type: GraphQLObjectType, field_nodes, model) -> Plan:
    loader = _LOADERS.get(object_type.name, Loader())
    fields = selected(info, object_type, field_nodes)
    plan = Plan()
    for name, column in loader.heavy.items():
        if name not in fields:
            plan.defer.append(column)
    for name, (attribute, expression) in loader.annotations.items():
        if name in fields:
            plan.annotate[attribute] = expression
    for name, relation in loader.relations.items():
        if name not in fields:
            continue
        model_field = model._meta.get_field(relation)
        target_model = model_field.related_model
        target_type = _unwrap(object_type.fields[name].type)
        child = plan_for(info, target_type, fields[name], target_model)
        is_forward_fk = model_field.many_to_one or (model_field.one_to_one and model_field.concrete)
        if is_forward_fk and not child.prefetch and not child.annotate:
            plan.select.append(relation)
            plan.select += [f"{relation}__{path}" for path in child.select]
            plan.defer += [f"{relation}__{column}" for column in child.defer]
        else:
            plan.prefetch.append((relation, apply_plan(target_model._default_manager.all(), child)))
    return plan


def apply_plan(queryset: QuerySet, plan: Plan) -> QuerySet:
    queryset = queryset.select_related(None).prefetch_related(None)
    if plan.select:
        queryset = queryset.select_related(*plan.select)
    if plan.prefetch:
        queryset = queryset.prefetch_related(*(Prefetch(lookup, queryset=inner) for lookup, inner in plan.prefetch))
    missing = {name: expression for name, expression in plan.annotate.items()
               if name not in queryset.query.annotations}
    if missing:
        queryset = queryset.annotate(**missing)
    queryset = queryset.defer(None)
    if plan.defer:
        queryset = queryset.defer(*plan.defer)
    return queryset


def optimized(queryset: QuerySet, info, *, object_type: GraphQLObjectType | None = None, field_nodes=None) -> QuerySet:
    """The queryset with what the current field's selection needs; for a connection, what its nodes need."""
    if object_type is None:
        object_type = _unwrap(info.return_type)
        field_nodes = info.field_nodes
        if "edges" in object_type.fields and "pageInfo" in object_type.fields:
            edges = selected(info, object_type, field_nodes).get("edges", [])
            edge_type = _unwrap(object_type.fields["edges"].type)
            field_nodes = selected(info, edge_type, edges).get("node", []) if edges else []
            object_type = _unwrap(edge_type.fields["node"].type)
    return apply_plan(queryset, plan_for(info, object_type, field_nodes or [], queryset.model))
