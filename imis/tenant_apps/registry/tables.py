"""The registry list tables. Columns read only what the selectors already joined or prefetched (no N+1)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from imis.platform.templatetags.imis import bd_number, local_digits

from .models import Building, Containment, Holding

TABLE_ATTRS = {"class": "table table-hover align-middle mb-0 registry-table", "thead": {"class": "table-light"}}

# status value -> the status-badge modifier of main.css (green, amber, grey)
STATUS_TONES = {
    Building.Verification.VERIFIED: "status-active",
    Building.Verification.NEEDS_REVIEW: "status-suspended",
    Building.Verification.UNVERIFIED: "status-archived",
    Building.Verification.DIGITISED: "status-archived",
    Building.RoadLink.LINKED: "status-active",
    Building.RoadLink.AMBIGUOUS: "status-suspended",
    Building.RoadLink.FAR: "status-suspended",
    Building.RoadLink.NONE: "status-archived",
}


def status_badge(value: str, label: str):
    return format_html('<span class="status-badge {}">{}</span>', STATUS_TONES.get(value, ""), label)


class StatusColumn(tables.Column):
    """A choice field shown as a status badge."""

    def render(self, value, record, bound_column):
        raw = getattr(record, bound_column.accessor)
        return status_badge(raw, value)


class NumberColumn(tables.Column):
    """Numbers with lakh grouping, in Bangla digits on Bangla pages."""

    def __init__(self, *args, decimals=None, **kwargs):
        self.decimals = decimals
        kwargs.setdefault("attrs", {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return bd_number(value, self.decimals)


class WardColumn(tables.Column):
    def __init__(self, **kwargs):
        super().__init__(accessor="ward__number", verbose_name=_("Ward"), order_by=("ward__number",),
                         attrs={"td": {"class": "text-nowrap"}}, **kwargs)

    def render(self, value):
        return local_digits(value)


class LocalDateColumn(tables.Column):
    """28 Nov 2026 / ২৮ নভেম্বর ২০২৬."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "text-nowrap"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return local_digits(date_format(value, "j M Y"))


class BuildingTable(tables.Table):
    bin = tables.Column(verbose_name=_("BIN"), linkify=("registry:building_detail", {"pk": tables.A("pk")}),
                        attrs={"td": {"class": "fw-semibold text-nowrap"}})
    holding = tables.Column(
        accessor="holding__holding_id", verbose_name=_("Holding"), order_by=("holding__holding_id",),
        linkify=lambda record: reverse("registry:holding_detail", kwargs={"pk": record.holding_id}),
        attrs={"td": {"class": "text-nowrap"}},
    )
    ward = WardColumn()
    functional_use = tables.Column(verbose_name=_("Use"))
    sanitation_system = tables.Column(verbose_name=_("Sanitation"))
    floors = NumberColumn(verbose_name=_("Floors"))
    verification_status = StatusColumn(verbose_name=_("Verification"))
    road_link_status = StatusColumn(verbose_name=_("Road link"))

    class Meta:
        model = Building
        fields = ("bin", "holding", "ward", "functional_use", "sanitation_system", "floors", "verification_status",
                  "road_link_status")
        attrs = TABLE_ATTRS
        template_name = "registry/_table.html"
        empty_text = _("No building matches.")


class HoldingTable(tables.Table):
    holding_id = tables.Column(verbose_name=_("Holding ID"),
                               linkify=("registry:holding_detail", {"pk": tables.A("pk")}),
                               attrs={"td": {"class": "fw-semibold text-nowrap"}})
    ward = WardColumn()
    road = tables.Column(accessor="road__code", verbose_name=_("Road"), order_by=("road__code",))
    address = tables.Column(verbose_name=_("Address"))
    owners = tables.Column(accessor="pk", verbose_name=_("Owners"), orderable=False)
    building_count = NumberColumn(verbose_name=_("Buildings"))

    class Meta:
        model = Holding
        fields = ("holding_id", "ward", "road", "address", "owners", "building_count")
        attrs = TABLE_ATTRS
        template_name = "registry/_table.html"
        empty_text = _("No holding matches.")

    def render_owners(self, record):
        owners = list(record.owners.all())  # prefetched by holdings_listed
        if not owners:
            return "—"
        return format_html_join(", ", "{}", ((owner.name,) for owner in owners))


class ContainmentTable(tables.Table):
    code = tables.Column(verbose_name=_("Code"), linkify=("registry:containment_detail", {"pk": tables.A("pk")}),
                         attrs={"td": {"class": "fw-semibold text-nowrap"}})
    type = tables.Column(verbose_name=_("Type"))
    outlet = tables.Column(verbose_name=_("Outlet"))
    ward = WardColumn()
    volume_m3 = NumberColumn(verbose_name=_("Volume (m³)"), decimals=2)
    building_count = NumberColumn(verbose_name=_("Buildings"))
    last_emptied_on = LocalDateColumn(verbose_name=_("Last emptied"))
    next_emptying_due = LocalDateColumn(verbose_name=_("Next emptying due"))

    class Meta:
        model = Containment
        fields = ("code", "type", "outlet", "ward", "volume_m3", "building_count", "last_emptied_on",
                  "next_emptying_due")
        attrs = TABLE_ATTRS
        template_name = "registry/_table.html"
        empty_text = _("No containment matches.")
