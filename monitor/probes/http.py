"""The HTTP probe (`http://`, `https://`): one request, redirects followed hop by hop,
the answer checked against the target's expectations.

`parse` turns the target's keys into an `HttpSpec` holding everything a probe needs
ready-made (request headers as bytes, auth header, compiled regexes, the expanded status
set), so a probe does no parsing. `probe` runs an `Exchange` under one hard deadline,
`target.timeout`, that covers resolving, connecting, TLS, redirects and the body: a
server that trickles or never stops ends as a `timeout` (or `response_too_large`), never
as a hung probe. Thresholds (`degraded_after`, `cert_warn_days`) are not applied here:
`monitor.assess` applies them to every kind alike.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote

import httpx

from monitor import __version__
from monitor.config.reader import Table, format_duration
from monitor.probes.base import ProbeContext, ProbeKind, Sample, Stopwatch, certificate_expiry
from monitor.probes.http_decode import ACCEPT_ENCODING
from monitor.probes.http_exchange import PHASES, Exchange
from monitor.probes.http_expect import Expectations, check, read_expectations
from monitor.probes.httpauth import basic
from monitor.probes.network import Failure, ProbeFailed, untrusted_expiry
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

STATUS_CODE = "probe_http_status_code"
PHASE_DURATION = "probe_http_duration_seconds"
DEFAULT_MAX_BODY = 4 * 1024 * 1024
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|KiB|MB|MiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and password kept for answering a Digest challenge."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class HttpSpec:
    """An HTTP target's request and expectations, prepared once at configuration time.

    `headers` are the request headers except Host, as bytes, including Authorization
    (hence hidden from repr) and `Connection: close` (a fresh connection per probe).
    `digest` holds the credentials of `auth = "digest"`, which answer a 401's challenge
    rather than go with the first request.
    """

    url: httpx.URL
    method: str = "GET"
    headers: tuple[tuple[bytes, bytes], ...] = field(default=(), repr=False)
    body: bytes | None = None
    expect: Expectations = field(default_factory=lambda: Expectations(frozenset(range(200, 300)), "2xx"))
    max_redirects: int = 10
    verify_tls: bool = True
    ca_file: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    digest: Credentials | None = None


def parse(t: Table, url: SplitResult | None) -> HttpSpec:
    """Read the http kind's keys of a `[targets.*]` table (see the README)."""
    parsed = _read_url(t, url)
    method = t.text("method", "GET").upper()
    if not _TOKEN.match(method):
        t.problem("method", f"{method!r} is not an HTTP method")
    body = t.text("body")
    verify = t.boolean("verify_tls", True)
    ca_file = _read_ca_file(t, verify)
    auth, digest = _read_auth(t, url)
    return HttpSpec(
        url=parsed,
        method=method,
        headers=_request_headers(t, auth, body is not None),
        body=body.encode("utf-8") if body is not None else None,
        expect=read_expectations(t),
        max_redirects=t.integer("max_redirects", 10, low=0, high=50),
        verify_tls=verify,
        ca_file=ca_file,
        max_body=_read_size(t, "max_body", DEFAULT_MAX_BODY),
        digest=digest,
    )


_FALLBACK_URL = httpx.URL("http://invalid/")  # an invalid target's, never probed (immutable, so shared)


def _read_url(t: Table, url: SplitResult | None) -> httpx.URL:
    if url is None or not url.hostname:
        t.problem("url", 'needs a host, e.g. "https://www.example.go.id/"')
        return _FALLBACK_URL
    try:
        url.port  # noqa: B018  (raises on a port out of range)
        # Credentials in the URL become an Authorization header, not part of the URL.
        return httpx.URL(url._replace(netloc=url.netloc.rpartition("@")[2], fragment="").geturl())
    except (ValueError, httpx.InvalidURL) as exc:
        t.problem("url", f"is not a valid URL: {exc}")
        return _FALLBACK_URL


