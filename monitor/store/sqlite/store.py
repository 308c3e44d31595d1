"""`SQLiteStore`: the `Store` on one SQLite file (`data_dir/monitor.db`, WAL journal).

Writes go through the one `Writer` thread (batched, never blocking the caller); reads run
on a second connection in a one-thread executor, each inside one read transaction so a
query sees one consistent snapshot. Availability maths is in `monitor.store.timeline`.

With `observe=True` (the running monitor) `open` records a *run* and the writer keeps its
`last_seen` fresh, so the time the monitor was down is known and never counted as
uptime or downtime, and `open` checks the file's integrity in the background
(`integrity.Check`): damage it finds makes `health()` fail. Readers such as `monitor
report` open with `observe=False`.

An incident event is committed by `add_event` itself, in a small transaction on a
connection of its own, before the alert it causes is queued: a `kill -9` right after a
change of state resumes in the new state. Results stay queued for the writer's batches.
While the store fails, events go to the writer's queue too, kept in memory and retried.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from datetime import time as clock_time
from pathlib import Path
from typing import Any, TypeVar

from monitor.config import Settings
from monitor.errors import StoreError
from monitor.log import kv
from monitor.result import Event, Result, State
from monitor.store import (
    Ack,
    Announcement,
    AuditEntry,
    DayUptime,
    IncidentUpdate,
    LocationChanges,
    LocationSeen,
    LocationState,
    Member,
    Mute,
    Note,
    Period,
    PlannedMaintenance,
    PostedIncident,
    PushedHeartbeat,
    Rollup,
    StoredResult,
    StoreHealth,
    Uptime,
    Wording,
    rollup,
    timeline,
)
from monitor.store.backlog import LIMIT
from monitor.store.sqlite import bulletins as b
from monitor.store.sqlite import integrity, oncall
from monitor.store.sqlite import locations as loc
from monitor.store.sqlite import reads as q
from monitor.store.sqlite.failures import reason
from monitor.store.sqlite.outbox import SQLiteOutbox
from monitor.store.sqlite.schema import connect, migrate
from monitor.store.sqlite.subscribers import SQLiteSubscribers
from monitor.store.sqlite.writer import Writer, write_event

T = TypeVar("T")
log = logging.getLogger("monitor.store")
Windows = Sequence[tuple[float, float]]

DB_NAME = "monitor.db"


def database_path(settings: Settings) -> Path:
    """Where a configuration's SQLite history lives."""
    return settings.data_dir / DB_NAME


