"""Writes on accounts: users, memberships and API tokens."""

from __future__ import annotations

import hashlib
import secrets

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imis.platform.errors import field_error

from .models import ApiToken, Membership, User
from .roles import Role

TOKEN_PREFIX = "imis_"  # noqa: S105 - a public marker, not a secret


def phone_to_e164(phone: str, *, region: str = "BD") -> str:
    """`01712345678` -> `+8801712345678`; raises ValidationError(code="invalid_phone")."""
    if not phone:
        return ""
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(_("Enter a phone number such as 01712345678."), code="invalid_phone") from error
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("Enter a phone number such as 01712345678."), code="invalid_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def user_create(
    *, email: str, password: str | None, full_name: str = "", phone: str = "", preferred_language: str = "",
    platform_role: str = "",
) -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email=email).exists():
        raise ValidationError(_("A user with this email exists."), code="duplicate_email")
    return User.objects.create_user(
        email, password, full_name=full_name, phone=phone_to_e164(phone),
        preferred_language=preferred_language, platform_role=platform_role,
    )


def membership_grant(*, user: User, municipality, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError(_("Unknown role “%(role)s”."), code="invalid_role", params={"role": role})
    membership, _created = Membership.objects.update_or_create(
        user=user, municipality=municipality, role=role, defaults={"is_active": True}
    )
    return membership


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: User, municipality, name: str) -> tuple[ApiToken, str]:
    """Create a token; returns (token, key). The key is never stored and cannot be shown again."""
    if not Membership.objects.filter(user=user, municipality=municipality, is_active=True).exists():
        raise ValidationError(_("You are not a member of this municipality."), code="no_membership")
    name = (name or "").strip()
    if not name:
        raise field_error({"name": _("Give the token a name, e.g. “QGIS on my laptop”.")}, code="required")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, municipality=municipality, name=name[:100], prefix=key[:12], key_hash=_hash_key(key)
    )
    return token, key


def api_token_revoke(*, token: ApiToken, by: User) -> ApiToken:
    if token.user_id != by.pk:
        raise ValidationError(_("You can revoke only your own tokens."), code="forbidden")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, key: str, municipality) -> User | None:
    """The active user behind a token valid for this municipality, or None."""
    if not key or not key.startswith(TOKEN_PREFIX) or municipality is None:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_key(key), revoked_at__isnull=True, municipality=municipality)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
    return token.user
