"""What every domain's GraphQL uses: errors with codes, permission and feature gates, the base mutation, enums.

Permissions and features are declared, not coded into resolvers:

- on a type: `imis_permission = "registry.view"`, `imis_feature = "sewer"` (class attributes). Every field that
  returns the type (or a connection or list of it) checks them, unless its parent type already did;
- on a single field: `guarded(graphene.String(), permission="registry.edit")`;
- on a mutation: the same two class attributes on a `ServiceMutation`.

`guard_schema()` (called once by schema.py) wraps exactly those resolvers, so nothing is forgotten by a new domain.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum as PyEnum

import graphene
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models
from graphene.relay import Connection
from graphene.utils.str_converters import to_camel_case
from graphql import GraphQLError, GraphQLObjectType, default_field_resolver, get_named_type

from imis.shared_apps.accounts.selectors import has_permission
from imis.shared_apps.tenants.features import FeatureNotEnabled, assert_feature_enabled

# --- errors -----------------------------------------------------------------------------------------------


class ApiError(GraphQLError):
    """An error the client caused or may see; its message is safe to show and `extensions.code` says which."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, **extensions):
        super().__init__(str(message), extensions={"code": self.code, **extensions})


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class PermissionDenied(ApiError):
    code = "FORBIDDEN"


class FeatureDisabled(ApiError):
    code = "FEATURE_NOT_ENABLED"


# --- permission and feature gates ---------------------------------------------------------------------------


def require_feature(request, feature: str) -> None:
    """Raise FEATURE_NOT_ENABLED unless the request's municipality has the feature switched on."""
    try:
        assert_feature_enabled(getattr(request, "municipality", None), feature)
    except FeatureNotEnabled as error:
        raise FeatureDisabled(f"Feature not enabled: {error}", feature=feature)


def require_permission(request, permission: str | tuple[str, ...]) -> None:
    """Raise FORBIDDEN unless the request's user holds the permission in this municipality (accounts.roles).

    A tuple means any one of them (e.g. a licence fee is taken by licence staff or by a cashier)."""
    codes = (permission,) if isinstance(permission, str) else tuple(permission)
    if not any(has_permission(request, code) for code in codes):
        needed = " or ".join(codes)
        raise PermissionDenied(f"You do not have permission to do this (needs {needed}).", permission=codes[0])


def holds_permission(request, permission: str | tuple[str, ...]) -> bool:
    codes = (permission,) if isinstance(permission, str) else tuple(permission)
    return any(has_permission(request, code) for code in codes)


@dataclass(frozen=True)
class Rule:
    permission: str | tuple[str, ...] | None = None
    feature: str | None = None

    def __bool__(self) -> bool:
        return bool(self.permission or self.feature)

    def check(self, request) -> None:
        # The feature first: a disabled feature answers the same to everybody.
        if self.feature:
            require_feature(request, self.feature)
        if self.permission:
            require_permission(request, self.permission)


def guarded(field, *, permission: str | tuple[str, ...] | None = None, feature: str | None = None) -> graphene.Field:
    """Mark one field as needing a permission and/or a feature beyond its type's own."""
    if not isinstance(field, graphene.Field):
        field = field.mount_as(graphene.Field)
    field.imis_rule = Rule(permission, feature)
    return field


def type_rule(graphene_type, edges: dict | None = None) -> Rule:
    """The rule of a graphene type; connections and their edges carry the rule of their node type."""
    if graphene_type is None:
        return Rule()
    if isinstance(graphene_type, type) and issubclass(graphene_type, Connection):
        graphene_type = graphene_type._meta.node
    elif edges and graphene_type in edges:
        graphene_type = edges[graphene_type]
    return Rule(getattr(graphene_type, "imis_permission", None), getattr(graphene_type, "imis_feature", None))


