"""The push kind: a passive target whose job calls `/push/{id}?token=...` (see
`monitor.web.push`); the probe only judges the heartbeats it received.

A heartbeat is a `Result` (its `started` is when it arrived, `duration` what the job
reported) kept in a `HeartbeatBook`. The probe fails with `no_heartbeat` when none arrived
within `period + grace` and with `reported_down` when the last one said `status=down`.
Every heartbeat and every probe result carries the heartbeat's arrival time in
`extra[LAST_HEARTBEAT]`, so the store's last result of a push target is enough to
restore the book after a restart (`HeartbeatBook.restore`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import SplitResult

from monitor.config.reader import Table, format_duration
from monitor.probes.base import ProbeContext, ProbeKind
from monitor.result import Reason, Result

if TYPE_CHECKING:
    from monitor.config import Target

LAST_HEARTBEAT = "probe_push_last_heartbeat_timestamp_seconds"
MIN_TOKEN_LENGTH = 16
MIN_GRACE = 60.0


@dataclass(frozen=True)
class PushSpec:
    """`period`: the job's schedule; `grace`: how late it may be; `token`: its secret."""

    period: float
    grace: float
    token: str = field(repr=False)


def parse(table: Table, url: SplitResult | None) -> PushSpec:
    if url is not None:
        table.problem("url", 'must not be set for kind "push" (the job calls /push/ID)')
    period = table.duration("period", low=1.0)
    if period is None:
        table.problem("period", 'is required for kind "push" (how often the job runs: "24h")')
        period = 0.0
    grace = table.duration("grace", default_grace(period))
    token = table.require_text("token")
    if token and len(token) < MIN_TOKEN_LENGTH:
        table.problem("token", f"must be at least {MIN_TOKEN_LENGTH} characters (a random secret)")
    return PushSpec(period=period, grace=grace, token=token)


def default_grace(period: float) -> float:
    """10% of the period, but at least a minute: jobs start late by seconds, not by 0."""
    return max(MIN_GRACE, period * 0.1)


class HeartbeatBook:
    """The last heartbeat of each push target (implements `base.Heartbeats`).

    A target that never sent one is judged from `since(id)`: the first time the monitor
    asked about it in this process (its start, or the reload that added the target).
    Shared by two threads (`monitor.probeloop`): the push route records and the runtime
    restores and retains on the serving loop, the probe reads on the probe loop; a lock
    keeps `retain`'s walk from meeting a `since` that adds a target.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last: dict[str, Result] = {}
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, target_id: str, heartbeat: Result) -> None:
        with self._lock:
            self._last[target_id] = heartbeat

    def last(self, target_id: str) -> Result | None:
        with self._lock:
            return self._last.get(target_id)

    def since(self, target_id: str) -> float:
        with self._lock:
            return self._since.setdefault(target_id, self._clock())

    def restore(self, results: Mapping[str, Result]) -> None:
        """Rebuild the book from the store's last result of each target (any kind:
        results without a heartbeat time are ignored)."""
        with self._lock:
            self._restore(results)

    def _restore(self, results: Mapping[str, Result]) -> None:
        for target_id, result in results.items():
            arrived = result.extra.get(LAST_HEARTBEAT)
            if arrived is None or target_id in self._last:
                continue
            if result.reason == Reason.NO_HEARTBEAT:
                # The probe's own verdict: only the arrival time is the heartbeat's.
                self._last[target_id] = heartbeat(arrived)
            else:
                self._last[target_id] = dataclasses.replace(result, started=arrived)

    def retain(self, target_ids: Iterable[str]) -> None:
        """Forget targets no longer configured (after a reload)."""
        keep = set(target_ids)
        with self._lock:
            for book in (self._last, self._since):
                for target_id in [t for t in book if t not in keep]:
                    del book[target_id]


def heartbeat(arrived: float, down: bool = False, msg: str = "", duration: float = 0.0) -> Result:
    """The `Result` a heartbeat becomes."""
    return Result(
        ok=not down,
        reason=Reason.REPORTED_DOWN if down else Reason.OK,
        detail=msg,
        duration=duration,
        started=arrived,
        extra={LAST_HEARTBEAT: arrived},
    )


async def probe(target: Target, ctx: ProbeContext) -> Result:
    spec: PushSpec = target.spec
    now = time.time()
    if ctx.heartbeats is None:
        return Result(
            ok=False,
            reason=Reason.ERROR,
            detail="no heartbeat records here (the running monitor keeps them)",
            started=now,
        )
    last = ctx.heartbeats.last(target.id)
    allowed = spec.period + spec.grace
    if last is None:
        since = ctx.heartbeats.since(target.id)
        if now - since <= allowed:
            return Result(ok=True, detail="waiting for the first heartbeat", started=now)
        return Result(
            ok=False,
            reason=Reason.NO_HEARTBEAT,
            started=now,
            detail=f"no heartbeat received in {format_duration(now - since)} "
            f"(period {format_duration(spec.period)} + grace {format_duration(spec.grace)})",
        )
    if now - last.started > allowed:
        return Result(
            ok=False,
            reason=Reason.NO_HEARTBEAT,
            started=now,
            extra={LAST_HEARTBEAT: last.started},
            detail=f"last heartbeat {format_duration(now - last.started)} ago "
            f"(period {format_duration(spec.period)} + grace {format_duration(spec.grace)})",
        )
    extra = {**last.extra, LAST_HEARTBEAT: last.started}
    return dataclasses.replace(last, started=now, extra=extra)


KIND = ProbeKind(
    name="push",
    schemes=(),
    parse=parse,
    probe=probe,
    metrics=MappingProxyType(
        {
            LAST_HEARTBEAT: "Unix time the last heartbeat of a push target arrived",
        }
    ),
    passive=True,
    secrets=("token",),
)
