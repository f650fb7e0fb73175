from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def transition_error(application, action: str) -> ValidationError:
    error = ValidationError(
        _("Application %(number)s is %(status)s: it cannot be %(action)s now.")
        % {"number": application.number, "status": application.get_status_display().lower(), "action": action},
        code="invalid_transition",
    )
    return error


def permission_error(action: str) -> ValidationError:
    return ValidationError(_("Your role does not allow you to %(action)s.") % {"action": action}, code="forbidden")
