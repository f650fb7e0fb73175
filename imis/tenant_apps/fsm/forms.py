"""FSM forms. They parse what a clerk types; the services in services.py validate and write.

Each workflow form has `service_arguments()` — the keyword arguments of its service — and the views put a
service's ValidationError beside the field it names (registry.forms.add_service_errors). The set-up forms
(providers, vehicles, crew, price slabs) and the effluent test are plain records: `save_audited(by=...)` saves
one row and its audit entry in one transaction.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from imis.shared_apps.accounts.models import Membership, User
from imis.shared_apps.accounts.roles import Role
from imis.shared_apps.accounts.services import phone_to_e164
from imis.tenant_apps.registry.forms import DATE_INPUT, DATETIME_INPUT
from imis.tenant_apps.registry.models import Building, Containment, Holding, TreatmentPlant, Ward

from . import services
from .models import Application, CrewMember, EffluentTest, Feedback, PriceSlab, ServiceProvider, Vehicle

TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
SITE_KINDS = {"holding": Holding, "building": Building, "containment": Containment}
RATING_CHOICES = [(n, str(n)) for n in range(1, 6)]
YES_NO_UNKNOWN = [("", _("Not known")), ("yes", _("Yes")), ("no", _("No"))]


def _phone(value: str) -> str:
    """01712345678 -> +8801712345678, or the error beside the field."""
    return phone_to_e164(value.strip()) if value and value.strip() else ""


def _grouped(objects, group, label) -> list:
    """Choices grouped by provider: [(provider name, [(pk, label), ...]), ...] for a <select> with optgroups."""
    groups: dict[str, list] = {}
    for obj in objects:
        groups.setdefault(group(obj), []).append((str(obj.pk), label(obj)))
    return list(groups.items())


def vehicle_label(vehicle: Vehicle) -> str:
    text = f"{vehicle.registration} · {vehicle.capacity_m3} m³ · {vehicle.get_suction_type_display()}"
    if vehicle.status != Vehicle.Status.AVAILABLE:
        text += f" · {vehicle.get_status_display().lower()}"
    return text


def crew_label(member: CrewMember) -> str:
    return f"{member.name} ({member.get_role_display().lower()})"


class ObjectChoiceField(forms.ChoiceField):
    """A <select> with optgroups whose cleaned value is the model object."""

    def __init__(self, *, queryset, **kwargs):
        self.queryset = queryset
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return None
        return self.queryset.filter(pk=value).first()


class ObjectMultipleChoiceField(forms.MultipleChoiceField):
    def __init__(self, *, queryset, **kwargs):
        self.queryset = queryset
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return list(self.queryset.filter(pk__in=value)) if value else []


class WorkflowForm(forms.Form):
    """A transition's form: `service_fields` become the service's keyword arguments."""

    service_fields: tuple[str, ...] = ()

    def __init__(self, *args, application: Application | None = None, **kwargs):
        self.application = application
        super().__init__(*args, **kwargs)

    def service_arguments(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.service_fields}


# --- registering --------------------------------------------------------------------------------------

class RegisterForm(WorkflowForm):
    q = forms.CharField(
        label=_("Holding ID, BIN or containment code"), required=False, max_length=40,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "spellcheck": "false",
                                      "placeholder": _("e.g. 12-0345-00678")}),
        help_text=_("Type the start of the number the caller quotes, then pick the right place below."),
    )
    site = forms.CharField(label=_("Place to be emptied"), required=False, widget=forms.HiddenInput,
                           error_messages={"required": _("Find the holding, building or containment to be emptied.")})
    applicant_name = forms.CharField(label=_("Applicant's name"), max_length=200,
                                     error_messages={"required": _("Who is asking? Enter the applicant's name.")})
    applicant_phone = forms.CharField(label=_("Applicant's phone"), max_length=20, required=False,
                                      widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off",
                                                                    "placeholder": "01XXXXXXXXX"}),
                                      help_text=_("Mobile number, 11 digits, such as 01712345678."))
    channel = forms.ChoiceField(label=_("How the request came in"), choices=Application.Channel.choices,
                                initial=Application.Channel.PHONE)
    is_emergency = forms.BooleanField(label=_("Emergency: overflowing or a health risk"), required=False)
    address = forms.CharField(label=_("Address or landmark"), max_length=300, required=False,
                              help_text=_("Leave empty to use the holding's address."))
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def clean_applicant_phone(self) -> str:
        return _phone(self.cleaned_data["applicant_phone"])

    def clean_site(self) -> tuple[str, object] | None:
        value = (self.cleaned_data.get("site") or "").strip()
        if not value:
            raise ValidationError(_("Find the holding, building or containment to be emptied, then pick it."),
                                  code="required")
        kind, _sep, pk = value.partition(":")
        model = SITE_KINDS.get(kind)
        obj = model.objects.filter(pk=pk).first() if model and pk.isdigit() else None
        if obj is None:
            raise ValidationError(_("This place is no longer in the registry. Search again."), code="invalid")
        return kind, obj

    def service_arguments(self) -> dict:
        kind, obj = self.cleaned_data["site"]
        data = self.cleaned_data
        return {kind: obj, "applicant_name": data["applicant_name"], "applicant_phone": data["applicant_phone"],
                "channel": data["channel"], "is_emergency": data["is_emergency"], "address": data["address"],
                "notes": data["notes"]}

    # The service names the place by what it found wrong with it; all of them belong beside the search.
    SERVICE_FIELDS = {"holding": "site", "building": "site", "containment": "site"}


# --- approval, rejection, cancellation ----------------------------------------------------------------

class ApproveForm(WorkflowForm):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))
    service_fields = ("note",)


class RejectForm(WorkflowForm):
    reason = forms.CharField(label=_("Reason for rejecting"), max_length=300,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("Say why the application is rejected.")})
    service_fields = ("reason",)


class CancelForm(WorkflowForm):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=300,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("Say why the application is cancelled.")})
    service_fields = ("reason",)


# --- scheduling ---------------------------------------------------------------------------------------

class ScheduleForm(WorkflowForm):
    provider = ObjectChoiceField(label=_("Service provider"), queryset=ServiceProvider.objects.all())
    vehicle = ObjectChoiceField(label=_("Vehicle"), queryset=Vehicle.objects.all())
    crew = ObjectMultipleChoiceField(label=_("Crew"), queryset=CrewMember.objects.all(), required=False,
                                     help_text=_("Hold Ctrl (or ⌘) to choose several."))
    date = forms.DateField(label=_("Date"), widget=DATE_INPUT)
    slot = forms.ChoiceField(label=_("Time slot"), choices=Application.Slot.choices)
    is_confirmed = forms.BooleanField(label=_("Confirmed with the customer"), required=False)

    service_fields = ("provider", "vehicle", "crew", "date", "slot", "is_confirmed")

    def __init__(self, *args, application: Application, **kwargs):
        super().__init__(*args, application=application, **kwargs)
        providers = list(ServiceProvider.objects.filter(is_active=True).order_by("name"))
        vehicles = Vehicle.objects.exclude(status=Vehicle.Status.RETIRED).select_related("provider").order_by(
            "provider__name", "registration")
        crew = CrewMember.objects.filter(is_active=True).select_related("provider").order_by("provider__name",
                                                                                               "name")
        self.fields["provider"].choices = [("", _("Choose…"))] + [(str(p.pk), p.name) for p in providers]
        self.fields["vehicle"].choices = [("", _("Choose…")), *_grouped(vehicles, lambda v: v.provider.name,
                                                                          vehicle_label)]
        self.fields["crew"].choices = _grouped(crew, lambda m: m.provider.name, crew_label)
        self.fields["crew"].widget.attrs["size"] = 6
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.setdefault("date", today if application.is_emergency else today + datetime.timedelta(days=1))
            self.initial.setdefault("slot", Application.Slot.MORNING)
            if application.provider_id:
                self.initial.setdefault("provider", str(application.provider_id))
                self.initial.setdefault("vehicle", str(application.vehicle_id or ""))
                self.initial.setdefault("crew", [str(pk) for pk in application.crew.values_list("pk", flat=True)])
                self.initial.setdefault("is_confirmed", application.is_confirmed_with_customer)
                if application.scheduled_date:
                    self.initial["date"] = max(application.scheduled_date, today)
                    self.initial["slot"] = application.scheduled_slot or Application.Slot.MORNING


class RescheduleForm(ScheduleForm):
    reason = forms.CharField(label=_("Why it is moved"), required=False, max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))
    service_fields = (*ScheduleForm.service_fields, "reason")


# --- emptying -----------------------------------------------------------------------------------------

class EmptyingForm(WorkflowForm):
    emptied_on = forms.DateField(label=_("Emptied on"), widget=DATE_INPUT)
    started_at = forms.TimeField(label=_("Start"), required=False, widget=TIME_INPUT)
    ended_at = forms.TimeField(label=_("End"), required=False, widget=TIME_INPUT)
    volume_m3 = forms.DecimalField(label=_("Volume emptied (m³)"), max_digits=6, decimal_places=2,
                                   min_value=Decimal("0.01"),
                                   error_messages={"required": _("Enter the volume emptied.")})
    trips = forms.IntegerField(label=_("Trips"), min_value=1, max_value=50, initial=1)
    vehicle = ObjectChoiceField(label=_("Vehicle"), queryset=Vehicle.objects.all())
    crew = ObjectMultipleChoiceField(label=_("Crew"), queryset=CrewMember.objects.all(), required=False)
    is_ppe_worn = forms.BooleanField(label=_("The whole crew wore PPE"), required=False)
    receipt_number = forms.CharField(label=_("Receipt number"), required=False, max_length=40)
    cost = forms.DecimalField(label=_("Amount charged (BDT)"), required=False, max_digits=10, decimal_places=2,
                              min_value=0)

    service_fields = ("emptied_on", "started_at", "ended_at", "volume_m3", "trips", "vehicle", "crew",
                      "is_ppe_worn", "receipt_number", "cost")

    def __init__(self, *args, application: Application, **kwargs):
        super().__init__(*args, application=application, **kwargs)
        vehicles = Vehicle.objects.exclude(status=Vehicle.Status.RETIRED).order_by("registration")
        crew = CrewMember.objects.filter(is_active=True).order_by("name")
        if application.provider_id:
            vehicles, crew = vehicles.filter(provider_id=application.provider_id), crew.filter(
                provider_id=application.provider_id)
        self.fields["vehicle"].choices = [(str(v.pk), vehicle_label(v)) for v in vehicles]
        self.fields["crew"].choices = [(str(m.pk), crew_label(m)) for m in crew]
        self.fields["crew"].widget = forms.CheckboxSelectMultiple(choices=self.fields["crew"].choices)
        if not self.is_bound:
            self.initial.setdefault("emptied_on", timezone.localdate())
            self.initial.setdefault("vehicle", str(application.vehicle_id or ""))
            self.initial.setdefault("crew", [str(pk) for pk in application.crew.values_list("pk", flat=True)])
            self.initial.setdefault("cost", application.fee_estimate)


# --- feedback -----------------------------------------------------------------------------------------

class FeedbackForm(WorkflowForm):
    rating = forms.TypedChoiceField(label=_("Overall, how was the service?"), choices=RATING_CHOICES, coerce=int,
                                    widget=forms.RadioSelect, help_text=_("1 = poor, 5 = excellent"))
    service_quality = forms.TypedChoiceField(label=_("Quality of the emptying"), choices=RATING_CHOICES,
                                             coerce=int, widget=forms.RadioSelect)
    is_ppe_worn = forms.TypedChoiceField(label=_("Did the crew wear gloves, boots and masks?"),
                                         choices=YES_NO_UNKNOWN, required=False, empty_value=None,
                                         coerce=lambda value: {"yes": True, "no": False}.get(value))
    had_spillage = forms.BooleanField(label=_("Sludge was spilled"), required=False)
    comments = forms.CharField(label=_("What the resident said"), required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 3}))

    service_fields = ("rating", "service_quality", "is_ppe_worn", "had_spillage", "comments")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("rating", "service_quality"):
            self.fields[name].error_messages["required"] = _("Choose from 1 (poor) to 5 (excellent).")

    def service_arguments(self) -> dict:
        return {**super().service_arguments(), "channel": Feedback.Channel.HELP_DESK}


# --- plant gate ---------------------------------------------------------------------------------------

def _local_label(application: Application) -> str:
    emptying = getattr(application, "emptying", None)
    parts = [application.number]
    if emptying is not None:
        parts += [emptying.vehicle.registration, f"{emptying.volume_m3} m³"]
    if application.emptied_at:
        parts.append(timezone.localtime(application.emptied_at).strftime("%d %b %H:%M"))
    return " · ".join(parts)


class DisposalForm(WorkflowForm):
    treatment_plant = forms.ModelChoiceField(label=_("Treatment plant"), queryset=TreatmentPlant.objects.none(),
                                             empty_label=_("Choose…"))
    vehicle = ObjectChoiceField(label=_("Vehicle"), queryset=Vehicle.objects.all(), required=False)
    unregistered_vehicle = forms.CharField(label=_("…or registration of an unregistered vehicle"), required=False,
                                           max_length=40)
    arrived_at = forms.DateTimeField(label=_("Arrived"), widget=DATETIME_INPUT)
    exited_at = forms.DateTimeField(label=_("Left"), required=False, widget=DATETIME_INPUT)
    volume_received_m3 = forms.DecimalField(label=_("Volume received (m³)"), max_digits=7, decimal_places=2,
                                            min_value=Decimal("0.01"),
                                            error_messages={"required": _("Enter the volume received.")})
    applications = ObjectMultipleChoiceField(
        label=_("Loads it brings (applications)"), required=False,
        queryset=Application.objects.filter(status=Application.Status.EMPTIED),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick the emptyings whose sludge this vehicle brought. Loads of the last 7 days are listed."))
    notes = forms.CharField(label=_("Notes"), required=False, max_length=300)

    service_fields = ("treatment_plant", "vehicle", "unregistered_vehicle", "arrived_at", "exited_at",
                      "volume_received_m3", "applications", "notes")

    def __init__(self, *args, expected=(), **kwargs):
        super().__init__(*args, **kwargs)
        plants = TreatmentPlant.objects.filter(status=TreatmentPlant.Status.OPERATIONAL).defer("location")
        self.fields["treatment_plant"].queryset = plants
        vehicles = Vehicle.objects.select_related("provider").order_by("provider__name", "registration")
        self.fields["vehicle"].choices = [("", _("Choose…")), *_grouped(vehicles, lambda v: v.provider.name,
                                                                          vehicle_label)]
        self.fields["applications"].choices = [(str(a.pk), _local_label(a)) for a in expected]
        if not self.is_bound:
            self.initial.setdefault("arrived_at", timezone.localtime().replace(second=0, microsecond=0))
            only = list(plants[:2])
            if len(only) == 1:
                self.initial.setdefault("treatment_plant", only[0].pk)

    def clean_unregistered_vehicle(self) -> str:
        return self.cleaned_data["unregistered_vehicle"].strip().upper()


# --- set-up records: providers, vehicles, crew, price slabs, effluent tests ---------------------------

class AuditedModelForm(forms.ModelForm):
    """A set-up record: the form parses what the clerk typed; its services (fsm/services.py) validate, write and
    audit. Each form names them as `create(by=, **data)` and, where records can be edited, `update(by=, instance=,
    **changed)`. `save_audited` raises the service's ValidationError for the view to show beside the fields."""

    def save_audited(self, *, by):
        data = {name: self.cleaned_data[name] for name in self._meta.fields if name in self.cleaned_data}
        if self.instance.pk is None:
            return self.create(by=by, **data)
        changed = {name: value for name, value in data.items() if name in self.changed_data}
        return self.update(by=by, instance=self.instance, **changed)


