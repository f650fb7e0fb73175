"""Writes on municipalities: creation (schema, domain, features), status and feature settings."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from .features import CATALOGUE, clean_feature_settings
from .models import Domain, Feature, Municipality, slug_validator, utm_epsg_for
from .template_schema import TemplateSchemaError, schema_create_from_template

log = logging.getLogger(__name__)

RESERVED_SLUGS = {"public", "www", "console", "api", "static", "media", "admin", "information_schema"}


def feature_catalogue_sync() -> None:
    """Keep the catalogue table equal to features.CATALOGUE (idempotent)."""
    for order, spec in enumerate(CATALOGUE.values()):
        Feature.objects.update_or_create(
            code=spec.code,
            defaults={"name": str(spec.name), "description": str(spec.description), "sort_order": order},
        )


def default_domain_for(slug: str) -> str:
    return f"{slug}.{settings.IMIS_BASE_DOMAIN}"


def municipality_create(
    *,
    slug: str,
    name: str,
    features: list[str],
    name_bn: str = "",
    domain: str | None = None,
    centroid: tuple[float, float] | None = None,
    timezone: str = "Asia/Dhaka",
    currency: str = "BDT",
    default_language: str = "en",
    projected_srid: int | None = None,
    feature_settings: dict[str, dict] | None = None,
) -> Municipality:
    """Create a ready municipality: its schema (copied from the template), domain and features.

    Runs in one transaction: on any error nothing is left behind, neither rows nor schema.
    """
    slug_validator(slug)
    if slug in RESERVED_SLUGS or slug == settings.IMIS_TEMPLATE_SCHEMA:
        raise ValidationError(_("“%(slug)s” is reserved."), code="reserved_slug", params={"slug": slug})
    if not name.strip():
        raise ValidationError(_("A municipality needs a name."), code="required")
    unknown = [code for code in features if code not in CATALOGUE]
    if unknown:
        raise ValidationError(_("Unknown feature(s): %(codes)s"), code="unknown_feature",
                              params={"codes": ", ".join(unknown)})
    domain = (domain or default_domain_for(slug)).lower()
    if Municipality.objects.filter(slug=slug).exists():
        raise ValidationError(_("A municipality with slug “%(slug)s” exists."), code="duplicate_slug",
                              params={"slug": slug})
    if Domain.objects.filter(domain=domain).exists():
        raise ValidationError(_("The domain %(domain)s is taken."), code="duplicate_domain",
                              params={"domain": domain})
    cleaned_settings = {code: clean_feature_settings(code, (feature_settings or {}).get(code)) for code in features}
    lon, lat = centroid or (90.4, 23.8)

    connection.set_schema_to_public()
    feature_catalogue_sync()
    with transaction.atomic():
        municipality = Municipality(
            schema_name=slug,
            slug=slug,
            name=name.strip(),
            name_bn=name_bn.strip(),
            timezone=timezone,
            currency=currency,
            default_language=default_language,
            centroid_lon=lon,
            centroid_lat=lat,
            projected_srid=projected_srid or utm_epsg_for(longitude=lon, latitude=lat),
        )
        municipality.full_clean(exclude=["schema_name"])
        municipality.save()
        Domain.objects.create(domain=domain, tenant=municipality, is_primary=True)
        for code in features:
            municipality.features.create(feature_id=code, is_enabled=True, settings=cleaned_settings[code])
        try:
            schema_create_from_template(schema_name=slug)
        except TemplateSchemaError:
            log.warning("template schema unavailable; migrating %s instead", slug)
            municipality.create_schema(check_if_exists=True, verbosity=0)
    connection.set_schema_to_public()
    return municipality


def municipality_set_status(*, municipality: Municipality, status: str) -> Municipality:
    if status not in Municipality.Status.values:
        raise ValidationError(_("Unknown status “%(status)s”."), code="invalid_status", params={"status": status})
    Municipality.objects.filter(pk=municipality.pk).update(status=status)
    municipality.status = status
    return municipality


def municipality_feature_set(
    *, municipality: Municipality, code: str, is_enabled: bool, settings_data: dict | None = None
) -> None:
    """Enable or disable a feature, validating its settings."""
    cleaned = clean_feature_settings(code, settings_data)
    feature_catalogue_sync()
    municipality.features.update_or_create(feature_id=code, defaults={"is_enabled": is_enabled, "settings": cleaned})
    municipality._enabled_features = None
