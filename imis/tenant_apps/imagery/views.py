"""Imagery screens (list, upload, outside service, delete), the raster tiles and the sources list for maps."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission
from imis.tenant_apps.jobs.services import job_progress_of
from imis.tenant_apps.maps.tiles import TileOutOfRange, tile_check
from imis.tenant_apps.registry.forms import add_service_errors

from . import selectors, services
from .forms import ExternalForm, UploadForm
from .models import Imagery
from .tiles import NO_TILE, imagery_tile_cached, imagery_tile_etag


def _page(request, *, upload_form=None, external_form=None, status=200):
    items = list(selectors.imagery_list())
    for item in items:
        item.progress = job_progress_of(item.job) if item.job_id and item.job else None
    return render(request, "imagery/index.html", {
        "items": items, "can_manage": has_permission(request, "imagery.manage"),
        "is_converting": any(item.status == Imagery.Status.PROCESSING for item in items),
        "upload_form": upload_form or UploadForm(), "external_form": external_form or ExternalForm(),
    }, status=status)


@permission_required("imagery.view")
def index(request):
    return _page(request)


@require_POST
@permission_required("imagery.manage")
def upload(request):
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.imagery_upload(upload=form.cleaned_data["file"], name=form.cleaned_data["name"],
                                    by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The image is being converted; it appears on the map when it is ready."))
            return redirect("imagery:index")
    return _page(request, upload_form=form, status=400)


@require_POST
@permission_required("imagery.manage")
def external_add(request):
    form = ExternalForm(request.POST)
    if form.is_valid():
        try:
            services.imagery_external_create(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The imagery service is added to the map."))
            return redirect("imagery:index")
    return _page(request, external_form=form, status=400)


@require_POST
@permission_required("imagery.manage")
def delete(request, imagery_id: int):
    imagery = get_object_or_404(Imagery, pk=imagery_id)
    services.imagery_delete(imagery=imagery, by=request.user)
    messages.success(request, _("“%(name)s” is deleted.") % {"name": imagery.name})
    return redirect("imagery:index")


@require_GET
@permission_required("imagery.view")
def poll(request):
    """The list page polls while an image is converted: nothing to do (204) until none is, then a reload."""
    if Imagery.objects.filter(status=Imagery.Status.PROCESSING).exists():
        return HttpResponse(status=204)
    response = HttpResponse("")
    response["HX-Refresh"] = "true"
    return response


@require_GET
@permission_required("imagery.view")
def sources(request):
    template = request.build_absolute_uri(reverse("imagery:tile", args=[0, 0, 0, 0])).replace(
        "/0/0/0/0.png", "/{id}/{z}/{x}/{y}.png")

    def tile_url(imagery: Imagery) -> str:
        return template.replace("{id}", str(imagery.pk))

    response = JsonResponse(selectors.imagery_sources(tile_url=tile_url), safe=False)
    response["Cache-Control"] = "private, no-cache"
    return response


@require_GET
@permission_required("imagery.view")
def tile(request, imagery_id: int, z: int, x: int, y: int):
    imagery = get_object_or_404(Imagery, pk=imagery_id, kind=Imagery.Kind.UPLOAD, status=Imagery.Status.READY)
    try:
        tile_check(z, x, y)
    except TileOutOfRange as error:
        raise Http404(str(error)) from error
    etag = imagery_tile_etag(imagery, z, x, y)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        png = imagery_tile_cached(imagery, z, x, y)
        if png == NO_TILE:
            raise Http404("Outside the image.")
        response = HttpResponse(png, content_type="image/png")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie, Authorization"
    return response
