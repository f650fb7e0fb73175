"""The feature catalogue and the one gate every page, menu, API field and tile checks.

A municipality has every table; a feature it has not enabled is invisible (menus) and refused (404)
everywhere. Each feature's settings are validated by its form below before they are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _


class FsmSettingsForm(forms.Form):
    sludge_accumulation_litres_per_person_year = forms.DecimalField(
        label=_("Sludge accumulation (litres per person per year)"), min_value=1, max_value=500, initial=40
    )
    max_emptying_interval_years = forms.IntegerField(
        label=_("Longest interval between emptyings (years)"), min_value=1, max_value=20, initial=5
    )
    approval_sla_hours = forms.IntegerField(label=_("SLA: received to approved (hours)"), min_value=1,
                                            max_value=24 * 60, initial=24)
    emptying_sla_hours = forms.IntegerField(label=_("SLA: approved to emptied (hours)"), min_value=1,
                                            max_value=24 * 60, initial=48)
    disposal_sla_hours = forms.IntegerField(
        label=_("Emptied but not disposed after (hours): possible illegal dumping"), min_value=1, max_value=24 * 14,
        initial=24)
    feedback_sla_hours = forms.IntegerField(label=_("SLA: disposed to feedback (hours)"), min_value=1,
                                            max_value=24 * 60, initial=72)
    low_income_subsidy_percent = forms.IntegerField(label=_("Low-income subsidy (%)"), min_value=0, max_value=100,
                                                    initial=50)
    emergency_surcharge_percent = forms.IntegerField(label=_("Emergency surcharge (%)"), min_value=0, max_value=300,
                                                     initial=25)
    disposal_volume_tolerance_percent = forms.IntegerField(
        label=_("Disposal may exceed the emptied volume by (%)"), min_value=0, max_value=100, initial=10)
    effluent_bod_max = forms.DecimalField(label=_("Effluent standard: BOD max (mg/L)"), min_value=0, initial=50)
    effluent_cod_max = forms.DecimalField(label=_("Effluent standard: COD max (mg/L)"), min_value=0, initial=200)
    effluent_tss_max = forms.DecimalField(label=_("Effluent standard: TSS max (mg/L)"), min_value=0, initial=100)
    effluent_ecoli_max = forms.DecimalField(label=_("Effluent standard: E. coli max (CFU/100 mL)"), min_value=0,
                                            initial=1000)
    effluent_ph_min = forms.DecimalField(label=_("Effluent standard: pH min"), min_value=0, max_value=14, initial=6)
    effluent_ph_max = forms.DecimalField(label=_("Effluent standard: pH max"), min_value=0, max_value=14, initial=9)


class HoldingTaxSettingsForm(forms.Form):
    fiscal_year_start_month = forms.IntegerField(
        label=_("Fiscal year starts in month"), min_value=1, max_value=12, initial=7
    )
    instalments_per_year = forms.TypedChoiceField(
        label=_("Instalments per year"), choices=[(1, "1"), (2, "2"), (4, "4"), (12, "12")], coerce=int, initial=4
    )


class TradeLicenceSettingsForm(forms.Form):
    licence_year_start_month = forms.IntegerField(
        label=_("Licence year starts in month"), min_value=1, max_value=12, initial=7
    )


class WaterSupplySettingsForm(forms.Form):
    billing_cycle = forms.ChoiceField(
        label=_("Billing cycle"), choices=[("monthly", _("Monthly")), ("quarterly", _("Quarterly"))], initial="monthly"
    )


class SewerSettingsForm(forms.Form):
    max_connection_distance_m = forms.IntegerField(
        label=_("Longest distance from a sewer to connect (m)"), min_value=1, max_value=1000, initial=50
    )


@dataclass(frozen=True)
class FeatureSpec:
    code: str
    name: str
    description: str
    icon: str
    settings_form: type[forms.Form]

    def default_settings(self) -> dict:
        return clean_feature_settings(self.code, {})


CATALOGUE: dict[str, FeatureSpec] = {
    spec.code: spec
    for spec in [
        FeatureSpec("fsm", _("Faecal sludge management"), _("Emptying requests, desludging, disposal and feedback."),
                    "bi-truck", FsmSettingsForm),
        FeatureSpec("sewer", _("Sewer"), _("Sewer connections and their life cycle."), "bi-diagram-3",
                    SewerSettingsForm),
        FeatureSpec("holding_tax", _("Holding tax"), _("Assessments, bills, payments and dues."), "bi-cash-coin",
                    HoldingTaxSettingsForm),
        FeatureSpec("trade_licence", _("Trade licence"), _("Trade licence applications and renewals."),
                    "bi-shop", TradeLicenceSettingsForm),
        FeatureSpec("water_supply", _("Water supply"), _("Water connections, meter readings and water bills."),
                    "bi-droplet", WaterSupplySettingsForm),
    ]
}
FEATURE_CODES = tuple(CATALOGUE)


def clean_feature_settings(code: str, data: dict | None) -> dict:
    """Validate a feature's settings; missing values take their defaults. Raises ValidationError(code=...)."""
    spec = CATALOGUE.get(code)
    if spec is None:
        raise ValidationError(_("Unknown feature “%(code)s”."), code="unknown_feature", params={"code": code})
    form_class = spec.settings_form
    merged = {name: field.initial for name, field in form_class.base_fields.items()}
    unknown = set(data or {}) - set(merged)
    if unknown:
        raise ValidationError(
            _("Unknown setting(s) for %(code)s: %(names)s"),
            code="unknown_setting",
            params={"code": code, "names": ", ".join(sorted(unknown))},
        )
    merged.update(data or {})
    form = form_class(data=merged)
    if not form.is_valid():
        messages = [f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()]
        raise ValidationError("; ".join(messages), code="invalid_setting")
    return {name: (str(value) if not isinstance(value, int | str) else value) for name, value in form.cleaned_data.items()}


