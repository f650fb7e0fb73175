"""Imagery under the map: a municipality's own georeferenced images (GeoTIFF, kept as a Cloud-Optimised GeoTIFF in
EPSG:3857 and served as raster tiles by us) and outside XYZ/WMTS imagery services (only their URL template)."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class Imagery(models.Model):
    class Kind(models.TextChoices):
        UPLOAD = "upload", _("Uploaded image")
        EXTERNAL = "external", _("Outside imagery service")

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Being converted")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PROCESSING)
    # uploads: the COG (path under MEDIA_ROOT), what it covers, its pixel size and its useful zooms
    file = models.CharField(max_length=500, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    bounds = models.PolygonField(_("area covered"), srid=4326, null=True, blank=True)
    resolution_m = models.FloatField(_("pixel size (m)"), null=True, blank=True)
    min_zoom = models.PositiveSmallIntegerField(_("minimum zoom"), default=0)
    max_zoom = models.PositiveSmallIntegerField(_("maximum zoom"), default=22)
    # images that are not 8-bit (16-bit satellite scenes, elevation): [[low, high], ...] per band shown, the same
    # stretch for every tile
    value_range = models.JSONField(default=list, blank=True)
    # outside services: the URL template with {z}, {x} and {y}
    url_template = models.CharField(_("URL template"), max_length=1000, blank=True)
    attribution = models.CharField(_("attribution"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="part of the tile cache key; bumped on a new file")
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "imagery"

    def __str__(self) -> str:
        return self.name

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY
