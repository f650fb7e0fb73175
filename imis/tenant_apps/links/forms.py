"""Outside data forms: they parse what a user types; services.py validates and writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .adapters.health import DATASETS

YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]


class LinkConfigForm(forms.Form):
    is_enabled = forms.BooleanField(label=_("Run on schedule"), required=False)
    endpoint_url = forms.URLField(label=_("Endpoint URL"), required=False, max_length=500,
                                  assume_scheme="https")
    secret_header = forms.CharField(label=_("Token header"), required=False, max_length=60,
                                    help_text=_("For example Authorization or X-Api-Key; empty sends no token."))
    secret = forms.CharField(label=_("Token"), required=False, max_length=500,
                             widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                             help_text=_("Stored encrypted and never shown again; leave empty to keep the saved "
                                         "one."))
    clear_secret = forms.BooleanField(label=_("Remove the saved secret"), required=False)
    source = forms.ChoiceField(label=_("Source"), choices=[("http", _("HTTP endpoint (JSON)")),
                                                           ("file", _("Uploaded CSV file"))], required=False)
    dataset = forms.ChoiceField(label=_("The URL gives"), choices=list(DATASETS.items()), required=False)
    threshold = forms.DecimalField(label=_("E. coli threshold (CFU/100 ml)"), required=False, min_value=0,
                                   max_digits=10, decimal_places=1,
                                   help_text=_("A sample passes when its count is at or below this; WHO: 0."))

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind == "national":
            del self.fields["secret_header"], self.fields["source"], self.fields["dataset"], self.fields["threshold"]
            self.fields["secret"].label = _("Shared secret")
            self.fields["endpoint_url"].help_text = _("Where the indicators are POSTed.")
        elif kind == "utility":
            del self.fields["dataset"], self.fields["threshold"]
        else:
            del self.fields["source"]
            self.fields["endpoint_url"].help_text = _("Optional: a URL giving a CSV or GeoJSON file to fetch.")

    def options(self) -> dict:
        data = self.cleaned_data
        options = {}
        if self.kind == "utility" and data.get("source"):
            options["source"] = data["source"]
        if self.kind == "health":
            if data.get("dataset"):
                options["dataset"] = data["dataset"]
            if data.get("threshold") is not None:
                options["threshold"] = str(data["threshold"])
        return options


class HealthUploadForm(forms.Form):
    dataset = forms.ChoiceField(label=_("The file holds"), choices=list(DATASETS.items()))
    file = forms.FileField(label=_("File (CSV or GeoJSON)"))
    skip_bad_rows = forms.BooleanField(label=_("Skip bad rows (import the good ones, list the others)"),
                                       required=False)


class UtilityFileForm(forms.Form):
    file = forms.FileField(label=_("Customer file (CSV)"))


class RunForm(forms.Form):
    year = forms.IntegerField(label=_("Fiscal year (first year)"), required=False, min_value=2000, max_value=2100,
                              help_text=_("2026 means 2026-27; empty: the current fiscal year."))


class CasesFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    disease = forms.CharField(label=_("Disease"), required=False, max_length=60)


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Customer ID or name"), required=False, max_length=60)
    matched = forms.ChoiceField(label=_("Matched in IMIS"), choices=YES_NO, required=False)
