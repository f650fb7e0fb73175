"""Registry staff screens: lists, record pages, edit forms and the top-bar search.

Views parse input, check the permission, call one selector or service and render. Lists read through the
selectors (joins done there) and paginate, so a page costs the same few queries whatever its size.
"""

from __future__ import annotations

import json
import math

from django.contrib import messages
from django.contrib.gis.geos import GeometryCollection, GEOSGeometry, Polygon
from django.contrib.postgres.aggregates import StringAgg
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_tables2 import RequestConfig

from imis.platform.csvexport import csv_response
from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission

from .filters import MAX_QUERY_LENGTH, BuildingFilter, ContainmentFilter, HoldingFilter
from .forms import BuildingForm, ContainmentForm, HoldingForm, OwnerFormSet, add_service_errors
from .models import Building, Containment, Holding, Owner, Road
from .selectors import (
    audit_trail_of,
    building_detail,
    containment_detail,
    holding_detail,
    registry_headline_counts,
    registry_search,
    wards_listed,
)
from .services import (
    building_create,
    building_update,
    containment_create,
    containment_update,
    footprint_area_m2,
    holding_create,
    holding_owners_set,
    holding_update,
)
from .tables import BuildingTable, ContainmentTable, HoldingTable, status_badge

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
PER_PAGE_CHOICES = (25, 50, 100, 200)
HISTORY_LIMIT = 100
SEARCH_LIMIT = 10
NEIGHBOUR_RADIUS_M = 60
NEIGHBOUR_LIMIT = 150
ROAD_LIMIT = 30
CSV_CHUNK = 2000

ACTION_LABELS = {
    "create": gettext_lazy("Created"), "update": gettext_lazy("Changed"), "delete": gettext_lazy("Deleted"),
    "bulk_update": gettext_lazy("Changed in bulk"), "import": gettext_lazy("Imported"),
}
LEGEND_BUILDING = {"icon": "bi-square-fill text-primary", "label": gettext_lazy("Building")}
LEGEND_HOLDING_BUILDINGS = {"icon": "bi-square-fill text-primary", "label": gettext_lazy("Buildings of the holding")}
LEGEND_SERVED = {"icon": "bi-square-fill text-success", "label": gettext_lazy("Buildings served")}
LEGEND_NEIGHBOURS = {"icon": "bi-square text-secondary", "label": gettext_lazy("Other buildings")}
LEGEND_CONTAINMENT = {"icon": "bi-circle-fill text-warning-emphasis", "label": gettext_lazy("Containment")}
LEGEND_ROADS = {"icon": "bi-dash-lg text-secondary", "label": gettext_lazy("Roads")}


# --- helpers ------------------------------------------------------------------------------------------

