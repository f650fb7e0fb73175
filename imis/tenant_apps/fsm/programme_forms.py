"""Forms of the desludging programme screens. They parse; programmes.py validates and writes."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from imis.tenant_apps.registry.forms import DATE_INPUT
from imis.tenant_apps.registry.models import TreatmentPlant, Ward

from .forms import ObjectMultipleChoiceField, _grouped, vehicle_label
from .models import Vehicle
from .programmes import BANGLADESH_WORKWEEK, MAX_TRIPS_PER_DAY

WEEKDAYS = [(6, _("Sunday")), (0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")),
            (4, _("Friday")), (5, _("Saturday"))]
HOLIDAY_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %b %Y", "%d %B %Y")


def parse_holidays(text: str) -> list[datetime.date]:
    """One date a line (or separated by commas): 2026-12-16, 16/12/2026 or 16 Dec 2026."""
    days = []
    for line in (text or "").replace(",", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        for pattern in HOLIDAY_FORMATS:
            try:
                days.append(datetime.datetime.strptime(line, pattern).date())
                break
            except ValueError:
                continue
        else:
            raise ValidationError(_("“%(text)s” is not a date: write it as 2026-12-16."), params={"text": line[:30]},
                                  code="invalid_date")
    return days


class ProgrammeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. Wards 3 and 4, January")}),
                           error_messages={"required": _("Give the programme a name, such as “Ward 5, January”.")})
    wards = forms.TypedMultipleChoiceField(label=_("Wards"), coerce=int, required=False,
                                           widget=forms.CheckboxSelectMultiple,
                                           help_text=_("Every containment due in these wards is a candidate."))
    area = forms.CharField(label=_("…or an area (GeoJSON or WKT polygon)"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
                           help_text=_("Optional. Draw a polygon on the map page and paste it here; with wards "
                                       "chosen too, only the part inside them counts."))
    start_date = forms.DateField(label=_("From"), widget=DATE_INPUT,
                                 error_messages={"required": _("Enter the first day of the programme.")})
    end_date = forms.DateField(label=_("Until"), widget=DATE_INPUT,
                               error_messages={"required": _("Enter the last day of the programme.")})
    treatment_plant = forms.ModelChoiceField(label=_("Treatment plant"), queryset=TreatmentPlant.objects.none(),
                                             empty_label=_("Choose…"),
                                             help_text=_("Each route starts and ends here."),
                                             error_messages={"required": _("Choose the plant the trucks unload "
                                                                           "at.")})
    vehicles = ObjectMultipleChoiceField(label=_("Vehicles"), queryset=Vehicle.objects.all(),
                                         widget=forms.CheckboxSelectMultiple,
                                         error_messages={"required": _("Choose at least one vehicle.")})
    trips_per_day = forms.IntegerField(label=_("Trips per vehicle per day"), min_value=1,
                                       max_value=MAX_TRIPS_PER_DAY, initial=3,
                                       help_text=_("A full tank goes to the plant and back on each trip."))
    working_weekdays = forms.TypedMultipleChoiceField(
        label=_("Working days"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose the days of the week the crews work.")})
    holidays = forms.CharField(label=_("Holidays"), required=False,
                               widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2026-12-16"}),
                               help_text=_("One date a line. No visit is planned on these days."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["wards"].choices = [(w.pk, f"{w.number} · {w}" if w.name else str(w))
                                        for w in Ward.objects.defer("boundary").order_by("number")]
        plants = TreatmentPlant.objects.filter(status=TreatmentPlant.Status.OPERATIONAL).defer("location")
        self.fields["treatment_plant"].queryset = plants
        vehicles = (Vehicle.objects.exclude(status=Vehicle.Status.RETIRED).filter(provider__is_active=True)
                    .select_related("provider").order_by("provider__name", "registration"))
        self.fields["vehicles"].choices = _grouped(vehicles, lambda v: v.provider.name, vehicle_label)
        if not self.is_bound:
            start = timezone.localdate() + datetime.timedelta(days=7)
            self.initial.setdefault("start_date", start)
            self.initial.setdefault("end_date", start + datetime.timedelta(days=27))
            self.initial.setdefault("working_weekdays", BANGLADESH_WORKWEEK)
            only = list(plants[:2])
            if len(only) == 1:
                self.initial.setdefault("treatment_plant", only[0].pk)

    def clean_holidays(self) -> list[datetime.date]:
        return parse_holidays(self.cleaned_data.get("holidays", ""))

    def clean_area(self) -> str | None:
        return (self.cleaned_data.get("area") or "").strip() or None

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "start_date": data["start_date"], "end_date": data["end_date"],
                "treatment_plant": data["treatment_plant"], "vehicles": data["vehicles"], "ward_ids": data["wards"],
                "area": data["area"], "trips_per_day": data["trips_per_day"],
                "working_weekdays": data["working_weekdays"], "holidays": data["holidays"]}

    # The service names some rules by what they are about; show them beside the field the clerk fills.
    SERVICE_FIELDS = {"programme": "__all__"}


class AcceptForm(forms.Form):
    applicant_name = forms.CharField(label=_("Name of the person who accepted"), max_length=200, required=False,
                                     help_text=_("Leave empty to use the owner's name."))


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Why the household declines"), max_length=300, required=False,
                             widget=forms.TextInput(attrs={"placeholder": _("e.g. emptied privately last month")}))
