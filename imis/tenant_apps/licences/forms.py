"""Trade licence forms: they parse what a clerk types; services.py validates and writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.models import Holding
from imis.tenant_apps.tax.forms import FiscalYearField, ward_choices

from .models import BusinessCategory, Licence

METHODS = [("cash", _("Cash")), ("cheque", _("Cheque")), ("bank", _("Bank transfer"))]


class ApplicationForm(forms.Form):
    business_name = forms.CharField(label=_("Business name"), max_length=200)
    business_name_bn = forms.CharField(label=_("Business name in Bangla"), max_length=200, required=False)
    category = forms.ModelChoiceField(label=_("Business category"), empty_label=_("Choose…"),
                                      queryset=BusinessCategory.objects.filter(is_active=True))
    holding = forms.CharField(label=_("Holding ID of the premises"), max_length=40,
                              widget=forms.TextInput(attrs={"placeholder": "12-0345-00678", "autocomplete": "off"}))
    address = forms.CharField(label=_("Business address"), max_length=300, required=False,
                              help_text=_("Leave empty to use the holding's address."))
    owner_name = forms.CharField(label=_("Owner's name"), max_length=200)
    owner_phone = forms.CharField(label=_("Owner's mobile"), max_length=20, required=False,
                                  help_text=_("For expiry reminders by SMS, e.g. 01712345678."))
    owner_national_id = forms.CharField(label=_("Owner's national ID"), max_length=20, required=False)

    def clean_holding(self):
        text = self.cleaned_data["holding"].strip()
        holding = Holding.objects.filter(holding_id__iexact=text).first()
        if holding is None:
            raise forms.ValidationError(_("No holding has this ID."))
        return holding


class InspectionForm(forms.Form):
    passed = forms.TypedChoiceField(label=_("Result"), coerce=lambda value: value == "yes", widget=forms.RadioSelect,
                                    choices=[("yes", _("Passed: the premises are fit for the trade")),
                                             ("no", _("Failed: reject the application"))])
    notes = forms.CharField(label=_("Findings"), widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class FeePaymentForm(forms.Form):
    method = forms.ChoiceField(label=_("Paid by"), choices=METHODS, initial="cash", widget=forms.RadioSelect)
    reference = forms.CharField(label=_("Cheque or transfer reference"), max_length=60, required=False)


class CategoryForm(forms.ModelForm):
    class Meta:
        model = BusinessCategory
        fields = ["code", "name", "name_bn", "is_active"]


class CategoryFeeForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=BusinessCategory.objects.all())
    fiscal_year = FiscalYearField(label=_("Licence year"))
    new_fee = forms.DecimalField(label=_("New licence (৳)"), min_value=0, max_digits=10, decimal_places=2)
    renewal_fee = forms.DecimalField(label=_("Renewal (৳)"), min_value=0, max_digits=10, decimal_places=2)
    late_fee_percent = forms.DecimalField(label=_("Late renewal surcharge (%)"), min_value=0, max_value=100,
                                          max_digits=5, decimal_places=2, initial=20)


STATUS_CHOICES = [("", _("Any")), ("open", _("Applications in progress")), (Licence.Status.APPLIED, _("To inspect")),
                  (Licence.Status.INSPECTED, _("To approve")), (Licence.Status.APPROVED, _("Fee due")),
                  (Licence.Status.ACTIVE, _("Valid")), ("expiring", _("Expiring within 30 days")),
                  (Licence.Status.EXPIRED, _("Expired")), (Licence.Status.CANCELLED, _("Cancelled")),
                  (Licence.Status.REJECTED, _("Rejected"))]


class LicenceFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("Number, business, owner or holding")}))
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    ward = forms.TypedChoiceField(label=_("Ward"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any")), *[(c.code, c.name) for c in BusinessCategory.objects.all()]]
        self.fields["ward"].choices = ward_choices(blank_label=_("All wards"))
