"""The Data section: import (upload -> preview and mapping -> check/import job -> result), export, data quality.

Views parse input, check the permission and call one service; long work runs as a job with a progress bar.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission
from imis.tenant_apps.jobs.services import job_progress_of
from imis.tenant_apps.registry.models import Ward

from . import exporting, quality
from .forms import PACKAGE, ExportForm, ImportSetupForm, UploadForm
from .housekeeping import upload_is_available
from .importing import (
    ImportOptions,
    data_import_configure,
    data_import_source,
    data_import_start,
    data_import_suggestions,
    data_import_upload,
    mapping_is_complete,
)
from .layers import data_dictionary, layer_spec_for, layer_specs_for
from .models import DataImport
from .reading import SourceError, swapped_axes_check

RECENT_IMPORTS = 10


def _municipality(request):
    return request.municipality


def _import_for(request, import_id) -> DataImport:
    """A user sees their own imports; a municipal admin sees every import of the municipality."""
    data_import = get_object_or_404(DataImport.objects.select_related("job"), pk=import_id)
    if data_import.created_by_id != request.user.pk and not has_permission(request, "settings.manage"):
        raise Http404
    return data_import


@permission_required("registry.view")
def index(request):
    imports = DataImport.objects.filter(created_by_id=request.user.pk)[:RECENT_IMPORTS] \
        if has_permission(request, "registry.edit") else []
    return render(request, "dataio/index.html", {"imports": imports, "section": "overview",
                                                 "can_import": has_permission(request, "registry.edit")})


# --- import -----------------------------------------------------------------------------------------------

@permission_required("registry.edit")
@require_http_methods(["GET", "POST"])
def import_upload(request):
    municipality = _municipality(request)
    form = UploadForm(request.POST or None, request.FILES or None, municipality=municipality,
                      initial={"layer": request.GET.get("layer", "buildings")})
    if request.method == "POST" and form.is_valid():
        layer = form.cleaned_data["layer"]
        try:
            data_import = data_import_upload(upload=form.cleaned_data["file"],
                                             layer="" if layer == PACKAGE else layer, by=request.user)
        except SourceError as error:
            form.add_error("file", error.message)
        else:
            return redirect("dataio:import_detail", import_id=data_import.pk)
    return render(request, "dataio/import_upload.html", {"form": form, "section": "import"})


def _crs_needed(source) -> bool:
    return any(not layer.srid for layer in source.layers if layer.geometry_type or source.format == "csv")


def _layer_warnings(source, municipality) -> tuple[dict[str, list[str]], bool]:
    """What the preview should say about each layer before anything is imported (and whether x/y look swapped)."""
    warnings = {}
    swapped = False
    for layer in source.layers:
        notes = []
        if layer.features == 0:
            notes.append(_("This layer holds no features: there is nothing to import."))
        if layer.is_mixed:
            listed = ", ".join(f"{count:,} {kind or _('without geometry')}" for kind, count in
                               sorted(layer.geometry_types.items()))
            notes.append(_("Mixed geometry types: %(listed)s. Only the type the layer needs will be imported; the "
                           "others are rejected.") % {"listed": listed})
        if layer.crs and not layer.srid:
            notes.append(_("The coordinate system could not be identified: choose it below."))
        elif not layer.crs and (layer.geometry_type or source.format == "csv"):
            notes.append(_("The file does not say which coordinate system it uses: choose it below."))
        if layer.srid:
            where = swapped_axes_check(layer, srid=layer.srid, centre=(municipality.centroid_lon,
                                                                       municipality.centroid_lat))
            if where == "swapped":
                swapped = True
                notes.append(_("Latitude and longitude look swapped: the features fall on %(town)s only with x and y "
                               "exchanged. Tick “swap latitude and longitude” below.") % {"town": municipality.name})
            elif where == "far":
                notes.append(_("The features lie more than 100 km from %(town)s: check the coordinate system.")
                             % {"town": municipality.name})
        warnings[layer.name] = notes
    return warnings, swapped


@permission_required("registry.edit")
@require_http_methods(["GET", "POST"])
def import_detail(request, import_id):
    """The preview, the mapping and the options; POST starts the check or the import."""
    municipality = _municipality(request)
    data_import = _import_for(request, import_id)
    if data_import.status in (DataImport.Status.IMPORTING, DataImport.Status.IMPORTED) or (
            data_import.status == DataImport.Status.CHECKING and data_import.job and not data_import.job.is_done):
        return redirect("dataio:import_result", import_id=data_import.pk)
    if not upload_is_available(data_import):
        messages.warning(request, _("The uploaded file “%(name)s” was removed %(days)s days after its upload. "
                                    "Upload it again to import it.")
                         % {"name": data_import.file_name, "days": settings.IMIS_UPLOAD_KEEP_DAYS})
        return redirect("dataio:index")
    source = data_import_source(data_import)
    spec = layer_spec_for(municipality, data_import.layer) if data_import.layer else None
    specs = layer_specs_for(municipality)
    suggestions = data_import_suggestions(data_import)
    saved = data_import.mapping.get("layers") or {}
    for name, entry in saved.items():  # a second visit keeps what the user chose
        if name in suggestions:
            suggestions[name] = {"target": entry["target"], "mapping": entry.get("mapping") or
                                 suggestions[name]["mapping"]}
    needs_crs = _crs_needed(source)
    initial = {key: data_import.options.get(key) for key in ("mode", "skip_bad_rows", "swap_axes")
               if key in data_import.options}
    if data_import.options.get("srid"):
        known = {choice for choice, _label in ImportSetupForm.base_fields["srid"].choices}
        srid = str(data_import.options["srid"])
        initial.update(srid=srid if srid in known else "other", srid_other=None if srid in known else srid)
    form = ImportSetupForm(request.POST or None, initial=initial, source=source, spec=spec, specs=specs,
                           suggestions=suggestions, needs_crs=needs_crs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = ImportOptions(mode=data["mode"], skip_bad_rows=data["skip_bad_rows"], srid=data["srid_value"],
                                swap_axes=data["swap_axes"], csv_geometry=form.csv_geometry())
        layers = form.layers()
        for name, entry in layers.items():
            if entry["mapping"] is None:
                entry["mapping"] = suggestions.get(name, {}).get("mapping") if suggestions.get(name, {}).get(
                    "target") == entry["target"] else None
                if entry["mapping"] is None:
                    from .importing import mapping_suggest

                    entry["mapping"] = mapping_suggest(spec=layer_spec_for(municipality, entry["target"]),
                                                       columns=source.layer(name).columns)
        try:
            data_import_configure(data_import=data_import, layers=layers, options=options, by=request.user)
            data_import_start(data_import=data_import, by=request.user, dry_run="check" in request.POST)
        except SourceError as error:
            form.add_error(None, error.message)
        else:
            return redirect("dataio:import_result", import_id=data_import.pk)
    mapping_rows = []
    if spec is not None:
        described = source.layer(form.source_layer)
        sample = described.sample[0] if described.sample else {}
        dictionary = {row.name: row for row in data_dictionary(spec)}
        for bound in form.mapping_fields():
            name = bound.name.removeprefix("map__")
            mapping_rows.append({"field": bound, "name": name, "entry": dictionary.get(name),
                                 "sample": sample.get(bound.value() or "", "") if bound.value() else "",
                                 "required": spec.field(name).required})
    targets = []
    if spec is None:
        for index, described in enumerate(source.layers):
            targets.append({"layer": described, "field": form[f"target__{index}"]})
    auto_mapped = spec is not None and mapping_is_complete(spec=spec, columns=source.layers[0].columns)
    warnings, axes_swapped = _layer_warnings(source, municipality)
    return render(request, "dataio/import_detail.html", {
        "data_import": data_import, "source": source, "spec": spec, "form": form, "mapping_rows": mapping_rows,
        "targets": targets, "warnings": warnings, "needs_crs": needs_crs,
        "auto_mapped": auto_mapped, "section": "import",
        "has_axis_warning": axes_swapped,
    })


@permission_required("registry.edit")
def import_result(request, import_id):
    data_import = _import_for(request, import_id)
    context = _result_context(data_import)
    if request.htmx:
        return render(request, "dataio/_import_status.html", context)
    return render(request, "dataio/import_result.html", context)


def _result_context(data_import: DataImport) -> dict:
    job = data_import.job
    progress = job_progress_of(job) if job else {"percent": 0, "done": 0, "total": 0, "message": ""}
    result = data_import.result or {}
    layers = result.get("layers") or []
    return {"data_import": data_import, "job": job, "progress": progress, "result": result, "layers": layers,
            "is_running": bool(job and not job.is_done), "section": "import",
            "row_label": _("line") if result.get("row_label") == "line" else _("row")}


@permission_required("registry.edit")
def import_rejects(request, import_id):
    data_import = _import_for(request, import_id)
    if not data_import.rejects_file:
        raise Http404
    path = Path(settings.MEDIA_ROOT) / data_import.rejects_file
    if not path.exists():
        raise Http404
    return FileResponse(open(path, "rb"), as_attachment=True, content_type="text/csv",  # noqa: SIM115
                        filename=f"rejects-{Path(data_import.file_name).stem}.csv")


# --- export -----------------------------------------------------------------------------------------------

def _wards() -> list[tuple[int, str]]:
    return [(number, f"{number} — {name}" if name and name != f"Ward {number}" else str(number))
            for number, name in Ward.objects.order_by("number").values_list("number", "name")]


@permission_required("registry.view")
@require_http_methods(["GET", "POST"])
def export(request):
    municipality = _municipality(request)
    form = ExportForm(request.POST or None, municipality=municipality, wards=_wards(),
                      initial={"layer": request.GET.get("layer", "buildings")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        spec = layer_spec_for(municipality, data["layer"])
        try:
            area = exporting.export_area(ward=data["ward"] if data["area"] == "ward" else None,
                                         polygon_geojson=data["polygon"] if data["area"] == "polygon" else "")
            exporting.export_validate(spec=spec, fmt=data["format"])
        except ValidationError as error:
            for field, errors in getattr(error, "error_dict", {"polygon": [error]}).items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message.message if hasattr(
                        message, "message") else str(message))
        else:
            return _export_response(request, spec=spec, fmt=data["format"], area=area)
    return render(request, "dataio/export.html", {"form": form, "section": "export",
                                                  "formats": exporting.EXPORT_FORMATS,
                                                  "inline_max": exporting.EXPORT_INLINE_MAX})


def _export_response(request, *, spec, fmt: str, area):
    export_format = exporting.EXPORT_FORMATS[fmt]
    name = exporting.export_file_name(spec, export_format, area)
    if fmt == "csv":
        response = StreamingHttpResponse(_bom_first(exporting.csv_lines(spec, area)),
                                         content_type=export_format.content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    if exporting.export_count(spec, area) > exporting.EXPORT_INLINE_MAX:
        job = exporting.export_start(spec=spec, fmt=fmt, area=area, by=request.user)
        messages.info(request, _("The export runs in the background; the file is offered here when it is ready."))
        return redirect("jobs:detail", job_id=job.pk)
    folder = Path(tempfile.mkdtemp(prefix="dataio-export-"))
    try:
        path = exporting.export_write(spec=spec, fmt=fmt, area=area, folder=folder)
        data = path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    response = FileResponse(io.BytesIO(data), as_attachment=True, filename=name,
                            content_type=export_format.content_type)
    return response


def _bom_first(pieces):
    yield "\ufeff"  # Excel opens UTF-8 (Bangla names) only with the byte-order mark
    yield from pieces


# --- data quality -----------------------------------------------------------------------------------------

def _years(request) -> int:
    try:
        return min(max(int(request.GET.get("years", quality.DEFAULT_SURVEY_YEARS)), 1), 50)
    except ValueError:
        return quality.DEFAULT_SURVEY_YEARS


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _quality_report(request, years: int):
    """The current report: refreshed while the page loads for a small registry, in a job for a large one (the
    page then shows the previous report, or a progress bar, until the job is done)."""
    report = quality.quality_latest(years=years)
    job = None
    if quality.quality_needs_refresh(report, years=years):
        if quality.registry_is_small():
            report = quality.quality_refresh(years=years)
        else:
            job = quality.quality_refresh_start(years=years, by=request.user)
    return report, job


@permission_required("registry.view")
def quality_page(request):
    years = _years(request)
    report, job = _quality_report(request, years)
    context = {"years": years, "section": "quality", "job": job,
               "progress": job_progress_of(job) if job else None}
    if report is None:
        return render(request, "dataio/quality.html", context)
    code = request.GET.get("check") or ""
    ward = _int_or_none(request.GET.get("ward"))
    checks = {check.code: check for check in report.checks}
    if code not in checks:
        code = ""
    page_number = _int_or_none(request.GET.get("page")) or 1
    problems, total = quality.quality_problems(report, code=code or None, ward=ward, limit=quality.LIST_PAGE,
                                               offset=(max(page_number, 1) - 1) * quality.LIST_PAGE)
    page = Paginator(range(total), quality.LIST_PAGE).get_page(page_number)
    totals = report.totals
    context.update({
        "report": report, "rows": [{"check": check, "count": totals[check.code]} for check in report.checks],
        "checks": checks, "code": code, "ward": ward, "problems": problems, "total": total, "page": page,
        "wards": [w for w in report.wards if w.ward_id is not None],
        "unassigned": next((w for w in report.wards if w.ward_id is None), None),
    })
    return render(request, "dataio/quality.html", context)


@permission_required("registry.view")
def quality_status(request, job_id):
    """The refresh job's progress for the page to poll; when it is done the page reloads itself."""
    from imis.tenant_apps.jobs.models import Job

    job = get_object_or_404(Job, pk=job_id, kind="dataio.quality")
    if job.is_done:
        response = render(request, "dataio/_quality_status.html", {"job": job, "progress": job_progress_of(job)})
        response["HX-Refresh"] = "true"
        return response
    return render(request, "dataio/_quality_status.html", {"job": job, "progress": job_progress_of(job)})


