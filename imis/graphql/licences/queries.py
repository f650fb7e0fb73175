"""Trade licence queries: licences filtered like the staff UI's list (licences/selectors.py), one licence by its
number, business categories, and what a licence's fee is now."""

from __future__ import annotations

import graphene
from django.core.exceptions import ValidationError

from imis.tenant_apps.licences import selectors, services
from imis.tenant_apps.licences.models import BusinessCategory

from ..base import BadUserInput
from ..optimizer import optimized
from ..relay import PagedConnectionField, node_in
from . import loaders  # noqa: F401 - registers how licence fields load
from . import types as t

MAX_TEXT = 100

LicenceListStatus = graphene.Enum("TradeLicenceListStatus", [
    *[(choice.name, choice.value) for choice in t.Licence.Status],
    ("EXPIRING", "expiring"), ("OPEN", "open"),
], description="A status, EXPIRING (valid, ending within 30 days) or OPEN (applied, inspected or approved).")


def _text(value: str | None, name: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise BadUserInput(f"`{name}` is longer than {MAX_TEXT} characters.")
    return value


class LicenceQuery(graphene.ObjectType):
    trade_licences = PagedConnectionField(
        t.TradeLicenceType, description="Trade licences, newest application first.",
        search=graphene.String(description="Licence or application number (prefix), business or owner name, "
                                           "holding ID."),
        status=graphene.Argument(LicenceListStatus), category=graphene.String(description="Category code."),
        ward=graphene.Int(description="Ward number of the holding."))
    trade_licence = graphene.Field(t.TradeLicenceType, number=graphene.String(required=True),
                                   description="A licence by its licence number or application number.")
    business_categories = PagedConnectionField(t.BusinessCategoryType, description="Business categories.",
                                               is_active=graphene.Boolean())
    trade_licence_fee_due = graphene.Field(
        t.TradeLicenceFeeDue, licence=graphene.ID(required=True, description="Global ID of the licence."),
        description="What paying the licence's fee now buys; null when nothing can be paid now.")

    @staticmethod
    def resolve_trade_licences(root, info, search=None, status=None, category=None, ward=None, **_paging):
        licences = selectors.licences_listed(query=_text(search, "search"),
                                             status=getattr(status, "value", status) or "",
                                             category=_text(category, "category"), ward=ward)
        return optimized(licences.order_by(*licences.query.order_by, "pk"), info)

    @staticmethod
    def resolve_trade_licence(root, info, number):
        text = _text(number, "number").upper()
        licences = selectors.licences_listed().filter(number=text) | selectors.licences_listed().filter(
            application_number=text)
        return optimized(licences, info).first()

    @staticmethod
    def resolve_business_categories(root, info, is_active=None, **_paging):
        categories = BusinessCategory.objects.all()
        if is_active is not None:
            categories = categories.filter(is_active=is_active)
        return optimized(categories.order_by("code", "pk"), info)

    @staticmethod
    def resolve_trade_licence_fee_due(root, info, licence):
        try:
            target = node_in(t.Licence.objects.select_related("category"), licence, expected="TradeLicence",
                             field="licence")
            due = services.fee_due(target)
        except ValidationError as error:
            raise BadUserInput(" ".join(error.messages), reason=getattr(error, "code", None) or "invalid")
        if due is None:
            return None
        return t.TradeLicenceFeeDue(kind=due["kind"], fiscal_year=due["fiscal_year"], fee=due["fee"],
                                    late_fee=due["late_fee"], amount=due["amount"])
