"""The probe dispatcher: each target probed every `interval`, at its own slot.

One asyncio loop holds a heap of due times; it wakes for the earliest slot and starts
every due probe as a task under a concurrency bound. Slots stay on a fixed grid (`due +
interval`, missed slots skipped, never bunched), are spread evenly across the interval
for targets added together (at start or by a reload, so neither bursts), and a target
still being probed at its next slot is skipped rather than probed twice at once.
How late each probe starts against its slot is reported to `on_lag`.

This is not an APScheduler job per probe: at ~0.5 ms CPU per job run that alone would
cap a core at 2,000 probes/s; here a dispatch costs a heap pop and a task.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from monitor.config import Target

log = logging.getLogger(__name__)

RunFn = Callable[[Target], Awaitable[None]]
EARLY = 0.001  # seconds before its slot a due probe may start (the timers' resolution)


@dataclass(slots=True)
class _Entry:
    target: Target
    due: float
    generation: int


# The running monitor's bound on probes in flight at once (`Monitor(concurrency=...)`):
# each holds a socket, so it also bounds the open files probing needs.
IN_FLIGHT = 2000


@dataclass
class SchedulerStats:
    """What the health check reads (the lags), and probes skipped for overlapping."""

    skipped_overlap: int = 0
    lag_window: deque[float] = field(default_factory=lambda: deque(maxlen=256))


class Scheduler:
    """Dispatches probes; see the module docstring. `run` is awaited for each probe and
    must not raise (a raise is logged)."""

    def __init__(
        self,
        run: RunFn,
        concurrency: int = 1000,
        on_lag: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run = run
        self._limit = concurrency
        self._on_lag = on_lag
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[float, int, str, int]] = []
        self._seq = 0
        self._running: set[str] = set()
        self._waiting: deque[tuple[_Entry, float]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Future[None] | None = None
        self.stats = SchedulerStats()

    @property
    def concurrency(self) -> int:
        """The most probes it runs at once."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """Probes running now (not counting those waiting for a free place)."""
        return len(self._running) - len(self._waiting)

    def set_targets(self, targets: Iterable[Target]) -> None:
        """Start, keep or stop targets. A kept target with the same interval keeps its
        slot; new ones (and those whose interval changed) are spread across their
        interval from now."""
        now = self._clock()
        fresh: list[Target] = []
        wanted = {t.id: t for t in targets}
        for tid in [t for t in self._entries if t not in wanted]:
            del self._entries[tid]
        for tid, target in wanted.items():
            entry = self._entries.get(tid)
            if entry is not None and entry.target.interval == target.interval:
                entry.target = target
            else:
                fresh.append(target)
        fresh.sort(key=lambda t: t.id)
        for index, target in enumerate(fresh):
            due = now + target.interval * index / len(fresh)
            old = self._entries.get(target.id)
            entry = _Entry(target, due, old.generation + 1 if old else 0)
            self._entries[target.id] = entry
            self._push(entry)
        self._poke()

    def _push(self, entry: _Entry) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (entry.due, self._seq, entry.target.id, entry.generation))

    def _poke(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def run(self) -> None:
        """Dispatch until cancelled; cancelling also cancels probes in flight."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._dispatch_due()
                delay = self._heap[0][0] - self._clock() if self._heap else 3600.0
                if delay > 0:
                    self._wake = loop.create_future()
                    handle = loop.call_later(min(delay, 3600.0), _resolve, self._wake)
                    try:
                        await self._wake
                    finally:
                        handle.cancel()
                        self._wake = None
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _dispatch_due(self) -> None:
        now = self._clock()
        heap = self._heap
        # uvloop's (libuv's) timers have 1 ms resolution and may fire up to 1 ms early:
        # without this slack such a wake found nothing due and re-armed at once, spinning
        # ~18 wakes per probe. Starting a probe < 1 ms before its slot is harmless.
        soon = now + EARLY
        while heap and heap[0][0] <= soon:
            due, _, tid, generation = heapq.heappop(heap)
            entry = self._entries.get(tid)
            if entry is None or entry.generation != generation:
                continue
            interval = entry.target.interval
            entry.due = due + interval
            if entry.due <= now:  # fell behind by whole intervals: skip those slots
                entry.due += math.ceil((now - entry.due) / interval + 1e-9) * interval
            self._push(entry)
            if tid in self._running:
                self.stats.skipped_overlap += 1
                continue
            if len(self._running) >= self._limit:
                self._waiting.append((entry, due))
                self._running.add(tid)
                continue
            self._start(entry, due)

    def _start(self, entry: _Entry, due: float) -> None:
        tid = entry.target.id
        self._running.add(tid)
        lag = max(0.0, self._clock() - due)
        self.stats.lag_window.append(lag)
        if self._on_lag is not None:
            self._on_lag(lag)
        task = asyncio.get_running_loop().create_task(self._one(entry.target))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(self, target: Target) -> None:
        try:
            await self._run(target)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("probe runner failed target=%s", target.id)
        finally:
            self._running.discard(target.id)
            # The next waiting probe whose target is still scheduled takes this one's
            # place: a removed one passed over must not leave the place empty (with no
            # probe left to finish, the queue would never move again).
            while self._waiting:
                entry, due = self._waiting.popleft()
                self._running.discard(entry.target.id)
                if self._entries.get(entry.target.id) is entry:
                    self._start(entry, due)
                    break

    def healthy(self, max_lag: float = 5.0) -> bool:
        """Probes start on time: the recent lags are all below `max_lag` seconds."""
        # A copy: the probe loop appends while the serving loop asks (`monitor.probeloop`).
        window = self.stats.lag_window.copy()
        return not window or max(window) < max_lag


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