def _field_rules(graphene_type) -> dict[str, Rule]:
    fields = getattr(getattr(graphene_type, "_meta", None), "fields", None) or {}
    rules = {}
    for name, field in fields.items():
        rule = getattr(field, "imis_rule", None)
        if rule:
            rules[getattr(field, "name", None) or to_camel_case(name)] = rule
    return rules


def _guard_resolver(resolve, rules: tuple[Rule, ...]):
    resolve = resolve or default_field_resolver

    def guarded_resolve(root, info, **args):
        for rule in rules:
            rule.check(info.context)
        return resolve(root, info, **args)

    guarded_resolve.imis_rules = rules
    return guarded_resolve


def guard_schema(graphql_schema) -> None:
    """Wrap every resolver that returns a protected type (or is protected itself) with its checks."""
    object_types = [
        gql_type for gql_type in graphql_schema.type_map.values()
        if isinstance(gql_type, GraphQLObjectType) and not gql_type.name.startswith("__")
    ]
    graphene_types = [getattr(gql_type, "graphene_type", None) for gql_type in object_types]
    edges = {
        graphene_type.Edge: graphene_type._meta.node for graphene_type in graphene_types
        if isinstance(graphene_type, type) and issubclass(graphene_type, Connection)
    }
    for gql_type, owner in zip(object_types, graphene_types, strict=True):
        owner_rule = type_rule(owner, edges)
        field_rules = _field_rules(owner)
        for name, field in gql_type.fields.items():
            target_rule = type_rule(getattr(get_named_type(field.type), "graphene_type", None), edges)
            rules = []
            if target_rule and target_rule != owner_rule:
                rules.append(target_rule)
            if name in field_rules:
                rules.append(field_rules[name])
            if rules and not hasattr(field.resolve, "imis_rules"):
                field.resolve = _guard_resolver(field.resolve, tuple(rules))


# --- enums --------------------------------------------------------------------------------------------------


def enum_from_choices(choices: type[models.Choices], name: str, description: str) -> type[graphene.Enum]:
    """A GraphQL enum from Django choices: `RESIDENTIAL` stands for "residential"; labels become descriptions."""

    def describe(value):
        return description if value is None else str(value.label)

    return graphene.Enum.from_enum(choices, name=name, description=describe)


def choice_field(enum: type[graphene.Enum], attname: str, *, required: bool = False, **kwargs) -> graphene.Field:
    """An enum field read from a model's choice column; a blank value ("") reads as null."""

    def resolve(root, info):
        return getattr(root, attname) or None

    return graphene.Field(enum, required=required, resolver=resolve, **kwargs)


def order_enum(name: str, columns: dict[str, str], description: str) -> type[graphene.Enum]:
    """`BIN_ASC`, `BIN_DESC`, … from {"BIN": "bin", …}; values are Django order_by expressions."""
    members = []
    for key, column in columns.items():
        members.append((f"{key}_ASC", column))
        members.append((f"{key}_DESC", f"-{column}"))
    return graphene.Enum(name, members, description=description)


def ordered(queryset, order_by, default: list[str]):
    """Apply the client's ordering (a list of order enum values) with the primary key as the last tie-breaker."""
    keys = [item.value if isinstance(item, PyEnum) else item for item in (order_by or [])] or list(default)
    return queryset.order_by(*keys, "pk")


# --- mutations ----------------------------------------------------------------------------------------------


class FieldError(graphene.ObjectType):
    """Why a mutation did not happen: the input field (null for the input as a whole), a message and a code."""

    field = graphene.String(description="The input field in camelCase (e.g. `holdingId`); null for the whole input.")
    message = graphene.String(required=True, description="A sentence for people, in the user's language.")
    code = graphene.String(required=True, description="A stable code for programs, e.g. `duplicate_bin`.")


def _message(error: ValidationError) -> str:
    return str(next(iter(error)))


