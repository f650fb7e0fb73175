"""Validation rules that refuse expensive documents before anything runs: depth, cost, introspection fan-out.

Cost model: every field costs 1; the selection under a connection field counts `first`/`last` times (the
maximum page size when it comes from a variable, the default page size when absent); under any other list field
LIST_ESTIMATE times. A document whose operation costs more than MAX_COST is refused, as is one nested deeper than
MAX_DEPTH. Introspection may not nest a list field inside itself (`fields { type { fields … } }`): the standard
introspection query never does, and such a query would grow with the schema's size to a power.

The walks remember each fragment's result, so a document reusing fragments many times costs its length to check,
not the size of its expansion. Before any of this, `document_problem` refuses documents too big to validate
cheaply (too many tokens, one field repeated many times in one place). Strings may not hold NUL characters.
"""

from __future__ import annotations

from graphql import GraphQLError, GraphQLList, GraphQLSyntaxError, ValidationRule, parse, specified_rules
from graphql.language import (
    FieldNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
)

from .relay import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

MAX_DEPTH = 15
MAX_COST = 50_000
LIST_ESTIMATE = 10
MAX_QUERY_LENGTH = 20_000
MAX_NESTING = 100  # selection sets and fragment spreads in one chain, whatever they add to the depth
MAX_TOKENS = 5_000
MAX_FIELD_NODES = 2_000
MAX_SAME_KEY = 20  # one response key selected this often in one selection set (graphql-core compares them pairwise)

INTROSPECTION_LISTS = frozenset({"types", "fields", "inputFields", "interfaces", "possibleTypes", "enumValues",
                                 "args", "directives"})


class _TooDeep(Exception):
    pass


def _page_argument(node: FieldNode) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value in ("first", "last"):
            if isinstance(argument.value, IntValueNode):
                return min(max(int(argument.value.value), 1), MAX_PAGE_SIZE * 10)
            return MAX_PAGE_SIZE
    return None


def _unwrap(gql_type):
    is_list = False
    while hasattr(gql_type, "of_type"):
        is_list = is_list or isinstance(gql_type, GraphQLList)
        gql_type = gql_type.of_type
    return gql_type, is_list


class _Walker:
    def __init__(self, context):
        self.context = context
        self.schema = context.schema
        self.depths: dict[str, int] = {}
        self.costs: dict[str, int] = {}
        self.fan_outs: dict[tuple, str | None] = {}

    def _fragment(self, name: str, stack: tuple):
        if name in stack:
            return None
        return self.context.get_fragment(name)

    def _condition_type(self, node, parent):
        if node.type_condition is None:
            return parent
        return self.schema.get_type(node.type_condition.name.value)

    def depth(self, selection_set, nesting: int = 0, stack: tuple = ()) -> int:
        """How many levels of fields the selection set nests (a leaf field counts 1)."""
        if nesting > MAX_NESTING:
            raise _TooDeep
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.depth(selection.selection_set, nesting + 1, stack) if selection.selection_set else 0
                levels = 1 + inner
            elif isinstance(selection, InlineFragmentNode):
                levels = self.depth(selection.selection_set, nesting + 1, stack)
            else:
                name = selection.name.value
                fragment = self._fragment(name, stack)
                if fragment is None:
                    continue
                if name not in self.depths:
                    self.depths[name] = self.depth(fragment.selection_set, nesting + 1, (*stack, name))
                levels = self.depths[name]
            deepest = max(deepest, levels)
            if deepest > MAX_DEPTH:
                break
        return deepest

    def cost(self, selection_set, parent_type, nesting: int = 0, stack: tuple = ()) -> int:
        if nesting > MAX_NESTING:
            raise _TooDeep
        cap = MAX_COST + 1
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name == "__typename":
                    continue
                total += 1
                if selection.selection_set is None:
                    continue
                fields = getattr(parent_type, "fields", None) or {}
                field_def = fields.get(name)
                named, is_list = _unwrap(field_def.type) if field_def is not None else (None, False)
                page = _page_argument(selection)
                if page is None and "pageInfo" in (getattr(named, "fields", None) or {}):
                    page = DEFAULT_PAGE_SIZE
                is_edges = name == "edges" and "pageInfo" in fields  # the connection's page size counted already
                multiplier = 1 if name.startswith("__") or is_edges else page or (LIST_ESTIMATE if is_list else 1)
                total += multiplier * self.cost(selection.selection_set, named, nesting + 1, stack)
            elif isinstance(selection, InlineFragmentNode):
                total += self.cost(selection.selection_set, self._condition_type(selection, parent_type),
                                   nesting + 1, stack)
            else:
                name = selection.name.value
                fragment = self._fragment(name, stack)
                if fragment is None:
                    continue
                if name not in self.costs:
                    self.costs[name] = self.cost(fragment.selection_set, self._condition_type(fragment, parent_type),
                                                 nesting + 1, (*stack, name))
                total += self.costs[name]
            if total >= cap:
                return cap
        return total

    def fan_out(self, selection_set, inside: bool, path: frozenset, nesting: int = 0, stack: tuple = ()):
        """The introspection list field nested inside itself, if any."""
        if nesting > MAX_NESTING:
            raise _TooDeep
        for selection in selection_set.selections:
            found = None
            if isinstance(selection, FieldNode):
                name = selection.name.value
                now_inside = inside or name in ("__schema", "__type")
                next_path = path
                if now_inside and name in INTROSPECTION_LISTS:
                    if name in path:
                        return name
                    next_path = path | {name}
                if selection.selection_set is not None:
                    found = self.fan_out(selection.selection_set, now_inside, next_path, nesting + 1, stack)
            elif isinstance(selection, InlineFragmentNode):
                found = self.fan_out(selection.selection_set, inside, path, nesting + 1, stack)
            else:
                name = selection.name.value
                fragment = self._fragment(name, stack)
                if fragment is None:
                    continue
                key = (name, inside, path)
                if key not in self.fan_outs:
                    self.fan_outs[key] = self.fan_out(fragment.selection_set, inside, path, nesting + 1,
                                                      (*stack, name))
                found = self.fan_outs[key]
            if found:
                return found
        return None


