from django import forms
from django.utils.translation import gettext_lazy as _


class UploadForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False,
                           help_text=_("For example “Drone survey, ward 4, March 2026”. Empty: the file's name."))
    file = forms.FileField(label=_("Georeferenced image (GeoTIFF)"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".tif,.tiff,image/tiff"}))


class ExternalForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    url_template = forms.CharField(label=_("Tile address"), max_length=1000,
                                   help_text=_("An XYZ or WMTS (REST) address with {z}, {x} and {y}."))
    attribution = forms.CharField(label=_("Attribution"), max_length=300, required=False,
                                  help_text=_("Shown on the map, as the imagery's licence asks."))
    max_zoom = forms.IntegerField(label=_("Maximum zoom"), min_value=0, max_value=22, initial=19)
