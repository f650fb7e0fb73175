"""The municipal registry (tenant schema). Geometry in EPSG:4326."""

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _


class Ward(models.Model):
    number = models.PositiveSmallIntegerField(_("ward number"), unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    name_bn = models.CharField(_("name in Bangla"), max_length=100, blank=True)
    boundary = models.MultiPolygonField(_("boundary"), srid=4326, null=True, blank=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("ward")

    def __str__(self) -> str:
        return self.name or f"Ward {self.number}"
