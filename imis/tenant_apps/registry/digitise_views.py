"""The digitising page (/map/digitise/) and its JSON endpoints. Thin: parse, check the permission, call one
service of registry.editing, answer JSON. Attributes come from the registry's own forms (rendered as an HTML
fragment beside the shape and posted back with it), so validation is the registry's.

Errors are {"errors": [{field, message, code}]} with status 400 (409 for a stale version); another
municipality's id, or an unknown layer, is a 404.
"""

from __future__ import annotations

import json
import math

from django import forms
from django.contrib.gis.geos import Point
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission

from . import editing
from .forms import BuildingForm, ContainmentForm, model_field
from .models import Building
from .services import footprint_area_m2

PICK_DISTANCE_M = 15


def _errors(error: ValidationError) -> JsonResponse:
    code = getattr(error, "code", None)
    if hasattr(error, "error_dict"):
        errors = [{"field": "" if field == "__all__" else field, "message": message,
                   "code": getattr(detail, "code", None) or code}
                  for field, details in error.error_dict.items()
                  for detail in details for message in detail.messages]
    else:
        errors = [{"field": "", "message": message, "code": code} for message in error.messages]
    status = 409 if any(row["code"] == "stale_version" for row in errors) else 400
    if any(row["code"] == "forbidden" for row in errors):
        status = 403
    return JsonResponse({"errors": errors}, status=status)


def _form_errors(form: forms.Form) -> JsonResponse:
    return JsonResponse({"errors": [
        {"field": "" if field == "__all__" else field, "message": message,
         "code": (detail.code or "invalid")}
        for field, details in form.errors.as_data().items() for detail in details for message in detail.messages
    ]}, status=400)


def _layer(name: str) -> editing.Layer:
    if name not in editing.LAYERS:
        raise Http404("No such layer")
    return editing.LAYERS[name]


def _feature(layer: editing.Layer, pk: int):
    try:
        return editing.feature_get(layer=layer, pk=pk)
    except ObjectDoesNotExist:
        raise Http404("No such feature") from None


# --- forms: the registry's forms, without the geometry field (the map draws it) ------------------------

