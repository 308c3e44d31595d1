"""`Pushes`: push heartbeats in a cluster, where a job's push may reach any instance
(behind a load balancer) but only the instance that owns the push target judges it.

While the store is shared and this location has more than one live member (`shared`),
`Monitor.record_heartbeat` hands a push to `send`: it is stored in the store's
`SharedHeartbeats` and committed before `/push` answers 200; a store that cannot take it
raises `StoreError` and the route answers 503 with the reason, so the job's own retry is
what keeps the heartbeat (a 200 is never said of a heartbeat that is lost). Every
instance reads, every `READ_SECONDS`, the heartbeats numbered after the last it read
(`read`: by number, never the whole table) and judges those of the targets it owns
(`Monitor.judge_heartbeat`: the heartbeat book, then the state machine), so a push is
judged once, by its owner, whichever instance received it; the owner's own pushes take
the same path.

A target taken over (a member died or joined) or owned at the start may have had a
heartbeat that its former owner had not judged yet: `catch_up` puts the newest stored
heartbeat of each such target in the book when it is newer than the book's, and the
target's next probe judges it. The sender prunes heartbeats older than
`RETAIN_SECONDS` every `PRUNE_SECONDS`, each target's newest kept.

A single instance (SQLite, or PostgreSQL with no other live member) keeps today's path:
the push is judged in memory at once and its result stored like any other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from monitor.errors import StoreError
from monitor.log import kv
from monitor.probes import PROBES
from monitor.probes.push import heartbeat
from monitor.result import Result
from monitor.store.records import PushedHeartbeat

if TYPE_CHECKING:
    from monitor.config import Target
    from monitor.runtime import Monitor

log = logging.getLogger("monitor.cluster")

READ_SECONDS = 1.0  # between two reads of the heartbeats stored since the last
BATCH = 1000  # heartbeats read at once
RETAIN_SECONDS = 3600.0  # a heartbeat is kept this long (each target's newest for ever)
PRUNE_SECONDS = 600.0  # between two prunings by the sender


class Pushes:
    """This instance's side of the shared heartbeats; see the module doc."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.mark: int | None = None  # the number of the last heartbeat read (None: not known yet)
        self.failure = ""  # why the last read failed ("" when it did not)
        self._pruned = time.monotonic()

    @property
    def shared(self) -> bool:
        """Pushes go through the store: it is shared and another member is alive."""
        return self.monitor.store.shared and len(self.monitor.replicas.members) > 1

    async def start(self) -> None:
        """At the start: read from the newest number on, and catch the owned targets up."""
        if not self.monitor.store.shared:
            return
        try:
            self.mark = await self.monitor.store.heartbeat_mark()
        except StoreError as exc:
            self._failed(exc)  # the first read that works sets the mark
            return
        await self.catch_up(self.monitor.owned)

    async def send(self, target: Target, result: Result) -> None:
        """Store the push for its owner; `StoreError` when it was not stored."""
        await self.monitor.store.add_heartbeat(
            PushedHeartbeat(
                0,
                target.id,
                result.started,
                down=not result.ok,
                detail=result.detail,
                duration=result.duration,
                received_by=self.monitor.replicas.instance,
            )
        )

    async def run(self) -> None:
        """Read and judge every `READ_SECONDS`, prune when the sender, until cancelled."""
        if not self.monitor.store.shared:
            return
        while True:
            await asyncio.sleep(READ_SECONDS)
            await self.read()
            await self._prune()

    async def read(self) -> int:
        """Judge the heartbeats stored since the last read, of the targets owned here;
        how many were judged. Never raises for the store (logged once until it works)."""
        store, judged = self.monitor.store, 0
        try:
            if self.mark is None:
                self.mark = await store.heartbeat_mark()
            while True:
                rows = await store.heartbeats_since(self.mark, BATCH)
                for row in rows:
                    judged += self._judge(row)
                    self.mark = row.change
                if len(rows) < BATCH:
                    break
        except StoreError as exc:
            self._failed(exc)
            return judged
        if self.failure:
            log.warning("shared heartbeats read again")
            self.failure = ""
        return judged

    async def catch_up(self, target_ids: Collection[str]) -> None:
        """The newest stored heartbeat of each of these push targets into the book, when
        it is newer than the book's (their next probe judges it)."""
        targets = self.monitor.config.targets
        passive = [tid for tid in target_ids if tid in targets and _passive(targets[tid])]
        if not passive or not self.monitor.store.shared:
            return
        try:
            latest = await self.monitor.store.latest_heartbeats(passive)
        except StoreError as exc:
            self._failed(exc)
            return
        book = self.monitor.heartbeats
        for tid, row in latest.items():
            known = book.last(tid)
            if known is None or known.started < row.arrived:
                book.record(tid, as_result(row))

    def _judge(self, row: PushedHeartbeat) -> bool:
        target = self.monitor.config.targets.get(row.target)
        if target is None or row.target not in self.monitor.owned or not _passive(target):
            return False
        known = self.monitor.heartbeats.last(row.target)
        if known is not None and known.started >= row.arrived:  # caught up with already
            return False
        self.monitor.judge_heartbeat(target, as_result(row))
        return True

    async def _prune(self) -> None:
        if time.monotonic() - self._pruned < PRUNE_SECONDS or not self.monitor.is_sender():
            return
        self._pruned = time.monotonic()
        try:
            gone = await self.monitor.store.prune_heartbeats(time.time() - RETAIN_SECONDS)
        except StoreError as exc:
            log.warning("shared heartbeats not pruned", extra=kv(reason=exc.reason or str(exc)))
            return
        if gone:
            log.info("shared heartbeats pruned", extra=kv(heartbeats=gone))

    def _failed(self, exc: StoreError) -> None:
        if not self.failure:
            log.error("shared heartbeats not read", extra=kv(reason=exc.reason or str(exc)))
        self.failure = exc.reason or str(exc)


def as_result(row: PushedHeartbeat) -> Result:
    """The `Result` a stored heartbeat stands for (as the push route made it)."""
    return heartbeat(row.arrived, down=row.down, msg=row.detail, duration=row.duration)


def _passive(target: Target) -> bool:
    kind = PROBES.get(target.kind)
    return kind is not None and kind.passive
