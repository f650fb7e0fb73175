"""Reads: this municipality's imagery, and the list the maps read (`/imagery/sources.json`)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Imagery


def imagery_list() -> QuerySet[Imagery]:
    return Imagery.objects.select_related("job").order_by("-created")


def imagery_ready() -> QuerySet[Imagery]:
    return Imagery.objects.filter(status=Imagery.Status.READY).order_by("kind", "name", "pk")


def imagery_sources(*, tile_url) -> list[dict]:
    """`[{"id", "name", "tiles", "attribution", "bounds", "minzoom", "maxzoom", "kind"}]` for MapLibre raster
    sources; `tile_url(imagery)` gives an uploaded image's tile URL template."""
    sources = []
    for imagery in imagery_ready():
        upload = imagery.kind == Imagery.Kind.UPLOAD
        sources.append({
            "id": imagery.pk,
            "name": imagery.name,
            "tiles": [tile_url(imagery) if upload else imagery.url_template],
            "attribution": imagery.attribution,
            "bounds": list(imagery.bounds.extent) if upload and imagery.bounds else [-180, -85.0511, 180, 85.0511],
            "minzoom": imagery.min_zoom if upload else 0,
            "maxzoom": imagery.max_zoom,
            "kind": imagery.kind,
        })
    return sources
