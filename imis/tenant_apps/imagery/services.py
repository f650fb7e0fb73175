"""Imagery: upload a GeoTIFF (checked at once, converted to a Cloud-Optimised GeoTIFF in EPSG:3857 as a job),
configure an outside XYZ/WMTS service, delete. Files live under MEDIA_ROOT/imagery/<schema_name>/."""

from __future__ import annotations

import logging
import math
import re
import subprocess
import threading
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from imis.platform.errors import field_error
from imis.platform.permissions import require_permission
from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.audit.services import audit_record
from imis.tenant_apps.jobs.services import job_create, job_enqueue, job_fail, job_progress, job_start, job_succeed

from . import errors
from .models import Imagery

logger = logging.getLogger(__name__)
OUTSIDE_MARGIN_DEGREES = 0.01  # about 1 km: an image may reach a little beyond the last ward
MAX_ZOOM = 22
MIN_ZOOM_AT_LEAST = 12
PLACEHOLDERS = ("{z}", "{x}", "{y}")


def imagery_folder() -> Path:
    """This municipality's imagery folder (created on demand)."""
    folder = Path(settings.MEDIA_ROOT) / "imagery" / connection.schema_name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def imagery_path(imagery: Imagery) -> Path:
    return Path(settings.MEDIA_ROOT) / imagery.file


def _relative(path: Path) -> str:
    return str(path.relative_to(Path(settings.MEDIA_ROOT)))


def _audited(imagery: Imagery) -> dict:
    return {"kind": imagery.kind, "name": imagery.name, "status": imagery.status, "file": imagery.file,
            "url_template": imagery.url_template, "attribution": imagery.attribution,
            "bounds": imagery.bounds.extent if imagery.bounds else None, "max_zoom": imagery.max_zoom}


# --- checks ---------------------------------------------------------------------------------------------

