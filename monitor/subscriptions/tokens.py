"""Signed links: `<payload>.<mac>`, both base64url, the MAC an HMAC-SHA256 over the
purpose and the payload with the store's key (`Subscribers.secret`).

A confirmation token carries what was asked (address, targets, groups, language) and
its expiry, so nothing is stored before the address is confirmed. An unsubscribe token
carries only the subscriber's id: it never expires, and reveals no address in a log of
the link. A token of one purpose is never accepted for the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CONFIRM, UNSUBSCRIBE = "confirm", "unsubscribe"
CONFIRM_SECONDS = 48 * 3600.0  # how long a confirmation link works


@dataclass(frozen=True)
class Request:
    """What a confirmation link asks for."""

    address: str
    targets: tuple[str, ...]
    groups: tuple[str, ...]
    lang: str
    expires: float


def confirm_token(secret: bytes, request: Request) -> str:
    payload = {"a": request.address, "t": list(request.targets), "g": list(request.groups)}
    return _sign(secret, CONFIRM, {**payload, "l": request.lang, "e": int(request.expires)})


def read_confirm(secret: bytes, token: str, now: float) -> Request | None:
    """The request of a valid, unexpired confirmation token; None for any other."""
    data = _open(secret, CONFIRM, token)
    if not isinstance(data, dict):
        return None
    try:
        request = Request(str(data["a"]), _texts(data["t"]), _texts(data["g"]), str(data["l"]), float(data["e"]))
    except (KeyError, TypeError, ValueError):
        return None
    return request if now < request.expires else None


def unsubscribe_token(secret: bytes, subscriber_id: int) -> str:
    return _sign(secret, UNSUBSCRIBE, subscriber_id)


def read_unsubscribe(secret: bytes, token: str) -> int | None:
    data = _open(secret, UNSUBSCRIBE, token)
    return data if isinstance(data, int) and not isinstance(data, bool) else None


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("not a list of strings")
    return tuple(value)


def _mac(secret: bytes, purpose: str, payload: str) -> str:
    digest = hmac.new(secret, f"{purpose}.{payload}".encode(), hashlib.sha256).digest()
    return _b64(digest)


def _sign(secret: bytes, purpose: str, data: Any) -> str:
    payload = _b64(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_mac(secret, purpose, payload)}"


def _open(secret: bytes, purpose: str, token: str) -> Any:
    payload, _, mac = token.partition(".")
    if not payload or not mac or not hmac.compare_digest(mac.encode(), _mac(secret, purpose, payload).encode()):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def digest(*parts: str | Sequence[str]) -> str:
    """A short stable key for a mail's dedup (`Outgoing.key`), from what it is about."""
    text = json.dumps(parts, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