def _date_widgets(form: forms.ModelForm) -> None:
    for field in form.fields.values():
        if isinstance(field, forms.DateField) and not isinstance(field, forms.DateTimeField):
            field.widget = DATE_INPUT


class WardMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, ward) -> str:
        return f"{ward.number}{' · ' + ward.name if ward.name else ''}"


class ProviderForm(AuditedModelForm):
    wards = WardMultipleChoiceField(label=_("Wards served"), required=False,
                                    queryset=Ward.objects.defer("boundary").order_by("number"),
                                    widget=forms.CheckboxSelectMultiple,
                                    help_text=_("None ticked: the provider may work in every ward."))
    user_ids = forms.TypedMultipleChoiceField(label=_("Staff accounts"), required=False, coerce=int,
                                              widget=forms.CheckboxSelectMultiple,
                                              help_text=_("Service-provider accounts that see this provider's "
                                                          "work orders and record its emptyings."))

    class Meta:
        model = ServiceProvider
        fields = ["name", "kind", "contact_name", "phone", "email", "contract_start", "contract_end", "wards",
                  "user_ids", "is_active"]

    def __init__(self, *args, municipality=None, **kwargs):
        super().__init__(*args, **kwargs)
        _date_widgets(self)
        self.fields["phone"].label = _("Phone")
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "placeholder": "01XXXXXXXXX"})
        members = Membership.objects.filter(municipality=municipality, role=Role.SERVICE_PROVIDER,
                                            is_active=True).values_list("user_id", flat=True)
        users = User.objects.filter(pk__in=members).order_by("email")
        self.fields["user_ids"].choices = [(u.pk, f"{u.get_full_name() or u.email} <{u.email}>") for u in users]

    def clean_phone(self) -> str:
        return _phone(self.cleaned_data["phone"])

    def clean(self):  # the service checks it too; here it shows beside the field with the form's other errors
        data = super().clean()
        start, end = data.get("contract_start"), data.get("contract_end")
        if start and end and end < start:
            self.add_error("contract_end", _("The contract cannot end before it starts."))
        return data

    def create(self, *, by, **data):
        return services.provider_create(by=by, **data)

    def update(self, *, by, instance, **data):
        return services.provider_update(by=by, provider=instance, **data)