def _too_deep(node) -> GraphQLError:
    return GraphQLError(f"The query is nested too deeply (more than {MAX_DEPTH} levels).", node,
                        extensions={"code": "QUERY_TOO_DEEP", "maxDepth": MAX_DEPTH})


class DepthAndCostLimit(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_args):
        walker = _Walker(self.context)
        root = {"query": self.context.schema.query_type, "mutation": self.context.schema.mutation_type,
                "subscription": self.context.schema.subscription_type}[node.operation.value]
        try:
            if walker.depth(node.selection_set) > MAX_DEPTH:
                self.report_error(_too_deep(node))
                return
            if walker.cost(node.selection_set, root) > MAX_COST:
                self.report_error(GraphQLError(
                    f"The query is too expensive (cost over {MAX_COST}): ask for fewer items per page or fewer "
                    f"nested lists.", node, extensions={"code": "QUERY_TOO_EXPENSIVE", "maxCost": MAX_COST},
                ))
        except _TooDeep:
            self.report_error(_too_deep(node))


class IntrospectionFanOutLimit(ValidationRule):
    """Inside __schema/__type, a list field may not appear twice on one path."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args):
        try:
            offending = _Walker(self.context).fan_out(node.selection_set, False, frozenset())
        except _TooDeep:
            return  # DepthAndCostLimit reports it
        if offending:
            self.report_error(GraphQLError(
                f"Introspection may not nest `{offending}` inside itself.", node,
                extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
            ))


class NoNullCharacters(ValidationRule):
    """PostgreSQL text cannot hold NUL characters (Django's form fields refuse them too)."""

    def enter_string_value(self, node, *_args):
        if "\x00" in node.value:
            self.report_error(GraphQLError("Strings may not contain NUL (\\u0000) characters.", node,
                                           extensions={"code": "BAD_USER_INPUT"}))


def contains_null_character(value) -> bool:
    """Whether a variables value holds a NUL character anywhere (keys included)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def document_problem(query: str) -> tuple[str, str] | None:
    """(code, message) when a document is too big to even validate, checked before graphql-core validates it.

    graphql-core's OverlappingFieldsCanBeMerged compares every pair of fields answering to the same key: a few
    hundred copies of one field take seconds. Such documents, and overlong ones, are refused here in one pass.
    """
    try:
        document = parse(query, no_location=True, max_lexical_tokens=MAX_TOKENS)
    except GraphQLSyntaxError as error:
        if "tokens" in error.message:
            return "QUERY_TOO_LARGE", f"The document has more than {MAX_TOKENS} tokens."
        return None  # the regular path reports syntax errors, with their location
    field_nodes = 0
    pending = [definition.selection_set for definition in document.definitions
               if getattr(definition, "selection_set", None) is not None]
    while pending:
        selection_set = pending.pop()
        keys: dict[str, int] = {}
        flat = list(selection_set.selections)
        while flat:
            selection = flat.pop()
            if isinstance(selection, InlineFragmentNode):
                flat.extend(selection.selection_set.selections)
            elif isinstance(selection, FieldNode):
                field_nodes += 1
                key = (selection.alias or selection.name).value
                keys[key] = keys.get(key, 0) + 1
                if keys[key] > MAX_SAME_KEY:
                    return "QUERY_TOO_COMPLEX", f"`{key}` is selected more than {MAX_SAME_KEY} times in one place."
                if selection.selection_set is not None:
                    pending.append(selection.selection_set)
        if field_nodes > MAX_FIELD_NODES:
            return "QUERY_TOO_COMPLEX", f"The document selects more than {MAX_FIELD_NODES} fields."
    return None


# graphql-core runs only the rules it is given: the standard ones, then ours.
VALIDATION_RULES = (*specified_rules, DepthAndCostLimit, IntrospectionFanOutLimit, NoNullCharacters)