def feature_settings(municipality, code: str) -> dict:
    """A feature's settings for a municipality, with defaults for anything added since they were saved."""
    row = municipality.features.filter(feature_id=code).first()
    stored = row.settings if row else {}
    known = set(CATALOGUE[code].settings_form.base_fields)
    return clean_feature_settings(code, {key: value for key, value in stored.items() if key in known})


def parse_feature_codes(text: str) -> list[str]:
    codes = [code.strip() for code in (text or "").split(",") if code.strip()]
    unknown = [code for code in codes if code not in CATALOGUE]
    if unknown:
        raise ValidationError(
            _("Unknown feature(s): %(codes)s. Known: %(known)s"),
            code="unknown_feature",
            params={"codes": ", ".join(unknown), "known": ", ".join(FEATURE_CODES)},
        )
    return codes


# --- the gate ---------------------------------------------------------------------------------------------

def enabled_features_of(municipality) -> frozenset[str]:
    """Codes of the features this municipality has switched on (cached on the instance for the request)."""
    if municipality is None:
        return frozenset()
    cached = getattr(municipality, "_enabled_features", None)
    if cached is None:
        cached = frozenset(
            municipality.features.filter(is_enabled=True).values_list("feature_id", flat=True)
        )
        municipality._enabled_features = cached
    return cached


def is_feature_enabled(municipality, code: str) -> bool:
    return code in enabled_features_of(municipality)


def feature_required(code: str):
    """View decorator: 404 unless the request's municipality has the feature enabled."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not is_feature_enabled(getattr(request, "municipality", None), code):
                raise Http404("Feature not enabled")
            return view(request, *args, **kwargs)

        wrapped.imis_feature = code
        return wrapped

    return decorator


class FeatureRequiredMixin:
    """Class-based view mixin: set `feature = "fsm"`."""

    feature: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not is_feature_enabled(getattr(request, "municipality", None), self.feature):
            raise Http404("Feature not enabled")
        return super().dispatch(request, *args, **kwargs)


class FeatureNotEnabled(Exception):
    """Raised by API layers (GraphQL) when a field of a disabled feature is asked for."""

    def __init__(self, code: str):
        super().__init__(f"Feature “{code}” is not enabled for this municipality.")
        self.code = code


def assert_feature_enabled(municipality, code: str) -> None:
    """Helper for GraphQL resolvers and other non-view edges."""
    if not is_feature_enabled(municipality, code):
        raise FeatureNotEnabled(code)
