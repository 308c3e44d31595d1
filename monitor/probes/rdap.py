"""RDAP (RFC 9082/9083) as far as a domain's registration expiry needs it, and the IANA
bootstrap file (RFC 9224) that says which registry's RDAP service answers for a name.

- `Bootstrap`: the `dns.json` services (TLD or longer suffix -> base URLs); the copy
  shipped in `monitor/probes/rdap-dns.json` is `Bootstrap.shipped()`. `base_url`
  matches the longest suffix, so `go.id` is answered through `id`'s service.
- `expiry(base_url, name, timeout)`: the `eventDate` of the domain's `expiration` event,
  fetched with httpx (redirects followed, bounded in time and size). Raises `NotFound`
  for an unregistered name (404) and `RdapError` for everything else that is not an
  answer (an HTTP error, garbage, no expiration event).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import httpx

from monitor import __version__
from monitor.probes.network import classify

MAX_ANSWER = 1024 * 1024  # bytes of RDAP JSON read at most; real answers are a few KB


class RdapError(Exception):
    """The RDAP service gave no usable answer (the message says what it gave)."""


class NotFound(RdapError):
    """The RDAP service knows no such domain (404): not registered, or deleted."""


@dataclass(frozen=True)
class Bootstrap:
    """RFC 9224 services: each entry's labels (lower case, no dots at the ends) and its
    base URLs, HTTPS first."""

    services: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]

    @classmethod
    def parse(cls, document: Any) -> Bootstrap:
        """Read a `dns.json` document; ValueError when it is not one."""
        if not isinstance(document, dict) or not isinstance(document.get("services"), list):
            raise ValueError("not an RDAP bootstrap file: no services list")
        services = []
        for entry in document["services"]:
            if not (isinstance(entry, list) and len(entry) >= 2 and all(isinstance(p, list) for p in entry[:2])):
                raise ValueError(f"not an RDAP bootstrap service: {str(entry)[:60]}")
            labels = tuple(str(label).strip(".").lower() for label in entry[0])
            urls = sorted((str(url) for url in entry[1]), key=lambda url: not url.startswith("https://"))
            services.append((labels, tuple(urls)))
        return cls(tuple(services))

    @staticmethod
    @cache
    def shipped() -> Bootstrap:
        """The bootstrap file shipped with the package."""
        text = resources.files("monitor.probes").joinpath("rdap-dns.json").read_text(encoding="utf-8")
        return Bootstrap.parse(json.loads(text))

    def base_url(self, name: str) -> str | None:
        """The first base URL of the service for `name`'s longest matching suffix."""
        labels = name.lower().strip(".").split(".")
        table = {suffix: urls for suffixes, urls in self.services for suffix in suffixes}
        for start in range(len(labels)):
            urls = table.get(".".join(labels[start:]))
            if urls:
                return urls[0]
        return None


def domain_url(base_url: str, name: str) -> str:
    """RFC 9082 §3.1.3: the domain lookup path under a base URL."""
    return base_url.rstrip("/") + "/domain/" + name


async def expiry(base_url: str, name: str, timeout: float) -> float:
    """The registration's expiry (unix time) from the RDAP service at `base_url`."""
    url = domain_url(base_url, name)
    headers = {
        "Accept": "application/rdap+json, application/json",
        "Accept-Encoding": "identity",  # read raw and capped: no decompression to bound
        "User-Agent": f"monitor/{__version__}",
    }
    try:
        async with (
            httpx.AsyncClient(follow_redirects=True, max_redirects=5, timeout=timeout, headers=headers) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code == 404:
                raise NotFound(f"{url}: HTTP 404, no such domain")
            if response.status_code != 200:
                raise RdapError(f"{url}: HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > MAX_ANSWER:
                    raise RdapError(f"{url}: an answer over {MAX_ANSWER} bytes")
    except httpx.TimeoutException as exc:
        raise RdapError(f"{url}: no answer within {timeout:g}s") from exc
    except httpx.TooManyRedirects as exc:
        raise RdapError(f"{url}: too many redirects") from exc
    except (httpx.HTTPError, OSError) as exc:
        raise RdapError(f"{url}: {classify(exc).detail}") from exc
    return _expiration(bytes(body), url)


def _expiration(body: bytes, url: str) -> float:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RdapError(f"{url}: the answer is not RDAP JSON") from exc
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise RdapError(f"{url}: the answer holds no events")
    for event in events:
        if isinstance(event, dict) and event.get("eventAction") == "expiration":
            try:
                when = datetime.fromisoformat(str(event.get("eventDate")))
            except ValueError as exc:
                raise RdapError(f"{url}: an expiration date that is not a date: {event.get('eventDate')!r}") from exc
            # RFC 3339 dates carry their offset; one without is read as UTC, never local time.
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    raise RdapError(f"{url}: the registry publishes no expiration date")