def _per_page(request) -> int:
    try:
        value = int(request.GET.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        return DEFAULT_PER_PAGE
    return min(max(value, 1), MAX_PER_PAGE)


def _paginate(table, request) -> None:
    RequestConfig(request, paginate=False).configure(table)  # sorting from ?sort=
    try:
        page = int(request.GET.get("page", 1))
    except ValueError:
        page = 1
    try:
        table.paginate(per_page=_per_page(request), page=page)
    except (EmptyPage, PageNotAnInteger):
        table.paginate(per_page=_per_page(request), page=table.paginator.num_pages or 1)


def _query_without(request, *names: str, **extra) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    for key, value in extra.items():
        params[key] = value
    return params.urlencode()


def _get_or_404(selector, pk: int):
    try:
        return selector(pk)
    except (Building.DoesNotExist, Holding.DoesNotExist, Containment.DoesNotExist) as error:
        raise Http404(str(error)) from error


def _feature(geometry: GEOSGeometry, **properties) -> dict:
    return {"type": "Feature", "geometry": json.loads(geometry.json), "properties": properties}


def _context_box(geometry: GEOSGeometry) -> Polygon:
    """The record's bounding box, some tens of metres wider: what its map shows around it."""
    lat = geometry.centroid.y
    d_lat = NEIGHBOUR_RADIUS_M / 111_320
    d_lon = NEIGHBOUR_RADIUS_M / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    west, south, east, north = geometry.extent
    box = Polygon.from_bbox((west - d_lon, south - d_lat, east + d_lon, north + d_lat))
    box.srid = 4326
    return box


def _surroundings(geometry: GEOSGeometry, *, exclude: list[int]) -> list[dict]:
    """Roads and other buildings around a record, for context on its map (two indexed bounding-box queries)."""
    box = _context_box(geometry)
    roads = Road.objects.filter(geom__bboverlaps=box).only("pk", "code", "name", "geom").order_by()[:ROAD_LIMIT]
    nearby = (Building.objects.filter(footprint__bboverlaps=box).exclude(pk__in=exclude)
              .only("pk", "bin", "footprint").order_by()[:NEIGHBOUR_LIMIT])
    return [_feature(r.geom, role="road", label=str(r)) for r in roads] + [
        _feature(b.footprint, role="neighbour", label=b.bin,
                 url=reverse("registry:building_detail", kwargs={"pk": b.pk})) for b in nearby]


def _feature_collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _can_edit(request) -> bool:
    return has_permission(request, "registry.edit")


# --- history (audit trail) ----------------------------------------------------------------------------

def _reference_fields(model) -> dict[str, type]:
    """attname -> related model for the foreign keys an audit entry stores as ids (holding_id -> Holding)."""
    references = {f.attname: f.related_model for f in model._meta.concrete_fields if f.is_relation}
    if model is Containment:
        references["building_ids"] = Building
    return references


def _reference_labels(entries, references: dict[str, type]) -> dict[tuple[str, object], str]:
    """One query per referenced model for every id the entries mention (holding_id 7 -> '12-0345-00678')."""
    wanted: dict[str, set] = {}
    for entry in entries:
        for values in (entry.before or {}, entry.after or {}):
            for key, value in values.items():
                if key not in references or value in (None, "", []):
                    continue
                wanted.setdefault(key, set()).update(value if isinstance(value, list) else [value])
    labels: dict[tuple[str, object], str] = {}
    for key, ids in wanted.items():
        for obj in references[key].objects.filter(pk__in=ids):
            labels[(key, obj.pk)] = str(obj)
    return labels


def _model_field(model, key: str):
    return next((f for f in model._meta.concrete_fields if key in (f.attname, f.name)), None)


def _history_value(model, key: str, value, labels, references) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if key in references:
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get((key, pk), f"#{pk}") for pk in values)
    if isinstance(value, str) and value.startswith("SRID="):
        geometry = GEOSGeometry(value)
        if geometry.geom_type == "Point":
            return f"{geometry.x:.6f}, {geometry.y:.6f}"
        return _("outline of %(count)s points") % {"count": geometry.num_points}
    field = _model_field(model, key)
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _history_label(model, key: str) -> str:
    if key == "building_ids":
        return capfirst(Containment._meta.get_field("buildings").verbose_name)
    field = _model_field(model, key)
    return capfirst(field.verbose_name) if field is not None else key


def _history(instance) -> list[dict]:
    model = type(instance)
    entries = list(audit_trail_of(instance)[:HISTORY_LIMIT])
    references = _reference_fields(model)
    labels = _reference_labels(entries, references)
    rows = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        keys = list(dict.fromkeys([*after.keys(), *before.keys()]))
        changes = [
            {"field": _history_label(model, key),
             "before": _history_value(model, key, before.get(key), labels, references) if key in before else None,
             "after": _history_value(model, key, after.get(key), labels, references)}
            for key in keys
        ]
        rows.append({"entry": entry, "action": ACTION_LABELS.get(entry.action, entry.action), "changes": changes})
    return rows


# --- CSV export ---------------------------------------------------------------------------------------

def _csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    """Streams `rows` as CSV named `<filename>-<today>.csv`."""
    return csv_response(f"{filename}-{timezone.localdate().isoformat()}.csv", header, rows)


def _choice_labels(model, name: str) -> dict:
    return {key: str(label) for key, label in model._meta.get_field(name).flatchoices}


