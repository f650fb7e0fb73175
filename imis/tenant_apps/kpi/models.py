"""KPI targets (per indicator per fiscal year, set by the municipal admin) and the safe-sanitation rule."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class KpiTarget(models.Model):
    class Direction(models.TextChoices):
        HIGHER = "higher", _("Higher is better")
        LOWER = "lower", _("Lower is better")

    code = models.CharField(_("indicator"), max_length=20)
    year = models.PositiveSmallIntegerField(_("fiscal year (first year)"), help_text=_("2026 means 2026-27"))
    target = models.DecimalField(_("target"), max_digits=12, decimal_places=2)
    direction = models.CharField(_("direction"), max_length=6, choices=Direction.choices, default=Direction.HIGHER)
    amber_band = models.DecimalField(
        _("amber band"), max_digits=12, decimal_places=2, default=10, validators=[MinValueValidator(0)],
        help_text=_("How far short of the target (in the indicator's unit) still shows amber rather than red."))
    updated = models.DateTimeField(auto_now=True)
    updated_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["year", "code"]
        constraints = [models.UniqueConstraint(fields=["code", "year"], name="uniq_kpi_target")]

    def __str__(self) -> str:
        return f"{self.code} {self.year}: {self.target}"


class SanitationRule(models.Model):
    """Which buildings count as safely managed (one row per municipality; defaults in indicators.py)."""

    safe_systems = models.JSONField(_("always safe sanitation systems"), default=list)
    containment_systems = models.JSONField(_("safe when their containment is safe"), default=list)
    safe_containment_types = models.JSONField(_("safe containment types"), default=list)
    safe_outlets = models.JSONField(_("safe containment outlets"), default=list)
    is_shared_toilet_safe = models.BooleanField(_("a toilet shared with other buildings counts as safe"),
                                                default=False)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Safe sanitation rule"
