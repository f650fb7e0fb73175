"""The reviewer's "edit, then approve" forms: the submitted values, editable, typed like the register's fields.

Only the fields the reviewer changed become edits (`edits()`); the service applies them over the device's
answers and validates everything as it would without them.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Point
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.forms import model_field

from .changes import BUILDING_FIELDS, CONTAINMENT_FIELDS, ChoiceValue, Review

TEXTAREA = forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "font-monospace"})


def _polygon(text: str):
    try:
        geometry = GEOSGeometry(text.strip())
    except (ValueError, TypeError, GEOSException, GDALException) as error:
        raise ValidationError(_("This is neither GeoJSON nor WKT."), code="invalid_geometry") from error
    if geometry.srid is None:
        geometry.srid = 4326
    if geometry.geom_type == "MultiPolygon" and len(geometry) == 1:
        geometry = geometry[0]
    if geometry.geom_type != "Polygon":
        raise ValidationError(_("The outline must be a polygon."), code="wrong_geometry_type")
    return geometry


def _point(text: str) -> Point:
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*", text or "")
    if not match or not (-90 <= float(match[1]) <= 90 and -180 <= float(match[2]) <= 180):
        raise ValidationError(_("Latitude, longitude, e.g. 22.8456, 89.5403."), code="invalid_point")
    return Point(float(match[2]), float(match[1]), srid=4326)


def _initial(value):
    if isinstance(value, ChoiceValue):
        return value.value
    if isinstance(value, GEOSGeometry):
        return f"{value.y:.7f}, {value.x:.7f}" if value.geom_type == "Point" else value.json
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if hasattr(value, "registration"):
        return value.registration
    if hasattr(value, "pk"):
        return value.pk
    return value


class ReviewEditForm(forms.Form):
    def __init__(self, *args, review: Review, **kwargs):
        initial = {row.name: _initial(row.proposed) for row in review.rows}
        if "holding" in initial:
            initial["holding_id"] = getattr(next(r.proposed for r in review.rows if r.name == "holding"),
                                            "holding_id", "")
        super().__init__(*args, initial=initial, **kwargs)
        self.review = review

    def edits(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


def _optional(field: forms.Field) -> forms.Field:
    field.required = False
    return field


class BuildingEditForm(ReviewEditForm):
    def __init__(self, *args, **kwargs):
        from imis.tenant_apps.registry.models import Building

        super().__init__(*args, **kwargs)
        fields = {}
        if any(row.name == "bin" for row in self.review.rows):
            fields["bin"] = model_field(Building, "bin")
        fields["footprint"] = forms.CharField(
            label=_("Outline"), required=False, widget=TEXTAREA,
            help_text=_("GeoJSON or WKT in longitude/latitude (WGS 84). Leave it as sent to keep the device's."))
        fields["holding_id"] = forms.CharField(label=_("Holding ID"), required=False, max_length=40)
        for definition in BUILDING_FIELDS:
            fields[definition.name] = _optional(model_field(Building, definition.name))
        for name, field in fields.items():
            self.fields[name] = field

    def clean_footprint(self):
        text = self.cleaned_data.get("footprint") or ""
        return _polygon(text) if text.strip() else None


class ContainmentEditForm(ReviewEditForm):
    def __init__(self, *args, **kwargs):
        from imis.tenant_apps.registry.models import Containment

        super().__init__(*args, **kwargs)
        if any(row.name == "code" for row in self.review.rows):
            self.fields["code"] = model_field(Containment, "code")
        self.fields["location"] = forms.CharField(label=_("Location"), help_text=_("Latitude, longitude."))
        self.fields["buildings"] = forms.CharField(label=_("Buildings served"), required=False,
                                                   help_text=_("BINs separated by spaces."))
        for definition in CONTAINMENT_FIELDS:
            self.fields[definition.name] = _optional(model_field(Containment, definition.name))

    def clean_location(self):
        return _point(self.cleaned_data.get("location", ""))

    def clean_buildings(self):
        return (self.cleaned_data.get("buildings") or "").upper().split()


class EmptyingEditForm(ReviewEditForm):
    def __init__(self, *args, **kwargs):
        from imis.tenant_apps.fsm.models import Vehicle

        super().__init__(*args, **kwargs)
        self.fields.update({
            "emptied_on": forms.DateField(label=_("Emptied on"), widget=forms.DateInput(attrs={"type": "date"})),
            "started_at": forms.TimeField(label=_("Start"), required=False,
                                          widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")),
            "ended_at": forms.TimeField(label=_("End"), required=False,
                                        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")),
            "vehicle": forms.ChoiceField(label=_("Vehicle"), choices=[
                (reg, reg) for reg in Vehicle.objects.order_by("registration").values_list("registration", flat=True)]),
            "volume_m3": forms.DecimalField(label=_("Volume (m³)"), min_value=0.01, decimal_places=2),
            "trips": forms.IntegerField(label=_("Trips"), min_value=1),
            "is_ppe_worn": forms.BooleanField(label=_("PPE worn by the whole crew"), required=False),
            "receipt_number": forms.CharField(label=_("Receipt number"), required=False, max_length=40),
            "cost": forms.DecimalField(label=_("Cost charged (BDT)"), required=False, min_value=0, decimal_places=2),
        })


class DisposalEditForm(ReviewEditForm):
    def __init__(self, *args, **kwargs):
        from imis.tenant_apps.fsm.models import Vehicle
        from imis.tenant_apps.registry.models import TreatmentPlant

        super().__init__(*args, **kwargs)
        datetime_widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
        self.fields.update({
            "treatment_plant": forms.ModelChoiceField(label=_("Treatment plant"),
                                                      queryset=TreatmentPlant.objects.order_by("name")),
            "vehicle": forms.ChoiceField(label=_("Vehicle"), required=False, choices=[("", "—")] + [
                (reg, reg) for reg in Vehicle.objects.order_by("registration").values_list("registration", flat=True)]),
            "unregistered_vehicle": forms.CharField(label=_("Unregistered vehicle"), required=False, max_length=40),
            "arrived_at": forms.DateTimeField(label=_("Arrived"), widget=datetime_widget),
            "exited_at": forms.DateTimeField(label=_("Left"), required=False, widget=datetime_widget),
            "volume_received_m3": forms.DecimalField(label=_("Volume received (m³)"), min_value=0.01,
                                                     decimal_places=2),
            "applications": forms.CharField(label=_("Applications"), required=False,
                                            help_text=_("Application numbers separated by spaces.")),
        })

    def clean_applications(self):
        return (self.cleaned_data.get("applications") or "").split()


EDIT_FORMS = {
    "imis_building_survey": BuildingEditForm,
    "imis_containment_survey": ContainmentEditForm,
    "imis_emptying_record": EmptyingEditForm,
    "imis_disposal_log": DisposalEditForm,
}
# A service's error field → the form's field showing it.
SERVICE_FIELD_NAMES = {"holding": "holding_id", "volume_received_m3": "volume_received_m3"}
