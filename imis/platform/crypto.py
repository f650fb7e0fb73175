"""Secrets a municipality enters (gateway keys) are stored encrypted with a key derived from SECRET_KEY
(or IMIS_FIELD_ENCRYPTION_KEY when set, so SECRET_KEY can rotate separately)."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    material = getattr(settings, "IMIS_FIELD_ENCRYPTION_KEY", "") or settings.SECRET_KEY
    key = hashlib.sha256(("imis-field-encryption:" + material).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode() if text else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("The stored secret cannot be decrypted with this server's key.") from error