def _current_report_or_404(request):
    years = _years(request)
    report = quality.quality_latest(years=years)
    if report is None:
        report, _job = _quality_report(request, years)
    if report is None:
        raise Http404(_("The report is being computed; try again in a minute."))
    return report


@permission_required("registry.view")
def quality_wards_csv(request):
    report = _current_report_or_404(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["ward", "name", "records", "records_with_problems", "score"] + [c.code for c in report.checks])
    for ward in report.wards:
        writer.writerow([ward.number if ward.number is not None else "", exporting.cell_safe(ward.name),
                         ward.records, ward.problems, "" if ward.score is None else ward.score]
                        + [ward.counts.get(c.code, 0) for c in report.checks])
    return FileResponse(io.BytesIO(buffer.getvalue().encode("utf-8-sig")), as_attachment=True,
                        filename="data-quality-wards.csv", content_type="text/csv; charset=utf-8")


@permission_required("registry.view")
def quality_problems_csv(request):
    report = _current_report_or_404(request)
    host = request.build_absolute_uri("/").rstrip("/")

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["check", "ward", "record", "label", "detail", "url"])
        for index, problem in enumerate(quality.quality_problems_all(report)):
            writer.writerow([problem.code, "" if problem.ward is None else problem.ward, problem.model,
                             exporting.cell_safe(problem.label), exporting.cell_safe(problem.detail),
                             host + problem.url if problem.url else ""])
            if index % 2000 == 1999:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(_bom_first(lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="data-quality-problems.csv"'
    return response


@permission_required("registry.view")
def quality_wards_geojson(request):
    report = _current_report_or_404(request)
    return JsonResponse(quality.quality_wards_geojson(report), content_type="application/geo+json")
