"""The KPI dashboard, its CSV and PDF, the ward choropleth layer, and the targets page.

Views parse the filters (fiscal year, quarter, ward), check the permission, ask services for the dashboard and
render. Only indicators of the municipality's enabled features appear.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from imis.platform import formatting
from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission
from imis.shared_apps.tenants.features import enabled_features_of

from . import services
from .indicators import NAMES_BN, REGISTRY, Period, indicators_for
from .models import KpiTarget
from .selectors import fiscal_years_available, targets_of_year, ward_geojson, wards_for_filter

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _filters(request) -> tuple[Period, int | None]:
    period = Period.parse(request.GET.get("year"), request.GET.get("quarter"))
    ward = request.GET.get("ward", "")
    return period, int(ward) if ward.isdigit() else None


def _query(period: Period, ward: int | None, **extra) -> str:
    from urllib.parse import urlencode

    params = {"year": period.year, **({"quarter": period.quarter} if period.quarter else {}),
              **({"ward": ward} if ward is not None else {}), **extra}
    return urlencode(params)


def format_value(value, unit: str, language: str = "en") -> str:
    """The value as a card shows it: 87.5 %, 36.2 h, 0.82, 14 — or "no data"."""
    if value is None:
        return "তথ্য নেই" if language == "bn" else _("no data")
    decimals = 2 if unit == "ratio" else (0 if unit == "count" else 1)
    text = formatting.format_number(value, language=language, decimals=decimals)
    suffix = {"%": " %", "h": " h" if language != "bn" else " ঘণ্টা"}.get(unit, "")
    return text + suffix


def _cards(dashboard, language: str) -> list[dict]:
    cards = []
    for value in dashboard.values:
        item = value.indicator
        cards.append({
            "kpi": value, "item": item, "text": format_value(value.value, item.unit, language),
            "previous": format_value(value.previous, item.unit, language) if value.previous is not None else "",
            "target": format_value(value.target.target, item.unit, language) if value.target else "",
            "numerator": formatting.format_number(_round2(value.numerator), language=language),
            "denominator": formatting.format_number(_round2(value.denominator), language=language),
            "city_wide_note": item.is_city_wide and dashboard.ward is not None,
            "is_stale": value.code in dashboard.freshness.stale_codes,
        })
    return cards


def _round2(value):
    return None if value is None else Decimal(value).quantize(Decimal("0.01")).normalize()


# The charts' words in Bangla, until the Bangla catalogue has them (as the PDF report's labels below).
CHART_LABELS_BN = {
    "applications": "প্রাপ্ত আবেদন", "emptied": "খালি করা হয়েছে", "volume": "খালি করা (m³)",
    "delivered": "শোধনাগারে পৌঁছেছে (m³)", "tax_collected": "আদায়কৃত হোল্ডিং কর (৳)", "target": "লক্ষ্যমাত্রা",
    "no_data": "তথ্য নেই", "ward": "ওয়ার্ড", "value": "মান", "provider_emptyings": "খালি করার সংখ্যা",
    "provider_volume": "খালি করা (m³)", "count_axis": "সংখ্যা", "hours": "ঘণ্টা",
}


def _chart_labels(language: str) -> dict:
    labels = {"applications": _("Applications received"), "emptied": _("Emptyings"), "volume": _("m³ emptied"),
              "delivered": _("m³ delivered to plants"), "tax_collected": _("Holding tax collected (৳)"),
              "target": _("Target"), "no_data": _("no data"), "ward": _("Ward"), "value": _("Value"),
              "provider_emptyings": _("Emptyings"), "provider_volume": _("m³ emptied"), "count_axis": _("Count"),
              "hours": "h"}
    return {**labels, **CHART_LABELS_BN} if language == "bn" else labels


def _month_label(iso_day: str, language: str) -> str:
    import datetime

    from django.utils.formats import date_format

    text = date_format(datetime.date.fromisoformat(iso_day), "M Y")
    return formatting.to_bangla_digits(text) if language == "bn" else text


@require_GET
@permission_required("kpi.view")
def index(request):
    period, ward = _filters(request)
    # The page may show the last values for a few seconds while a worker recomputes (it says so, and reloads).
    dashboard = services.dashboard_compute(period=period, ward=ward, stale_ok=True)
    wards = wards_for_filter()
    if ward is not None and not any(w["number"] == ward for w in wards):
        raise Http404("No such ward")
    language = translation.get_language() or "en"
    chart_data = services.charts_data(dashboard=dashboard)
    chart_data["choropleth_url"] = reverse("kpi:wards_geojson") + "?" + _query(period, None)
    chart_data["lang"] = "bn" if language.startswith("bn") else "en"
    chart_data["labels"] = _chart_labels(chart_data["lang"])
    chart_data["monthly"]["months"] = [_month_label(month, chart_data["lang"])
                                       for month in chart_data["monthly"].get("month_starts", [])]
    if chart_data["lang"] == "bn":
        for kpi in chart_data["kpis"]:
            kpi["name"] = NAMES_BN.get(kpi["code"], kpi["name"])
    groups = []
    cards = _cards(dashboard, language)
    for code, label, values in dashboard.groups():
        codes = {v.code for v in values}
        groups.append({"code": code, "label": label, "cards": [c for c in cards if c["kpi"].code in codes]})
    return render(request, "kpi/index.html", {
        "dashboard": dashboard, "groups": groups, "period": period, "ward": ward, "wards": wards,
        "years": fiscal_years_available(), "quarters": [1, 2, 3, 4], "chart_data": chart_data,
        "query": _query(period, ward), "can_set_targets": has_permission(request, "settings.manage"),
        "choropleth_codes": [{"code": v.code, "name": NAMES_BN.get(v.code, str(v.indicator.name))
                              if chart_data["lang"] == "bn" else str(v.indicator.name)}
                             for v in dashboard.values if not v.indicator.is_city_wide],
    })


@require_GET
@permission_required("kpi.view")
def export_csv(request):
    period, ward = _filters(request)
    dashboard = services.dashboard_compute(period=period, ward=ward, with_series=False)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    scope = f"ward-{ward}" if ward is not None else "city"
    response["Content-Disposition"] = f'attachment; filename="kpi-{connection.tenant.slug}-{period.key}-{scope}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 (Bangla names, ৳) correctly with a BOM
    writer = csv.writer(response)
    writer.writerow(["code", "indicator", "group", "period", "ward", "value", "unit", "numerator", "denominator",
                     "previous", "target", "status", "formula", "source"])
    for value in dashboard.values:
        item = value.indicator
        row = [item.code, str(item.name), item.group, period.label,
               "city-wide" if item.is_city_wide or ward is None else ward,
               "" if value.value is None else value.value, item.unit,
               _round2(value.numerator), _round2(value.denominator),
               "" if value.previous is None else value.previous,
               value.target.target if value.target else "", value.status or "", str(item.formula), str(item.source)]
        writer.writerow([f"'{cell}" if isinstance(cell, str) and cell.startswith(CSV_FORMULA_START) else cell
                         for cell in row])
    return response


PDF_LABELS = {
    "en": {"title": "Key performance indicators", "period": "Period", "ward": "Ward", "city": "Whole city",
           "indicator": "Indicator", "value": "Value", "previous": "Previous period", "target": "Target",
           "status": "Status", "formula": "How it is computed", "generated": "Generated",
           "status_names": {"green": "On target", "amber": "Near target", "red": "Off target", None: "—"},
           "city_wide": "city-wide", "quarter": "Quarter"},
    "bn": {"title": "মূল কর্মদক্ষতা সূচক", "period": "সময়কাল", "ward": "ওয়ার্ড", "city": "সমগ্র শহর",
           "indicator": "সূচক", "value": "মান", "previous": "আগের সময়কাল", "target": "লক্ষ্যমাত্রা",
           "status": "অবস্থা", "formula": "হিসাবের পদ্ধতি", "generated": "তৈরির সময়",
           "status_names": {"green": "লক্ষ্য অর্জিত", "amber": "লক্ষ্যের কাছাকাছি", "red": "লক্ষ্য অর্জিত হয়নি",
                            None: "—"},
           "city_wide": "সমগ্র শহর", "quarter": "ত্রৈমাসিক"},
}
GROUPS_BN = {"fsm": "পয়ঃবর্জ্য সেবা", "cwis": "সবার জন্য নগর স্যানিটেশন (CWIS)", "revenue": "রাজস্ব",
             "registry": "নিবন্ধনের মান"}


def report_html(*, dashboard, municipality, language: str) -> str:
    from django.template.loader import render_to_string

    from imis.tenant_apps.tax.pdf import format_date, municipality_letterhead

    labels = PDF_LABELS[language]
    period = dashboard.period
    period_text = formatting.fiscal_year_label(period.year, language=language)
    if period.quarter:
        period_text = f"{labels['quarter']} {formatting.to_bangla_digits(period.quarter) if language == 'bn' else period.quarter}, {period_text}"
    groups = []
    for code, label, values in dashboard.groups():
        rows = []
        for value in values:
            item = value.indicator
            rows.append({"code": item.code,
                         "name": NAMES_BN.get(item.code, str(item.name)) if language == "bn" else str(item.name),
                         "value": format_value(value.value, item.unit, language),
                         "previous": format_value(value.previous, item.unit, language)
                         if item.is_period_bound else "—",
                         "target": format_value(value.target.target, item.unit, language) if value.target else "—",
                         "status": value.status, "status_text": labels["status_names"][value.status],
                         "formula": str(item.formula),
                         "city_wide": item.is_city_wide and dashboard.ward is not None})
        groups.append({"label": GROUPS_BN.get(code, str(label)) if language == "bn" else str(label), "rows": rows})
    ward_text = labels["city"] if dashboard.ward is None else (
        f"{labels['ward']} {formatting.to_bangla_digits(dashboard.ward) if language == 'bn' else dashboard.ward}")
    with translation.override(language):
        return render_to_string("kpi/report_pdf.html", {
            "lang": language, "labels": labels, "groups": groups, "period_text": period_text, "ward_text": ward_text,
            "letterhead": municipality_letterhead(municipality, language),
            "generated": format_date(timezone.now(), language),
        })


@require_GET
@permission_required("kpi.view")
def report_pdf(request):
    from imis.tenant_apps.tax.pdf import PdfError, html_to_pdf

    period, ward = _filters(request)
    language = "bn" if request.GET.get("lang", translation.get_language() or "en").startswith("bn") else "en"
    dashboard = services.dashboard_compute(period=period, ward=ward, with_series=False)
    html = report_html(dashboard=dashboard, municipality=connection.tenant, language=language)
    try:
        pdf = html_to_pdf(html)
    except PdfError:
        messages.error(request, _("The PDF could not be made just now. Try again in a minute."))
        return redirect(reverse("kpi:index") + "?" + _query(period, ward))
    response = HttpResponse(pdf, content_type="application/pdf")
    scope = f"ward-{ward}" if ward is not None else "city"
    response["Content-Disposition"] = (f'attachment; filename="kpi-{connection.tenant.slug}-{period.key}-{scope}'
                                       f'-{language}.pdf"')
    return response


@require_GET
@permission_required("kpi.view")
def ward_choropleth(request):
    """GeoJSON of the ward polygons with one KPI's value per ward (`?code=FSM-1&year=2025&quarter=2`)."""
    period, _ward = _filters(request)
    visible = {item.code: item for item in indicators_for(enabled_features_of(connection.tenant))}
    item = visible.get(request.GET.get("code", ""))
    if item is None or item.is_city_wide:
        raise Http404("No such indicator")
    rows = services.indicator_rows([item], period)[item.code]
    values = {number: item.value_of(*pair) for number, pair in rows.items() if isinstance(number, int)}
    data = ward_geojson(values)
    data["indicator"] = {"code": item.code, "name": str(item.name), "unit": item.unit,
                         "higher_is_better": item.higher_is_better, "period": period.label}
    return JsonResponse(data)


