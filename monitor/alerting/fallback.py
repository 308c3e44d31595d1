"""`FallbackOutbox`: the store's outbox with memory behind it, so an alert the database
cannot take (disk full, I/O error, damage) is still delivered, and not sent twice.

The alerting service and its dispatcher use it as they would the store's `Outbox`; it
never raises for the database's trouble:

- an alert the outbox refuses is held in memory (negative `seq`s) and the dispatcher
  delivers it from there; while anything is held, newer alerts are held too, so they
  leave in the order they came (an "up" never overtakes its "down");
- an outcome (delivered, failed, retried) the outbox cannot record is remembered, and
  the delivered entry is skipped rather than sent again;
- `sync()` (every tick, before each enqueue) writes the remembered outcomes, then the
  held alerts with the status they reached (`Outbox.adopt`): delivered ones are recorded
  as delivered. Without a `spool`, held alerts are not durable: a restart while the disk
  is still full loses the ones not yet delivered; nothing else drops them. With one (a
  store on a database server: `Spooling.spool()`), every change of what is held is
  written to that local file, and the next start holds (and delivers, and adopts) what
  it kept.

When the outbox cannot even be read, the held alerts are delivered ahead of what the
outbox kept from before the failure: late is worse than out of order. `health()` says
what is held, for `/readyz`.

Among several instances on one database only the sender drains the shared outbox
(`shared()` says whether this one is, `monitor.cluster`); what an instance holds in
memory it delivers itself, sender or not: no other instance knows of it.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from monitor.errors import StoreError
from monitor.log import kv
from monitor.notifiers.base import Alert
from monitor.store import DELIVERED, EPHEMERAL, FAILED, PENDING, Entry, Outbox, Spool, StoreHealth

log = logging.getLogger("monitor.alerts")

RETRY_SECONDS = 1.0  # between two tries at writing what is held


@dataclass
class _Outcome:
    """What happened to an outbox entry while the outbox refused to record it."""

    status: str  # PENDING (retried), DELIVERED or FAILED
    attempts: int = 0
    next_at: float = 0.0
    error: str | None = None


class FallbackOutbox:
    """An `Outbox` over `inner` that never loses an alert to the database; see the module
    docstring."""

    def __init__(
        self,
        inner: Outbox,
        clock: Callable[[], float] = time.time,
        shared: Callable[[], bool] = lambda: True,
        spool: Spool | None = None,
    ) -> None:
        self.inner, self.clock, self.shared, self.spool = inner, clock, shared, spool
        self.held: list[Entry] = []  # in order; pending, delivered and failed alike
        self._outcomes: dict[int, _Outcome] = {}  # outbox seq -> not recorded yet
        self._moved: dict[int, int] = {}  # held seq -> its outbox seq once adopted
        self._seqs = itertools.count(-1, -1)
        self._reason = ""
        self._since: float | None = None
        self._next_try = 0.0
        self._unheld()

    # -- the spool ---------------------------------------------------------------------

    def _unheld(self) -> None:
        """Hold what the spool kept at the last stop (or crash)."""
        if self.spool is None:
            return
        try:
            kept = self.spool.held_alerts()
        except StoreError as exc:
            log.error("the alert spool cannot be read", extra=kv(error=str(exc)))
            return
        self.held = [replace(e, seq=next(self._seqs)) for e in kept]
        if self.held:
            log.warning("alerts held before the restart taken from the spool", extra=kv(count=len(self.held)))

    def _persist(self) -> None:
        if self.spool is None:
            return
        try:
            self.spool.keep_alerts(self.held)
        except StoreError as exc:  # held in memory all the same
            log.error("the alert spool cannot be written", extra=kv(error=str(exc)))

    # -- the store's trouble ---------------------------------------------------------

    def health(self) -> StoreHealth:
        if self._since is None and not self.held and not self._outcomes:
            return StoreHealth()
        waiting = sum(e.status == PENDING for e in self.held) + len(self._outcomes)
        return StoreHealth(False, self._reason or "alerts held in memory", self._since, waiting)

    def _failed(self, exc: StoreError) -> None:
        now = self.clock()
        self._next_try = now + RETRY_SECONDS
        if self._since is None:
            self._since, self._reason = now, exc.reason or str(exc)
            log.error("outbox unavailable: alerts are held in memory", extra=kv(reason=self._reason, error=str(exc)))

    def sync(self, force: bool = False) -> bool:
        """Write what is held; True when nothing is held any more. Unless `force`d, not
        sooner than `RETRY_SECONDS` after a failure (an outage's alerts come in bursts)."""
        if not self.held and not self._outcomes:
            self._since, self._reason = None, ""  # a failed read, if any, shows again at the next
            return True
        if not force and self._since is not None and self.clock() < self._next_try:
            return False
        try:
            for seq, outcome in list(self._outcomes.items()):
                self._record(seq, outcome)
                del self._outcomes[seq]
            if self.held:
                seqs = self.inner.adopt(self.held)
                for entry, new in zip(self.held, seqs, strict=True):
                    if entry.status == PENDING and new is not None:
                        self._moved[entry.seq] = new
                log.warning("held alerts written to the outbox", extra=kv(count=len(self.held)))
                self.held = []
                self._persist()
        except StoreError as exc:
            self._failed(exc)
            return False
        self._since, self._reason = None, ""
        return True

    def _record(self, seq: int, outcome: _Outcome) -> None:
        if outcome.status == DELIVERED:
            self.inner.delivered(seq)
        elif outcome.status == FAILED:
            self.inner.failed(seq, outcome.error or "")
        else:
            self.inner.retry(seq, outcome.next_at, outcome.error or "")

    # -- the Outbox protocol ---------------------------------------------------------

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.sync(force=True)
        lost = sum(e.status == PENDING for e in self.held)
        if lost and self.spool is not None:
            log.warning("alerts held are kept in the spool for the next start", extra=kv(count=lost))
        elif lost:
            log.error("alerts held in memory are lost at the stop", extra=kv(count=lost, reason=self._reason))
        self.inner.close()

    def enqueue(self, alert: Alert, notifiers: Iterable[str]) -> list[str]:
        names = list(notifiers)
        if self.sync():
            try:
                return self.inner.enqueue(alert, names)
            except StoreError as exc:
                self._failed(exc)
        return self._hold(alert, names)

    def _hold(self, alert: Alert, names: list[str]) -> list[str]:
        if alert.kind in EPHEMERAL:  # as the outbox does: the newest refresh replaces one waiting
            self.held = [
                e
                for e in self.held
                if not (
                    e.alert.kind == alert.kind
                    and e.alert.target == alert.target
                    and e.notifier in names
                    and e.status == PENDING
                    and e.attempts == 0
                )
            ]
        else:
            names = [n for n in names if n not in self.known(alert.id)]
        now = self.clock()
        for name in names:
            self.held.append(Entry(next(self._seqs), alert, name, PENDING, 0, now, now, None, None))
        if names:
            log.warning("alert held in memory", extra=kv(alert=alert.id, notifiers=",".join(names)))
            self._persist()
        return names

    def head(self, notifier: str, skip: Collection[int] = ()) -> Entry | None:
        done = {seq for seq, o in self._outcomes.items() if o.status != PENDING}
        try:
            entry = self.inner.head(notifier, skip={*skip, *done}) if self.shared() else None
        except StoreError as exc:
            self._failed(exc)
            entry = None
        if entry is not None:
            outcome = self._outcomes.get(entry.seq)
            if outcome is None:
                return entry
            return replace(
                entry, attempts=entry.attempts + outcome.attempts, next_at=outcome.next_at, error=outcome.error
            )
        return next(
            (e for e in self.held if e.notifier == notifier and e.status == PENDING and e.seq not in skip), None
        )

    def delivered(self, seq: int) -> None:
        self._finish(seq, _Outcome(DELIVERED, 1))

    def failed(self, seq: int, error: str) -> None:
        self._finish(seq, _Outcome(FAILED, 1, error=error))

    def retry(self, seq: int, next_at: float, error: str) -> None:
        self._finish(seq, _Outcome(PENDING, 1, next_at, error))

    def _finish(self, seq: int, outcome: _Outcome) -> None:
        seq = self._moved.pop(seq, seq)
        if seq < 0:
            self._settle_held(seq, outcome)
            return
        earlier = self._outcomes.pop(seq, None)
        if earlier is not None:
            outcome.attempts += earlier.attempts
        try:
            self._record(seq, outcome)
        except StoreError as exc:
            self._failed(exc)
            self._outcomes[seq] = outcome

    def _settle_held(self, seq: int, outcome: _Outcome) -> None:
        for i, entry in enumerate(self.held):
            if entry.seq == seq:
                done = None if outcome.status == PENDING else self.clock()
                next_at = outcome.next_at if outcome.status == PENDING else entry.next_at
                self.held[i] = replace(
                    entry,
                    status=outcome.status,
                    attempts=entry.attempts + 1,
                    next_at=next_at,
                    done_at=done,
                    error=outcome.error,
                )
                self._persist()
                return

    def fail_orphans(self, configured: Iterable[str], error: str) -> int:
        names = set(configured)
        gone = 0
        try:
            gone = self.inner.fail_orphans(names, error)
        except StoreError as exc:
            self._failed(exc)
        for i, entry in enumerate(self.held):
            if entry.status == PENDING and entry.notifier not in names:
                self.held[i] = replace(entry, status=FAILED, done_at=self.clock(), error=error)
                gone += 1
        if gone:
            self._persist()
        return gone

    def queue_sizes(self, notifiers: Iterable[str] = ()) -> dict[str, int]:
        names = list(notifiers)
        try:
            sizes = self.inner.queue_sizes(names)
        except StoreError as exc:
            self._failed(exc)
            sizes = dict.fromkeys(names, 0)
        for entry in self.held:
            if entry.status == PENDING:
                sizes[entry.notifier] = sizes.get(entry.notifier, 0) + 1
        return sizes

    def entries(self, status: str | None = None, limit: int = 100) -> list[Entry]:
        held = [e for e in reversed(self.held) if status is None or e.status == status]
        try:
            stored = self.inner.entries(status, limit)
        except StoreError as exc:
            self._failed(exc)
            stored = []
        return (held + stored)[:limit]

    def prune(self) -> None:
        try:
            self.inner.prune()
        except StoreError as exc:
            self._failed(exc)

    def adopt(self, entries: Sequence[Entry]) -> list[int | None]:
        return self.inner.adopt(entries)

    def known(self, alert_id: str) -> set[str]:
        held = {e.notifier for e in self.held if e.alert.id == alert_id}
        try:
            return held | self.inner.known(alert_id)
        except StoreError as exc:
            self._failed(exc)
            return held

    def latest(self, kinds: Collection[str]) -> dict[str, list[tuple[Alert, str]]]:
        try:
            found = self.inner.latest(kinds)
        except StoreError as exc:
            self._failed(exc)
            found = {}
        for entry in self.held:
            if entry.alert.kind in kinds:
                target = entry.alert.target
                mine = [(a, n) for a, n in found.get(target, []) if n != entry.notifier]
                found[target] = [*mine, (entry.alert, entry.notifier)]
        return found
