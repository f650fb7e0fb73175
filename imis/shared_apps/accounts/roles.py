"""Roles and what they may do. One table, one helper (`has_permission`) used by every view and API."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MUNICIPAL_ADMIN = "municipal_admin", _("Municipal admin")
    EXECUTIVE = "executive", _("Executive")
    SANITATION_OFFICER = "sanitation_officer", _("Sanitation officer")
    HELP_DESK = "help_desk", _("Help desk")
    TAX_OFFICER = "tax_officer", _("Tax officer")
    CASHIER = "cashier", _("Cashier")
    WATER_OFFICER = "water_officer", _("Water officer")
    GIS_OFFICER = "gis_officer", _("GIS officer")
    SERVICE_PROVIDER = "service_provider", _("Service provider")
    PLANT_OPERATOR = "plant_operator", _("Plant operator")
    FIELD_SURVEYOR = "field_surveyor", _("Field surveyor")
    VIEWER = "viewer", _("Viewer")


class PlatformRole(models.TextChoices):
    NONE = "", _("None")
    PLATFORM_ADMIN = "platform_admin", _("Platform admin")
    SUPPORT = "support", _("Support")


R = Role
ALL_ROLES = frozenset(R.values)
STAFF_READERS = ALL_ROLES

# permission code -> roles that hold it
PERMISSIONS: dict[str, frozenset[str]] = {
    "home.view": ALL_ROLES,
    "map.view": ALL_ROLES,
    "registry.view": ALL_ROLES - {R.SERVICE_PROVIDER, R.PLANT_OPERATOR},
    "registry.edit": frozenset({R.MUNICIPAL_ADMIN, R.GIS_OFFICER, R.FIELD_SURVEYOR}),
    # drawing and reshaping geometry on the map (/map/digitise/)
    "registry.digitise": frozenset({R.MUNICIPAL_ADMIN, R.GIS_OFFICER}),
    "fsm.view": frozenset({R.MUNICIPAL_ADMIN, R.EXECUTIVE, R.SANITATION_OFFICER, R.HELP_DESK, R.SERVICE_PROVIDER,
                           R.PLANT_OPERATOR, R.VIEWER}),
    "fsm.manage": frozenset({R.MUNICIPAL_ADMIN, R.SANITATION_OFFICER, R.HELP_DESK}),
    "fsm.register": frozenset({R.MUNICIPAL_ADMIN, R.SANITATION_OFFICER, R.HELP_DESK}),
    "fsm.approve": frozenset({R.MUNICIPAL_ADMIN, R.SANITATION_OFFICER}),
    "fsm.schedule": frozenset({R.MUNICIPAL_ADMIN, R.SANITATION_OFFICER}),
    "fsm.empty": frozenset({R.SANITATION_OFFICER, R.SERVICE_PROVIDER}),
    "fsm.dispose": frozenset({R.SANITATION_OFFICER, R.PLANT_OPERATOR}),
    "fsm.feedback": frozenset({R.MUNICIPAL_ADMIN, R.SANITATION_OFFICER, R.HELP_DESK}),
    "fsm.cancel": frozenset({R.MUNICIPAL_ADMIN, R.SANITATION_OFFICER, R.HELP_DESK}),
    "fsm.configure": frozenset({R.MUNICIPAL_ADMIN, R.SANITATION_OFFICER}),
    "fsm.plant": frozenset({R.MUNICIPAL_ADMIN, R.SANITATION_OFFICER, R.PLANT_OPERATOR}),
    "tax.view": frozenset({R.MUNICIPAL_ADMIN, R.EXECUTIVE, R.TAX_OFFICER, R.CASHIER, R.VIEWER}),
    "tax.manage": frozenset({R.MUNICIPAL_ADMIN, R.TAX_OFFICER}),
    "tax.collect": frozenset({R.TAX_OFFICER, R.CASHIER}),
    "tax.approve": frozenset({R.MUNICIPAL_ADMIN, R.EXECUTIVE}),
    "licence.view": frozenset({R.MUNICIPAL_ADMIN, R.EXECUTIVE, R.TAX_OFFICER, R.CASHIER, R.VIEWER}),
    "licence.manage": frozenset({R.MUNICIPAL_ADMIN, R.TAX_OFFICER}),
    "water.view": frozenset({R.MUNICIPAL_ADMIN, R.EXECUTIVE, R.WATER_OFFICER, R.CASHIER, R.VIEWER}),
    "water.manage": frozenset({R.MUNICIPAL_ADMIN, R.WATER_OFFICER}),
    "sewer.view": frozenset({R.MUNICIPAL_ADMIN, R.EXECUTIVE, R.SANITATION_OFFICER, R.WATER_OFFICER, R.VIEWER}),
    "sewer.manage": frozenset({R.MUNICIPAL_ADMIN, R.SANITATION_OFFICER}),
    "kpi.view": frozenset({R.MUNICIPAL_ADMIN, R.EXECUTIVE, R.SANITATION_OFFICER, R.TAX_OFFICER, R.WATER_OFFICER,
                           R.VIEWER}),
    "surveys.submit": frozenset({R.MUNICIPAL_ADMIN, R.FIELD_SURVEYOR, R.GIS_OFFICER, R.SERVICE_PROVIDER,
                                 R.PLANT_OPERATOR}),
    "surveys.review": frozenset({R.MUNICIPAL_ADMIN, R.GIS_OFFICER, R.SANITATION_OFFICER}),
    # outside data links (health data, water utility sync, national dashboard push)
    "links.view": frozenset({R.MUNICIPAL_ADMIN, R.EXECUTIVE, R.SANITATION_OFFICER, R.WATER_OFFICER, R.GIS_OFFICER,
                             R.VIEWER}),
    "links.manage": frozenset({R.MUNICIPAL_ADMIN, R.GIS_OFFICER}),
    # imagery under the map: uploaded GeoTIFFs and outside imagery services
    "imagery.view": ALL_ROLES,
    "imagery.manage": frozenset({R.MUNICIPAL_ADMIN, R.GIS_OFFICER}),
    "settings.manage": frozenset({R.MUNICIPAL_ADMIN}),
    "members.manage": frozenset({R.MUNICIPAL_ADMIN}),
}


def permissions_for_roles(roles) -> frozenset[str]:
    roles = set(roles)
    return frozenset(code for code, holders in PERMISSIONS.items() if roles & holders)
