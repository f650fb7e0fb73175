"""Holding tax forms. They parse what a clerk types; the services in services.py validate and write, and the
views put a service's ValidationError beside the field it names (registry.forms.add_service_errors)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from imis.platform.formatting import fiscal_year_label
from imis.tenant_apps.registry.forms import DATE_INPUT
from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.registry.selectors import wards_listed

from .models import Adjustment, Assessment, Payment, TaxHead, TaxZone
from .services import fiscal_year_of

PERCENT = {"max_digits": 5, "decimal_places": 2, "min_value": 0, "max_value": 100}
MONEY = {"max_digits": 12, "decimal_places": 2}


def fiscal_year_choices(extra: int = 1, back: int = 4) -> list[tuple[int, str]]:
    current = fiscal_year_of(timezone.localdate())
    return [(year, fiscal_year_label(year)) for year in range(current + extra, current - back - 1, -1)]


def ward_choices(*, blank_label=None) -> list[tuple[str, str]]:
    wards = [(str(w.number), w.name if w.name and str(w.number) in w.name else
              f"{w.number}" + (f" · {w.name}" if w.name else "")) for w in wards_listed()]
    return ([("", blank_label)] if blank_label is not None else []) + wards


class FiscalYearField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Fiscal year"))
        super().__init__(coerce=int, choices=fiscal_year_choices, **kwargs)


class FiscalYearPickerForm(forms.Form):
    fy = FiscalYearField(required=False)


# --- rates --------------------------------------------------------------------------------------------

class RateScheduleForm(forms.Form):
    fiscal_year = FiscalYearField()
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE_INPUT)
    # xgettext:no-python-format  (a literal per cent sign)
    holding_tax = forms.DecimalField(label=_("Holding tax (% of annual value)"), initial=7, **PERCENT)
    conservancy = forms.DecimalField(label=_("Conservancy rate (%)"), initial=7, **PERCENT)
    lighting = forms.DecimalField(label=_("Lighting rate (%)"), initial=3, **PERCENT)
    water = forms.DecimalField(label=_("Water rate (%)"), initial=3, required=False, **PERCENT,
                               help_text=_("Leave empty where the municipality does not supply water."))
    # xgettext:no-python-format  (a literal per cent sign)
    surcharge_percent = forms.DecimalField(label=_("Late-payment surcharge (% of arrears)"), initial=5, **PERCENT)
    rebate_percent = forms.DecimalField(label=_("Rebate for paying the whole year early (%)"), initial=10, **PERCENT)
    instalments = forms.TypedChoiceField(label=_("Instalments per year"), coerce=int, initial=4,
                                         choices=[(1, "1"), (2, "2"), (4, "4"), (12, "12")])

    def heads(self) -> dict[str, Decimal]:
        return {code: self.cleaned_data[code] for code in TaxHead.Code.values
                if self.cleaned_data.get(code) not in (None, "")}


# --- assessment ---------------------------------------------------------------------------------------

class AssessmentForm(forms.Form):
    fiscal_year = FiscalYearField()
    basis = forms.ChoiceField(label=_("Basis"), choices=Assessment.Basis.choices, widget=forms.RadioSelect)
    monthly_rent = forms.DecimalField(label=_("Declared monthly rent (৳)"), required=False, min_value=0, **MONEY,
                                      help_text=_("Annual value = 10 months' rent (two months allowed for repairs)."))
    floor_area_m2 = forms.DecimalField(label=_("Floor area (m²)"), required=False, min_value=0, max_digits=10,
                                       decimal_places=2)
    functional_use = forms.ChoiceField(label=_("Use"), required=False,
                                       choices=[("", _("Choose…")), *Building.FunctionalUse.choices])
    zone = forms.ModelChoiceField(label=_("Tax zone"), queryset=TaxZone.objects.all(), required=False,
                                  empty_label=_("No zone (factor 1)"))
    exemption = forms.ChoiceField(label=_("Exemption"), choices=Assessment.Exemption.choices, required=False)
    exemption_reason = forms.CharField(label=_("Exemption reason"), max_length=300, required=False)
    reason = forms.CharField(label=_("Reason for reassessment"), max_length=300, required=False,
                             help_text=_("Needed when the holding is already assessed for this year."))

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {"fiscal_year": data["fiscal_year"], "basis": data["basis"], "monthly_rent": data["monthly_rent"],
                "floor_area_m2": data["floor_area_m2"], "functional_use": data["functional_use"] or "",
                "zone": data["zone"], "exemption": data["exemption"] or "",
                "exemption_reason": data["exemption_reason"], "reason": data["reason"]}


class ObjectionForm(forms.Form):
    grounds = forms.CharField(label=_("Grounds of the objection"), widget=forms.Textarea(attrs={"rows": 3}))


class ObjectionDecideForm(forms.Form):
    upheld = forms.TypedChoiceField(label=_("Decision"), coerce=lambda value: value == "yes",
                                    choices=[("yes", _("Uphold: reassess at a revised value")),
                                             ("no", _("Reject: the assessment stands"))],
                                    widget=forms.RadioSelect)
    decision = forms.CharField(label=_("Reasons for the decision"), widget=forms.Textarea(attrs={"rows": 2}))
    revised_annual_value = forms.DecimalField(label=_("Revised annual value (৳)"), required=False, min_value=0,
                                              max_digits=14, decimal_places=2)


# --- bill runs and notices ----------------------------------------------------------------------------

class BillRunForm(forms.Form):
    fiscal_year = FiscalYearField()
    period = forms.IntegerField(label=_("Instalment"), min_value=1, max_value=12, initial=1,
                                help_text=_("1 = the first quarter (July–September) with four instalments."))
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = ward_choices(blank_label=_("All wards"))


class NoticesForm(forms.Form):
    fiscal_year = FiscalYearField()
    period = forms.IntegerField(label=_("Instalment"), min_value=1, max_value=12, initial=1)
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int)
    language = forms.ChoiceField(label=_("Language of the notices"),
                                 choices=[("en", _("English")), ("bn", "বাংলা")], initial="bn")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = ward_choices()


# --- payments -----------------------------------------------------------------------------------------

class HoldingLookupForm(forms.Form):
    holding = forms.CharField(label=_("Holding ID"), max_length=40,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True,
                                                            "placeholder": "12-0345-00678"}))


class PaymentForm(forms.Form):
    holding = forms.CharField(widget=forms.HiddenInput)
    nonce = forms.CharField(widget=forms.HiddenInput)
    amount = forms.DecimalField(label=_("Amount received (৳)"), min_value=Decimal("0.01"), **MONEY)
    method = forms.ChoiceField(label=_("Paid by"), widget=forms.RadioSelect, initial=Payment.Method.CASH,
                               choices=[(value, label) for value, label in Payment.Method.choices
                                        if value != Payment.Method.ONLINE])
    reference = forms.CharField(label=_("Cheque or transfer reference"), max_length=60, required=False,
                                help_text=_("Bank and cheque number, or the transfer's reference."))

    def clean(self):
        data = super().clean()
        if data.get("method") in (Payment.Method.CHEQUE, Payment.Method.BANK) and not (data.get("reference") or
                                                                                     "").strip():
            self.add_error("reference", _("Enter the cheque or transfer reference."))
        return data


class ReversalForm(forms.Form):
    status = forms.ChoiceField(label=_("What happened"), widget=forms.RadioSelect,
                               choices=[(Payment.Status.CANCELLED, _("Cancelled (taken in error)")),
                                        (Payment.Status.DISHONOURED, _("Dishonoured (the cheque bounced)"))],
                               initial=Payment.Status.CANCELLED)
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


# --- adjustments --------------------------------------------------------------------------------------

class AdjustmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Adjustment.Kind.choices)
    amount = forms.DecimalField(label=_("Amount taken off the due (৳)"), **MONEY,
                                help_text=_("A correction may be negative: it adds to the due."))
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


# --- reports ------------------------------------------------------------------------------------------

YEARS_DUE_CHOICES = [("", _("Any")), ("0", _("Nothing due")), ("1", _("1 year")), ("2", _("2 years")),
                     ("3", _("3 years or more"))]
ORDER_CHOICES = [("holding", _("Holding ID")), ("-balance", _("Largest balance first")),
                 ("-years_due", _("Most years due first")), ("ward", _("Ward"))]


class DueFilterForm(forms.Form):
    q = forms.CharField(label=_("Holding ID starts with"), required=False, max_length=40)
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)
    years_due = forms.ChoiceField(label=_("Years due"), choices=YEARS_DUE_CHOICES, required=False)
    order = forms.ChoiceField(label=_("Sort"), choices=ORDER_CHOICES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = ward_choices(blank_label=_("All wards"))


class DefaulterFilterForm(forms.Form):
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)
    min_years = forms.TypedChoiceField(label=_("Owing at least"), coerce=int, initial=1, required=False,
                                       choices=[(1, _("1 year")), (2, _("2 years")), (3, _("3 years"))],
                                       empty_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = ward_choices(blank_label=_("All wards"))


class CashBookForm(forms.Form):
    day = forms.DateField(label=_("Date"), widget=DATE_INPUT, required=False)
    cashier = forms.TypedChoiceField(label=_("Counter"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, cashiers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cashier"].choices = [("", _("All counters")), *[(str(pk), label) for pk, label in cashiers]]

    def day_or_today(self) -> datetime.date:
        if self.is_valid() and self.cleaned_data.get("day"):
            return self.cleaned_data["day"]
        return timezone.localdate()

