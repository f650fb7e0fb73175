"""Who is the device? OpenRosa clients send HTTP Basic or Digest credentials, not a session.

* Basic: the user's email and either their password (checked with Django's hasher) or a device key (an API
  token). Basic sends the secret with every request, so production serves this only over HTTPS.
* Digest (RFC 7616, MD5, qop=auth): only with a device key. Digest needs HA1 = MD5(user:realm:secret) on the
  server, and Django keeps salted password hashes only; a device key's HA1 is kept when the key is issued
  (models.DeviceKey). ODK Collect refuses Basic over plain HTTP, so over HTTP a device key is the way in.
* `Authorization: Token …` (accounts' API tokens) is taken by ApiTokenMiddleware before we get here.

Failed attempts are counted like the login's (10 a minute per address, 5 in 5 minutes per account) in the
tenant-scoped cache; past the limit the answer is 429 until the window passes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from imis.shared_apps.accounts.models import ApiToken, User
from imis.shared_apps.accounts.services import TOKEN_PREFIX, api_token_authenticate

from .models import DeviceKey

NONCE_SECONDS = 300
IP_LIMIT, IP_WINDOW = 10, 60
ACCOUNT_LIMIT, ACCOUNT_WINDOW = 5, 300
_DIGEST_PARAM = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def realm_of(municipality) -> str:
    return f"IMIS {municipality.slug}"


def digest_ha1(*, username: str, realm: str, secret: str) -> str:
    return md5_hex(f"{username}:{realm}:{secret}")


@dataclass
class AuthOutcome:
    user: User | None = None
    # why not: "missing" (no credentials: just challenge), "invalid", "stale" (Digest nonce expired),
    # "throttled" (too many failures)
    failure: str = ""
    retry_after: int = 0
    method: str = ""  # "password", "device_key" or "token"


# --- nonces -------------------------------------------------------------------------------------------

def nonce_new(realm: str, *, now: float | None = None) -> str:
    stamp = str(int(now if now is not None else time.time()))
    mac = salted_hmac("surveys.digest-nonce", f"{stamp}:{realm}").hexdigest()[:32]
    return base64.b64encode(f"{stamp}:{mac}".encode()).decode()


def nonce_check(nonce: str, realm: str) -> str:
    """"ok", "stale" (ours, but too old) or "invalid"."""
    try:
        stamp, mac = base64.b64decode(nonce.encode(), validate=True).decode().split(":", 1)
        issued = int(stamp)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return "invalid"
    expected = salted_hmac("surveys.digest-nonce", f"{stamp}:{realm}").hexdigest()[:32]
    if not constant_time_compare(mac, expected):
        return "invalid"
    return "ok" if 0 <= time.time() - issued <= NONCE_SECONDS else "stale"


def challenges(realm: str, *, stale: bool = False) -> list[str]:
    """Basic first: Collect over HTTPS then sends the password (or key) it has; over HTTP it answers Digest."""
    opaque = md5_hex(realm)
    digest = (f'Digest realm="{realm}", qop="auth", algorithm=MD5, nonce="{nonce_new(realm)}", '
              f'opaque="{opaque}"' + (", stale=true" if stale else ""))
    return [f'Basic realm="{realm}", charset="UTF-8"', digest]


# --- failures -----------------------------------------------------------------------------------------

def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _failure_keys(request, username: str) -> list[tuple[str, int, int]]:
    keys = [(f"surveys:auth-fail:ip:{_client_ip(request)}", IP_LIMIT, IP_WINDOW)]
    if username:
        keys.append((f"surveys:auth-fail:user:{md5_hex(username.lower())}", ACCOUNT_LIMIT, ACCOUNT_WINDOW))
    return keys


def _throttled(request, username: str) -> int:
    """Seconds to wait if a limit is reached, else 0."""
    for key, limit, window in _failure_keys(request, username):
        if (cache.get(key) or 0) >= limit:
            return window
    return 0


def _record_failure(request, username: str) -> None:
    for key, _limit, window in _failure_keys(request, username):
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:  # expired in between
            cache.set(key, 1, window)


# --- the schemes --------------------------------------------------------------------------------------

def _basic(request, value: str, municipality) -> tuple[str, User | None]:
    try:
        username, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").split(":", 1)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return "", None
    username = username.strip().lower()
    if password.startswith(TOKEN_PREFIX):
        user = api_token_authenticate(key=password, municipality=municipality)
        return username, user if user is not None and user.email.lower() == username else None
    user = User.objects.filter(email__iexact=username, is_active=True).first()
    if user is None:
        check_password(password, None)  # same work either way: no user enumeration by timing
        return username, None
    return username, user if user.check_password(password) else None


def _digest_params(value: str) -> dict[str, str]:
    return {key.lower(): (quoted if quoted is not None and quoted != "" else bare or "").replace('\\"', '"')
            for key, quoted, bare in _DIGEST_PARAM.findall(value)}


def _digest(request, value: str, municipality) -> tuple[str, User | None, bool]:
    """(username, user or None, is_stale)."""
    params = _digest_params(value)
    username = params.get("username", "").strip().lower()
    realm = realm_of(municipality)
    required = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
    if any(not params.get(name) for name in required) or params["realm"] != realm or params["qop"] != "auth" \
            or params.get("algorithm", "MD5").upper() != "MD5":
        return username, None, False
    if params["uri"] not in (request.get_full_path(), request.path):
        return username, None, False
    nonce_state = nonce_check(params["nonce"], realm)
    if nonce_state != "ok":
        return username, None, nonce_state == "stale"
    try:
        count = int(params["nc"], 16)
    except ValueError:
        return username, None, False
    ha2 = md5_hex(f"{request.method}:{params['uri']}")
    for key in DeviceKey.objects.filter(username=username, realm=realm):
        expected = md5_hex(f"{key.ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        if not hmac.compare_digest(expected, params["response"].lower()):
            continue
        seen_key = f"surveys:digest-nc:{params['nonce']}"
        if count <= (cache.get(seen_key) or 0):
            return username, None, True  # a replayed request: make the client start afresh
        cache.set(seen_key, count, NONCE_SECONDS * 2)
        token = ApiToken.objects.select_related("user").filter(pk=key.token_id, revoked_at__isnull=True,
                                                               municipality=municipality).first()
        if token is None or not token.user.is_active:
            return username, None, False
        ApiToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return username, token.user, False
    return username, None, False


def openrosa_authenticate(request, municipality) -> AuthOutcome:
    if getattr(request, "is_token_authenticated", False):
        return AuthOutcome(user=request.user, method="token")
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme not in ("basic", "digest"):
        return AuthOutcome(failure="missing")
    username = ""
    if scheme == "digest":
        username = _digest_params(value).get("username", "").strip().lower()
    else:
        try:
            username = base64.b64decode(value.strip(), validate=True).decode("utf-8").split(":", 1)[0].lower()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            username = ""
    wait = _throttled(request, username)
    if wait:
        return AuthOutcome(failure="throttled", retry_after=wait)
    if scheme == "basic":
        username, user = _basic(request, value, municipality)
        stale = False
        try:
            secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").split(":", 1)[1]
        except (ValueError, IndexError, binascii.Error, UnicodeDecodeError):
            secret = ""
        method = "device_key" if secret.startswith(TOKEN_PREFIX) else "password"
    else:
        username, user, stale = _digest(request, value, municipality)
        method = "device_key"
    if user is not None:
        return AuthOutcome(user=user, method=method)
    if stale:
        return AuthOutcome(failure="stale")
    _record_failure(request, username)
    return AuthOutcome(failure="invalid")
