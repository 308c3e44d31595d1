"""The dispatcher: delivers what the outbox holds, one worker task per notifier.

Each worker takes its notifier's oldest pending alert (so "up" never overtakes "down"),
sends it and records the outcome: delivered; `PermanentNotifyError` -> failed, with the
error, logged and counted, never retried; `TransientNotifyError` (or an unexpected
exception) -> retried after an exponential backoff with jitter (`base` doubling up to
`cap`), or after the peer's `retry_after`. A notifier that is down therefore holds its
own queue back, not the others'. Delivery is at least once: an alert whose send was cut
by a stop or a crash is sent again, with the same id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping

from monitor.errors import PermanentNotifyError, StoreError, TransientNotifyError
from monitor.log import kv
from monitor.notifiers.base import Notifier
from monitor.store import Entry, Outbox

log = logging.getLogger("monitor.alerts")
STORE_RETRY_SECONDS = 5.0


class Dispatcher:
    """Worker tasks draining the outbox; `wake()` after queueing. Each final outcome is
    counted in `counts` (`(notifier, "sent" | "failed") -> n`) and passed to
    `on_outcome(notifier, ok)`."""

    def __init__(
        self,
        outbox: Outbox,
        notifiers: Mapping[str, Notifier],
        *,
        clock: Callable[[], float] = time.time,
        base: float = 5.0,
        cap: float = 600.0,
        jitter: float = 0.2,
        rng: Callable[[], float] = random.random,
        on_outcome: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.outbox, self.clock, self.on_outcome = outbox, clock, on_outcome
        self.base, self.cap, self.jitter, self.rng = base, cap, jitter, rng
        self.notifiers: dict[str, Notifier] = {}
        self.counts: Counter[tuple[str, str]] = Counter()
        self._events: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started = False
        self.update(notifiers)

    def update(self, notifiers: Mapping[str, Notifier]) -> None:
        """Take a new set of notifiers (after a reload): workers start and stop to match;
        pending alerts of a removed notifier are failed (no one can send them)."""
        self.notifiers = dict(notifiers)
        gone = self.outbox.fail_orphans(self.notifiers, "notifier no longer configured")
        if gone:
            log.warning("alerts failed: notifier no longer configured", extra=kv(count=gone))
        if self._started:
            self._sync_workers()

    async def start(self) -> None:
        self._started = True
        self._sync_workers()

    async def stop(self) -> None:
        self._started = False
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self, names: list[str] | None = None) -> None:
        """Something was queued for these notifiers (all if None)."""
        for name in self._events if names is None else names:
            event = self._events.get(name)
            if event is not None:
                event.set()

    def _sync_workers(self) -> None:
        for name in [n for n in self._tasks if n not in self.notifiers]:
            self._tasks.pop(name).cancel()
            self._events.pop(name, None)
        for name in self.notifiers:
            if name not in self._tasks:
                self._events[name] = asyncio.Event()
                self._tasks[name] = asyncio.create_task(self._work(name), name=f"notify-{name}")

    async def _work(self, name: str) -> None:
        while True:
            try:
                await self._drain(name)
                return  # the notifier is gone
            except StoreError as exc:  # e.g. the database stayed locked: try again soon
                log.error("outbox unavailable", extra=kv(notifier=name, error=str(exc)))
                await asyncio.sleep(STORE_RETRY_SECONDS)

    async def _drain(self, name: str) -> None:
        event = self._events[name]
        while True:
            entry = self.outbox.head(name)
            wait = None if entry is None else entry.next_at - self.clock()
            if entry is None or (wait is not None and wait > 0):
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=wait)
                continue
            notifier = self.notifiers.get(name)
            if notifier is None:
                return
            await self._deliver(name, notifier, entry)

    async def _deliver(self, name: str, notifier: Notifier, entry: Entry) -> None:
        alert = entry.alert
        try:
            await notifier.send(alert)
        except PermanentNotifyError as exc:
            self.outbox.failed(entry.seq, str(exc))
            self._count(name, ok=False)
            log.error(
                "alert failed",
                extra=kv(notifier=name, alert=alert.id, kind=alert.kind, target=alert.target, error=str(exc)),
            )
        except Exception as exc:  # transient, or a notifier's bug: keep the alert
            retry_after = exc.retry_after if isinstance(exc, TransientNotifyError) else None
            delay = self.backoff(entry.attempts + 1, retry_after)
            self.outbox.retry(entry.seq, self.clock() + delay, str(exc) or type(exc).__name__)
            level = logging.WARNING if isinstance(exc, TransientNotifyError) else logging.ERROR
            log.log(
                level,
                "alert delayed",
                exc_info=not isinstance(exc, TransientNotifyError),
                extra=kv(
                    notifier=name,
                    alert=alert.id,
                    attempt=entry.attempts + 1,
                    retry_in=f"{delay:.1f}s",
                    error=str(exc) or type(exc).__name__,
                ),
            )
        else:
            self.outbox.delivered(entry.seq)
            self._count(name, ok=True)
            log.info(
                "alert sent",
                extra=kv(
                    notifier=name, alert=alert.id, kind=alert.kind, target=alert.target, attempts=entry.attempts + 1
                ),
            )

    def _count(self, name: str, ok: bool) -> None:
        self.counts[(name, "sent" if ok else "failed")] += 1
        if self.on_outcome is not None:
            self.on_outcome(name, ok)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt `attempt + 1`: the peer's wish, else base·2^(n-1),
        capped, with ±jitter so many alerts do not retry in lockstep."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap * 6)
        delay = min(self.cap, self.base * 2.0 ** min(attempt - 1, 30))
        return delay * (1 + self.jitter * (2 * self.rng() - 1))
