"""The probe seam: what every probe kind provides, and what it is given.

A probe kind is a `ProbeKind`: the name users write (`kind = "push"`) or that a URL
scheme selects, a `parse` function that reads the kind's own keys of a `[targets.*]`
table into a frozen spec, and `probe(target, ctx) -> Result`. Probes return results and
never raise for a failing target (see `monitor.result.Reason`); they must finish within
`target.timeout` (the scheduler also enforces it, a second later, as a safety net).
What the rest of the monitor needs to know about a kind is declared on its
`ProbeKind`, never tested by its name elsewhere.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import SplitResult

from monitor.config.reader import Table
from monitor.result import Reason, Result

if TYPE_CHECKING:
    import httpx

    from monitor.config import Target
    from monitor.probes.domain import DomainBook
    from monitor.probes.network import Failure


class TlsContexts(Protocol):
    """Cached `ssl.SSLContext`s: building one costs milliseconds, a probe must not."""

    def client(self, verify: bool, ca_file: str | None) -> ssl.SSLContext: ...


class Heartbeats(Protocol):
    """The last heartbeat each passive target received (`monitor.probes.push.HeartbeatBook`):
    the push probe reads `last` and `since`; the runtime `record`s each heartbeat as it
    arrives, `restore`s the book from the store and `retain`s the configured targets."""

    def last(self, target_id: str) -> Result | None: ...

    def since(self, target_id: str) -> float:
        """Unix time from which a target that never sent a heartbeat counts as late."""
        ...

    def record(self, target_id: str, heartbeat: Result) -> None: ...

    def restore(self, results: Mapping[str, Result]) -> None:
        """Rebuild the book from the store's last result of each target (of any kind)."""
        ...

    def retain(self, target_ids: Iterable[str]) -> None:
        """Forget targets no longer configured (after a reload)."""
        ...


class SnmpEngines(Protocol):
    """SNMP engines shared by the snmp probes (`monitor.probes.snmpwire.Engines`): making
    one costs ~50 ms of CPU, a request on a made one ~1 ms."""

    def use(self, key: Hashable) -> AbstractAsyncContextManager[Any]:
        """The engine for the credentials `key`, made on first use, held while in use."""
        ...

    def close(self) -> None:
        """Close every engine's socket (the end of the run)."""
        ...


class Onsets(Protocol):
    """When a target's condition (a UPS on battery) was first seen, for as long as it
    lasts: `onset(target, condition, active, now)` is that time while `active`, and
    forgets it (None) once it is not. Kept in memory: a restart starts it again."""

    def onset(self, target_id: str, condition: str, active: bool, now: float) -> float | None: ...


@dataclass(frozen=True)
class ProbeContext:
    """Shared resources, built once by the runtime and handed to every probe; whoever
    built it calls `aclose()` when probing ends.

    `http_transport` is the seam for a faster HTTP/1.1 path: when None, the HTTP probe
    uses httpx's default transport. `domains` keeps the last RDAP answer of each domain
    between probes; when None, every domain probe looks its domain up. Without `snmp`
    each snmp probe makes (and closes) an engine of its own; without `onsets` a
    condition's onset is the probe that saw it.
    """

    tls: TlsContexts
    heartbeats: Heartbeats | None = None
    http_transport: httpx.AsyncBaseTransport | None = None
    domains: DomainBook | None = None
    snmp: SnmpEngines | None = None
    onsets: Onsets | None = None

    async def aclose(self) -> None:
        """Release what holds sockets open between probes."""
        if self.snmp is not None:
            self.snmp.close()


ParseFn = Callable[[Table, SplitResult | None], Any]
ProbeFn = Callable[["Target", ProbeContext], Awaitable[Result]]
Sample = tuple[str, str, float]
"""(gauge name, labels already rendered for the text format or "", value)."""
SamplesFn = Callable[["Target", Result], Iterable[Sample]]
# `ProbeKind.values`: the samples' values alone, as floats, in the order of its `shape`.
ValuesFn = Callable[["Target", Result], tuple[float, ...]]


def escape_label(value: str) -> str:
    """A label value escaped for the text format, for a kind rendering its `Sample`s'
    labels (`monitor.metrics.exposition` writes every label through this too)."""
    if "\\" in value or "\n" in value or '"' in value:  # rare: most values go back as they are
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


@dataclass(frozen=True)
class Expiry:
    """A date past which a kind's targets fail, judged as a certificate's is: by
    `monitor.assess` for every result (past it the result fails `expired`; within the
    largest of `warn_days(target)` days it is DEGRADED `expiring`) and by the alert
    policy ahead of time (one "cert" alert per day of `warn_days` first reached, whose
    `Alert.expiring` is `subject`). `at(result)` reads the date (unix time) from a result,
    None when the result holds none; `words` name the thing in details. `applies(target)`
    says whether a target has such a date at all (its probe meets a certificate: https,
    a tls target, tcp with `tls`; every domain): `monitor preflight` checks those dates
    against a watch period, and reads them now for a target with none stored."""

    subject: str
    words: str
    expired: str
    expiring: str
    warn_days: Callable[[Target], tuple[int, ...]]
    at: Callable[[Result], float | None]
    applies: Callable[[Target], bool] = field(default=lambda target: False, repr=False)


CERTIFICATE = Expiry(
    subject="certificate",
    words="certificate",
    expired=Reason.CERT_EXPIRED,
    expiring=Reason.CERT_EXPIRING,
    warn_days=lambda target: target.cert_warn_days,
    at=lambda result: result.cert_expiry,
)
"""Every kind's default: the earliest certificate expiry its probe saw, `cert_warn_days`;
for no target (a kind meeting certificates declares `certificate_expiry(applies)`)."""


