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