def _read_ca_file(t: Table, verify: bool) -> str | None:
    ca_file = t.file_path("ca_file")
    if ca_file is None:
        return None
    if not verify:
        t.problem("ca_file", "has no effect with verify_tls = false")
    try:
        with open(ca_file, "rb") as handle:
            pem = handle.read(1 << 20)
    except OSError as exc:
        t.problem("ca_file", f"cannot be read: {exc.strerror}")
        return None
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        t.problem("ca_file", "holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        return None
    return ca_file


def _request_headers(t: Table, auth: str | None, has_body: bool) -> tuple[tuple[bytes, bytes], ...]:
    headers = {
        "user-agent": ("User-Agent", f"monitor/{__version__}"),
        "accept": ("Accept", "*/*"),
        "accept-encoding": ("Accept-Encoding", ACCEPT_ENCODING),
        "connection": ("Connection", "close"),
    }
    if auth:
        headers["authorization"] = ("Authorization", auth)
    for name, value in t.text_mapping("headers").items():
        if not _TOKEN.match(name) or name.lower() == "host":
            t.problems.add(f"{t.key('headers')}.{name}", "is not a header name this probe can send")
        elif "\r" in value or "\n" in value:
            t.problems.add(f"{t.key('headers')}.{name}", "must not contain line breaks")
        else:
            headers[name.lower()] = (name, value)
    if has_body and "content-type" not in headers:
        headers["content-type"] = ("Content-Type", "text/plain; charset=utf-8")
    return _shared_headers(
        tuple((name.encode("latin-1", "replace"), value.encode("utf-8")) for name, value in headers.values())
    )


@lru_cache(maxsize=1024)
def _shared_headers(headers: tuple[tuple[bytes, bytes], ...]) -> tuple[tuple[bytes, bytes], ...]:
    """One instance per distinct set of request headers: the usual four, about 600 bytes
    of tuples and bytes, that 100,000 targets would otherwise each hold a copy of."""
    return headers


def _read_auth(t: Table, url: SplitResult | None) -> tuple[str | None, Credentials | None]:
    """The Authorization header sent with every request (Basic, Bearer), or the
    credentials kept for a Digest challenge."""
    username = t.text("username", unquote(url.username or "") if url else "")
    password = t.text("password", unquote(url.password or "") if url else "")
    token = t.text("bearer_token")
    scheme = t.text("auth")
    if password and not username:
        t.problem("password", "needs a username")
    if token is not None and username:
        t.problem("bearer_token", "cannot be combined with username/password")
    if scheme is not None:
        if scheme not in _AUTH_SCHEMES:
            t.problem("auth", f"must be one of {', '.join(map(repr, _AUTH_SCHEMES))}, not {scheme!r}")
        elif not username:
            t.problem("auth", f"{scheme!r} needs a username and password")
        elif scheme == "digest":
            return None, Credentials(username, password)
    if token is not None:
        return f"Bearer {token}", None
    if username:
        return basic(username, password), None
    return None, None


_AUTH_SCHEMES = ("basic", "digest")


def _read_size(t: Table, key: str, default: int) -> int:
    value = t.raw(key)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match and int(match.group(1)) > 0:
        return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
    t.problem(key, f'must be a positive size in bytes or like "512KiB", "4MiB", not {value!r}')
    return default


async def probe(target: Target, ctx: ProbeContext) -> Result:
    """Probe an HTTP target once; never raises for a failing target."""
    spec: HttpSpec = target.spec
    try:
        # Before the clock starts: the first use of a TLS context loads the trust store.
        exchange = Exchange(spec, ctx)
    except (OSError, ValueError) as exc:  # e.g. a ca_file made unreadable since validation
        return Result(False, Reason.ERROR, f"cannot probe: {exc}", started=time.time())
    clock = Stopwatch()
    failure: Failure | None = None
    try:
        async with asyncio.timeout(target.timeout):
            await exchange.run()
        failure = check(spec.expect, exchange.status_code or 0, exchange.headers, exchange.body)
    except ProbeFailed as exc:
        failure = exc.failure
    except TimeoutError:
        failure = Failure(
            Reason.TIMEOUT, f"no complete answer within {format_duration(target.timeout)} ({exchange.stage})"
        )
    finally:
        await exchange.close()
    if exchange.unverified is not None:
        # Outside the deadline's scope and bounded by what is left of it: a slow second
        # handshake must cost the expiry, not turn the verification failure into a timeout.
        exchange.cert_expiry = await untrusted_expiry(*exchange.unverified, clock.left(target.timeout))
    return clock.outcome(
        failure,
        f"HTTP {exchange.status_code}",
        # When the answer's last byte arrived, not when its checks ended: the time is
        # the target's, not the monitor's (a busy loop would add its own).
        until=exchange.finished,
        status_code=exchange.status_code,
        cert_expiry=exchange.cert_expiry,
        phases=exchange.phases,
    )


# The blackbox exporter's http gauges: written for every probe, 0 for what it did not reach.
GAUGES = MappingProxyType(
    {
        STATUS_CODE: "Last HTTP status code (0: none).",
        PHASE_DURATION: "Last HTTP probe's duration per phase.",
    }
)
_RESOLVE, _CONNECT, _TLS, _PROCESSING, _TRANSFER = (f'phase="{phase}"' for phase in PHASES)


# What `samples` writes for every result, always: (gauge, labels).
SHAPE: tuple[tuple[str, str], ...] = (
    (STATUS_CODE, ""),
    (PHASE_DURATION, _RESOLVE),
    (PHASE_DURATION, _CONNECT),
    (PHASE_DURATION, _TLS),
    (PHASE_DURATION, _PROCESSING),
    (PHASE_DURATION, _TRANSFER),
)


def values(target: Target, result: Result) -> tuple[float, ...]:
    """The `GAUGES` of one result in the order of `SHAPE`. Written out rather than
    looped: this runs for every HTTP target at every scrape."""
    phases = result.phases
    return (
        float(result.status_code or 0),
        float(phases.get("resolve", 0.0)),
        float(phases.get("connect", 0.0)),
        float(phases.get("tls", 0.0)),
        float(phases.get("processing", 0.0)),
        float(phases.get("transfer", 0.0)),
    )


def samples(target: Target, result: Result) -> tuple[Sample, ...]:
    """The `GAUGES` of one result, as samples (the general path, `/probe`'s)."""
    return tuple((name, labels, value) for (name, labels), value in zip(SHAPE, values(target, result), strict=True))


def _certificate(target: Target) -> bool:
    return (target.url or "").lower().startswith("https://")


KIND = ProbeKind(
    name="http",
    schemes=("http", "https"),
    parse=parse,
    probe=probe,
    gauges=GAUGES,
    samples=samples,
    shape=SHAPE,
    values=values,
    expiry=certificate_expiry(_certificate),
    secrets=("password", "bearer_token", "headers"),
)