class SQLiteStore:
    """The history in one SQLite file; see `monitor.store` for the contract."""

    def __init__(
        self,
        path: str | Path,
        *,
        raw_retention: float = 48 * 3600.0,
        observe: bool = True,
        clock: Callable[[], float] = time.time,
        flush_interval: float = 1.0,
        batch_size: int = 5000,
        backlog_limit: int = LIMIT,
        location: str = "local",
    ) -> None:
        self.path = Path(path)
        self.location = location
        self.raw_retention = raw_retention
        self.observe = observe
        self.clock = clock
        self._writer_options = (flush_interval, batch_size, raw_retention if observe else None, backlog_limit)
        self._writer = self._new_writer()
        self._reader: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._events: sqlite3.Connection | None = None  # `add_event`'s, on the event loop
        self.integrity: integrity.Check | None = None

    @classmethod
    def for_settings(cls, settings: Settings, **options: Any) -> SQLiteStore:
        """The store of a configuration: `data_dir/monitor.db`, its `raw_retention`."""
        options.setdefault("raw_retention", settings.raw_retention)
        options.setdefault("location", settings.location)
        return cls(database_path(settings), **options)

    def outbox(self, clock: Callable[[], float]) -> SQLiteOutbox:
        """The outbox's tables in the same file, on a connection of their own."""
        return SQLiteOutbox(self.path, clock=clock)

    def subscribers(self, clock: Callable[[], float]) -> SQLiteSubscribers:
        """The subscriptions' tables in the same file, on a connection of their own."""
        return SQLiteSubscribers(self.path, clock=clock)

    def _new_writer(self) -> Writer:
        writer = Writer(self.path, self.clock, None, *self._writer_options)
        writer.location = self.location
        return writer

    async def open(self) -> None:
        if self._writer.started:  # opened before: a thread starts once, so a new writer
            queued, self._writer = self._writer.queue, self._new_writer()
            self._writer.queue.extend(queued)
        await asyncio.to_thread(self._prepare)
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="monitor-store-reader")
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._reader, connect, self.path)
        if self.observe:
            # A short wait for the lock, as the outbox's: it is used on the event loop.
            self._events = await asyncio.to_thread(connect, self.path, 5.0)
            self.integrity = integrity.Check(self.path)
        self._writer.start()

    def _prepare(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from exc
        try:
            migrate(conn)
            if self.observe:
                now = self.clock()
                cur = conn.execute("INSERT INTO runs (started, last_seen) VALUES (?, ?)", (now, now))
                self._writer.run_id = cur.lastrowid
        finally:
            conn.close()

    async def close(self) -> None:
        if self.integrity is not None:
            self.integrity.cancel()
        if self._writer.alive():
            await asyncio.to_thread(self._writer.stop)
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._reader is not None and self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._reader, conn.close)
            self._reader.shutdown()
            self._reader = None

    # -- writes ---------------------------------------------------------------------

    def add_result(self, target_id: str, result: Result, maintenance: bool = False) -> None:
        self._writer.put((target_id, result, maintenance))

    def add_event(self, event: Event) -> None:
        """Commit the event now; while the store fails, queue it for the writer's retries
        (trying first would hold the event loop on every event of an outage)."""
        if self._events is not None and self._writer.health().ok:
            try:
                write_event(self._events, event)
                return
            except sqlite3.Error as exc:
                log.warning("event kept in memory for a retry", extra=kv(target=event.target, reason=reason(exc)))
        self._writer.put(event)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._writer.alive():
            raise StoreError("the store is not open")
        result: T = await asyncio.wrap_future(self._writer.call(fn))
        return result

    async def flush(self) -> None:
        await self._write(lambda conn: None)

    def healthy(self) -> bool:
        return self.health().ok

    def health(self) -> StoreHealth:
        if not self._writer.alive():
            return StoreHealth(False, "the store is not open" if not self._writer.stopped else "the writer stopped")
        found = self._writer.health()
        check = self.integrity
        if check is not None and check.damage() is not None:
            return StoreHealth(False, "database corrupt", check.done_at, found.waiting, found.dropped)
        return found

    async def prune(self, now: float) -> int:
        cutoff = now - self.raw_retention
        return await self._write(lambda conn: q.prune(conn, cutoff))

    # -- membership: a file of one instance, alone and always the sender ------------

    @property
    def shared(self) -> bool:
        return False

    def renew(self, member: Member, dead_after: float) -> list[Member]:
        return [replace(member, renewed_at=time.time())]

    def lease(self, holder: str, ttl: float) -> bool:
        return True

    def leave(self, instance: str) -> None:
        return None

    # -- push heartbeats: none shared; the one instance judges every push in memory --

    async def add_heartbeat(self, heartbeat: PushedHeartbeat) -> None:
        raise StoreError("a store of one instance shares no heartbeats: the instance judges them in memory")

    async def heartbeats_since(self, after: int, limit: int) -> list[PushedHeartbeat]:
        return []

    async def heartbeat_mark(self) -> int:
        return 0

    async def latest_heartbeats(self, target_ids: Collection[str]) -> dict[str, PushedHeartbeat]:
        return {}

    async def prune_heartbeats(self, before: float) -> int:
        return 0

    def spool(self) -> None:
        """None: the file is local already, and a spool beside it would fail with it."""
        return None

    async def add_note(self, target_id: str, at: float, text: str, author: str = "") -> Note:
        return await self._write(lambda conn: q.add_note(conn, target_id, at, text, author))

    async def add_maintenance(
        self, start: float, end: float, targets: Sequence[str] = (), groups: Sequence[str] = (), reason: str = ""
    ) -> PlannedMaintenance:
        return await self._write(
            lambda conn: q.add_maintenance(conn, start, end, tuple(targets), tuple(groups), reason)
        )

    async def remove_maintenance(self, window_id: int) -> bool:
        return await self._write(lambda conn: q.remove_maintenance(conn, window_id))

    async def declare_incident(self, targets: Sequence[str], title: Wording, at: float) -> PostedIncident:
        return await self._write(lambda conn: b.declare(conn, tuple(targets), title, at))

    async def automatic_incident(self, target: str, opened: float, title: Wording | None = None) -> PostedIncident:
        return await self._write(lambda conn: b.automatic(conn, target, opened, title))

    async def add_incident_update(
        self, incident: int, at: float, status: str, text: Wording, author: str = ""
    ) -> IncidentUpdate:
        return await self._write(lambda conn: b.add_update(conn, incident, at, status, text, author))

    async def add_announcement(
        self, level: str, text: Wording, start: float, end: float | None, created: float
    ) -> Announcement:
        return await self._write(lambda conn: b.add_announcement(conn, level, text, start, end, created))

    async def remove_announcement(self, announcement: int) -> bool:
        return await self._write(lambda conn: b.remove_announcement(conn, announcement))

    # -- on-call (`OnCallRecords`) ----------------------------------------------------

    async def add_ack(self, ack: Ack) -> Ack:
        return await self._write(lambda conn: oncall.add_ack(conn, ack))

    async def acks(self, since: float) -> list[Ack]:
        return await self._read(lambda conn: oncall.acks(conn, since))

    async def set_mute(self, mute: Mute) -> None:
        await self._write(lambda conn: oncall.set_mute(conn, mute))

    async def remove_mute(self, target_id: str) -> Mute | None:
        return await self._write(lambda conn: oncall.remove_mute(conn, target_id))

    async def mutes(self) -> list[Mute]:
        return await self._read(oncall.mutes)

    async def oncall_changes(self) -> int:
        return await self._read(oncall.changes)

    async def bot_offset(self, bot: str) -> int | None:
        return await self._read(lambda conn: oncall.bot_offset(conn, bot))

    async def set_bot_offset(self, bot: str, offset: int) -> None:
        await self._write(lambda conn: oncall.set_bot_offset(conn, bot, offset))

    async def record_audit(self, entry: AuditEntry) -> None:
        await self._write(lambda conn: q.record_audit(conn, entry))

    # -- reads ----------------------------------------------------------------------

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader is None or self._conn is None:
            raise StoreError("the store is not open")
        conn = self._conn

        def snapshot() -> T:
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")

        try:
            return await asyncio.get_running_loop().run_in_executor(self._reader, snapshot)
        except sqlite3.Error as exc:  # e.g. a damaged file: the store's own error, with the cause
            raise StoreError(f"cannot read {self.path}: {exc}") from exc

    async def publish_location(self, seen: LocationSeen, states: Sequence[LocationState]) -> None:
        await self._write(lambda conn: loc.publish(conn, seen, states))

    async def locations_seen(self) -> list[LocationSeen]:
        return await self._read(loc.seen)

    async def location_changes(self, after: int = 0) -> LocationChanges:
        return await self._read(lambda conn: loc.changes(conn, after))

    async def last_events(self) -> dict[str, Event]:
        return await self._read(q.last_events)

    async def last_results(self) -> dict[str, Result]:
        return await self._read(q.latest_results)

    async def target_ids(self) -> list[str]:
        return await self._read(q.target_ids)

    async def notes(self, target_ids: Collection[str] | None, start: float, end: float) -> list[Note]:
        return await self._read(lambda conn: q.notes(conn, target_ids, start, end))

    async def planned_maintenance(self, since: float) -> list[PlannedMaintenance]:
        return await self._read(lambda conn: q.planned_maintenance(conn, since))

    async def posted_incident(self, incident: int) -> PostedIncident | None:
        return await self._read(lambda conn: b.one(conn, incident))

    async def posted_incidents(self, since: float) -> list[PostedIncident]:
        return await self._read(lambda conn: b.since(conn, since))

    async def announcements(self, since: float) -> list[Announcement]:
        return await self._read(lambda conn: b.announcements(conn, since))

    async def audit_entries(self, limit: int = 200) -> list[AuditEntry]:
        return await self._read(lambda conn: q.audit_entries(conn, limit))

    async def events(
        self, target_ids: Collection[str] | None, start: float, end: float, limit: int | None = None
    ) -> list[Event]:
        return await self._read(lambda conn: q.events(conn, target_ids, start, end, True, limit))

    async def results(self, target_id: str, start: float, end: float, limit: int | None = None) -> list[StoredResult]:
        return await self._read(lambda conn: q.results(conn, target_id, start, end, limit))

    async def uptime(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, Uptime]:
        now = self.clock()
        found = await self._read(lambda conn: self._uptimes(conn, target_ids, [(start, end)], now))
        return {tid: ups[0] for tid, ups in found.items()}

    async def daily(
        self, target_ids: Collection[str] | None, days: int, zone: tzinfo, now: float
    ) -> dict[str, list[DayUptime]]:
        today = datetime.fromtimestamp(now, zone).date()
        dates = [today - timedelta(days=days - 1 - i) for i in range(days + 1)]
        bounds = [datetime.combine(d, clock_time(0), zone).timestamp() for d in dates]
        windows = list(itertools.pairwise(bounds))
        found = await self._read(lambda conn: self._uptimes(conn, target_ids, windows, now))
        return {tid: [DayUptime(d, u) for d, u in zip(dates, ups, strict=False)] for tid, ups in found.items()}

    async def segments(
        self, target_ids: Collection[str] | None, start: float, end: float
    ) -> dict[str, list[timeline.Segment]]:
        def read(conn: sqlite3.Connection) -> dict[str, list[timeline.Segment]]:
            wanted = list(target_ids) if target_ids is not None else q.target_ids(conn)
            before = q.last_events(conn, start, target_ids)
            inside: dict[str, list[Event]] = defaultdict(list)
            for event in q.events(conn, target_ids, start, end):
                inside[event.target].append(event)
            runs = timeline.covered(self._runs(conn, end), start, end)
            return {tid: timeline.segments(before.get(tid), inside[tid], runs, start, end) for tid in wanted}

        return await self._read(read)

    def _uptimes(
        self, conn: sqlite3.Connection, ids: Collection[str] | None, windows: Windows, now: float
    ) -> dict[str, list[Uptime]]:
        start, end = windows[0][0], windows[-1][1]
        wanted = list(ids) if ids is not None else q.target_ids(conn)
        before = q.last_events(conn, start, ids)
        inside: dict[str, list[Event]] = defaultdict(list)
        for event in q.events(conn, ids, start, end):
            inside[event.target].append(event)
        runs = self._runs(conn, now)
        return {tid: timeline.uptimes(tid, before.get(tid), inside[tid], runs, windows) for tid in wanted}

    def _runs(self, conn: sqlite3.Connection, now: float) -> list[tuple[float, float]]:
        """The runs' spans; this process's own run lasts until now while it is open."""
        own = self._writer.run_id if self._writer.alive() else None
        return [(a, max(b, now) if i == own else b) for i, a, b in q.runs(conn)]

    async def periods(
        self, target_ids: Collection[str] | None, start: float, end: float, states: Collection[State] | None = None
    ) -> list[Period]:
        def read(conn: sqlite3.Connection) -> list[Period]:
            before = q.last_events(conn, start, target_ids)
            return timeline.periods_in(before, q.events(conn, target_ids, start, math.inf), start, end, states)

        return await self._read(read)

    async def incidents(
        self, target_ids: Collection[str] | None, start: float, end: float, limit: int | None = None
    ) -> list[Period]:
        return await self._read(lambda conn: q.down_periods(conn, target_ids, start, end, limit))

    async def rollups(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, list[Rollup]]:
        return rollup.hourly(await self._read(lambda conn: q.rollups(conn, target_ids, start, end)))

    async def probe_stats(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, Rollup]:
        found = await self._read(lambda conn: q.rollups(conn, target_ids, start, end))
        return rollup.stats(found, target_ids, start, end)

    async def series(self, target_id: str, start: float, end: float, points: int = 300) -> list[Rollup]:
        if start >= self.clock() - self.raw_retention:
            raw = await self.results(target_id, start, end)
            return rollup.raw_series(raw, target_id, start, end, points)
        hours = await self._read(lambda conn: q.rollups(conn, [target_id], start, end))
        return rollup.hourly_series(hours, target_id, start, end, points)
