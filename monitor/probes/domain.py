"""The domain kind: `domain://example.go.id` watches a domain's registration expiry
through RDAP (`monitor.probes.rdap`): the registry's service from the IANA bootstrap file
shipped with the package, or `rdap_url`.

A registration changes slowly and registries limit their RDAP services, so a domain is
looked up at most once every `LOOKUP_EVERY` (6 h) whatever the target's interval; the
probes in between answer from the `DomainBook` in the probe context (shared by every
target of the same domain), and the judgement is made afresh at each probe against now:
the result carries the expiry (`probe_domain_expiry_seconds`) and `monitor.assess`
applies the kind's `Expiry` to it (past it `domain_expired`; inside the largest of
`warn_days` DEGRADED `domain_expiring`, with one alert per day of `warn_days`, as for
certificates). A failed lookup keeps the last known expiry and says so in the detail;
with nothing known the target fails (`rdap_error`) and the lookup is tried again after
`RETRY_EVERY`. An unregistered name (404) is `domain_not_found`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult

from monitor.config.reader import Table
from monitor.probes import rdap
from monitor.probes.base import Expiry, ProbeContext, ProbeKind, Stopwatch
from monitor.probes.network import Failure
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

EXPIRY = "probe_domain_expiry_seconds"
LOOKUP_EVERY = 6 * 3600.0
RETRY_EVERY = 3600.0  # after a failed lookup when no expiry is known yet
DAY = 86400.0


@dataclass(frozen=True)
class DomainSpec:
    """The domain (IDNA A-labels, lower case), its RDAP base URL and the warning days."""

    name: str
    base_url: str
    warn_days: tuple[int, ...] = (30, 7)


def parse(t: Table, url: SplitResult | None) -> DomainSpec:
    assert url is not None  # the scheme selected this kind
    name = _read_name(t, url)
    base_url = t.text("rdap_url")
    if base_url is not None and not base_url.startswith(("https://", "http://")):
        t.problem("rdap_url", "must be an http:// or https:// base URL, e.g. https://rdap.pandi.id/rdap/")
        base_url = None
    if base_url is None and name:
        base_url = rdap.Bootstrap.shipped().base_url(name)
        if base_url is None:
            suffix = name.rsplit(".", 1)[-1]
            t.problem("url", f"no RDAP service for .{suffix} in the shipped bootstrap file: set rdap_url")
    raw_days = t.int_list("warn_days", (30, 7))
    days = tuple(sorted({d for d in raw_days if d > 0}, reverse=True))
    if len(days) != len(raw_days):
        t.problem("warn_days", "must be distinct whole days above 0, e.g. [30, 7]")
    return DomainSpec(name=name, base_url=base_url or "", warn_days=days)


def _read_name(t: Table, url: SplitResult) -> str:
    host = (url.netloc or "").strip(".").lower()
    if url.path.strip("/") or url.query or "@" in host or ":" in host or "." not in host:
        t.problem("url", "must be domain://NAME, a registered domain such as domain://kotimkab.go.id")
        return ""
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        t.problem("url", f"{host!r} is not a valid domain name: {exc}")
        return ""


@dataclass
class Registration:
    """What is known of one domain: the expiry last learned (and when), and the last
    lookup (when, and why it failed, if it did)."""

    expiry: float | None = None
    learned: float | None = None
    looked_up: float = 0.0
    failure: Failure | None = None


@dataclass
class DomainBook:
    """The last RDAP answer of each domain, kept across probes (and reloads) by the
    probe context; `clock` is unix time (injectable for tests)."""

    clock: Callable[[], float] = time.time
    entries: dict[str, Registration] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, repr=False)

    def lock(self, key: str) -> asyncio.Lock:
        """One lookup at a time per domain: two targets of one domain share it."""
        return self._locks.setdefault(key, asyncio.Lock())


async def probe(target: Target, ctx: ProbeContext) -> Result:
    spec: DomainSpec = target.spec
    clock = Stopwatch()
    book = ctx.domains if ctx.domains is not None else DomainBook()
    key = f"{spec.name} {spec.base_url}"
    async with book.lock(key):
        entry, now = book.entries.get(key), book.clock()
        if entry is None or now - entry.looked_up >= _wait(entry):
            entry = book.entries[key] = await _look_up(spec, entry or Registration(), now, target.timeout)
    return _judge(clock, entry, book.clock())


def _wait(entry: Registration) -> float:
    """How long after its last lookup a domain is looked up again: an answer (an expiry,
    or "no such domain") holds for `LOOKUP_EVERY`; a failure with nothing known is
    tried again sooner, or the target would be DOWN for hours over one bad answer."""
    if entry.expiry is None and entry.failure is not None and entry.failure.reason == Reason.RDAP_ERROR:
        return RETRY_EVERY
    return LOOKUP_EVERY


async def _look_up(spec: DomainSpec, known: Registration, now: float, timeout: float) -> Registration:
    try:
        async with asyncio.timeout(timeout):
            expiry = await rdap.expiry(spec.base_url, spec.name, timeout)
    except rdap.NotFound as exc:
        return Registration(looked_up=now, failure=Failure(Reason.DOMAIN_NOT_FOUND, str(exc)))
    except TimeoutError:
        failure = Failure(
            Reason.RDAP_ERROR, f"{rdap.domain_url(spec.base_url, spec.name)}: no answer within {timeout:g}s"
        )
        return Registration(known.expiry, known.learned, now, failure)
    except rdap.RdapError as exc:
        return Registration(known.expiry, known.learned, now, Failure(Reason.RDAP_ERROR, str(exc)))
    return Registration(expiry=expiry, learned=now, looked_up=now)


def _judge(clock: Stopwatch, entry: Registration, now: float) -> Result:
    failure = entry.failure
    if entry.expiry is None or (failure is not None and failure.reason == Reason.DOMAIN_NOT_FOUND):
        assert failure is not None
        return clock.failed(failure)
    when = datetime.fromtimestamp(entry.expiry, UTC).strftime("%Y-%m-%d")
    detail = f"registered until {when} (in {(entry.expiry - now) / DAY:.0f} days)"
    if failure is not None and entry.learned is not None:
        detail += (
            f"; the last RDAP lookup failed {_ago(now - entry.looked_up)} ({failure.detail}):"
            f" expiry as last known {_ago(now - entry.learned)}"
        )
    return clock.outcome(None, detail, extra={EXPIRY: entry.expiry})


def _ago(seconds: float) -> str:
    if seconds < 60:
        return "just now"
    minutes = round(seconds / 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes / 60:.0f} h ago"


KIND = ProbeKind(
    name="domain",
    schemes=("domain",),
    parse=parse,
    probe=probe,
    cached=True,
    metrics=MappingProxyType({EXPIRY: "Unix time the domain's registration expires, from RDAP."}),
    expiry=Expiry(
        subject="domain",
        words="domain registration",
        expired=Reason.DOMAIN_EXPIRED,
        expiring=Reason.DOMAIN_EXPIRING,
        warn_days=lambda target: target.spec.warn_days,
        at=lambda result: result.extra.get(EXPIRY),
    ),
)
