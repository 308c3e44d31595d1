"""`PostgresStore`: the `Store` on a PostgreSQL database (`store = "postgresql://..."`).

Writes go through the one `Writer` task (batched, never blocking the caller); reads run
on a small pool of connections (`psycopg_pool`), each inside one read-only
REPEATABLE READ transaction, so a read of several statements sees one snapshot.
`open` migrates the schema first (`monitor.store.postgres.schema`, under an advisory
lock). Availability maths is in `monitor.store.timeline`, the rollups' in
`monitor.store.rollup`, both shared with every backend.

With `observe=True` (the running monitor) `open` records a *run* and the writer keeps
its `last_seen` fresh, as the SQLite store does.

An incident event is committed by `add_event` itself, in a small transaction on a
synchronous connection of its own (`monitor events`), before the alert it causes is
queued: a `kill -9` right after a change of state resumes in the new state. Results
stay queued for the writer's batches. While the store fails (`health()`), events go to
the writer's queue too, kept in memory and retried (`monitor.store.backlog`).

There is no `quick_check` here: PostgreSQL checksums pages itself where the cluster has
data checksums, and a damaged page is an error the server reports to the query that
meets it (`health()` then fails, "database corrupt"); the check before a command starts
connects and reads the schema version (`schema.check_url`).

The membership of the instances sharing the database and the sender's lease are
`monitor.store.postgres.members`, on a connection of their own used from the
membership's thread; while another instance holds the lease, this one's writer leaves
retention and packing to it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta, tzinfo
from datetime import time as clock_time
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, IsolationLevel
from psycopg_pool import AsyncConnectionPool

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
    Spool,
    StoredResult,
    StoreHealth,
    Uptime,
    Wording,
    rollup,
    timeline,
)
from monitor.store.backlog import LIMIT
from monitor.store.postgres import bulletins as b
from monitor.store.postgres import locations as loc
from monitor.store.postgres import oncall
from monitor.store.postgres import reads as q
from monitor.store.postgres.failures import reason
from monitor.store.postgres.heartbeats import HeartbeatLog
from monitor.store.postgres.members import Members
from monitor.store.postgres.outbox import PostgresOutbox
from monitor.store.postgres.schema import (
    CONNECT_TIMEOUT,
    LOCAL,
    LOOP_TIMEOUT,
    connect,
    location_key,
    migrate,
    on_loop,
    session,
)
from monitor.store.postgres.subscribers import PostgresSubscribers
from monitor.store.postgres.url import redacted
from monitor.store.postgres.writer import Writer, write_event

T = TypeVar("T")
log = logging.getLogger("monitor.store")
Conn = AsyncConnection[tuple[Any, ...]]
Windows = Sequence[tuple[float, float]]
READERS = 4  # connections in the reader pool at most
EVENTS = "monitor events"  # the application_name of `add_event`'s connection


class PostgresStore:
    """The history in a PostgreSQL database; see `monitor.store` for the contract."""

    def __init__(
        self,
        url: str,
        *,
        raw_retention: float = 48 * 3600.0,
        observe: bool = True,
        clock: Callable[[], float] = time.time,
        flush_interval: float = 1.0,
        batch_size: int = 5000,
        backlog_limit: int = LIMIT,
        spool: Spool | None = None,
        location: str = "local",
    ) -> None:
        self.url = url
        self._spool = spool
        self.location = location
        self.raw_retention = raw_retention
        self.observe = observe
        self.clock = clock
        self._writer_options = (flush_interval, batch_size, raw_retention if observe else None, backlog_limit)
        self._writer = self._new_writer()
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._events: psycopg.Connection[tuple[Any, ...]] | None = None  # `add_event`'s, on the event loop
        self._members = Members(url)
        self._publisher = loc.Publisher(url)  # this location's word, apart from the writer
        self._heartbeats = HeartbeatLog(url)  # pushes shared with the other instances
        self._peers: tuple[str, ...] = ()  # the live members at the last renewal

    @classmethod
    def for_settings(cls, settings: Settings, **options: Any) -> PostgresStore:
        options.setdefault("raw_retention", settings.raw_retention)
        options.setdefault("location", settings.location)
        return cls(settings.store, **options)

    def where(self) -> str:
        return redacted(self.url)

    def outbox(self, clock: Callable[[], float]) -> PostgresOutbox:
        """The outbox's tables in the same database, on a connection of their own."""
        return PostgresOutbox(self.url, clock=clock)

    def subscribers(self, clock: Callable[[], float]) -> PostgresSubscribers:
        """The subscriptions' tables in the same database, on a connection of their own."""
        return PostgresSubscribers(self.url, clock=clock)

    def _new_writer(self) -> Writer:
        return Writer(self.url, self.clock, None, *self._writer_options, spool=self._spool)

    def spool(self) -> Spool | None:
        return self._spool

    async def open(self) -> None:
        if self._writer.alive() or self._pool is not None:
            raise StoreError("the store is already open")
        queued, self._writer = self._writer.queue, self._new_writer()
        self._writer.queue.extend(queued)  # what was queued before (or since a close)
        self._writer.run_id, self._writer.location = await asyncio.to_thread(self._prepare)
        await self._writer.replay()  # what a run before could not write
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            session(self.url),
            min_size=1,
            max_size=READERS,
            open=False,
            kwargs={"connect_timeout": CONNECT_TIMEOUT, "application_name": "monitor reader"},
            configure=_configure_reader,
            # A session the server ended (a restart, a failover, the network) is found
            # before a read gets it, at the cost of one empty round trip per read.
            check=AsyncConnectionPool.check_connection,
            timeout=CONNECT_TIMEOUT,  # a read waits this long for a session at most
            name="monitor-store-readers",
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except Exception as exc:
            await pool.close()
            raise StoreError(f"cannot open {self.where()}: {exc}", reason(exc)) from exc
        self._pool = pool
        if self.observe:
            try:
                self._events = on_loop(await asyncio.to_thread(connect, self.url, EVENTS, LOOP_TIMEOUT))
            except StoreError:
                await pool.close()
                self._pool = None
                raise
        self._writer.start()

    def _prepare(self) -> tuple[int | None, int]:
        """Migrate, and record this run when observing: the run's id and the key of
        this store's location."""
        with connect(self.url, "monitor open") as conn:
            try:
                migrate(conn)
                if not self.observe:
                    return None, LOCAL
                location = location_key(conn, self.location)
                now = self.clock()
                row = conn.execute(
                    "INSERT INTO runs (started, last_seen) VALUES (%s, %s) RETURNING id", (now, now)
                ).fetchone()
            except psycopg.Error as exc:
                raise StoreError(f"cannot open {self.where()}: {str(exc).strip()}", reason(exc)) from exc
            return (int(str(row[0])) if row else None), location

    async def close(self) -> None:
        if self._writer.alive():
            await self._writer.stop()
        if self._spool is not None:
            self._spool.close()
        if self._events is not None:
            events, self._events = self._events, None
            await asyncio.to_thread(events.close)
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
        await asyncio.to_thread(self._members.close)
        await self._publisher.close()
        await self._heartbeats.close()

    # -- membership (`monitor.store.postgres.members`) --------------------------------

    @property
    def shared(self) -> bool:
        return True

    # Called from the membership's thread: the writer's two flags below are plain
    # attributes it reads at its next batch, which is safe from another thread.

    def renew(self, member: Member, dead_after: float) -> list[Member]:
        members = self._members.renew(member, dead_after)
        peers = tuple(m.instance for m in members)
        if peers != self._peers:  # targets moved between instances: rollups reread
            self._peers = peers
            self._writer.reload_rollups()
        return members

    def lease(self, holder: str, ttl: float) -> bool:
        held = self._members.lease(holder, ttl)
        self._writer.housekeeper = held  # retention and packing by the sender only
        return held

    def leave(self, instance: str) -> None:
        self._members.leave(instance)

    # -- push heartbeats shared by the instances (`monitor.store.postgres.heartbeats`) -

    async def add_heartbeat(self, heartbeat: PushedHeartbeat) -> None:
        await self._heartbeats.add(heartbeat)

    async def heartbeats_since(self, after: int, limit: int) -> list[PushedHeartbeat]:
        return await self._heartbeats.since(after, limit)

    async def heartbeat_mark(self) -> int:
        return await self._heartbeats.mark()

    async def latest_heartbeats(self, target_ids: Collection[str]) -> dict[str, PushedHeartbeat]:
        return await self._heartbeats.latest(target_ids)

    async def prune_heartbeats(self, before: float) -> int:
        return await self._heartbeats.prune(before)

    # -- writes ---------------------------------------------------------------------

    def add_result(self, target_id: str, result: Result, maintenance: bool = False) -> None:
        self._writer.put((target_id, result, maintenance))

    def add_event(self, event: Event) -> None:
        """Commit the event now; while the store fails, queue it for the writer's retries
        (trying first would hold the event loop on every event of an outage)."""
        if self.observe and self._writer.alive() and self._writer.health().ok:
            try:
                write_event(self._events_connection(), event, self._writer.location)
                return
            except (psycopg.Error, StoreError) as exc:
                if self._events is not None and (self._events.broken or self._events.closed):
                    self._events.close()
                    self._events = None  # connected again at the next event
                log.warning("event kept in memory for a retry", extra=kv(target=event.target, reason=reason(exc)))
        self._writer.put(event)

    def _events_connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._events is None:
            self._events = on_loop(connect(self.url, EVENTS, LOOP_TIMEOUT))
        return self._events

    async def _write(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        if not self._writer.alive():
            raise StoreError("the store is not open")
        result: T = await self._writer.call(fn)
        return result

    async def flush(self) -> None:
        await self._write(_nothing)

    def healthy(self) -> bool:
        return self.health().ok

    def health(self) -> StoreHealth:
        if not self._writer.alive():
            return StoreHealth(False, "the store's writer stopped" if self._writer.stopped else "the store is not open")
        return self._writer.health()

    async def prune(self, now: float) -> int:
        cutoff = now - self.raw_retention
        return await self._write(lambda conn: q.prune(conn, cutoff))

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

    async def _read(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        if self._pool is None:
            raise StoreError("the store is not open")
        try:
            async with self._pool.connection() as conn, conn.transaction():
                return await fn(conn)
        except psycopg.Error as exc:
            raise StoreError(f"cannot read {self.where()}: {str(exc).strip()}", reason(exc)) from exc

    async def publish_location(self, seen: LocationSeen, states: Sequence[LocationState]) -> None:
        if self._pool is None:
            raise StoreError("the store is not open")
        await self._publisher.publish(seen, states)  # apart from the writer's batch: see there

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
        async def read(conn: Conn) -> dict[str, list[timeline.Segment]]:
            wanted = list(target_ids) if target_ids is not None else await q.target_ids(conn)
            before = await q.last_events(conn, start, target_ids)
            inside: dict[str, list[Event]] = defaultdict(list)
            for event in await q.events(conn, target_ids, start, end):
                inside[event.target].append(event)
            runs = timeline.covered(await self._runs(conn, end), start, end)
            return {tid: timeline.segments(before.get(tid), inside[tid], runs, start, end) for tid in wanted}

        return await self._read(read)

    async def _uptimes(
        self, conn: Conn, ids: Collection[str] | None, windows: Windows, now: float
    ) -> dict[str, list[Uptime]]:
        start, end = windows[0][0], windows[-1][1]
        wanted = list(ids) if ids is not None else await q.target_ids(conn)
        before = await q.last_events(conn, start, ids)
        inside: dict[str, list[Event]] = defaultdict(list)
        for event in await q.events(conn, ids, start, end):
            inside[event.target].append(event)
        runs = await self._runs(conn, now)
        return {tid: timeline.uptimes(tid, before.get(tid), inside[tid], runs, windows) for tid in wanted}

    async def _runs(self, conn: Conn, now: float) -> list[tuple[float, float]]:
        """The runs' spans; this process's own run lasts until now while it is open."""
        own = self._writer.run_id if self._writer.alive() else None
        return [(a, max(b, now) if i == own else b) for i, a, b in await q.runs(conn)]

    async def periods(
        self, target_ids: Collection[str] | None, start: float, end: float, states: Collection[State] | None = None
    ) -> list[Period]:
        async def read(conn: Conn) -> list[Period]:
            before = await q.last_events(conn, start, target_ids)
            return timeline.periods_in(before, await q.events(conn, target_ids, start, math.inf), start, end, states)

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


async def _nothing(conn: Conn) -> None:
    return None


async def _configure_reader(conn: Conn) -> None:
    """Reads only, each transaction one snapshot."""
    await conn.set_isolation_level(IsolationLevel.REPEATABLE_READ)
    await conn.set_read_only(True)