class VehicleForm(AuditedModelForm):
    class Meta:
        model = Vehicle
        fields = ["provider", "registration", "capacity_m3", "suction_type", "width_m", "fitness_valid_until",
                  "insurance_valid_until", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _date_widgets(self)
        self.fields["registration"].widget.attrs["placeholder"] = "KHULNA-TA-11-0001"

    def clean_registration(self) -> str:
        return " ".join(self.cleaned_data["registration"].upper().split())

    def create(self, *, by, **data):
        return services.vehicle_create(by=by, **data)

    def update(self, *, by, instance, **data):
        return services.vehicle_update(by=by, vehicle=instance, **data)


class CrewForm(AuditedModelForm):
    class Meta:
        model = CrewMember
        fields = ["provider", "name", "role", "phone", "trained_on", "licence_number", "ppe_issued_on", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _date_widgets(self)
        self.fields["phone"].label = _("Phone")
        self.fields["phone"].widget.attrs.update({"inputmode": "tel", "placeholder": "01XXXXXXXXX"})

    def clean_phone(self) -> str:
        return _phone(self.cleaned_data["phone"])

    def clean(self):  # the service checks it too; here it shows beside the field with the form's other errors
        data = super().clean()
        if data.get("role") == CrewMember.Role.DRIVER and not data.get("licence_number"):
            self.add_error("licence_number", _("A driver needs a driving licence number."))
        return data

    def create(self, *, by, **data):
        return services.crew_member_create(by=by, **data)

    def update(self, *, by, instance, **data):
        return services.crew_member_update(by=by, member=instance, **data)


class PriceSlabForm(AuditedModelForm):
    class Meta:
        model = PriceSlab
        fields = ["building_use", "volume_from_m3", "volume_to_m3", "fee_per_trip"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building_use"].choices = [("", _("Any use"))] + list(Building.FunctionalUse.choices)
        self.fields["fee_per_trip"].min_value = 0

    def create(self, *, by, **data):
        return services.price_slab_create(by=by, **data)

    def update(self, *, by, instance, **data):
        return services.price_slab_update(by=by, slab=instance, **data)


class EffluentTestForm(AuditedModelForm):
    class Meta:
        model = EffluentTest
        fields = ["treatment_plant", "sampled_on", "bod_mg_l", "cod_mg_l", "tss_mg_l", "ecoli_cfu_100ml", "ph",
                  "temperature_c"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _date_widgets(self)
        self.fields["treatment_plant"].queryset = TreatmentPlant.objects.defer("location")
        self.fields["treatment_plant"].empty_label = _("Choose…")
        self.fields["ph"].label = "pH"
        for name in ("bod_mg_l", "cod_mg_l", "tss_mg_l", "ecoli_cfu_100ml", "ph", "temperature_c"):
            self.fields[name].widget.attrs["inputmode"] = "decimal"
        for name in ("bod_mg_l", "cod_mg_l", "tss_mg_l", "ecoli_cfu_100ml"):
            self.fields[name].min_value = 0
            self.fields[name].validators.append(_not_negative)
        if not self.is_bound:
            self.initial.setdefault("sampled_on", timezone.localdate())
            plant = TreatmentPlant.objects.filter(status=TreatmentPlant.Status.OPERATIONAL).only("pk")[:2]
            if len(plant) == 1:
                self.initial.setdefault("treatment_plant", plant[0].pk)

    def clean(self):  # the service checks it too; here it shows beside the field with the form's other errors
        data = super().clean()
        measured = ("bod_mg_l", "cod_mg_l", "tss_mg_l", "ecoli_cfu_100ml", "ph", "temperature_c")
        if not any(data.get(name) is not None for name in measured) and not self.errors:
            self.add_error("bod_mg_l", _("Enter at least one measured value."))
        return data

    def create(self, *, by, **data):
        return services.effluent_test_record(by=by, **data)


def _not_negative(value) -> None:
    if value is not None and value < 0:
        raise ValidationError(_("A concentration cannot be negative."), code="negative")


# --- filters ------------------------------------------------------------------------------------------

class ApplicationFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=60,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": _("Number, applicant, phone, holding ID")}))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status"))] + list(Application.Status.choices))
    ward = forms.TypedChoiceField(label=_("Ward"), required=False, coerce=int, empty_value=None)
    channel = forms.ChoiceField(label=_("Channel"), required=False,
                                choices=[("", _("Any channel"))] + list(Application.Channel.choices))
    emergency = forms.BooleanField(label=_("Emergencies only"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ward"].choices = [("", _("Any ward"))] + [
            (n, str(n)) for n in Ward.objects.order_by("number").values_list("number", flat=True)]

    def filters(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if value not in ("", None, False)} \
            if self.is_valid() else {}