def _parse_decimal(text: str) -> Decimal | None:
    text = (text or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise ValidationError(_("Enter a number."), code="invalid") from error


@require_http_methods(["GET", "POST"])
@permission_required("settings.manage")
def targets(request):
    period = Period.parse(request.POST.get("year") or request.GET.get("year"))
    year = period.year
    items = indicators_for(enabled_features_of(connection.tenant))
    existing = targets_of_year(year)
    errors: dict[str, str] = {}
    if request.method == "POST":
        parsed = {}
        for item in items:
            try:
                target = _parse_decimal(request.POST.get(f"target-{item.code}", ""))
                band = _parse_decimal(request.POST.get(f"band-{item.code}", ""))
            except ValidationError as error:
                errors[item.code] = error.messages[0]
                continue
            if band is not None and band < 0:
                errors[item.code] = _("The amber band cannot be negative.")
                continue
            direction = request.POST.get(f"direction-{item.code}", "")
            if direction not in KpiTarget.Direction.values:
                direction = None
            parsed[item.code] = (target, direction, band)
        if not errors:
            for code, (target, direction, band) in parsed.items():
                services.target_set(by=request.user, code=code, year=year, target=target, direction=direction,
                                    amber_band=band)
            messages.success(request, _("Targets for %(year)s saved.") % {"year": period.year_label})
            return redirect(reverse("kpi:targets") + f"?year={year}")
    rows = []
    for item in items:
        target = existing.get(item.code)
        rows.append({"item": item, "target": target,
                     "value": request.POST.get(f"target-{item.code}", "") if errors else
                     ("" if target is None else f"{target.target.normalize():f}"),
                     "band": request.POST.get(f"band-{item.code}", "") if errors else
                     ("10" if target is None else f"{target.amber_band.normalize():f}"),
                     "direction": (target.direction if target else
                                   ("higher" if item.higher_is_better else "lower")),
                     "error": errors.get(item.code, "")})
    return render(request, "kpi/targets.html", {"rows": rows, "period": period, "years": fiscal_years_available(),
                                                "errors": errors, "directions": KpiTarget.Direction.choices,
                                                "catalogue": REGISTRY}, status=400 if errors else 200)