class DigitiseBuildingForm(BuildingForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["footprint"]
        self.fields["bin"].required = False
        self.fields["bin"].help_text = _("Leave empty: a new building gets the next BIN.")
        self.helper = None


class DigitiseContainmentForm(ContainmentForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["location"]
        self.helper = None


def _plain_form(layer: editing.Layer) -> type[forms.Form]:
    fields = {name: model_field(layer.model, name) for name in layer.attributes}
    return type(f"Digitise{layer.model.__name__}Form", (forms.Form,), fields)


def _form_class(layer: editing.Layer) -> type[forms.Form]:
    if layer.model is Building:
        return DigitiseBuildingForm
    if layer.name == "containments":
        return DigitiseContainmentForm
    return _plain_form(layer)


def _initial(layer: editing.Layer, instance) -> dict:
    if instance is None:
        return {}
    if layer.model is Building:
        return BuildingForm.initial_for(instance)
    if layer.name == "containments":
        return ContainmentForm.initial_for(instance)
    return {name: getattr(instance, name) for name in layer.attributes}


def _attributes(layer: editing.Layer, form: forms.Form, *, changed_only: bool) -> tuple[dict, list | None]:
    names = [name for name in layer.attributes if name in form.fields
             and (not changed_only or name in form.changed_data)]
    attributes = {name: form.cleaned_data[name] for name in names}
    if layer.model is Building and not attributes.get("bin"):
        attributes.pop("bin", None)
    building_ids = None
    if "buildings" in form.fields and (not changed_only or "buildings" in form.changed_data):
        building_ids = form.cleaned_data["buildings"]
    return attributes, building_ids


# --- JSON -----------------------------------------------------------------------------------------------

def feature_json(layer: editing.Layer, instance) -> dict:
    shape = getattr(instance, layer.geometry)
    data = {"layer": layer.name, "id": instance.pk, "label": str(instance), "version": editing.feature_version(instance),
            "geometry": json.loads(shape.json) if shape else None}
    if layer.model is Building:
        data["area_m2"] = round(footprint_area_m2(instance.footprint), 1)
        data["bin"] = instance.bin
        data["verification_status"] = instance.verification_status
    return data


def _flag(request, name: str) -> bool:
    return request.POST.get(name, "") in ("1", "true", "on", "yes")


@require_GET
@permission_required("map.view")
def digitise_page(request):
    from imis.tenant_apps.maps.layers import layers_for
    from imis.tenant_apps.maps.selectors import municipality_extent

    # The data layers drawn under the shapes: our vector tiles, styled as on the map page (the features a
    # municipality has switched off are not served, so not shown).
    tiles = [{"name": layer.name, "title": str(layer.title), "geometry": layer.geometry_type,
              "minzoom": layer.min_zoom, "colour": layer.colour, "thematic_of": layer.thematic_of,
              "style_property": layer.style_property, "legend": [],
              "tiles": request.build_absolute_uri(f"/tiles/{layer.name}/") + "{z}/{x}/{y}.mvt"}
             for layer in layers_for(request.municipality) if layer.name in editing.LAYERS]
    shown = {layer["name"] for layer in tiles}
    config = {
        "bounds": municipality_extent(request.municipality),
        "can_edit": has_permission(request, editing.DIGITISE),
        "layers": tiles,
        "editable": [{"name": layer.name, "label": str(layer.label), "geometry": layer.geometry_type}
                     for layer in editing.LAYERS.values() if layer.name in shown],
        "basemap_url": "",
        "api": "/map/digitise/api/",
        "imagery_sources": "/imagery/sources.json",
        "building_url": "/registry/buildings/0/",
    }
    return render(request, "registry/digitise.html", {"digitise_config": config})


def feature_detail_or_update(request, layer: str, pk: int):
    """GET: the feature with its version; POST: save a new shape and/or attributes."""
    if request.method == "POST":
        return feature_update(request, layer, pk)
    return feature_detail(request, layer, pk)


@require_GET
@permission_required("map.view")
def feature_detail(request, layer: str, pk: int):
    spec = _layer(layer)
    return JsonResponse(feature_json(spec, _feature(spec, pk)))


@require_GET
@permission_required("map.view")
def feature_at(request, layer: str):
    """The feature of `layer` nearest to the clicked point (within a few metres): how the page picks a shape."""
    spec = _layer(layer)
    try:
        where = Point(float(request.GET["lon"]), float(request.GET["lat"]), srid=4326)
    except (KeyError, ValueError):
        return JsonResponse({"errors": [{"field": "lon", "message": _("Give lon and lat."), "code": "invalid"}]},
                            status=400)
    from django.contrib.gis.db.models.functions import Distance

    # An indexed box of about PICK_DISTANCE_M (in degrees: the geometry is stored in EPSG:4326), nearest first.
    degrees = PICK_DISTANCE_M / (111_320 * max(math.cos(math.radians(where.y)), 0.01))
    instance = (spec.model.objects.filter(**{f"{spec.geometry}__dwithin": (where, degrees)})
                .annotate(distance=Distance(spec.geometry, where)).order_by("distance").first())
    if instance is None:
        return JsonResponse({"feature": None})
    return JsonResponse({"feature": feature_json(spec, instance)})


@require_GET
@permission_required("map.view")
def feature_form(request, layer: str):
    """The layer's attribute form as an HTML fragment (empty for a new shape, filled for ?id=)."""
    spec = _layer(layer)
    pk = request.GET.get("id", "")
    instance = _feature(spec, int(pk)) if pk.isdigit() else None
    form = _form_class(spec)(initial=_initial(spec, instance), prefix="f")
    html = render_to_string("registry/digitise_form.html", {"form": form, "layer": spec, "instance": instance},
                            request=request)
    return HttpResponse(html)


@require_POST
@permission_required("registry.digitise")
def feature_create(request, layer: str):
    spec = _layer(layer)
    form = _form_class(spec)(request.POST, prefix="f")
    if not form.is_valid():
        return _form_errors(form)
    attributes, building_ids = _attributes(spec, form, changed_only=False)
    try:
        instance = editing.feature_create(layer=spec, geometry=request.POST.get("geometry", ""), by=request.user,
                                          attributes=attributes, building_ids=building_ids,
                                          confirm_overlap=_flag(request, "confirm_overlap"))
    except ValidationError as error:
        return _errors(error)
    return JsonResponse(feature_json(spec, instance), status=201)


@require_POST
@permission_required("registry.digitise")
def feature_update(request, layer: str, pk: int):
    spec = _layer(layer)
    instance = _feature(spec, pk)
    has_form = any(key.startswith("f-") for key in request.POST)
    attributes, building_ids = {}, None
    if has_form:
        form = _form_class(spec)(request.POST, initial=_initial(spec, instance), prefix="f")
        if not form.is_valid():
            return _form_errors(form)
        attributes, building_ids = _attributes(spec, form, changed_only=True)
    try:
        instance = editing.feature_update(layer=spec, pk=instance.pk, version=request.POST.get("version"),
                                          by=request.user, geometry=request.POST.get("geometry") or None,
                                          attributes=attributes, building_ids=building_ids,
                                          confirm_overlap=_flag(request, "confirm_overlap"))
    except ValidationError as error:
        return _errors(error)
    return JsonResponse(feature_json(spec, instance))


@require_POST
@permission_required("registry.digitise")
def feature_delete(request, layer: str, pk: int):
    spec = _layer(layer)
    instance = _feature(spec, pk)
    try:
        editing.feature_delete(layer=spec, pk=instance.pk, version=request.POST.get("version"), by=request.user)
    except ValidationError as error:
        return _errors(error)
    return JsonResponse({"deleted": pk})


@require_POST
@permission_required("registry.digitise")
def building_split(request, pk: int):
    spec = _layer("buildings")
    instance = _feature(spec, pk)
    try:
        kept, other = editing.building_split(pk=instance.pk, version=request.POST.get("version"),
                                             line=request.POST.get("line", ""), by=request.user)
    except ValidationError as error:
        return _errors(error)
    return JsonResponse({"features": [feature_json(spec, kept), feature_json(spec, other)]})


@require_POST
@permission_required("registry.digitise")
def buildings_merge(request, pk: int):
    spec = _layer("buildings")
    instance = _feature(spec, pk)
    other = request.POST.get("other", "")
    if not other.isdigit():
        return JsonResponse({"errors": [{"field": "other", "message": _("Choose the building to merge with."),
                                         "code": "required"}]}, status=400)
    other_instance = _feature(spec, int(other))
    try:
        merged = editing.buildings_merge(pk=instance.pk, version=request.POST.get("version"),
                                         other_pk=other_instance.pk, other_version=request.POST.get("other_version"),
                                         by=request.user)
    except ValidationError as error:
        return _errors(error)
    return JsonResponse(feature_json(spec, merged))


@require_GET
@permission_required("registry.view")
def feature_history(request, layer: str, pk: int):
    spec = _layer(layer)
    _feature(spec, pk)
    entries = editing.feature_history(layer=spec, pk=pk)
    return JsonResponse({"entries": [
        {"id": entry.pk, "action": entry.action, "actor": entry.actor_label, "at": entry.created.isoformat(),
         "geometry": (entry.after or {}).get(spec.model._meta.get_field(spec.geometry).attname)}
        for entry in entries
    ]})


@require_POST
@permission_required("registry.digitise")
def feature_restore(request, layer: str, pk: int):
    spec = _layer(layer)
    instance = _feature(spec, pk)
    entry = request.POST.get("entry", "")
    if not entry.isdigit():
        return JsonResponse({"errors": [{"field": "entry", "message": _("Choose a version to restore."),
                                         "code": "required"}]}, status=400)
    try:
        instance = editing.feature_restore(layer=spec, pk=instance.pk, entry_id=int(entry),
                                           version=request.POST.get("version"), by=request.user)
    except ValidationError as error:
        return _errors(error)
    return JsonResponse(feature_json(spec, instance))
