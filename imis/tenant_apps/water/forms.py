"""Water supply forms: they parse what a clerk types; services.py validates and writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.models import Building, Holding, WaterLine
from imis.tenant_apps.tax.forms import FiscalYearField, ward_choices

from .models import WaterConnection

S = WaterConnection.Status
METHODS = [("cash", _("Cash")), ("cheque", _("Cheque")), ("bank", _("Bank transfer"))]


class HoldingField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Holding ID"))
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "12-0345-00678", "autocomplete": "off"}))
        super().__init__(max_length=40, **kwargs)

    def clean(self, value):
        text = super().clean(value).strip()
        holding = Holding.objects.filter(holding_id__iexact=text).first()
        if holding is None:
            raise forms.ValidationError(_("No holding has this ID."))
        return holding


class BuildingField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Building (BIN)"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Optional: the building served, so the map shows its connection."))
        super().__init__(max_length=40, **kwargs)

    def clean(self, value):
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        building = Building.objects.filter(bin__iexact=text).first()
        if building is None:
            raise forms.ValidationError(_("No building has this BIN."))
        return building


class ApplicationForm(forms.Form):
    holding = HoldingField()
    building = BuildingField()
    applicant_name = forms.CharField(label=_("Applicant's name"), max_length=200)
    applicant_phone = forms.CharField(label=_("Applicant's mobile"), max_length=20, required=False,
                                      help_text=_("e.g. 01712345678"))
    size_mm = forms.TypedChoiceField(label=_("Connection size"), coerce=int, choices=WaterConnection.Size.choices,
                                     initial=WaterConnection.Size.HALF_INCH)
    is_metered = forms.TypedChoiceField(label=_("Billing"), coerce=lambda value: value == "yes", initial="yes",
                                        widget=forms.RadioSelect,
                                        choices=[("yes", _("Metered: billed by consumption")),
                                                 ("no", _("Flat monthly rate"))])


class IllegalForm(forms.Form):
    holding = HoldingField()
    building = BuildingField()
    notes = forms.CharField(label=_("What was found"), max_length=300, widget=forms.Textarea(attrs={"rows": 3}))


class InspectionForm(forms.Form):
    passed = forms.TypedChoiceField(label=_("Result"), coerce=lambda value: value == "yes", widget=forms.RadioSelect,
                                    choices=[("yes", _("Passed: the supply line can serve this holding")),
                                             ("no", _("Failed: reject the application"))])
    notes = forms.CharField(label=_("Findings"), widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class ActivationForm(forms.Form):
    meter_number = forms.CharField(label=_("Meter number"), max_length=40, required=False)
    initial_reading = forms.DecimalField(label=_("Meter reading at connection (m³)"), required=False, min_value=0,
                                         max_digits=12, decimal_places=2)
    activated_on = forms.DateField(label=_("Connected on"), widget=forms.DateInput(attrs={"type": "date"}))


class ReadingForm(forms.Form):
    read_on = forms.DateField(label=_("Read on"), widget=forms.DateInput(attrs={"type": "date"}))
    reading = forms.DecimalField(label=_("Reading (m³)"), max_digits=12, decimal_places=2)
    is_replacement = forms.BooleanField(label=_("A new meter was fitted: this is its first reading"),
                                        required=False)
    meter_number = forms.CharField(label=_("New meter's number"), max_length=40, required=False)


class ReadingsUploadForm(forms.Form):
    file = forms.FileField(label=_("Readings (CSV)"),
                           help_text=_("Columns: customer_id, read_on (YYYY-MM-DD), reading; optional "
                                       "meter_replaced (yes) and meter_number."))


class BillRunForm(forms.Form):
    period = forms.DateField(label=_("Month to bill"), input_formats=["%Y-%m", "%Y-%m-%d"],
                             widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = ward_choices(blank_label=_("All wards"))


class TariffForm(forms.Form):
    fiscal_year = FiscalYearField()
    slabs = forms.CharField(label=_("Price per m³ by slab"), max_length=300,
                            help_text=_("“up to m³ : price”, comma separated; the last without a limit. "
                                        "e.g. 10:8, 20:10.5, :15"))
    flat_monthly_rate = forms.DecimalField(label=_("Flat monthly rate (৳)"), min_value=0, max_digits=10,
                                           decimal_places=2)
    connection_fee = forms.DecimalField(label=_("Connection fee (৳)"), min_value=0, max_digits=10, decimal_places=2)


class PayForm(forms.Form):
    due = forms.ChoiceField(label=_("What is paid"), widget=forms.RadioSelect)
    method = forms.ChoiceField(label=_("Paid by"), choices=METHODS, initial="cash", widget=forms.RadioSelect)
    reference = forms.CharField(label=_("Cheque or transfer reference"), max_length=60, required=False)

    def __init__(self, *args, dues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due"].choices = [(due.reference, f"{due.title} · ৳ {due.amount}") for due in dues]


STATUS_CHOICES = [("", _("Any")), ("open", _("Applications in progress")), *S.choices]
DUE_CHOICES = [("", _("Any")), ("due", _("Bills unpaid")), ("overdue", _("Overdue"))]


class ConnectionFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("Customer ID, meter, name or holding")}))
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    metered = forms.ChoiceField(label=_("Billing"), required=False,
                                choices=[("", _("Any")), ("yes", _("Metered")), ("no", _("Flat rate"))])
    due = forms.ChoiceField(label=_("Dues"), choices=DUE_CHOICES, required=False)
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = ward_choices(blank_label=_("All wards"))


class UnconnectedForm(forms.Form):
    distance_m = forms.IntegerField(label=_("Within (m) of a water line"), min_value=1, max_value=1000,
                                    error_messages={"min_value": _("Give a distance of at least 1 m."),
                                                    "max_value": _("Give a distance of at most 1000 m.")})
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)
    water_line = forms.TypedChoiceField(label=_("Water line"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = ward_choices(blank_label=_("All wards"))
        self.fields["water_line"].choices = [("", _("Any water line")), *[
            (str(pk), code) for pk, code in WaterLine.objects.values_list("pk", "code")]]