def certificate_expiry(applies: Callable[[Target], bool]) -> Expiry:
    """`CERTIFICATE` for the targets `applies` selects: a kind whose probe meets a TLS
    certificate (and so reports `Result.cert_expiry`)."""
    return replace(CERTIFICATE, applies=applies)


@dataclass(frozen=True)
class Battery:
    """A kind whose targets are battery-backed power supplies (a UPS): the gauges its
    results carry in `Result.extra` (the charge as 0-1, the runtime left in seconds, 1
    while on battery) and the target's own floor, `floor(target)` = (minimum charge in
    percent, minimum runtime in seconds), each None when not set. `monitor preflight`
    reads them from the last stored result: on mains, above both floors."""

    charge: str
    runtime: str
    on_battery: str
    floor: Callable[[Target], tuple[float | None, float | None]] = field(
        default=lambda target: (None, None), repr=False
    )


@dataclass(frozen=True)
class ProbeKind:
    """One probe family. `parse(table, url)` reads the kind's own keys from the target's
    table (through `Table`, which reports every problem and unknown key) and returns a
    frozen spec stored as `Target.spec`; `url` is None for kinds without one (push).
    A spec is never shown, not even to admins: the admin view shows a target's URL with
    its scheme and host only (`monitor.web.masking.origin`), and fields holding secrets (an
    rtsp password, a push token, http's Authorization header) hide from repr.

    What the monitor needs of the kind elsewhere:

    - `gauges` (full name -> help) and `samples(target, result)`: the gauges written for
      every result of the kind's targets, whether or not the probe got that far (http:
      the status code and the duration of each phase, 0 for what it did not reach, as
      the blackbox exporter writes them), and their samples for one result, in the
      order of `gauges`. Labels sort before `target`, which the exposition appends.
      A kind whose samples are always the same gauges with the same labels also
      declares them as `shape` ((gauge, labels) each) and `values(target, result)`
      (their values, floats, in that order): `/metrics` then writes them by a template
      per gauge (http's six samples a target, 100,000 targets a scrape);
      What all kinds share is written from the `Result`'s own fields, for every kind
      alike (`monitor.metrics.exposition`);
    - `metrics`: the kind's own gauges (full name -> help) that a `Result.extra` may
      carry, each written when the result holds it; a key `name{a="b"}` (labels
      rendered with `escape_label`) is one sample of a labelled gauge `name` (snmp:
      one per object read);
    - `expiry`: the date its targets must not pass, the days to warn before it and
      which of its targets have one (`Expiry`; by default the certificate's, with
      `cert_warn_days`, for no target: a kind whose probe meets a certificate says for
      which, `certificate_expiry(applies)`);
    - `passive`: the kind's results arrive from outside (a push job's heartbeats, kept in
      `ProbeContext.heartbeats`) and its probe, scheduled like any other, only judges
      what arrived; `monitor check` restores the stored heartbeats for such targets;
    - `alert_degraded`: a DEGRADED target of this kind is news for everyone who hears
      "down", not only for the notifiers that list "degraded" (a UPS on battery: the
      mains power is out);
    - `cached`: its probe may answer from what an earlier one learned (domain: one RDAP
      lookup per 6 h), so a result says nothing of the network now: such a kind (and a
      passive one) cannot be a `[monitor] connectivity` check;
    - `battery`: the kind watches a UPS (`Battery`: its gauges and floors), which
      `monitor preflight` checks before a watch period;
    - `streams(target)`: whether the target's probe proves that video streams (rtsp
      with `play = true`): `monitor preflight` wants its last result passed;
    - `secrets`: the kind's keys that hold secrets (a password, a token, headers): the
      admin UI never shows their values again and writes a typed one as an `${ENV}`
      reference (`monitor.config.fields`). A URL's password is always one.
    """

    name: str
    schemes: tuple[str, ...]
    parse: ParseFn
    probe: ProbeFn
    gauges: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    samples: SamplesFn | None = None
    shape: tuple[tuple[str, str], ...] = ()
    values: ValuesFn | None = None
    metrics: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    passive: bool = False
    expiry: Expiry = CERTIFICATE
    alert_degraded: bool = False
    cached: bool = False
    battery: Battery | None = None
    streams: Callable[[Target], bool] = field(default=lambda target: False, repr=False)
    secrets: tuple[str, ...] = ()


class Stopwatch:
    """A probe's clock, started when it is made: `started` (unix time, for
    `Result.started`) and `elapsed()` (monotonic seconds since), so that every probe
    builds its `Result` the same way (`failed`, `outcome`)."""

    __slots__ = ("begun", "started")

    def __init__(self) -> None:
        self.started = time.time()
        self.begun = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.begun

    def left(self, timeout: float) -> float:
        """Seconds left of a `timeout` counted from the start (negative when past)."""
        return timeout - self.elapsed()

    def failed(self, failure: Failure, until: float | None = None, **fields: Any) -> Result:
        """A failed `Result` for `failure`, timed up to `until` (a perf_counter time:
        when the answer arrived) or now; `fields` add the rest (`cert_expiry`,
        `status_code`, `extra`)."""
        return Result(
            ok=False,
            reason=failure.reason,
            detail=failure.detail,
            started=self.started,
            duration=self._until(until),
            **fields,
        )

    def outcome(self, failure: Failure | None, detail: str, until: float | None = None, **fields: Any) -> Result:
        """`failed(failure)`, or with no failure a passed `Result` saying `detail`,
        timed up to `until` or now; `fields` add the facts gathered either way."""
        if failure is not None:
            return self.failed(failure, until, **fields)
        return Result(ok=True, detail=detail, started=self.started, duration=self._until(until), **fields)

    def _until(self, until: float | None) -> float:
        return (until if until is not None else time.perf_counter()) - self.begun
