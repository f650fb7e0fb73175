from django import forms
from django.utils.translation import gettext_lazy as _

from imis.shared_apps.tenants.features import CATALOGUE


class OnboardingForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_bn = forms.CharField(label=_("Name in Bangla"), max_length=200, required=False)
    slug = forms.SlugField(label=_("Slug"), max_length=41,
                           help_text=_("Lower-case letters, digits and underscores; it names the schema and the "
                                       "address, e.g. narail → narail.localhost."))
    domain = forms.CharField(label=_("Domain"), max_length=253, required=False,
                             help_text=_("Leave empty for <slug>.<base domain>."))
    features = forms.MultipleChoiceField(label=_("Services"), choices=[(c, s.name) for c, s in CATALOGUE.items()],
                                         widget=forms.CheckboxSelectMultiple, required=False)
    centroid_lon = forms.FloatField(label=_("Centre longitude"), min_value=-180, max_value=180, initial=90.4)
    centroid_lat = forms.FloatField(label=_("Centre latitude"), min_value=-90, max_value=90, initial=23.8)
    timezone = forms.CharField(label=_("Time zone"), initial="Asia/Dhaka", max_length=64)
    currency = forms.CharField(label=_("Currency"), initial="BDT", max_length=3)
    default_language = forms.ChoiceField(label=_("Default language"), choices=[("en", "English"), ("bn", "বাংলা")])
    holding_id_pattern = forms.CharField(label=_("Holding ID pattern"), max_length=200,
                                         initial=r"^\d{1,3}-\d{1,4}-\d{1,5}[A-Z]?$",
                                         help_text=_("A regular expression, e.g. ward-road-house."))

    def clean_holding_id_pattern(self):
        import re

        pattern = self.cleaned_data["holding_id_pattern"]
        try:
            re.compile(pattern)
        except re.error as error:
            raise forms.ValidationError(_("Not a valid regular expression: %(error)s") % {"error": error}) from error
        return pattern


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Administrator's email"))
    full_name = forms.CharField(label=_("Full name"), max_length=200, required=False)


class SupportSessionForm(forms.Form):
    reason = forms.CharField(label=_("Why do you need access?"), max_length=500, min_length=10,
                             widget=forms.Textarea(attrs={"rows": 2}))
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=480, initial=60)


class RestoreForm(forms.Form):
    archive = forms.FileField(label=_("Backup archive (.tar.gz)"))
    slug = forms.SlugField(label=_("New slug"), max_length=41)
    name = forms.CharField(label=_("New name"), max_length=200)


class PackageForm(forms.Form):
    file = forms.FileField(label=_("GIS package"),
                           help_text=_("A GeoPackage (.gpkg) whose layers are named like the registry's: wards, "
                                       "roads, buildings, holdings, containments, treatment_plants … Columns "
                                       "carry the field names of the data dictionary."))
    skip_bad_rows = forms.BooleanField(label=_("Skip bad rows"), required=False,
                                       help_text=_("Leave out the rows with problems and import the rest. "
                                                   "Without it, one bad row stops the whole package."))
    srid = forms.IntegerField(label=_("Coordinate system (EPSG code)"), required=False, min_value=1024,
                              max_value=999999,
                              help_text=_("Only when the file does not state its own, e.g. 32645 for UTM 45N."))