def _buildings_csv(buildings) -> StreamingHttpResponse:
    buildings = buildings.annotate(area_m2=RawSQL("ST_Area(registry_building.footprint::geography)", []))
    use = _choice_labels(Building, "functional_use")
    structure = _choice_labels(Building, "structure_type")
    sanitation = _choice_labels(Building, "sanitation_system")
    verification = _choice_labels(Building, "verification_status")
    road_link = _choice_labels(Building, "road_link_status")
    header = [_("BIN"), _("Holding ID"), _("Ward"), _("Use"), _("Structure"), _("Floors"), _("Households"),
              _("Population"), _("Sanitation system"), _("Verification"), _("Road link"), _("Nearest road"),
              _("Distance to road (m)"), _("Footprint area (m²)")]
    rows = (
        [b.bin, b.holding.holding_id if b.holding_id else "", b.ward.number if b.ward_id else "",
         use.get(b.functional_use, ""), structure.get(b.structure_type, ""), b.floors, b.households, b.population,
         sanitation.get(b.sanitation_system, ""), verification.get(b.verification_status, ""),
         road_link.get(b.road_link_status, ""), b.nearest_road.code if b.nearest_road_id else "",
         f"{b.road_distance_m:.1f}" if b.road_distance_m is not None else "", f"{b.area_m2:.1f}"]
        for b in buildings.iterator(chunk_size=CSV_CHUNK)
    )
    return _csv_response("buildings", header, rows)


def _owner_column(field: str):
    owners = (Owner.objects.filter(holding=OuterRef("pk")).order_by().values("holding")
              .annotate(joined=StringAgg(field, delimiter="; ", order_by="id")).values("joined"))
    return Coalesce(Subquery(owners), Value(""), output_field=TextField())


def _holdings_csv(holdings) -> StreamingHttpResponse:
    holdings = holdings.prefetch_related(None).annotate(owner_names=_owner_column("name"),
                                                        owner_phones=_owner_column("phone"))
    header = [_("Holding ID"), _("Ward"), _("Road"), _("Address"), _("Owners"), _("Owner phones"), _("Buildings")]
    rows = (
        [h.holding_id, h.ward.number, h.road.code if h.road_id else "", h.address, h.owner_names, h.owner_phones,
         h.building_count]
        for h in holdings.iterator(chunk_size=CSV_CHUNK)
    )
    return _csv_response("holdings", header, rows)


def _containments_csv(containments) -> StreamingHttpResponse:
    served = (Containment.buildings.through.objects.filter(containment_id=OuterRef("pk")).order_by()
              .values("containment_id")
              .annotate(bins=StringAgg("building__bin", delimiter=" ", order_by="building__bin")).values("bins"))
    containments = containments.annotate(served_bins=Coalesce(Subquery(served), Value(""), output_field=TextField()))
    types = _choice_labels(Containment, "type")
    outlets = _choice_labels(Containment, "outlet")
    header = [_("Code"), _("Type"), _("Outlet"), _("Ward"), _("Volume (m³)"), _("Construction year"),
              _("Buildings served"), _("Last emptied"), _("Next emptying due"), _("Longitude"), _("Latitude")]
    rows = (
        [c.code, types.get(c.type, ""), outlets.get(c.outlet, ""), c.ward.number if c.ward_id else "", c.volume_m3,
         c.construction_year, c.served_bins, c.last_emptied_on, c.next_emptying_due,
         f"{c.location.x:.6f}", f"{c.location.y:.6f}"]
        for c in containments.iterator(chunk_size=CSV_CHUNK)
    )
    return _csv_response("containments", header, rows)


# --- lists --------------------------------------------------------------------------------------------

def _list_page(request, *, filter_class, table_class, export, section: str, title, new_url_name: str, new_label,
               empty_hint):
    filterset = filter_class(request.GET)
    if request.GET.get("export") == "csv":
        return export(filterset.qs)
    table = table_class(filterset.qs)
    _paginate(table, request)
    return render(request, "registry/list.html", {
        "section": section,
        "title": title,
        "filter": filterset,
        "table": table,
        "total": table.paginator.count,
        "is_filtered": filterset.is_filtered,
        "filter_count": len(filterset.selector_arguments()),
        "export_query": _query_without(request, "page", export="csv"),
        "per_page": _per_page(request),
        "per_page_choices": PER_PAGE_CHOICES,
        "per_page_keep": [(key, value) for key, value in request.GET.items() if key not in ("per_page", "page")],
        "new_url": reverse(new_url_name) if _can_edit(request) else None,
        "new_label": new_label,
        "empty_hint": empty_hint,
    })


