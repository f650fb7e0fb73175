from imis.shared_apps.accounts.selectors import request_permissions
from imis.shared_apps.tenants.features import enabled_features_of

from .navigation import nav_for


def shell(request):
    municipality = getattr(request, "municipality", None)
    return {
        "municipality": municipality,
        "enabled_features": enabled_features_of(municipality),
        "imis_perms": request_permissions(request) if municipality else frozenset(),
        "nav_items": nav_for(request),
    }
