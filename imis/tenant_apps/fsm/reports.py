"""FSM reports: services per ward / year / channel / provider, the monthly summary, the plant report and the
vehicle log — each a handful of SQL aggregates (GROUP BY in the database, never a Python loop over applications),
shown as a table and downloadable as CSV or PDF (WeasyPrint, with the Noto Sans Bengali the web UI bundles).

Periods are Bangladesh fiscal years, July to June, written 2025-26; `fy=2025` is 1 July 2025 – 30 June 2026.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db.models import Avg, Case, Count, F, Max, Min, Q, Sum, Value, When
from django.db.models.functions import ExtractYear, TruncDate, TruncMonth
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imis.platform import formatting
from imis.tenant_apps.registry.models import TreatmentPlant

from .models import Application, Disposal, EffluentTest, Emptying, Feedback, Vehicle

S = Application.Status
FISCAL_YEAR_START_MONTH = 7
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- periods ------------------------------------------------------------------------------------------

def fiscal_year_of(day: datetime.date) -> int:
    return day.year if day.month >= FISCAL_YEAR_START_MONTH else day.year - 1


def fiscal_year_label(fy: int) -> str:
    return formatting.fiscal_year_label(fy, language=translation.get_language() or "en")


def fiscal_year_dates(fy: int) -> tuple[datetime.date, datetime.date]:
    """First day of the fiscal year and first day of the next."""
    return datetime.date(fy, FISCAL_YEAR_START_MONTH, 1), datetime.date(fy + 1, FISCAL_YEAR_START_MONTH, 1)


def _aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def fiscal_year_bounds(fy: int) -> tuple[datetime.datetime, datetime.datetime]:
    start, end = fiscal_year_dates(fy)
    return _aware(start), _aware(end)


def fiscal_years_available() -> list[int]:
    """From the first application's fiscal year to the current one, newest first."""
    current = fiscal_year_of(timezone.localdate())
    first = Application.objects.aggregate(first=Min("received_at"))["first"]
    earliest = fiscal_year_of(timezone.localtime(first).date()) if first else current
    return list(range(current, min(earliest, current) - 1, -1))


def _months(fy: int) -> list[datetime.date]:
    start, _end = fiscal_year_dates(fy)
    return [datetime.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
            for i in range(12)]


def _month_label(month: datetime.date) -> str:
    text = date_format(month, "M Y")
    return formatting.to_bangla_digits(text) if translation.get_language() == "bn" else text


def _month_key(value) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


# --- the report shape ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"  # text | int | decimal | money | percent | rating | days | date

    @property
    def is_number(self) -> bool:
        return self.kind not in ("text", "date")


@dataclass
class Report:
    name: str
    title: str
    description: str
    period: str
    columns: list[Column]
    rows: list[dict]
    totals: dict | None = None
    notes: list[str] = field(default_factory=list)

    def display_rows(self) -> list[list[dict]]:
        return [[{"text": display(row.get(c.key), c.kind), "is_number": c.is_number} for c in self.columns]
                for row in self.rows]

    def display_totals(self) -> list[dict] | None:
        if self.totals is None:
            return None
        return [{"text": display(self.totals.get(c.key), c.kind) if c.key in self.totals else "",
                 "is_number": c.is_number} for c in self.columns]


