"""Registry edit forms. They parse what a clerk types; the services validate and write.

Every form has `service_arguments(changed_only=...)` giving the keyword arguments of its service, and
`add_service_errors()` puts a service's ValidationError beside the field it names.
"""

from __future__ import annotations

import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Point
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from imis.shared_apps.accounts.services import phone_to_e164

from .models import Building, Containment, Holding, Owner, Road
from .selectors import wards_listed
from .services import holding_id_validate

NOT_RECORDED = _("Not recorded")
CHOOSE = _("Choose…")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def model_field(model, name: str, **overrides) -> forms.Field:
    """The form field Django would make for a model field (label, choices, help text), with the model's limits
    (MinValueValidator/MaxValueValidator) checked in the form already, dates as date pickers and an empty choice
    that reads "Not recorded"."""
    model_field_ = model._meta.get_field(name)
    for validator in model_field_.validators:
        if isinstance(validator, MinValueValidator):
            overrides.setdefault("min_value", validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            overrides.setdefault("max_value", validator.limit_value)
    field = model_field_.formfield(**overrides)
    if isinstance(field.widget, forms.DateInput):
        field.widget = DATE_INPUT
    elif isinstance(field.widget, forms.DateTimeInput):
        field.widget = DATETIME_INPUT
    if isinstance(field, forms.TypedChoiceField) and field.choices and field.choices[0][0] == "":
        field.choices = [("", CHOOSE if field.required else NOT_RECORDED), *field.choices[1:]]
    return field


def add_service_errors(form: forms.Form, error: ValidationError, *, field_names: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError on the form: beside its field when the form has one, else on top."""
    field_names = field_names or {}
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            target = field_names.get(name, name)
            if target == NON_FIELD_ERRORS or target not in form.fields:
                target = None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class ServiceForm(forms.Form):
    """A plain form whose cleaned data becomes a service call."""

    service_fields: tuple[str, ...] = ()

    def service_arguments(self, *, changed_only: bool = False) -> dict:
        names = [name for name in self.service_fields if not changed_only or name in self.changed_data]
        return {name: self.cleaned_data[name] for name in names}


def _geometry_from_text(text: str) -> GEOSGeometry:
    """GeoJSON, WKT or EWKT; WGS 84 longitude/latitude unless the text says otherwise."""
    try:
        geometry = GEOSGeometry(text.strip())
    except (ValueError, TypeError, GEOSException, GDALException) as error:
        raise ValidationError(_("This is neither GeoJSON nor WKT."), code="invalid_geometry") from error
    if geometry.srid is None:
        geometry.srid = 4326
    return geometry


# --- buildings ----------------------------------------------------------------------------------------

BUILDING_ATTRIBUTES = (
    "functional_use", "structure_type", "floors", "construction_year", "households", "population_male",
    "population_female", "population_other", "population_differently_abled", "is_low_income", "water_source",
    "water_customer_id", "has_toilet", "toilet_count", "has_shared_toilet", "sanitation_system", "sewer_code",
    "drain_code", "is_desludging_vehicle_accessible", "verification_status", "surveyed_at",
)


class BuildingForm(ServiceForm):
    bin = model_field(Building, "bin")
    holding = forms.CharField(
        label=_("Holding ID"), required=False, max_length=40,
        help_text=_("The holding this building belongs to, as on the tax record. Leave empty if not known yet."),
    )
    footprint = forms.CharField(
        label=_("Footprint"), widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false",
                                                           "class": "font-monospace"}),
        help_text=_("Paste the outline in longitude/latitude (WGS 84), as GeoJSON — "
                    "{\"type\": \"Polygon\", \"coordinates\": [[[89.54, 22.84], …]]} — or as WKT — "
                    "POLYGON((89.54 22.84, …)). Drawing it on the map comes later."),
    )
    functional_use = model_field(Building, "functional_use")
    structure_type = model_field(Building, "structure_type")
    floors = model_field(Building, "floors")
    construction_year = model_field(Building, "construction_year")
    households = model_field(Building, "households")
    population_male = model_field(Building, "population_male")
    population_female = model_field(Building, "population_female")
    population_other = model_field(Building, "population_other")
    population_differently_abled = model_field(Building, "population_differently_abled")
    is_low_income = model_field(Building, "is_low_income")
    water_source = model_field(Building, "water_source")
    water_customer_id = model_field(Building, "water_customer_id")
    has_toilet = model_field(Building, "has_toilet")
    toilet_count = model_field(Building, "toilet_count")
    has_shared_toilet = model_field(Building, "has_shared_toilet")
    sanitation_system = model_field(Building, "sanitation_system")
    sewer_code = model_field(Building, "sewer_code")
    drain_code = model_field(Building, "drain_code")
    is_desludging_vehicle_accessible = model_field(Building, "is_desludging_vehicle_accessible")
    verification_status = model_field(Building, "verification_status")
    surveyed_at = model_field(Building, "surveyed_at")

    service_fields = ("bin", "holding", "footprint", *BUILDING_ATTRIBUTES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(_("Identification"), Row(Column("bin"), Column("holding")), "footprint"),
            Fieldset(_("Use and structure"),
                     Row(Column("functional_use"), Column("structure_type")),
                     Row(Column("floors"), Column("construction_year"))),
            Fieldset(_("People"),
                     Row(Column("households"), Column("population_male"), Column("population_female"),
                         Column("population_other")),
                     Row(Column("population_differently_abled"), Column("is_low_income", css_class="pt-md-4 mt-md-2"))),
            Fieldset(_("Water and sanitation"),
                     Row(Column("water_source"), Column("water_customer_id")),
                     Row(Column("sanitation_system"), Column("is_desludging_vehicle_accessible")),
                     Row(Column("has_toilet", css_class="pt-md-4 mt-md-2"), Column("toilet_count"),
                         Column("has_shared_toilet", css_class="pt-md-4 mt-md-2")),
                     Row(Column("sewer_code"), Column("drain_code"))),
            Fieldset(_("Survey"), Row(Column("verification_status"), Column("surveyed_at"))),
        )

    @classmethod
    def initial_for(cls, building: Building) -> dict:
        initial = {name: getattr(building, name) for name in BUILDING_ATTRIBUTES}
        if building.surveyed_at:
            initial["surveyed_at"] = building.surveyed_at.replace(second=0, microsecond=0)
        initial["bin"] = building.bin
        initial["holding"] = building.holding.holding_id if building.holding_id else ""
        initial["footprint"] = building.footprint.json if building.footprint else ""
        return initial

    def clean_holding(self) -> Holding | None:
        holding_id = self.cleaned_data["holding"].strip().upper()
        if not holding_id:
            return None
        try:
            holding_id = holding_id_validate(holding_id)
        except ValidationError as error:
            raise ValidationError(error.message_dict.get("holding_id", error.messages)) from error
        holding = Holding.objects.filter(holding_id=holding_id).first()
        if holding is None:
            raise ValidationError(_("No holding %(value)s is registered. Register the holding first."),
                                  code="unknown_holding", params={"value": holding_id})
        return holding

    def clean_footprint(self) -> GEOSGeometry:
        return _geometry_from_text(self.cleaned_data["footprint"])


# --- holdings -----------------------------------------------------------------------------------------

class WardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, ward) -> str:
        return f"{ward.number} · {ward.name}" if ward.name else str(ward.number)


class HoldingForm(ServiceForm):
    holding_id = model_field(Holding, "holding_id")
    ward = WardChoiceField(queryset=wards_listed(), label=_("Ward"), empty_label=_("Choose the ward"))
    road = forms.CharField(label=_("Road code"), required=False, max_length=40,
                           help_text=_("The code of the road the holding faces, as in the road register."))
    address = model_field(Holding, "address")
    is_multi_ward_confirmed = model_field(Holding, "is_multi_ward_confirmed")

    service_fields = ("holding_id", "ward", "road", "address", "is_multi_ward_confirmed")

    def __init__(self, *args, is_new: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].queryset = wards_listed()
        self.fields["holding_id"].help_text = _("As written on the tax record, for example 12-0345-00678.")
        if is_new:  # a new holding has no buildings yet, so nothing to confirm
            del self.fields["is_multi_ward_confirmed"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Row(Column("holding_id"), Column("ward")),
            Row(Column("road"), Column("address")),
            *(["is_multi_ward_confirmed"] if not is_new else []),
        )

    def clean_holding_id(self) -> str:
        try:
            return holding_id_validate(self.cleaned_data["holding_id"])
        except ValidationError as error:
            raise ValidationError(error.message_dict.get("holding_id", error.messages)) from error

    @classmethod
    def initial_for(cls, holding: Holding) -> dict:
        return {"holding_id": holding.holding_id, "ward": holding.ward_id,
                "road": holding.road.code if holding.road_id else "", "address": holding.address,
                "is_multi_ward_confirmed": holding.is_multi_ward_confirmed}

    def service_arguments(self, *, changed_only: bool = False) -> dict:
        names = [name for name in self.service_fields if name in self.fields]
        return {name: self.cleaned_data[name] for name in names if not changed_only or name in self.changed_data}

    def clean_road(self) -> Road | None:
        code = self.cleaned_data["road"].strip().upper()
        if not code:
            return None
        road = Road.objects.filter(code__iexact=code).first()
        if road is None:
            raise ValidationError(_("No road with code %(code)s is registered."), code="unknown_road",
                                  params={"code": code})
        return road


class OwnerForm(forms.Form):
    name = model_field(Owner, "name", required=False)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "placeholder": "01XXXXXXXXX"}))
    national_id = forms.RegexField(label=_("National ID"), required=False, regex=r"^\d{10}$|^\d{13}$|^\d{17}$",
                                   widget=forms.TextInput(attrs={"inputmode": "numeric"}),
                                   error_messages={"invalid": _("A national ID has 10, 13 or 17 digits.")})
    gender = model_field(Owner, "gender")

    def clean_phone(self) -> str:
        phone = re.sub(r"[\s\-()]", "", self.cleaned_data["phone"])
        return phone_to_e164(phone) if phone else ""

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("name") and (cleaned.get("phone") or cleaned.get("national_id")):
            self.add_error("name", _("Give the owner's name."))
        return cleaned

    def as_owner(self) -> dict | None:
        if not self.cleaned_data.get("name"):
            return None
        return {key: self.cleaned_data.get(key, "") for key in ("name", "phone", "national_id", "gender")}


OwnerFormSet = forms.formset_factory(OwnerForm, extra=2, max_num=20, validate_max=True)


# --- containments -------------------------------------------------------------------------------------

CONTAINMENT_ATTRIBUTES = ("code", "type", "outlet", "length_m", "width_m", "diameter_m", "depth_m", "volume_m3",
                          "construction_year", "last_emptied_on")
_LON_LAT = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,;\s]\s*(-?\d{1,2}(?:\.\d+)?)\s*$")
_BIN_SEPARATORS = re.compile(r"[\s,;]+")


class ContainmentForm(ServiceForm):
    code = model_field(Containment, "code")
    type = model_field(Containment, "type")
    outlet = model_field(Containment, "outlet")
    length_m = model_field(Containment, "length_m", min_value=0)
    width_m = model_field(Containment, "width_m", min_value=0)
    diameter_m = model_field(Containment, "diameter_m", min_value=0)
    depth_m = model_field(Containment, "depth_m", min_value=0)
    volume_m3 = model_field(
        Containment, "volume_m3", min_value=0,
        help_text=_("Worked out from the dimensions when the depth and either length × width (a box) or the "
                    "diameter (a cylinder) are given; enter it yourself only when the dimensions are unknown."),
    )
    construction_year = model_field(Containment, "construction_year", min_value=1800)
    location = forms.CharField(
        label=_("Location"),
        help_text=_("Longitude, latitude — e.g. 89.54031, 22.84562 — or a GeoJSON point."),
    )
    buildings = forms.CharField(
        label=_("Buildings served"), required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=_("BINs of the buildings this containment serves, separated by commas or spaces."),
    )
    last_emptied_on = model_field(Containment, "last_emptied_on")

    service_fields = ("code", "type", "outlet", "length_m", "width_m", "diameter_m", "depth_m", "volume_m3",
                      "construction_year", "location", "last_emptied_on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(_("Identification"), Row(Column("code"), Column("type"), Column("outlet"))),
            Fieldset(_("Size"),
                     Row(Column("length_m"), Column("width_m"), Column("diameter_m"), Column("depth_m")),
                     Row(Column("volume_m3"), Column("construction_year"))),
            Fieldset(_("Place and use"), "location", "buildings", Row(Column("last_emptied_on"), Column())),
        )

    @classmethod
    def initial_for(cls, containment: Containment) -> dict:
        initial = {name: getattr(containment, name) for name in CONTAINMENT_ATTRIBUTES}
        if containment.location:
            initial["location"] = f"{containment.location.x:.6f}, {containment.location.y:.6f}"
        initial["buildings"] = " ".join(building.bin for building in containment.buildings.all())
        return initial

    def clean_location(self) -> Point:
        text = self.cleaned_data["location"].strip()
        match = _LON_LAT.match(text)
        if match:
            point = Point(float(match.group(1)), float(match.group(2)), srid=4326)
        else:
            try:
                point = _geometry_from_text(text)
            except ValidationError:
                point = None
            if point is None or point.geom_type != "Point":
                raise ValidationError(_("Enter the location as “longitude, latitude” or a GeoJSON point."),
                                      code="invalid_location")
            if point.srid != 4326:
                point = point.transform(4326, clone=True)
        if not (-180 <= point.x <= 180 and -90 <= point.y <= 90):
            raise ValidationError(_("Longitude goes from -180 to 180 and latitude from -90 to 90."),
                                  code="out_of_range")
        return point

    def clean_buildings(self) -> list[int]:
        bins = list(dict.fromkeys(b.upper() for b in _BIN_SEPARATORS.split(self.cleaned_data["buildings"]) if b))
        if not bins:
            return []
        found = dict(Building.objects.filter(bin__in=bins).values_list("bin", "pk"))
        unknown = [b for b in bins if b not in found]
        if unknown:
            raise ValidationError(_("No building has the BIN %(bins)s."), code="unknown_bin",
                                  params={"bins": ", ".join(unknown)})
        return [found[b] for b in bins]