@permission_required("registry.view")
def building_list(request):
    return _list_page(
        request, filter_class=BuildingFilter, table_class=BuildingTable, export=_buildings_csv, section="buildings",
        title=gettext_lazy("Buildings"), new_url_name="registry:building_create",
        new_label=gettext_lazy("New building"),
        empty_hint=gettext_lazy("Buildings appear here once the GIS data is loaded or a surveyor adds them."),
    )


@permission_required("registry.view")
def holding_list(request):
    return _list_page(
        request, filter_class=HoldingFilter, table_class=HoldingTable, export=_holdings_csv, section="holdings",
        title=gettext_lazy("Holdings"), new_url_name="registry:holding_create", new_label=gettext_lazy("New holding"),
        empty_hint=gettext_lazy("Holdings appear here once the tax register is loaded or a clerk adds them."),
    )


@permission_required("registry.view")
def containment_list(request):
    return _list_page(
        request, filter_class=ContainmentFilter, table_class=ContainmentTable, export=_containments_csv,
        section="containments", title=gettext_lazy("Containments"), new_url_name="registry:containment_create",
        new_label=gettext_lazy("New containment"),
        empty_hint=gettext_lazy("Septic tanks and pits appear here once they are surveyed."),
    )


# --- overview and search ------------------------------------------------------------------------------

def _count_per_ward(model):
    counts = model.objects.filter(ward=OuterRef("pk")).order_by().values("ward").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counts), 0)


def _wards_with_counts():
    """The ward list with its buildings, holdings and containments counted: one query."""
    return wards_listed().defer("boundary").annotate(
        building_count=_count_per_ward(Building), holding_count=_count_per_ward(Holding),
        containment_count=_count_per_ward(Containment),
    )


def _exact_record_url(query: str) -> str | None:
    """The record a query names exactly (a holding ID or a BIN), if exactly one does."""
    key = query.strip().upper()
    hits = [reverse("registry:holding_detail", kwargs={"pk": pk})
            for pk in Holding.objects.filter(holding_id=key).values_list("pk", flat=True)]
    hits += [reverse("registry:building_detail", kwargs={"pk": pk})
             for pk in Building.objects.filter(bin=key).values_list("pk", flat=True)]
    return hits[0] if len(hits) == 1 else None


@permission_required("registry.view")
def index(request):
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    if query:
        url = _exact_record_url(query)
        if url:
            return redirect(url)
        results = registry_search(query, limit=SEARCH_LIMIT)
        return render(request, "registry/search.html", {
            "section": "search", "query": query, "results": results, "limit": SEARCH_LIMIT,
            "has_results": any(results.values()),
        })
    return render(request, "registry/index.html", {
        "section": "overview",
        "counts": registry_headline_counts(),
        "wards": _wards_with_counts(),
        "can_edit": _can_edit(request),
    })


# --- record pages -------------------------------------------------------------------------------------

@permission_required("registry.view")
def building_page(request, pk: int):
    building = _get_or_404(building_detail, pk)
    containments = list(building.containments.all())
    features = _surroundings(building.footprint, exclude=[building.pk])
    features.append(_feature(building.footprint, role="subject", label=building.bin))
    features += [_feature(c.location, role="containment", label=c.code,
                          url=reverse("registry:containment_detail", kwargs={"pk": c.pk})) for c in containments]
    return render(request, "registry/building_detail.html", {
        "section": "buildings",
        "building": building,
        "area_m2": footprint_area_m2(building.footprint),
        "containments": containments,
        "owners": list(building.holding.owners.all()) if building.holding_id else [],
        "map_data": _feature_collection(features),
        "map_label": _("Map of building %(bin)s, its containments and the buildings around it") % {"bin": building.bin},
        "legend": [LEGEND_BUILDING, LEGEND_CONTAINMENT, LEGEND_NEIGHBOURS, LEGEND_ROADS],
        "verification_badge": status_badge(building.verification_status, building.get_verification_status_display()),
        "road_link_badge": status_badge(building.road_link_status, building.get_road_link_status_display()),
        "history": _history(building),
        "can_edit": _can_edit(request),
    })


