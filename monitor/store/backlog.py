"""What a backend's writer keeps in memory while the database will not take its writes.

Every backend queues the runtime's results and events in memory and writes them in
batches. When a batch fails (disk full, an I/O error, a damaged page, a lock held too
long), `Backlog.failed` puts it back at the front of the queue, in order, and the writer
tries again after `retry_delay()` (1 s doubling up to `RETRY_CAP`), until the database
takes it: nothing is lost to a failure that ends, and `health()` says meanwhile what is
wrong and how much waits.

Memory is bounded: beyond `limit` items the oldest raw *results* are dropped and counted
(`dropped`, logged). Events are never dropped: they are few (one per change of state)
and the history's availability is made of them. What a dropped result costs is its raw
row and its count in that hour's rollup; the availability figures do not change.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from monitor.log import kv
from monitor.store.records import StoreHealth

T = TypeVar("T")
log = logging.getLogger("monitor.store")

LIMIT = 200_000  # items kept while writes fail: ~100 MB, at 100 probes a second over half an hour
RETRY_CAP = 10.0  # seconds between two tries at most, so a recovery is noticed soon
REPORT_EVERY = 60.0  # seconds between two log lines about the same failure


class Backlog(Generic[T]):
    """The queue between the runtime and the writer. `items` is a plain deque: the probe
    loop appends to it without a lock; the writer thread takes, puts back and trims.
    `droppable(item)` says which items may be dropped when memory is full."""

    def __init__(
        self, droppable: Callable[[T], bool], limit: int = LIMIT, clock: Callable[[], float] = time.time
    ) -> None:
        self.items: deque[T] = deque()
        self.droppable, self.limit, self.clock = droppable, limit, clock
        self.dropped = 0
        self.reason = ""
        self.since: float | None = None
        self.failures = 0  # consecutive failed writes
        self.taken = 0  # items taken for the write in progress
        self._reported = 0.0

    def __len__(self) -> int:
        return len(self.items)

    def take(self) -> list[T]:
        """Everything queued now, oldest first."""
        items = self.items
        taken = [items.popleft() for _ in range(len(items))]
        self.taken = len(taken)
        return taken

    def failed(self, items: Iterable[T], reason: str) -> None:
        """A write of `items` failed: keep them, in front of what came since."""
        self.items.extendleft(reversed(list(items)))
        self.taken = 0
        now = self.clock()
        first = self.since is None
        if first:
            self.since = now
        self.reason, self.failures = reason, self.failures + 1
        dropped = self._trim()
        if first or dropped or now - self._reported >= REPORT_EVERY:
            self._reported = now
            log.error(
                "store write failed; kept in memory for a retry",
                extra=kv(reason=reason, waiting=len(self.items), dropped=self.dropped),
            )

    def succeeded(self, written: int) -> None:
        """A write went through: the failure, if any, is over."""
        self.taken = 0
        if self.since is not None:
            log.warning(
                "store writes resumed",
                extra=kv(after=f"{self.clock() - self.since:.0f}s", written=written, dropped=self.dropped),
            )
        self.reason, self.since, self.failures = "", None, 0

    def retry_delay(self, base: float) -> float:
        """How long to wait before the next write: `base` while healthy, else a backoff."""
        if not self.failures:
            return base
        return min(RETRY_CAP, 2.0 ** (self.failures - 1))

    def health(self) -> StoreHealth:
        failing = self.since is not None
        waiting = len(self.items) + self.taken if failing else 0
        return StoreHealth(not failing, self.reason, self.since, waiting, self.dropped)

    def _trim(self) -> int:
        """Drop the oldest droppable items beyond `limit`; return how many."""
        excess = len(self.items) - self.limit
        kept: list[T] = []
        dropped = 0
        while excess > 0 and self.items:
            item = self.items.popleft()
            if self.droppable(item):
                dropped += 1
                excess -= 1
            else:
                kept.append(item)
        self.items.extendleft(reversed(kept))
        self.dropped += dropped
        return dropped
