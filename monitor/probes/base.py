"""The probe seam: what every probe kind provides, and what it is given.

A probe kind is a `ProbeKind`: the name users write (`kind = "push"`) or that a URL
scheme selects, a `parse` function that reads the kind's own keys of a `[targets.*]`
table into a frozen spec, and `probe(target, ctx) -> Result`. Probes return results and
never raise for a failing target (see `monitor.result.Reason`); they must finish within
`target.timeout` (the scheduler also enforces it, a second later, as a safety net).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import SplitResult

from monitor.config.reader import Table
from monitor.result import Result

if TYPE_CHECKING:
    import httpx

    from monitor.config import Target
    from monitor.probes.network import Failure


class TlsContexts(Protocol):
    """Cached `ssl.SSLContext`s: building one costs milliseconds, a probe must not."""

    def client(self, verify: bool, ca_file: str | None) -> ssl.SSLContext: ...


class Heartbeats(Protocol):
    """What the push probe reads: the last heartbeat each push target received."""

    def last(self, target_id: str) -> Result | None: ...

    def since(self, target_id: str) -> float:
        """Unix time from which a target that never sent a heartbeat counts as late."""
        ...


@dataclass(frozen=True)
class ProbeContext:
    """Shared resources, built once by the runtime and handed to every probe.

    `http_transport` is the seam for a faster HTTP/1.1 path: when None, the HTTP probe
    uses httpx's default transport.
    """

    tls: TlsContexts
    heartbeats: Heartbeats | None = None
    http_transport: httpx.AsyncBaseTransport | None = None


ParseFn = Callable[[Table, SplitResult | None], Any]
ProbeFn = Callable[["Target", ProbeContext], Awaitable[Result]]


@dataclass(frozen=True)
class ProbeKind:
    """One probe family. `parse(table, url)` reads the kind's own keys from the target's
    table (through `Table`, which reports every problem and unknown key) and returns a
    frozen spec stored as `Target.spec`; `url` is None for kinds without one (push).
    `metrics` declares the kind-specific gauges (full name -> help) a `Result.extra` may
    carry. A spec is never shown, not even to admins: the admin view shows a target's
    URL as its scheme and host only (`monitor.web.masking.origin`), and fields holding
    secrets (an rtsp password, a push token, http's Authorization header) hide from repr.
    """

    name: str
    schemes: tuple[str, ...]
    parse: ParseFn
    probe: ProbeFn
    metrics: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


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

    def failed(self, failure: Failure, **fields: Any) -> Result:
        """A failed `Result` for `failure`, timed up to now; `fields` add the rest
        (`cert_expiry`, `status_code`, `extra`)."""
        return Result(
            ok=False,
            reason=failure.reason,
            detail=failure.detail,
            started=self.started,
            duration=self.elapsed(),
            **fields,
        )

    def outcome(self, failure: Failure | None, detail: str, **fields: Any) -> Result:
        """`failed(failure)`, or with no failure a passed `Result` saying `detail`,
        timed up to now; `fields` add the facts gathered either way."""
        if failure is not None:
            return self.failed(failure, **fields)
        return Result(ok=True, detail=detail, started=self.started, duration=self.elapsed(), **fields)
