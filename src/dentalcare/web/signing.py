"""HMAC signing of small cookie values, one key per purpose, derived from the service secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

from dentalcare.config import Settings


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key(settings: Settings, purpose: str) -> bytes:
    """The signing key for `purpose` (never the JWT key itself)."""
    return hmac.new(
        settings.jwt_secret.encode(), b"dentalcare-web:" + purpose.encode(), hashlib.sha256
    ).digest()


def mac(settings: Settings, purpose: str, data: bytes) -> str:
    """The URL-safe HMAC-SHA256 of `data` under the purpose's key."""
    return _b64(hmac.new(key(settings, purpose), data, hashlib.sha256).digest())


def sign(settings: Settings, purpose: str, data: bytes) -> str:
    """`data` with its signature, safe for a cookie."""
    return f"{_b64(data)}.{mac(settings, purpose, data)}"


def unsign(settings: Settings, purpose: str, value: str | None) -> bytes | None:
    """The data of a value made by `sign`, or None if it is missing, malformed or forged."""
    if not value or "." not in value:
        return None
    body, _, signature = value.partition(".")
    try:
        data = _unb64(body)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(signature, mac(settings, purpose, data)):
        return None
    return data
