"""Showing configuration to admins without its secrets.

The admin view is still a web page (screenshots, shared screens, proxies' logs), so a
secret never reaches it. Every URL it shows is cut to its scheme and host
(`https://hooks.example.com/…`, `origin`): a user, password, path or query can each be
the secret (a webhook's token in its path, a heartbeat's check key, `?key=`). A spec
field that its kind names secret (`NotifierKind.secrets`) shows as `***`, or, for
headers, as the header names with `***` for each value (`settings`); and an error text
shown beside them has every secret value replaced and every URL in it cut the same way
(`scrub`), in case a library quoted a URL or header in its message. A probe's secrets
are its URL's password and the spec fields it hides from repr (`target_secrets`).
`redact` hides only a URL's password, for a caller that must show the rest.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
LEFT_OUT = "…"
# A URL inside a text: scheme://, then up to a space or a quote; trailing punctuation
# (a sentence's full stop, a closing parenthesis) is not part of it.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>.,;:!?)\]}]")


def redact(url: str | None) -> str:
    """The URL without a password (`user:***@host`)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{MASK}@{host}"))


def origin(url: str | None) -> str:
    """A URL as the admin view shows it: its scheme and host (with the port), then `/…`
    if it had a path, query or fragment (`https://hooks.example.com/…`); a bare `/` path
    stays. A text Python cannot split as a URL shows as `***`."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is no number)
    except ValueError:
        return MASK
    host = parts.netloc.rpartition("@")[2]
    rest = parts.path.strip("/") or parts.query or parts.fragment
    return urlunsplit((parts.scheme, host, "/" + LEFT_OUT if rest else parts.path, "", ""))


def mask_urls(text: str) -> str:
    """`text` with every URL in it cut by `origin`."""
    return _URL_IN_TEXT.sub(lambda m: origin(m.group(0)), text)


def settings(spec: Any, secrets: Iterable[str]) -> list[tuple[str, str]]:
    """(field, shown value) for each set field of a frozen spec dataclass, secrets
    masked; a spec that is no dataclass shows nothing."""
    if not dataclasses.is_dataclass(spec):
        return []
    hidden = set(secrets)
    shown = []
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if value is None or value == () or value == "":
            continue
        shown.append((f.name, _masked(value) if f.name in hidden else _plain(value)))
    return shown


def secret_values(spec: Any, secrets: Iterable[str]) -> Iterator[str]:
    """The secret strings in a spec (field values, header values, URL passwords)."""
    if not dataclasses.is_dataclass(spec):
        return
    for name in secrets:
        value = getattr(spec, name, None)
        if isinstance(value, str):
            yield value
        elif isinstance(value, tuple):
            yield from (pair[1] for pair in value if _is_pair(pair))
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if isinstance(value, str) and "://" in value:
            password = urlsplit(value).password
            if password:
                yield password


def target_secrets(url: str | None, spec: Any) -> Iterator[str]:
    """A target's secrets: its URL's password and the values of its probe spec's fields
    kept out of repr (`field(repr=False)`: an rtsp password, a push token, http headers)."""
    password = urlsplit(url).password if url else None
    if password:
        yield password
    if not dataclasses.is_dataclass(spec):
        return
    for f in dataclasses.fields(spec):
        if not f.repr:
            yield from _strings(getattr(spec, f.name))


def _strings(value: Any) -> Iterator[str]:
    """The text in a secret field: a str or bytes, or the values of (name, value) pairs."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    elif isinstance(value, tuple):
        for item in value:
            if isinstance(item, tuple) and len(item) == 2:
                yield from _strings(item[1])


def scrub(text: str | None, secrets: Iterable[str]) -> str:
    """`text` with every secret (of 4 characters or more: shorter ones would mask
    ordinary words) replaced by `***`, and every URL cut to its scheme and host."""
    text = text or ""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, MASK)
    return mask_urls(text)


def _masked(value: Any) -> str:
    if isinstance(value, tuple) and all(_is_pair(v) for v in value):
        return ", ".join(f"{name}: {MASK}" for name, _ in value)
    return MASK


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | frozenset):
        items = sorted(value) if isinstance(value, frozenset) else value
        return ", ".join(f"{v[0]}={_plain(v[1])}" if _is_pair(v) else _plain(v) for v in items)
    if isinstance(value, str) and "://" in value:
        return origin(value) if _URL_IN_TEXT.fullmatch(value) else mask_urls(value)
    return str(value)


def _is_pair(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value)