def geotiff_bounds(path: Path) -> tuple[float, float, float, float]:
    """The file's bounds in EPSG:4326 (west, south, east, north), or a ValidationError saying what is wrong."""
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.warp import transform_bounds

    try:
        with rasterio.open(path) as source:
            driver, crs, transform, bounds = source.driver, source.crs, source.transform, source.bounds
            gcps, gcp_crs = source.gcps
    except (RasterioError, OSError) as error:
        raise field_error({"file": _("This file is not a GeoTIFF image (it could not be read as one).")},
                          code=errors.NOT_GEOTIFF) from error
    if driver != "GTiff":
        raise field_error({"file": _("This file is not a GeoTIFF image (it is %(format)s).") % {"format": driver}},
                          code=errors.NOT_GEOTIFF)
    if crs is not None and not transform.is_identity:
        west, south, east, north = transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=21)
    elif gcps and gcp_crs is not None:
        xs, ys = [point.x for point in gcps], [point.y for point in gcps]
        west, south, east, north = transform_bounds(gcp_crs, "EPSG:4326", min(xs), min(ys), max(xs), max(ys))
    else:
        raise field_error({"file": _("This GeoTIFF has no georeference (no coordinate system or position), so it "
                                     "cannot be placed on the map. Georeference it in a GIS and upload it again.")},
                          code=errors.NO_GEOREFERENCE)
    if not all(math.isfinite(value) for value in (west, south, east, north)) or not (
            -180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise field_error({"file": _("This GeoTIFF's georeference does not place it on the Earth.")},
                          code=errors.NO_GEOREFERENCE)
    return west, south, east, north


def _check_inside_municipality(bounds: tuple[float, float, float, float], municipality) -> None:
    from imis.tenant_apps.maps.selectors import municipality_extent

    minx, miny, maxx, maxy = municipality_extent(municipality)
    margin = OUTSIDE_MARGIN_DEGREES
    west, south, east, north = bounds
    if east < minx - margin or west > maxx + margin or north < miny - margin or south > maxy + margin:
        raise field_error({"file": _("This image lies entirely outside %(municipality)s (it covers %(west).4f, "
                                     "%(south).4f to %(east).4f, %(north).4f). Check its coordinate system.")
                                   % {"municipality": municipality.name, "west": west, "south": south,
                                      "east": east, "north": north}},
                          code=errors.OUTSIDE)


# --- upload and conversion ------------------------------------------------------------------------------

def imagery_upload(*, upload, name: str, by) -> Imagery:
    """Check the uploaded GeoTIFF (size, GeoTIFF, georeferenced, over the municipality), keep it and start its
    conversion job. A refused file leaves nothing behind."""
    require_permission(by, "imagery.manage", action=_("upload imagery"))
    limit = settings.IMIS_IMAGERY_MAX_BYTES
    if upload.size > limit:
        raise field_error({"file": _("This file is too big (%(size)s MB); the largest accepted is %(limit)s MB.")
                                   % {"size": math.ceil(upload.size / 2**20), "limit": limit // 2**20}},
                          code=errors.TOO_BIG)
    source = imagery_folder() / f"{uuid.uuid4().hex}.source.tif"
    try:
        with source.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        bounds = geotiff_bounds(source)
        _check_inside_municipality(bounds, connection.tenant)
        with transaction.atomic():
            imagery = Imagery.objects.create(
                kind=Imagery.Kind.UPLOAD, name=(name or Path(upload.name).stem)[:120],
                original_name=Path(upload.name).name[:255], file=_relative(source), status=Imagery.Status.PROCESSING,
                bounds=Polygon.from_bbox(bounds), created_by_id=getattr(by, "pk", None))
            job = job_create(kind="imagery.convert", title=_("Imagery: %(name)s") % {"name": imagery.name}, by=by,
                             params={"imagery_id": imagery.pk})
            imagery.job = job
            imagery.save(update_fields=["job"])
            audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=imagery, after=_audited(imagery))
            from .tasks import convert_imagery

            job_enqueue(job=job, task=convert_imagery, imagery_id=imagery.pk)
    except BaseException:
        source.unlink(missing_ok=True)
        raise
    return imagery


_PERCENT = re.compile(rb"(\d+)(?=\.\.\.|\s*-\s*done)")


def _gdalwarp(source: Path, target: Path, *, job_id) -> None:
    """gdalwarp to a COG in EPSG:3857 (transparent outside the image), its percentage shown as the job's progress,
    killed after IMIS_IMAGERY_CONVERT_SECONDS."""
    command = ["gdalwarp", "-overwrite", "-t_srs", "EPSG:3857", "-r", "bilinear",
               "-dstalpha", "-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "BLOCKSIZE=256",
               "-co", "OVERVIEW_RESAMPLING=AVERAGE", "-co", "BIGTIFF=IF_SAFER", str(source), str(target)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603
    timer = threading.Timer(settings.IMIS_IMAGERY_CONVERT_SECONDS, process.kill)
    timer.start()
    try:
        shown = -1
        while chunk := process.stdout.read1(256):
            for match in _PERCENT.finditer(chunk):
                percent = int(match.group(1))
                if percent != shown and job_id is not None:
                    shown = percent
                    job_progress(job_id=job_id, done=percent, total=100, message=_("Converting the image"))
        stderr = process.stderr.read().decode(errors="replace")
        code = process.wait()
    finally:
        timer.cancel()
    if code != 0:
        if code < 0:
            stderr = _("The conversion took longer than %(seconds)s seconds and was stopped.") % {
                "seconds": settings.IMIS_IMAGERY_CONVERT_SECONDS}
        raise ValidationError(_("The image could not be converted: %(reason)s") % {"reason": stderr.strip()[-500:]},
                              code=errors.CONVERSION)


def shown_bands(dataset) -> tuple[int, ...]:
    """Red, green, blue: the first three bands of a colour image, or the one band of a grey one (not the alpha)."""
    count = dataset.count - (1 if dataset.colorinterp[-1].name == "alpha" else 0)
    return (1, 2, 3) if count >= 3 else (1,)


def _describe(path: Path) -> dict:
    from rio_tiler.io import Reader

    with Reader(str(path)) as cog:
        west, south, east, north = cog.get_geographic_bounds("epsg:4326")
        size_m = abs(cog.dataset.res[0]) * math.cos(math.radians((south + north) / 2))
        value_range = []
        if cog.dataset.dtypes[0] != "uint8":
            statistics = cog.statistics(indexes=shown_bands(cog.dataset))
            value_range = [[band.percentile_2, band.percentile_98] for band in statistics.values()]
        # shown from a town-wide view on, even when the whole image fits one tile only near its full resolution
        return {"bounds": (west, south, east, north), "resolution_m": size_m, "value_range": value_range,
                "min_zoom": max(0, min(cog.minzoom, MIN_ZOOM_AT_LEAST)), "max_zoom": max(0, min(cog.maxzoom, MAX_ZOOM))}


def imagery_convert_run(*, job_id, imagery_id: int) -> Imagery:
    """The conversion job: the kept upload -> a COG in EPSG:3857; records bounds, pixel size and zooms. Safe to
    re-run (the source is removed only once the COG is in place)."""
    job_start(job_id=job_id)
    imagery = Imagery.objects.get(pk=imagery_id)
    source = imagery_path(imagery)
    target = imagery_folder() / f"{imagery.pk}-{uuid.uuid4().hex[:8]}.cog.tif"
    if imagery.status == Imagery.Status.READY:
        job_succeed(job_id=job_id, result={"imagery_id": imagery.pk})
        return imagery
    try:
        _gdalwarp(source, target, job_id=job_id)
        facts = _describe(target)
    except (ValidationError, OSError, RuntimeError) as error:
        target.unlink(missing_ok=True)
        message = error.messages[0] if isinstance(error, ValidationError) else str(error)
        logger.warning("imagery %s: conversion failed: %s", imagery.pk, message)
        source.unlink(missing_ok=True)
        Imagery.objects.filter(pk=imagery.pk).update(status=Imagery.Status.FAILED, error=message, file="")
        job_fail(job_id=job_id, error=message)
        imagery.refresh_from_db()
        return imagery
    with transaction.atomic():
        imagery = Imagery.objects.select_for_update().get(pk=imagery.pk)
        imagery.file = _relative(target)
        imagery.bounds = Polygon.from_bbox(facts["bounds"])
        imagery.resolution_m = facts["resolution_m"]
        imagery.value_range = facts["value_range"]
        imagery.min_zoom, imagery.max_zoom = facts["min_zoom"], facts["max_zoom"]
        imagery.status = Imagery.Status.READY
        imagery.error = ""
        imagery.version += 1
        imagery.save()
        audit_record(actor=None, action=AuditEntry.Action.UPDATE, instance=imagery, after=_audited(imagery))
    source.unlink(missing_ok=True)
    job_progress(job_id=job_id, done=100, total=100, message="")
    job_succeed(job_id=job_id, result={"imagery_id": imagery.pk, "max_zoom": imagery.max_zoom})
    return imagery


# --- outside services -----------------------------------------------------------------------------------

WMTS_PLACEHOLDERS = {"{TileMatrix}": "{z}", "{TileCol}": "{x}", "{TileRow}": "{y}"}


def _check_url_template(url: str) -> str:
    """An XYZ template, or a WMTS REST one (its {TileMatrix}/{TileRow}/{TileCol} become {z}/{y}/{x}: a Web
    Mercator tile matrix set, "GoogleMapsCompatible", is assumed)."""
    url = (url or "").strip()
    for wmts, xyz in WMTS_PLACEHOLDERS.items():
        url = url.replace(wmts, xyz)
    if not re.match(r"^https?://[^\s/]+/\S*$", url):
        raise field_error({"url_template": _("Give the address as http(s)://…")}, code=errors.BAD_URL)
    missing = [placeholder for placeholder in PLACEHOLDERS if placeholder not in url]
    if missing:
        raise field_error({"url_template": _("The address must hold %(missing)s where the tile's zoom, column and "
                                             "row go, e.g. https://tiles.example.org/{z}/{x}/{y}.png")
                                           % {"missing": ", ".join(missing)}}, code=errors.BAD_URL)
    return url


def imagery_external_create(*, name: str, url_template: str, attribution: str = "", max_zoom: int = 19,
                            by) -> Imagery:
    require_permission(by, "imagery.manage", action=_("configure imagery"))
    url = _check_url_template(url_template)
    if not 0 <= int(max_zoom) <= MAX_ZOOM:
        raise field_error({"max_zoom": _("The maximum zoom lies between 0 and %(max)s.") % {"max": MAX_ZOOM}},
                          code="invalid")
    if not (name or "").strip():
        raise field_error({"name": _("Give the imagery a name.")}, code="required")
    with transaction.atomic():
        imagery = Imagery.objects.create(kind=Imagery.Kind.EXTERNAL, name=name.strip()[:120], url_template=url,
                                         attribution=(attribution or "").strip()[:300], max_zoom=int(max_zoom),
                                         status=Imagery.Status.READY, created_by_id=getattr(by, "pk", None))
        audit_record(actor=by, action=AuditEntry.Action.CREATE, instance=imagery, after=_audited(imagery))
    return imagery


def imagery_delete(*, imagery: Imagery, by) -> None:
    """Remove the imagery and its file (after the transaction commits)."""
    require_permission(by, "imagery.manage", action=_("delete imagery"))
    path = imagery_path(imagery) if imagery.file else None
    with transaction.atomic():
        audit_record(actor=by, action=AuditEntry.Action.DELETE, instance=imagery, before=_audited(imagery))
        imagery.delete()
        if path is not None:
            transaction.on_commit(lambda: path.unlink(missing_ok=True))
