"""FSM list tables. Columns read only what the selectors joined (select_related) — a page costs the same few
queries whatever its length."""

from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from imis.platform.templatetags.imis import bd_number, local_digits, taka

from .models import Application, CrewMember, PriceSlab, ServiceProvider, Vehicle

S = Application.Status
TABLE_ATTRS = {"class": "table table-hover align-middle mb-0 fsm-table", "thead": {"class": "table-light"}}
TEMPLATE = "registry/_table.html"

# status -> the status-badge tone of main.css: amber while work is pending, green when done, grey when stopped.
STATUS_TONES = {
    S.RECEIVED: "status-suspended", S.APPROVED: "status-suspended", S.SCHEDULED: "status-suspended",
    S.EMPTIED: "status-suspended", S.DISPOSED: "status-active", S.CLOSED: "status-active",
    S.REJECTED: "status-archived", S.CANCELLED: "status-archived",
    Vehicle.Status.AVAILABLE: "status-active", Vehicle.Status.MAINTENANCE: "status-suspended",
    Vehicle.Status.RETIRED: "status-archived",
}


def status_badge(value: str, label) -> str:
    return format_html('<span class="status-badge status-{} {}">{}</span>', value, STATUS_TONES.get(value, ""), label)


def emergency_badge() -> str:
    return format_html('<span class="badge text-bg-danger"><i class="bi bi-exclamation-triangle-fill" '
                       'aria-hidden="true"></i> {}</span>', _("Emergency"))


def overdue_badge() -> str:
    return format_html('<span class="badge text-bg-warning"><i class="bi bi-alarm" aria-hidden="true"></i> {}</span>',
                       _("Overdue"))


def local_datetime(value) -> str:
    return local_digits(date_format(timezone.localtime(value), "j M Y, H:i")) if value else "—"


def local_date(value) -> str:
    return local_digits(date_format(value, "j M Y")) if value else "—"


class DateTimeColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "text-nowrap"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return local_datetime(value)


class DateColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "text-nowrap"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return local_date(value)