def _round(value, places: int = 2):
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _days(value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds() / 86400
    return _round(value, 1)


def display(value, kind: str) -> str:
    """One cell as people read it: lakh grouping, taka, Bangla digits on Bangla pages."""
    language = translation.get_language() or "en"
    if value is None or value == "":
        return "—"
    if kind == "text":
        return str(value)
    if kind == "date":
        return formatting.to_bangla_digits(date_format(value, "j M Y")) if language == "bn" else date_format(
            value, "j M Y")
    if kind == "money":
        return formatting.format_taka(value, language=language)
    if kind == "decimal":
        return formatting.format_number(value, language=language, decimals=2)
    if kind in ("rating", "days"):
        return formatting.format_number(value, language=language, decimals=1)
    if kind == "percent":
        return formatting.format_number(value, language=language, decimals=1) + " %"
    return formatting.format_number(value, language=language, decimals=0)


def _raw(value, kind: str):
    """One CSV cell: plain numbers (a spreadsheet sums them), text safe from formula injection."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    if kind == "date":
        return value.isoformat()
    return value


# --- services per ward / year / channel / provider ----------------------------------------------------

SERVICE_GROUPINGS = {
    "ward": gettext_lazy("Ward"),
    "year": gettext_lazy("Fiscal year"),
    "channel": gettext_lazy("Channel"),
    "provider": gettext_lazy("Service provider"),
}


def _fiscal_year_expression():
    return ExtractYear("received_at") - Case(When(received_at__month__lt=FISCAL_YEAR_START_MONTH, then=Value(1)),
                                             default=Value(0))


SERVICE_AGGREGATES = {
    "received": Count("pk"),
    "emergencies": Count("pk", filter=Q(is_emergency=True)),
    "emptied": Count("emptying"),
    "trips": Sum("emptying__trips"),
    "volume": Sum("emptying__volume_m3"),
    "cancelled": Count("pk", filter=Q(status=S.CANCELLED)),
    "rejected": Count("pk", filter=Q(status=S.REJECTED)),
    "fees": Sum("fee_amount"),
    "rating": Avg("feedback__rating"),
    "days_to_empty": Avg(F("emptied_at") - F("received_at")),
}


def _service_row(values: dict) -> dict:
    row = dict(values)
    row["volume"] = _round(row.get("volume"))
    row["fees"] = _round(row.get("fees"))
    row["rating"] = _round(row.get("rating"), 1)
    row["days_to_empty"] = _days(row.get("days_to_empty"))
    row["completion"] = _round(100 * row["emptied"] / row["received"], 1) if row.get("received") else None
    return row


def services_report(*, fy: int, by: str = "ward") -> Report:
    by = by if by in SERVICE_GROUPINGS else "ward"
    applications = Application.objects.all()
    if by != "year":
        start, end = fiscal_year_bounds(fy)
        applications = applications.filter(received_at__gte=start, received_at__lt=end)
    key = {"ward": F("ward__number"), "year": _fiscal_year_expression(), "channel": F("channel"),
           "provider": F("provider__name")}[by]
    grouped = applications.values(key=key).annotate(**SERVICE_AGGREGATES).order_by(F("key").asc(nulls_last=True))
    channels = dict(Application.Channel.choices)
    rows = []
    for values in grouped:
        row = _service_row(values)
        raw = row["key"]
        if by == "ward":
            row["group"] = _("Ward %(number)s") % {"number": raw} if raw is not None else _("Outside every ward")
        elif by == "year":
            row["group"] = fiscal_year_label(int(raw))
        elif by == "channel":
            row["group"] = str(channels.get(raw, raw))
        else:
            row["group"] = raw or _("Not assigned yet")
        rows.append(row)
    totals = _service_row(applications.aggregate(**SERVICE_AGGREGATES))
    totals["group"] = _("Total")
    columns = [
        Column("group", str(SERVICE_GROUPINGS[by]), "text"),
        Column("received", _("Applications"), "int"),
        Column("emergencies", _("Emergencies"), "int"),
        Column("emptied", _("Emptied"), "int"),
        Column("completion", _("Emptied (%)"), "percent"),
        Column("trips", _("Trips"), "int"),
        Column("volume", _("Volume (m³)"), "decimal"),
        Column("cancelled", _("Cancelled"), "int"),
        Column("rejected", _("Rejected"), "int"),
        Column("fees", _("Fees"), "money"),
        Column("rating", _("Rating (1–5)"), "rating"),
        Column("days_to_empty", _("Days to empty"), "days"),
    ]
    period = _("All years") if by == "year" else fiscal_year_label(fy)
    return Report(
        name="services", title=_("Services per %(group)s") % {"group": str(SERVICE_GROUPINGS[by]).lower()},
        description=_("Applications received in the period and what became of them: emptied, cancelled or "
                      "rejected; volume, fees, the residents' rating and the days from the call to the emptying."),
        period=period, columns=columns, rows=rows, totals=totals,
    )


# --- monthly summary ----------------------------------------------------------------------------------

def monthly_report(*, fy: int) -> Report:
    start, end = fiscal_year_bounds(fy)
    first, after = fiscal_year_dates(fy)
    rows = {month: {"month": month} for month in _months(fy)}

    def merge(queryset, month_field: str, **aggregates):
        for values in queryset.annotate(m=TruncMonth(month_field)).values("m").annotate(**aggregates).order_by():
            month = _month_key(values.pop("m"))
            if month in rows:
                rows[month].update(values)

    merge(Application.objects.filter(received_at__gte=start, received_at__lt=end), "received_at",
          received=Count("pk"), emergencies=Count("pk", filter=Q(is_emergency=True)))
    merge(Emptying.objects.filter(emptied_on__gte=first, emptied_on__lt=after), "emptied_on",
          emptied=Count("pk"), trips=Sum("trips"), volume=Sum("volume_m3"), fees=Sum("application__fee_amount"),
          days_sum=Sum(F("application__emptied_at") - F("application__received_at")))
    merge(Disposal.objects.filter(arrived_at__gte=start, arrived_at__lt=end), "arrived_at",
          arrivals=Count("pk"), volume_disposed=Sum("volume_received_m3"))
    merge(Application.objects.filter(cancelled_at__gte=start, cancelled_at__lt=end), "cancelled_at",
          cancelled=Count("pk"))
    merge(Application.objects.filter(rejected_at__gte=start, rejected_at__lt=end), "rejected_at",
          rejected=Count("pk"))
    merge(Feedback.objects.filter(application__closed_at__gte=start, application__closed_at__lt=end),
          "application__closed_at", feedback=Count("pk"), rating_sum=Sum("rating"),
          spillages=Count("pk", filter=Q(had_spillage=True)))

    counted = ("received", "emergencies", "emptied", "trips", "arrivals", "cancelled", "rejected", "feedback",
               "spillages")
    summed = ("volume", "volume_disposed", "fees")
    totals: dict = {"month_label": _("Total")}
    days_total, rating_total = datetime.timedelta(0), 0
    for row in rows.values():
        for key in counted:
            row[key] = row.get(key) or 0
            totals[key] = totals.get(key, 0) + row[key]
        for key in summed:
            row[key] = _round(row.get(key) or 0)
            totals[key] = totals.get(key, Decimal(0)) + row[key]
        days_total += row.get("days_sum") or datetime.timedelta(0)
        rating_total += row.get("rating_sum") or 0
        row["days_to_empty"] = _days(row["days_sum"] / row["emptied"]) if row.get("days_sum") and row[
            "emptied"] else None
        row["rating"] = _round(row["rating_sum"] / row["feedback"], 1) if row.get("rating_sum") and row[
            "feedback"] else None
        row["month_label"] = _month_label(row["month"])
    totals["days_to_empty"] = _days(days_total / totals["emptied"]) if totals["emptied"] else None
    totals["rating"] = _round(rating_total / totals["feedback"], 1) if totals["feedback"] else None
    columns = [
        Column("month_label", _("Month"), "text"),
        Column("received", _("Received"), "int"),
        Column("emergencies", _("Emergencies"), "int"),
        Column("emptied", _("Emptied"), "int"),
        Column("trips", _("Trips"), "int"),
        Column("volume", _("Volume emptied (m³)"), "decimal"),
        Column("arrivals", _("Plant arrivals"), "int"),
        Column("volume_disposed", _("Volume disposed (m³)"), "decimal"),
        Column("fees", _("Fees"), "money"),
        Column("cancelled", _("Cancelled"), "int"),
        Column("rejected", _("Rejected"), "int"),
        Column("feedback", _("Feedback"), "int"),
        Column("rating", _("Rating (1–5)"), "rating"),
        Column("spillages", _("Spillages"), "int"),
        Column("days_to_empty", _("Days to empty"), "days"),
    ]
    return Report(
        name="monthly", title=_("Monthly summary"),
        description=_("What happened in each month: calls received, emptyings, loads at the plant, fees, "
                      "cancellations and the residents' feedback."),
        period=fiscal_year_label(fy), columns=columns, rows=list(rows.values()), totals=totals,
    )


# --- plant report -------------------------------------------------------------------------------------

def _effluent_failed(config: dict) -> Q:
    return (Q(bod_mg_l__gt=config["effluent_bod_max"]) | Q(cod_mg_l__gt=config["effluent_cod_max"])
            | Q(tss_mg_l__gt=config["effluent_tss_max"]) | Q(ecoli_cfu_100ml__gt=config["effluent_ecoli_max"])
            | Q(ph__lt=config["effluent_ph_min"]) | Q(ph__gt=config["effluent_ph_max"]))


def plant_report(*, fy: int, config: dict) -> Report:
    start, end = fiscal_year_bounds(fy)
    first, after = fiscal_year_dates(fy)
    today = timezone.localdate()
    plants = list(TreatmentPlant.objects.defer("location").order_by("name"))
    months = _months(fy)
    rows = {(plant.pk, month): {"plant": plant.name, "month": month} for plant in plants for month in months}
    arrivals = (Disposal.objects.filter(arrived_at__gte=start, arrived_at__lt=end)
                .annotate(m=TruncMonth("arrived_at")).values("treatment_plant", "m")
                .annotate(arrivals=Count("pk"), volume=Sum("volume_received_m3"),
                          unregistered=Count("pk", filter=Q(vehicle__isnull=True))).order_by())
    for values in arrivals:
        row = rows.get((values["treatment_plant"], _month_key(values["m"])))
        if row is not None:
            row.update(arrivals=values["arrivals"], volume=_round(values["volume"]),
                       unregistered=values["unregistered"])
    tests = (EffluentTest.objects.filter(sampled_on__gte=first, sampled_on__lt=after)
             .annotate(m=TruncMonth("sampled_on")).values("treatment_plant", "m")
             .annotate(tests=Count("pk"), failed=Count("pk", filter=_effluent_failed(config))).order_by())
    for values in tests:
        row = rows.get((values["treatment_plant"], _month_key(values["m"])))
        if row is not None:
            row.update(tests=values["tests"], failed=values["failed"])
    capacity_of = {plant.pk: plant.capacity_m3_per_day for plant in plants}
    totals = {"plant": _("Total"), "arrivals": 0, "volume": Decimal(0), "capacity": Decimal(0), "unregistered": 0,
              "tests": 0, "failed": 0}
    for (plant_pk, month), row in rows.items():
        next_month = (month + datetime.timedelta(days=32)).replace(day=1)
        days = max(0, (min(next_month, today + datetime.timedelta(days=1)) - month).days)
        row["capacity"] = _round(capacity_of[plant_pk] * days) if days else None
        for key in ("arrivals", "unregistered", "tests", "failed"):
            row[key] = row.get(key) or 0
            totals[key] += row[key]
        row["volume"] = row.get("volume") or Decimal("0.00")
        totals["volume"] += row["volume"]
        totals["capacity"] += row["capacity"] or 0
        row["utilisation"] = _round(100 * row["volume"] / row["capacity"], 1) if row["capacity"] else None
        row["month_label"] = _month_label(row["month"])
    totals["utilisation"] = _round(100 * totals["volume"] / totals["capacity"], 1) if totals["capacity"] else None
    columns = [
        Column("plant", _("Plant"), "text"),
        Column("month_label", _("Month"), "text"),
        Column("arrivals", _("Arrivals"), "int"),
        Column("unregistered", _("Unregistered vehicles"), "int"),
        Column("volume", _("Volume received (m³)"), "decimal"),
        Column("capacity", _("Capacity (m³)"), "decimal"),
        Column("utilisation", _("Utilisation"), "percent"),
        Column("tests", _("Effluent tests"), "int"),
        Column("failed", _("Tests failing a standard"), "int"),
    ]
    return Report(
        name="plant", title=_("Treatment plant report"),
        description=_("Loads received at each plant per month against its daily capacity, and the effluent tests "
                      "against the municipality's standards."),
        period=fiscal_year_label(fy), columns=columns, rows=list(rows.values()), totals=totals,
    )


# --- vehicle log --------------------------------------------------------------------------------------

def vehicle_report(*, fy: int) -> Report:
    start, end = fiscal_year_bounds(fy)
    first, after = fiscal_year_dates(fy)
    emptied = {v["vehicle"]: v for v in Emptying.objects.filter(emptied_on__gte=first, emptied_on__lt=after)
               .values("vehicle").annotate(emptyings=Count("pk"), trips=Sum("trips"), volume=Sum("volume_m3"),
                                           last=Max("emptied_on")).order_by()}
    delivered = {v["vehicle"]: v for v in Disposal.objects.filter(arrived_at__gte=start, arrived_at__lt=end,
                                                                  vehicle__isnull=False)
                 .values("vehicle").annotate(arrivals=Count("pk"), delivered=Sum("volume_received_m3"),
                                             last_arrival=Max("arrived_at")).order_by()}
    vehicles = (Vehicle.objects.select_related("provider")
                .filter(Q(pk__in=set(emptied) | set(delivered)) | ~Q(status=Vehicle.Status.RETIRED))
                .order_by("provider__name", "registration"))
    rows = []
    for vehicle in vehicles:
        e, d = emptied.get(vehicle.pk, {}), delivered.get(vehicle.pk, {})
        rows.append(_vehicle_row(vehicle.registration, vehicle.provider.name, e, d))
    unregistered = (Disposal.objects.filter(arrived_at__gte=start, arrived_at__lt=end, vehicle__isnull=True)
                    .values("unregistered_vehicle").annotate(arrivals=Count("pk"), delivered=Sum("volume_received_m3"),
                                                             last_arrival=Max("arrived_at"))
                    .order_by("unregistered_vehicle"))
    for values in unregistered:
        rows.append(_vehicle_row(values["unregistered_vehicle"] or "?", _("Unregistered"), {}, values))
    totals = {"vehicle": _("Total")}
    for key in ("emptyings", "trips", "arrivals"):
        totals[key] = sum(row[key] for row in rows)
    for key in ("volume", "delivered", "unaccounted"):
        totals[key] = sum((row[key] for row in rows), Decimal(0))
    columns = [
        Column("vehicle", _("Vehicle"), "text"),
        Column("provider", _("Provider"), "text"),
        Column("emptyings", _("Emptyings"), "int"),
        Column("trips", _("Trips"), "int"),
        Column("volume", _("Volume emptied (m³)"), "decimal"),
        Column("arrivals", _("Plant arrivals"), "int"),
        Column("delivered", _("Volume delivered (m³)"), "decimal"),
        Column("unaccounted", _("Not delivered (m³)"), "decimal"),
        Column("last", _("Last emptying"), "date"),
    ]
    return Report(
        name="vehicles", title=_("Vehicle log"),
        description=_("Each vehicle's emptyings and its arrivals at the plant. Sludge emptied but never "
                      "delivered may have been dumped."),
        period=fiscal_year_label(fy), columns=columns, rows=rows, totals=totals,
    )


def _vehicle_row(registration: str, provider: str, emptied: dict, delivered: dict) -> dict:
    volume = _round(emptied.get("volume") or 0)
    delivered_volume = _round(delivered.get("delivered") or 0)
    return {"vehicle": registration, "provider": provider, "emptyings": emptied.get("emptyings", 0),
            "trips": emptied.get("trips") or 0, "volume": volume, "arrivals": delivered.get("arrivals", 0),
            "delivered": delivered_volume, "unaccounted": max(volume - delivered_volume, Decimal(0)),
            "last": emptied.get("last")}


# --- the catalogue ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    description: str
    icon: str


REPORTS = {
    spec.name: spec for spec in [
        ReportSpec("services", gettext_lazy("Services per ward, year, channel or provider"),
                   gettext_lazy("Applications, emptyings, volume, fees and ratings, grouped as you choose."),
                   "bi-grid-3x3-gap"),
        ReportSpec("monthly", gettext_lazy("Monthly summary"),
                   gettext_lazy("Twelve months of the fiscal year side by side."), "bi-calendar3"),
        ReportSpec("plant", gettext_lazy("Treatment plant report"),
                   gettext_lazy("Loads received, capacity utilisation and effluent test results."), "bi-droplet-half"),
        ReportSpec("vehicles", gettext_lazy("Vehicle log"),
                   gettext_lazy("Emptyings and plant arrivals per vehicle; sludge not delivered."), "bi-truck"),
    ]
}


def report_build(name: str, *, fy: int, by: str = "ward", config: dict) -> Report:
    if name == "services":
        return services_report(fy=fy, by=by)
    if name == "monthly":
        return monthly_report(fy=fy)
    if name == "plant":
        return plant_report(fy=fy, config=config)
    if name == "vehicles":
        return vehicle_report(fy=fy)
    raise KeyError(name)


def _filename(report: Report, extension: str) -> str:
    period = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in report.period.lower())
    return f"fsm-{report.name}-{period}.{extension}"


def report_csv(report: Report) -> HttpResponse:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # spreadsheet programs then read the file as UTF-8 (Bangla names)
    writer = csv.writer(buffer)
    writer.writerow([column.label for column in report.columns])
    for row in report.rows:
        writer.writerow([_raw(row.get(column.key), column.kind) for column in report.columns])
    if report.totals is not None:
        writer.writerow([_raw(report.totals.get(column.key), column.kind) for column in report.columns])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, "csv")}"'
    return response


# --- PDF ----------------------------------------------------------------------------------------------

FONT_FILES = {  # the web UI's own Noto Sans Bengali (frontend/node_modules/@fontsource), bundled by Vite
    ("IMIS Latin", 400): "noto-sans-bengali-latin-400-normal.woff2",
    ("IMIS Latin", 700): "noto-sans-bengali-latin-700-normal.woff2",
    ("IMIS Bengali", 400): "noto-sans-bengali-bengali-400-normal.woff2",
    ("IMIS Bengali", 700): "noto-sans-bengali-bengali-700-normal.woff2",
}


@cache
def pdf_fonts() -> list[dict]:
    """@font-face rules for the fonts in the Vite build (no system font needed); empty without a build."""
    dist = Path(settings.BASE_DIR) / "imis" / "platform" / "static" / "dist"
    manifest_path = dist / "manifest.json"
    if not manifest_path.exists():
        return []
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    by_name = {Path(key).name: entry["file"] for key, entry in manifest.items() if "file" in entry}
    fonts = []
    for (family, weight), name in FONT_FILES.items():
        if name in by_name and (dist / by_name[name]).exists():
            fonts.append({"family": family, "weight": weight, "url": (dist / by_name[name]).as_uri()})
    return fonts


def report_pdf(report: Report, *, municipality) -> HttpResponse:
    from weasyprint import HTML  # imported here: it loads Pango, which only the PDF needs

    language = translation.get_language() or "en"
    html = render_to_string("fsm/report_pdf.html", {
        "report": report, "rows": report.display_rows(), "totals": report.display_totals(),
        "municipality": municipality, "fonts": pdf_fonts(), "LANGUAGE_CODE": language,
        "municipality_name": municipality.name_bn if language == "bn" and municipality.name_bn else municipality.name,
        "generated": display(timezone.localdate(), "date") + timezone.localtime().strftime(" %H:%M"),
    })
    pdf = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, "pdf")}"'
    return response


# --- plant capacity over the last days (plant gate page) ----------------------------------------------

CHART_HEIGHT, BAR_WIDTH, BAR_GAP = 120, 14, 4


def plant_utilisation(*, days: int = 30) -> list[dict]:
    """Per operational plant: m³ received each of the last `days` days against its capacity (one query), with
    the bar geometry for a small SVG chart."""
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    plants = list(TreatmentPlant.objects.filter(status=TreatmentPlant.Status.OPERATIONAL).defer("location"))
    received = (Disposal.objects.filter(arrived_at__gte=_aware(first), treatment_plant__in=plants)
                .annotate(day=TruncDate("arrived_at")).values("treatment_plant", "day")
                .annotate(volume=Sum("volume_received_m3"), arrivals=Count("pk")).order_by())
    by_key = {(v["treatment_plant"], v["day"]): v for v in received}
    result = []
    for plant in plants:
        capacity = Decimal(plant.capacity_m3_per_day or 0)
        series = [by_key.get((plant.pk, first + datetime.timedelta(days=n)), {}) for n in range(days)]
        volumes = [Decimal(item.get("volume") or 0) for item in series]
        peak = max([capacity, *volumes]) or Decimal(1)
        bars = []
        for n, volume in enumerate(volumes):
            height = int(CHART_HEIGHT * volume / peak)
            day = first + datetime.timedelta(days=n)
            bars.append({"x": n * (BAR_WIDTH + BAR_GAP), "y": CHART_HEIGHT - height, "height": height,
                         "width": BAR_WIDTH, "day": day, "volume": _round(volume),
                         "is_over": capacity > 0 and volume > capacity,
                         "percent": _round(100 * volume / capacity, 0) if capacity else None})
        total = sum(volumes, Decimal(0))
        result.append({
            "plant": plant, "capacity": capacity, "bars": bars, "total": _round(total),
            "average": _round(total / days), "chart_width": days * (BAR_WIDTH + BAR_GAP),
            "chart_height": CHART_HEIGHT, "capacity_y": CHART_HEIGHT - int(CHART_HEIGHT * capacity / peak),
            "utilisation": _round(100 * total / (capacity * days), 1) if capacity else None,
            "days_over": sum(1 for bar in bars if bar["is_over"]),
        })
    return result