@permission_required("registry.view")
def holding_page(request, pk: int):
    holding = _get_or_404(holding_detail, pk)
    buildings = list(holding.buildings.all())
    footprints = Building.objects.filter(holding=holding).only("pk", "bin", "footprint").order_by("bin")
    served = Containment.buildings.through.objects.filter(building__holding=holding).values("containment_id")
    containments = list(Containment.objects.filter(pk__in=served).order_by("code")
                        .only("pk", "code", "type", "location", "next_emptying_due"))
    footprints = list(footprints)
    features = []
    if footprints:
        features = _surroundings(GeometryCollection(*[b.footprint for b in footprints], srid=4326),
                                 exclude=[b.pk for b in footprints])
    features += [_feature(b.footprint, role="subject", label=b.bin,
                          url=reverse("registry:building_detail", kwargs={"pk": b.pk})) for b in footprints]
    features += [_feature(c.location, role="containment", label=c.code,
                          url=reverse("registry:containment_detail", kwargs={"pk": c.pk})) for c in containments]
    return render(request, "registry/holding_detail.html", {
        "section": "holdings",
        "holding": holding,
        "owners": list(holding.owners.all()),
        "buildings": buildings,
        "building_rows": [{"building": b, "badge": status_badge(b.verification_status,
                                                                 b.get_verification_status_display())}
                          for b in buildings],
        "containments": containments,
        "map_data": _feature_collection(features),
        "map_label": _("Map of the buildings of holding %(id)s") % {"id": holding.holding_id},
        "legend": [LEGEND_HOLDING_BUILDINGS, LEGEND_CONTAINMENT, LEGEND_NEIGHBOURS, LEGEND_ROADS],
        "history": _history(holding),
        "can_edit": _can_edit(request),
    })


@permission_required("registry.view")
def containment_page(request, pk: int):
    containment = _get_or_404(containment_detail, pk)
    buildings = list(containment.buildings.all())
    features = _surroundings(containment.location, exclude=[b.pk for b in buildings])
    features += [_feature(b.footprint, role="served", label=b.bin,
                          url=reverse("registry:building_detail", kwargs={"pk": b.pk})) for b in buildings]
    features.append(_feature(containment.location, role="containment", label=containment.code))
    return render(request, "registry/containment_detail.html", {
        "section": "containments",
        "containment": containment,
        "buildings": buildings,
        "is_overdue": bool(containment.next_emptying_due and containment.next_emptying_due < timezone.localdate()),
        "location_text": f"{containment.location.x:.6f}, {containment.location.y:.6f}",
        "map_data": _feature_collection(features),
        "map_label": _("Map of containment %(code)s and the buildings it serves") % {"code": containment.code},
        "legend": [LEGEND_CONTAINMENT, LEGEND_SERVED, LEGEND_NEIGHBOURS, LEGEND_ROADS],
        "history": _history(containment),
        "can_edit": _can_edit(request),
    })


# --- edit forms ---------------------------------------------------------------------------------------

def _form_page(request, template: str, context: dict):
    return render(request, template, context)


@permission_required("registry.edit")
@require_http_methods(["GET", "POST"])
def building_create_view(request):
    if request.method == "POST":
        form = BuildingForm(request.POST)
        if form.is_valid():
            try:
                building = building_create(by=request.user, **form.service_arguments())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Building %(bin)s registered.") % {"bin": building.bin})
                return redirect("registry:building_detail", pk=building.pk)
    else:
        form = BuildingForm(initial={"holding": request.GET.get("holding", "")[:40]})
    return _form_page(request, "registry/building_form.html", {"section": "buildings", "form": form})


@permission_required("registry.edit")
@require_http_methods(["GET", "POST"])
def building_edit_view(request, pk: int):
    building = _get_or_404(building_detail, pk)
    initial = BuildingForm.initial_for(building)
    if request.method == "POST":
        form = BuildingForm(request.POST, initial=initial)
        if form.is_valid():
            changes = form.service_arguments(changed_only=True)
            try:
                building_update(building=building, by=request.user, **changes)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Building %(bin)s saved.") % {"bin": changes.get("bin", building.bin)}
                                 if changes else _("Nothing was changed."))
                return redirect("registry:building_detail", pk=building.pk)
    else:
        form = BuildingForm(initial=initial)
    return _form_page(request, "registry/building_form.html",
                      {"section": "buildings", "form": form, "building": building})