class NumberColumn(tables.Column):
    def __init__(self, *args, decimals=None, **kwargs):
        self.decimals = decimals
        kwargs.setdefault("attrs", {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return bd_number(value, self.decimals)


def _row_class(record) -> str:
    if getattr(record, "is_overdue", False):
        return "table-warning"
    return ""


class ApplicationTable(tables.Table):
    number = tables.Column(verbose_name=_("Application"), linkify=("fsm:application_detail", {"pk": tables.A("pk")}),
                           attrs={"td": {"class": "fw-semibold text-nowrap"}})
    status = tables.Column(verbose_name=_("Status"))
    applicant_name = tables.Column(verbose_name=_("Applicant"))
    site = tables.Column(verbose_name=_("Place"), accessor="holding__holding_id", order_by=("holding__holding_id",),
                         empty_values=())
    ward = tables.Column(accessor="ward__number", verbose_name=_("Ward"), order_by=("ward__number",))
    received_at = DateTimeColumn(verbose_name=_("Received"))
    next_step = tables.Column(verbose_name=_("Schedule / provider"), empty_values=(), orderable=False)

    class Meta:
        model = Application
        fields = ("number", "status", "applicant_name", "site", "ward", "received_at", "next_step")
        attrs = TABLE_ATTRS
        template_name = TEMPLATE
        row_attrs = {"class": _row_class, "data-application": lambda record: record.number}
        empty_text = _("Nothing here.")
        orderable = True

    def render_status(self, value, record):
        badges = [status_badge(record.status, value)]
        if record.is_emergency:
            badges.append(emergency_badge())
        if getattr(record, "is_overdue", False):
            badges.append(overdue_badge())
        return format_html('<span class="d-inline-flex flex-wrap gap-1">{}</span>',
                           format_html("".join(["{}"] * len(badges)), *badges))

    def render_site(self, record):
        parts = []
        if record.holding_id:
            parts.append(record.holding.holding_id)
        if record.containment_id:
            parts.append(record.containment.code)
        elif record.building_id:
            parts.append(record.building.bin)
        return " · ".join(parts) or "—"

    def render_ward(self, value):
        return local_digits(value)

    def render_next_step(self, record):
        if record.scheduled_date and record.status in (S.SCHEDULED, S.EMPTIED, S.DISPOSED, S.CLOSED):
            text = local_date(record.scheduled_date)
            if record.scheduled_slot:
                text += f" · {record.get_scheduled_slot_display()}"
            provider = record.provider.name if record.provider_id else ""
            vehicle = record.vehicle.registration if record.vehicle_id else ""
            return format_html('{}<div class="small text-muted">{}</div>', text,
                               " · ".join(p for p in (provider, vehicle) if p))
        return "—"


class ProviderTable(tables.Table):
    name = tables.Column(verbose_name=_("Name"), linkify=("fsm:config_edit", {"kind": "providers",
                                                                              "pk": tables.A("pk")}),
                         attrs={"td": {"class": "fw-semibold"}})
    kind = tables.Column(verbose_name=_("Kind"))
    contact_name = tables.Column(verbose_name=_("Contact"))
    phone = tables.Column(verbose_name=_("Phone"))
    contract_end = DateColumn(verbose_name=_("Contract until"))
    vehicle_count = NumberColumn(verbose_name=_("Vehicles"))
    crew_count = NumberColumn(verbose_name=_("Crew"))
    is_active = tables.BooleanColumn(verbose_name=_("Active"))

    class Meta:
        model = ServiceProvider
        fields = ("name", "kind", "contact_name", "phone", "contract_end", "vehicle_count", "crew_count", "is_active")
        attrs = TABLE_ATTRS
        template_name = TEMPLATE
        empty_text = _("No provider yet.")


class VehicleTable(tables.Table):
    registration = tables.Column(verbose_name=_("Registration"),
                                 linkify=("fsm:config_edit", {"kind": "vehicles", "pk": tables.A("pk")}),
                                 attrs={"td": {"class": "fw-semibold text-nowrap"}})
    provider = tables.Column(accessor="provider__name", verbose_name=_("Provider"), order_by=("provider__name",))
    capacity_m3 = NumberColumn(verbose_name=_("Capacity (m³)"), decimals=2)
    suction_type = tables.Column(verbose_name=_("Type"))
    fitness_valid_until = DateColumn(verbose_name=_("Fitness until"))
    insurance_valid_until = DateColumn(verbose_name=_("Insurance until"))
    status = tables.Column(verbose_name=_("Status"))

    class Meta:
        model = Vehicle
        fields = ("registration", "provider", "capacity_m3", "suction_type", "fitness_valid_until",
                  "insurance_valid_until", "status")
        attrs = TABLE_ATTRS
        template_name = TEMPLATE
        empty_text = _("No vehicle yet.")

    def render_status(self, value, record):
        return status_badge(record.status, value)


class CrewTable(tables.Table):
    name = tables.Column(verbose_name=_("Name"), linkify=("fsm:config_edit", {"kind": "crew", "pk": tables.A("pk")}),
                         attrs={"td": {"class": "fw-semibold"}})
    provider = tables.Column(accessor="provider__name", verbose_name=_("Provider"), order_by=("provider__name",))
    role = tables.Column(verbose_name=_("Role"))
    phone = tables.Column(verbose_name=_("Phone"))
    trained_on = DateColumn(verbose_name=_("Trained on"))
    ppe_issued_on = DateColumn(verbose_name=_("PPE issued on"))
    is_active = tables.BooleanColumn(verbose_name=_("Active"))

    class Meta:
        model = CrewMember
        fields = ("name", "provider", "role", "phone", "trained_on", "ppe_issued_on", "is_active")
        attrs = TABLE_ATTRS
        template_name = TEMPLATE
        empty_text = _("No crew member yet.")


class PriceSlabTable(tables.Table):
    building_use = tables.Column(verbose_name=_("Building use"), empty_values=(),
                                 linkify=("fsm:config_edit", {"kind": "price-slabs", "pk": tables.A("pk")}))
    volume_from_m3 = NumberColumn(verbose_name=_("From (m³)"), decimals=2)
    volume_to_m3 = NumberColumn(verbose_name=_("Up to (m³)"), decimals=2)
    fee_per_trip = tables.Column(verbose_name=_("Fee per trip"), attrs={"td": {"class": "text-end text-nowrap"},
                                                                       "th": {"class": "text-end"}})

    class Meta:
        model = PriceSlab
        fields = ("building_use", "volume_from_m3", "volume_to_m3", "fee_per_trip")
        attrs = TABLE_ATTRS
        template_name = TEMPLATE
        empty_text = _("No price set yet: emptyings cannot be priced.")

    def render_building_use(self, record):
        return record.get_building_use_display() if record.building_use else _("Any use")

    def render_fee_per_trip(self, value):
        return taka(value)
