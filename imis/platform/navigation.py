"""The sidebar: what a role may use, of what the municipality has enabled."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from imis.shared_apps.accounts.selectors import request_permissions
from imis.shared_apps.tenants.features import enabled_features_of


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str
    icon: str
    permission: str | tuple[str, ...]  # any of them
    feature: str | None = None


NAV_ITEMS = [
    NavItem("home", _("Home"), "bi-house", "home.view"),
    NavItem("maps:index", _("Map"), "bi-map", "map.view"),
    NavItem("digitise:page", _("Digitise"), "bi-vector-pen", "registry.digitise"),
    NavItem("fsm:index", _("Faecal sludge"), "bi-truck", "fsm.view", "fsm"),
    NavItem("tax:index", _("Holding tax"), "bi-cash-coin", "tax.view", "holding_tax"),
    NavItem("payments:online", _("Online payments"), "bi-credit-card", "tax.view", "holding_tax"),
    NavItem("licences:index", _("Trade licence"), "bi-shop", "licence.view", "trade_licence"),
    NavItem("water:index", _("Water supply"), "bi-droplet", "water.view", "water_supply"),
    NavItem("sewer:index", _("Sewer"), "bi-diagram-3", "sewer.view", "sewer"),
    NavItem("registry:index", _("Registry"), "bi-buildings", "registry.view"),
    NavItem("dataio:index", _("Data"), "bi-database", "registry.view"),
    NavItem("kpi:index", _("Reports"), "bi-bar-chart", "kpi.view"),
    NavItem("links:index", _("Outside data"), "bi-plug", "links.view"),
    NavItem("surveys:index", _("Surveys"), "bi-clipboard-check", ("surveys.submit", "surveys.review")),
    NavItem("audit:log", _("Audit log"), "bi-journal-text", "settings.manage"),
    NavItem("settings", _("Settings"), "bi-gear", "settings.manage"),
]


def _url(item: NavItem) -> str:
    try:
        return reverse(item.url_name)
    except NoReverseMatch:
        return ""


def nav_for(request) -> list[dict]:
    municipality = getattr(request, "municipality", None)
    if municipality is None:
        return []
    permissions = request_permissions(request)
    features = enabled_features_of(municipality)
    items = []
    for item in NAV_ITEMS:
        needed = (item.permission,) if isinstance(item.permission, str) else item.permission
        if not permissions.intersection(needed) or (item.feature and item.feature not in features):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue  # a page that a later part of the product adds
        active = request.path == url if url == "/" else request.path.startswith(url)
        if active and any(other.url_name != item.url_name and len(_url(other)) > len(url)
                          and request.path.startswith(_url(other)) for other in NAV_ITEMS):
            active = False  # /map/digitise/ is Digitise's, not Map's
        items.append({"url": url, "label": item.label, "icon": item.icon, "active": active})
    return items