def errors_from_validation(error: ValidationError) -> list[dict]:
    """A service's ValidationError as [{field, message, code}] (fields in camelCase, as the client sent them)."""
    whole_code = getattr(error, "code", None)
    errors = []
    if hasattr(error, "error_dict"):
        for field, items in error.error_dict.items():
            name = None if field == NON_FIELD_ERRORS else to_camel_case(field)
            for item in items:
                errors.append({"field": name, "message": _message(item), "code": item.code or whole_code or "invalid"})
    else:
        for item in error.error_list:
            errors.append({"field": None, "message": _message(item), "code": item.code or whole_code or "invalid"})
    return errors


def _invalid(name: str, message: str, code: str) -> ValidationError:
    return ValidationError({name: ValidationError(message, code=code)})


def clean_input(model: type[models.Model], data: dict) -> dict:
    """Client input -> service arguments, as a form would parse it: enums to their values, null text to "",
    null refused where the column cannot hold it, text no longer than its column, floats to Decimal columns."""
    cleaned = {}
    for name, value in data.items():
        if isinstance(value, PyEnum):
            value = value.value
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        is_text = isinstance(field, models.CharField | models.TextField)
        if value is None and field is not None and not field.null:
            if not is_text:
                raise _invalid(name, "This field cannot be null.", "null")
            value = ""
        if is_text and isinstance(value, str) and field.max_length and len(value) > field.max_length:
            raise _invalid(name, f"At most {field.max_length} characters.", "max_length")
        if isinstance(field, models.DecimalField) and value is not None:
            try:
                value = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            except (InvalidOperation, ValueError, TypeError):
                value = None
            if value is None or not value.is_finite():
                raise _invalid(name, "Enter a number.", "invalid")
        cleaned[name] = value
    return cleaned


DATE_BOUNDS = (datetime.date(1900, 1, 1), datetime.date(2200, 12, 31))


def check_date(name: str, value) -> None:
    """Dates and times a municipal record can hold (and PostgreSQL can convert across time zones)."""
    day = value.date() if isinstance(value, datetime.datetime) else value
    if isinstance(day, datetime.date) and not DATE_BOUNDS[0] <= day <= DATE_BOUNDS[1]:
        raise _invalid(name, f"Enter a date from {DATE_BOUNDS[0].year} to {DATE_BOUNDS[1].year}.", "out_of_range")


def clean_columns(model: type[models.Model], data: dict) -> dict:
    """`clean_input`, then each number checked by its column's validators (digits, ranges) and each date kept
    within DATE_BOUNDS, so that what a service writes fits its column: a per-field error, never a database one."""
    cleaned = clean_input(model, data)
    for name, value in cleaned.items():
        if value is None:
            continue
        check_date(name, value)
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if isinstance(field, models.DecimalField | models.IntegerField) and not isinstance(value, bool):
            try:
                field.run_validators(field.to_python(value))
            except ValidationError as error:
                raise ValidationError({name: error.error_list})
    return cleaned


class ServiceMutation(graphene.relay.ClientIDMutation):
    """Base of every mutation: checks permission and feature, calls `perform`, turns ValidationError into `errors`.

    Subclasses set `imis_permission` (and `imis_feature` for a feature's mutations) and implement
    `perform(cls, info, **data)` returning `cls.success(...)`. No domain logic here: `perform` parses the input and
    calls one service.
    """

    class Meta:
        abstract = True

    imis_permission: str | tuple[str, ...] | None = None
    imis_feature: str | None = None

    errors = graphene.List(
        graphene.NonNull(FieldError), required=True,
        description="Empty when the mutation succeeded; otherwise what to correct, field by field.",
    )

    @classmethod
    def mutate_and_get_payload(cls, root, info, **data):
        data.pop("client_mutation_id", None)
        Rule(cls.imis_permission, cls.imis_feature).check(info.context)
        try:
            return cls.perform(info, **data)
        except ValidationError as error:
            return cls(errors=errors_from_validation(error))

    @classmethod
    def perform(cls, info, **data):
        raise NotImplementedError

    @classmethod
    def success(cls, **fields):
        return cls(errors=[], **fields)
