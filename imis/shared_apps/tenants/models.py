"""Municipalities (the tenants), their domains and the feature catalogue. Public schema."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

slug_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{1,40}$",
    _("Use 2-41 lower-case letters, digits or underscores, starting with a letter."),
    code="invalid_slug",
)


def utm_epsg_for(*, longitude: float, latitude: float) -> int:
    """EPSG code of the WGS 84 / UTM zone holding the point (326xx north, 327xx south)."""
    zone = int((longitude + 180) // 6) + 1
    zone = min(max(zone, 1), 60)
    return (32600 if latitude >= 0 else 32700) + zone


class Municipality(TenantMixin):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        ARCHIVED = "archived", _("Archived")

    slug = models.CharField(_("slug"), max_length=41, unique=True, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=200)
    name_bn = models.CharField(_("name in Bangla"), max_length=200, blank=True)
    country = models.CharField(_("country"), max_length=2, default="BD")
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Dhaka")
    currency = models.CharField(_("currency"), max_length=3, default="BDT")
    default_language = models.CharField(
        _("default language"), max_length=8, choices=[("en", "English"), ("bn", "বাংলা")], default="en"
    )
    centroid_lon = models.FloatField(_("centre longitude"), default=90.4)
    centroid_lat = models.FloatField(_("centre latitude"), default=23.8)
    projected_srid = models.PositiveIntegerField(
        _("projected CRS (EPSG)"), help_text=_("Used for distances and areas in metres; UTM zone by default.")
    )
    holding_id_pattern = models.CharField(
        _("holding ID pattern"),
        max_length=200,
        default=r"^\d{1,3}-\d{1,4}-\d{1,5}[A-Z]?$",
        help_text=_("A regular expression every holding ID must match, e.g. ward-road-house."),
    )
    road_link_max_distance_m = models.PositiveIntegerField(
        _("longest building-to-road link (m)"), default=100,
        help_text=_("Buildings farther than this from every road are flagged for review."),
    )
    containment_max_distance_m = models.PositiveIntegerField(
        _("longest containment-to-building distance (m)"), default=50,
        help_text=_("A containment must lie this close to the buildings it serves."),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    # Schema creation is done by services.municipality_create (template restore), not by save().
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.projected_srid:
            self.projected_srid = utm_epsg_for(longitude=self.centroid_lon, latitude=self.centroid_lat)
        super().save(*args, **kwargs)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")


class Feature(models.Model):
    """The catalogue: one row per service a municipality can switch on (codes in features.CATALOGUE)."""

    code = models.CharField(max_length=40, primary_key=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class MunicipalityFeature(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="features")
    feature = models.ForeignKey(Feature, on_delete=models.PROTECT, related_name="+")
    is_enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["municipality", "feature"], name="uniq_municipality_feature")
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id}:{self.feature_id}"
