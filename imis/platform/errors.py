"""Validation errors that carry a code, per field, for the web forms and the API alike."""

from django.core.exceptions import ValidationError


def field_error(errors: dict[str, str], *, code: str) -> ValidationError:
    """`raise field_error({"bin": "BIN B-1 is already registered."}, code="duplicate_bin")`.

    Django drops `code` from a dict-shaped ValidationError; here each field's error keeps it, and so does the
    whole error (`error.code`), so edges can show the message beside the field and return the code.
    """
    error = ValidationError({field: ValidationError(message, code=code) for field, message in errors.items()})
    error.code = code
    return error
