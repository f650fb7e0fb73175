"""Sewer connection forms: they parse what a clerk types; services.py validates and writes."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.models import Building, Sewer
from imis.tenant_apps.tax.forms import ward_choices

from .models import SewerConnection

METHODS = [("cash", _("Cash")), ("cheque", _("Cheque")), ("bank", _("Bank transfer"))]


class SewerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code}" + (f" · {obj.diameter_mm} mm" if obj.diameter_mm else "")


class ApplicationForm(forms.Form):
    building = forms.CharField(label=_("Building (BIN)"), max_length=40,
                               widget=forms.TextInput(attrs={"autocomplete": "off"}))
    applicant_name = forms.CharField(label=_("Applicant's name"), max_length=200)
    applicant_phone = forms.CharField(label=_("Applicant's mobile"), max_length=20, required=False,
                                      help_text=_("e.g. 01712345678"))
    sewer = SewerChoiceField(label=_("Sewer line"), queryset=Sewer.objects.all(), required=False,
                             empty_label=_("The nearest one on the map"))

    def clean_building(self):
        text = self.cleaned_data["building"].strip()
        building = Building.objects.filter(bin__iexact=text).first()
        if building is None:
            raise forms.ValidationError(_("No building has this BIN."))
        return building


class SurveyForm(forms.Form):
    is_feasible = forms.TypedChoiceField(
        label=_("Result"), coerce=lambda value: value == "yes", widget=forms.RadioSelect,
        choices=[("yes", _("Feasible: the building can be connected")),
                 ("no", _("Not feasible: reject the application"))])
    distance_m = forms.DecimalField(label=_("Measured distance to the sewer (m)"), min_value=0, max_digits=8,
                                    decimal_places=1)
    sewer = SewerChoiceField(label=_("Sewer line to connect to"), queryset=Sewer.objects.all(), required=False,
                             empty_label=_("Keep the line of the application"))
    notes = forms.CharField(label=_("Surveyor's notes"), widget=forms.Textarea(attrs={"rows": 3}))


class ApproveForm(forms.Form):
    fee_amount = forms.DecimalField(label=_("Connection fee (৳)"), min_value=0, max_digits=10, decimal_places=2,
                                    help_text=_("0 waives the fee: the building can be connected at once."))


class FeePaymentForm(forms.Form):
    method = forms.ChoiceField(label=_("Paid by"), choices=METHODS, initial="cash", widget=forms.RadioSelect)
    reference = forms.CharField(label=_("Cheque or transfer reference"), max_length=60, required=False)


class ConnectForm(forms.Form):
    connected_on = forms.DateField(label=_("Connected on"), initial=timezone.localdate,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


STATUS_CHOICES = [("", _("Any")), ("open", _("In progress")), *SewerConnection.Status.choices]


class ConnectionFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("Number, BIN, holding or applicant")}))
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)
    sewer = forms.ChoiceField(label=_("Sewer line"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = ward_choices(blank_label=_("All wards"))
        self.fields["sewer"].choices = [("", _("Any")), *[(code, code) for code in
                                                          Sewer.objects.values_list("code", flat=True)]]


class CampaignForm(forms.Form):
    distance_m = forms.IntegerField(label=_("Within (m) of a sewer"), min_value=1, max_value=1000)
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)
    sewer = forms.TypedChoiceField(label=_("Sewer line"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = ward_choices(blank_label=_("All wards"))
        self.fields["sewer"].choices = [("", _("Any sewer line")),
                                        *[(str(pk), code) for pk, code in Sewer.objects.values_list("pk", "code")]]