@permission_required("registry.edit")
@require_http_methods(["GET", "POST"])
def holding_create_view(request):
    if request.method == "POST":
        form = HoldingForm(request.POST)
        owners = OwnerFormSet(request.POST, prefix="owners")
        if form.is_valid() and owners.is_valid():
            owner_rows = [row for row in (f.as_owner() for f in owners) if row]
            try:
                holding = holding_create(by=request.user, owners=owner_rows, **form.service_arguments())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Holding %(id)s registered.") % {"id": holding.holding_id})
                return redirect("registry:holding_detail", pk=holding.pk)
    else:
        form = HoldingForm()
        owners = OwnerFormSet(prefix="owners")
    return _form_page(request, "registry/holding_form.html",
                      {"section": "holdings", "form": form, "owner_formset": owners})


@permission_required("registry.edit")
@require_http_methods(["GET", "POST"])
def holding_edit_view(request, pk: int):
    holding = _get_or_404(holding_detail, pk)
    initial = HoldingForm.initial_for(holding)
    form_kwargs = {"is_new": False, "initial": initial}
    owner_initial = [{"name": o.name, "phone": o.phone, "national_id": o.national_id, "gender": o.gender}
                     for o in holding.owners.all()]
    if request.method == "POST":
        form = HoldingForm(request.POST, **form_kwargs)
        owners = OwnerFormSet(request.POST, prefix="owners", initial=owner_initial)
        if form.is_valid() and owners.is_valid():
            changes = form.service_arguments(changed_only=True)
            owner_rows = [row for row in (f.as_owner() for f in owners) if row]
            try:
                with transaction.atomic():
                    holding_update(holding=holding, by=request.user, **changes)
                    holding_owners_set(holding=holding, owners=owner_rows, by=request.user)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Holding %(id)s saved.") % {"id": changes.get("holding_id",
                                                                                        holding.holding_id)}
                                 if changes else _("Nothing was changed."))
                return redirect("registry:holding_detail", pk=holding.pk)
    else:
        form = HoldingForm(**form_kwargs)
        owners = OwnerFormSet(prefix="owners", initial=owner_initial)
    return _form_page(request, "registry/holding_form.html",
                      {"section": "holdings", "form": form, "holding": holding, "owner_formset": owners})


@permission_required("registry.edit")
@require_http_methods(["GET", "POST"])
def containment_create_view(request):
    if request.method == "POST":
        form = ContainmentForm(request.POST)
        if form.is_valid():
            try:
                containment = containment_create(by=request.user, building_ids=form.cleaned_data["buildings"],
                                                 **form.service_arguments())
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Containment %(code)s registered.") % {"code": containment.code})
                return redirect("registry:containment_detail", pk=containment.pk)
    else:
        form = ContainmentForm(initial={"buildings": request.GET.get("building", "")[:200]})
    return _form_page(request, "registry/containment_form.html", {"section": "containments", "form": form})


@permission_required("registry.edit")
@require_http_methods(["GET", "POST"])
def containment_edit_view(request, pk: int):
    containment = _get_or_404(containment_detail, pk)
    initial = ContainmentForm.initial_for(containment)
    if request.method == "POST":
        form = ContainmentForm(request.POST, initial=initial)
        if form.is_valid():
            changes = form.service_arguments(changed_only=True)
            building_ids = form.cleaned_data["buildings"] if "buildings" in form.changed_data else None
            try:
                containment_update(containment=containment, by=request.user, building_ids=building_ids, **changes)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Containment %(code)s saved.") % {"code": changes.get(
                    "code", containment.code)} if changes or building_ids is not None else _("Nothing was changed."))
                return redirect("registry:containment_detail", pk=containment.pk)
    else:
        form = ContainmentForm(initial=initial)
    return _form_page(request, "registry/containment_form.html",
                      {"section": "containments", "form": form, "containment": containment})
