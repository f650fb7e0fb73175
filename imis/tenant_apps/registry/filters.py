"""Filter forms of the registry lists. django-filter draws and validates the form; the selectors do the reading.

Each filter set turns its cleaned form into the keyword arguments of its selector (`buildings_listed`,
`holdings_listed`, `containments_listed`), so the list page, its CSV export and any other edge filter alike.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Building, Containment, Holding
from .selectors import buildings_listed, containments_listed, holdings_listed, wards_listed

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
SEARCH_PLACEHOLDER = _("Holding ID, BIN, owner or phone")
MAX_QUERY_LENGTH = 100


def ward_choices() -> list[tuple[str, str]]:
    """One query: every ward of this municipality as (number, "3 · Name")."""
    choices = []
    for number, name in wards_listed().values_list("number", "name"):
        choices.append((str(number), f"{number} · {name}" if name else str(number)))
    return choices


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class SelectorFilterSet(django_filters.FilterSet):
    """A filter set whose rows come from a selector rather than from filtering a queryset itself."""

    q = django_filters.CharFilter(
        label=_("Search"), max_length=MAX_QUERY_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": SEARCH_PLACEHOLDER}),
    )
    ward = django_filters.ChoiceFilter(label=_("Ward"), empty_label=_("All wards"))

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.filters["ward"].extra["choices"] = ward_choices()

    def selector_arguments(self) -> dict:
        """The selector's keyword arguments from the valid part of the form."""
        if not self.is_bound:
            return {}
        self.form.is_valid()  # validates once; an invalid field is left out rather than failing the page
        cleaned = self.form.cleaned_data
        arguments = {}
        for name, value in cleaned.items():
            if value in (None, ""):
                continue
            if name == "q":
                arguments["query"] = value.strip()
            elif name == "ward":
                arguments["ward"] = int(value)
            elif name.startswith("has_"):
                arguments[name] = _yes_no(value)
            else:
                arguments[name] = value
        return arguments

    def select(self, **arguments):
        raise NotImplementedError

    def filter_queryset(self, queryset):
        return self.select(**self.selector_arguments())

    @property
    def is_filtered(self) -> bool:
        return bool(self.selector_arguments())


class BuildingFilter(SelectorFilterSet):
    functional_use = django_filters.ChoiceFilter(
        label=_("Use"), choices=Building.FunctionalUse.choices, empty_label=_("Any use"))
    sanitation_system = django_filters.ChoiceFilter(
        label=_("Sanitation system"), choices=Building.SanitationSystem.choices, empty_label=_("Any system"))
    verification_status = django_filters.ChoiceFilter(
        label=_("Verification"), choices=Building.Verification.choices, empty_label=_("Any"))
    road_link_status = django_filters.ChoiceFilter(
        label=_("Road link"), choices=Building.RoadLink.choices, empty_label=_("Any"))
    has_holding = django_filters.ChoiceFilter(label=_("Has a holding"), choices=YES_NO, empty_label=_("Any"))
    has_containment = django_filters.ChoiceFilter(
        label=_("Has a containment"), choices=YES_NO, empty_label=_("Any"))

    class Meta:
        model = Building
        fields: list[str] = []

    def select(self, **arguments):
        return buildings_listed(**arguments)


class HoldingFilter(SelectorFilterSet):
    class Meta:
        model = Holding
        fields: list[str] = []

    def select(self, **arguments):
        return holdings_listed(**arguments)


class ContainmentFilter(SelectorFilterSet):
    type = django_filters.ChoiceFilter(label=_("Type"), choices=Containment.Type.choices, empty_label=_("Any type"))
    outlet = django_filters.ChoiceFilter(
        label=_("Outlet"), choices=Containment.Outlet.choices, empty_label=_("Any outlet"))
    emptying_due_before = django_filters.DateFilter(
        label=_("Emptying due by"), widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Containment
        fields: list[str] = []

    def select(self, **arguments):
        return containments_listed(**arguments)
