"""View decorators: the one permission helper (accounts.selectors.has_permission) at the edges."""

from functools import wraps

from django.shortcuts import render

from imis.shared_apps.accounts.selectors import has_permission


def permission_required(code: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_permission(request, code):
                return render(request, "errors/403.html", {"reason": "role", "permission": code}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def require_permission(by, *permissions: str, action: str) -> None:
    """Services' own check: the actor (None = the system) must hold one of `permissions` in this municipality.
    Refused with a ValidationError (code "forbidden") whose message names the action."""
    from django.core.exceptions import ValidationError
    from django.db import connection
    from django.utils.translation import gettext as _

    from imis.shared_apps.accounts.selectors import actor_permissions

    granted = actor_permissions(by, connection.tenant)
    if granted is not None and not (granted & set(permissions)):
        raise ValidationError(_("Your role does not allow you to %(action)s.") % {"action": action}, code="forbidden")
