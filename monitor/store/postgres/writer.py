"""The PostgreSQL store's one writer: an asyncio task that drains an in-memory queue in
batches, on one async connection of its own.

The probe loop only appends to a `deque` (no lock, no await). The task wakes every
`flush_interval`, or early when `batch_size` items wait, and writes everything queued
in one transaction of a few statements whatever the batch's size: the raw results by
`COPY` (into a temporary table, then merged by their key, so a result written twice
replaces itself as on SQLite), and the rollups they change, the latest result per
target and the events each as one `INSERT ... SELECT FROM unnest(arrays)`. Operations
queued with `call` (flushes, notes, ...) run in the same transaction, after what was
queued before them, each in a savepoint; their futures resolve after the commit.

The work between two awaits is bounded (`SLICE` items), so a backlog of a hundred
thousand results delays a probe by a few milliseconds, not by the whole batch.

Rollups are kept current in memory as on SQLite (`monitor.store.rollup.Accumulator`
per target and hour, loaded for a whole batch in one query after a restart). Once an
hour the running monitor's writer deletes expired raw results and packs the finished
days' hourly rollups into one `rollup_days` row each, both in transactions of
`PRUNE_CHUNK` targets.

A batch that fails is logged and lost (as on SQLite), `healthy` turns false, and the
next batch connects again if the connection broke.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection

from monitor.errors import StoreError
from monitor.result import Event, Result
from monitor.store.postgres import reads as pgreads
from monitor.store.postgres.reads import result_json
from monitor.store.postgres.schema import CONNECT_TIMEOUT, DEGRADED, LOCAL, MAINTENANCE, OK
from monitor.store.postgres.url import redacted
from monitor.store.rollup import HOUR, Accumulator, pack_hours, unpack_hours

log = logging.getLogger(__name__)

Conn = AsyncConnection[tuple[Any, ...]]
NAME = "monitor writer"  # its application_name
HEARTBEAT = 10.0  # seconds between two `runs.last_seen` updates while idle
PRUNE_EVERY = 3600.0  # seconds between two retention passes
PRUNE_CHUNK = 200  # targets per retention transaction
SLICE = 2000  # queued items handled between two yields to the event loop
DAY = 86400
MAX_MICROS = 2**31 - 1  # `duration` is an integer column of microseconds

_STAGE = "CREATE TEMPORARY TABLE IF NOT EXISTS incoming_results (LIKE results INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
# The staged rows move in one statement (emptying the stage for a second COPY in the
# same transaction); their key is unique: `_write_batch` keeps the last of duplicates.
_COPY = "COPY incoming_results (target, flags, at, duration, status_code, reason, detail) FROM STDIN"
_MERGE = (
    "WITH moved AS (DELETE FROM incoming_results RETURNING *) INSERT INTO results SELECT * FROM moved "
    "ON CONFLICT (target, location, at) DO UPDATE SET flags = excluded.flags, "
    "duration = excluded.duration, status_code = excluded.status_code, reason = excluded.reason, "
    "detail = excluded.detail"
)
_LATEST = (
    "INSERT INTO latest (target, started, result) SELECT * FROM unnest(%s::integer[], %s::float8[], %s::text[]) "
    "ON CONFLICT (target, location) DO UPDATE SET started = excluded.started, result = excluded.result "
    "WHERE latest.started <= excluded.started"
)
_EVENTS = (
    "INSERT INTO events (target, at, old, new, reason, detail) SELECT * FROM "
    "unnest(%s::integer[], %s::float8[], %s::text[], %s::text[], %s::text[], %s::text[])"
)
_ROLLUPS = (
    "INSERT INTO rollups (target, hour, count, failures, degraded, maintenance, lat_count, lat_sum, lat_min, "
    "lat_max, hist) SELECT * FROM unnest(%s::integer[], %s::integer[], %s::integer[], %s::integer[], "
    "%s::integer[], %s::integer[], %s::integer[], %s::bigint[], %s::integer[], %s::integer[], %s::bytea[]) "
    "ON CONFLICT (target, location, hour) DO UPDATE SET count = excluded.count, failures = excluded.failures, "
    "degraded = excluded.degraded, maintenance = excluded.maintenance, lat_count = excluded.lat_count, "
    "lat_sum = excluded.lat_sum, lat_min = excluded.lat_min, lat_max = excluded.lat_max, hist = excluded.hist"
)
_LOAD = (
    "SELECT r.target, r.hour, r.count, r.failures, r.degraded, r.maintenance, r.lat_count, r.lat_sum, r.lat_min, "
    "r.lat_max, r.hist FROM rollups r JOIN unnest(%s::integer[], %s::integer[]) AS s (target, hour) "
    f"ON r.target = s.target AND r.hour = s.hour WHERE r.location = {LOCAL}"
)


@dataclass(slots=True)
class Op:
    """An operation to run inside the writer's next transaction."""

    fn: Callable[[Conn], Awaitable[Any]]
    future: asyncio.Future[Any]


Item = tuple[str, Result, bool] | Event | Op
OpOutcome = tuple[Op, Any, BaseException | None]


@dataclass
class _Batch:
    """What one stretch of the queue (up to the next operation) writes."""

    results: list[tuple[Any, ...]]
    events: list[Event]
    latest: dict[str, Result]

    @classmethod
    def empty(cls) -> _Batch:
        return cls([], [], {})


class Writer:
    """Owns the writing connection and the queue; see the module doc."""

    def __init__(
        self,
        url: str,
        clock: Callable[[], float],
        run_id: int | None,
        flush_interval: float = 1.0,
        batch_size: int = 5000,
        raw_retention: float | None = None,
    ) -> None:
        self.queue: deque[Item] = deque()
        self.url, self.clock, self.run_id = url, clock, run_id
        self.flush_interval, self.batch_size = flush_interval, batch_size
        self.raw_retention = raw_retention
        self.healthy = True
        self._conn: Conn | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._keys: dict[str, int] = {}
        self._accs: dict[tuple[int, int], Accumulator] = {}
        self._dirty: set[tuple[int, int]] = set()
        self._beat = 0.0
        self._pruned = 0.0

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="monitor-store-writer")

    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def put(self, item: tuple[str, Result, bool] | Event) -> None:
        self.queue.append(item)
        if len(self.queue) % self.batch_size == 0:
            self._wake.set()

    def call(self, fn: Callable[[Conn], Awaitable[Any]]) -> asyncio.Future[Any]:
        """Run `fn(conn)` in the next batch, after everything queued before it."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.append(Op(fn, future))
        self._wake.set()
        return future

    async def stop(self) -> None:
        """Write what is queued, close the connection and end the task."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_interval)
                self._wake.clear()
                stopping = self._stopping
                await self._drain(final=stopping)
                if stopping and not self.queue:
                    break
        except Exception:
            self.healthy = False
            log.exception("the store's writer stopped")
        finally:
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    await self._conn.close()
                self._conn = None
            # However the task ends, no caller may wait for ever on an operation.
            for item in list(self.queue):
                if isinstance(item, Op) and not item.future.done():
                    item.future.set_exception(StoreError("the store's writer has stopped"))

    async def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = None
            try:
                conn = await AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name=NAME
                )
            except psycopg.Error as exc:
                raise StoreError(f"cannot connect to {redacted(self.url)}: {str(exc).strip()}") from exc
            await conn.execute(_STAGE)
            self._conn = conn
            self._keys.clear()  # looked up again on the new connection, batch by batch
        return self._conn

    async def _drain(self, final: bool) -> None:
        items = [self.queue.popleft() for _ in range(len(self.queue))]
        now = self.clock()
        beat = self.run_id is not None and (final or now - self._beat >= HEARTBEAT)
        if not items and not beat:
            return
        ops: list[OpOutcome] = []
        try:
            conn = await self._connection()
            async with conn.transaction():
                ops = await self._write(conn, items)
                if self.run_id is not None:
                    await conn.execute(
                        "UPDATE runs SET last_seen = GREATEST(last_seen, %s) WHERE id = %s", (now, self.run_id)
                    )
                    self._beat = now
            self.healthy = True
        except Exception as exc:  # the writer must outlive any one bad batch
            self.healthy = False
            log.error("store write failed, %d items lost: %s", len(items), exc)
            self._accs.clear()  # they may hold what was not written: load them again
            self._dirty.clear()
            self._keys.clear()  # may hold keys rolled back
            for item in items:
                if isinstance(item, Op) and not item.future.done():
                    item.future.set_exception(exc)
            return
        try:  # before the futures resolve: a flush that passes the hour includes it
            await self._housekeeping(conn, now)
        except psycopg.Error:  # nothing is lost: the next hour tries again
            log.exception("store retention failed")
        for op, value, error in ops:
            if op.future.done():
                continue
            if error is not None:
                op.future.set_exception(error)
            else:
                op.future.set_result(value)

    async def _write(self, conn: Conn, items: list[Item]) -> list[OpOutcome]:
        ops: list[OpOutcome] = []
        batch = _Batch.empty()
        await self._prepare(conn, items)
        for n, item in enumerate(items, 1):
            if isinstance(item, Op):
                # Everything queued before the operation is written before it runs.
                await self._write_batch(conn, batch)
                batch = _Batch.empty()
                try:
                    async with conn.transaction():
                        ops.append((item, await item.fn(conn), None))
                except Exception as exc:  # reported to the caller through its future
                    ops.append((item, None, exc))
            elif isinstance(item, Event):
                batch.events.append(item)
            else:
                try:
                    batch.results.append(self._result(*item))
                except (TypeError, ValueError, OverflowError) as exc:  # a malformed result
                    log.error("store skipped a malformed result of %s: %r", item[0], exc)
                    continue
                batch.latest[item[0]] = item[1]
            if n % SLICE == 0:
                await asyncio.sleep(0)  # let the probes run
        await self._write_batch(conn, batch)
        if len(self._accs) > 4 * max(len(self._keys), 1):
            newest = max(hour for _, hour in self._accs)
            self._accs = {k: a for k, a in self._accs.items() if k[1] >= newest - 1}
        return ops

    async def _prepare(self, conn: Conn, items: list[Item]) -> None:
        """Look up, in one query each, the keys of targets not seen yet and the rollups of
        hours not in memory yet (after a restart, or a new hour)."""
        ids = {item.target if isinstance(item, Event) else item[0] for item in items if not isinstance(item, Op)}
        unknown = sorted(ids - self._keys.keys())
        if unknown:
            await conn.execute("INSERT INTO targets (id) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", (unknown,))
            cur = await conn.execute("SELECT id, key FROM targets WHERE id = ANY(%s)", (unknown,))
            self._keys.update((tid, int(key)) for tid, key in await cur.fetchall())
        missing: set[tuple[int, int]] = set()
        for item in items:
            if isinstance(item, tuple):
                with contextlib.suppress(TypeError, ValueError, OverflowError):
                    slot = (self._keys[item[0]], int(float(item[1].started) // HOUR))
                    if slot not in self._accs:
                        missing.add(slot)
        if missing:
            keys, hours = zip(*sorted(missing), strict=True)
            cur = await conn.execute(_LOAD, (list(keys), list(hours)))
            for row in await cur.fetchall():
                self._accs[(row[0], row[1])] = Accumulator.from_row(row[2:])
            for slot in missing:
                self._accs.setdefault(slot, Accumulator())

    def _result(self, target_id: str, result: Result, maint: bool) -> tuple[Any, ...]:
        """The `results` row of one result (as COPY takes it); its rollup updated."""
        started, duration = float(result.started), float(result.duration)
        micros = min(max(round(duration * 1e6), 0), MAX_MICROS)
        key = self._keys[target_id]
        flags = OK * result.ok | DEGRADED * result.degraded | MAINTENANCE * maint
        slot = (key, int(started // HOUR))
        self._accs[slot].add(result.ok, result.degraded, maint, duration)
        self._dirty.add(slot)
        reason = None if result.ok and result.reason == "ok" else str(result.reason)
        return (key, flags, started, micros, result.status_code, reason, result.detail or None)

    async def _write_batch(self, conn: Conn, batch: _Batch) -> None:
        if batch.results:
            unique = {(row[0], row[2]): row for row in batch.results}  # the last of a key wins
            cur = conn.cursor()
            async with cur.copy(_COPY) as copy:
                for n, row in enumerate(unique.values(), 1):
                    await copy.write_row(row)
                    if n % SLICE == 0:
                        await asyncio.sleep(0)
            await conn.execute(_MERGE)
        if batch.events:
            events = [(self._keys[e.target], e.at, e.old.value, e.new.value, e.reason, e.detail) for e in batch.events]
            await conn.execute(_EVENTS, [list(column) for column in zip(*events, strict=True)])
        if batch.latest:
            keys = [self._keys[tid] for tid in batch.latest]
            started = [float(r.started) for r in batch.latest.values()]
            await conn.execute(_LATEST, (keys, started, [result_json(r) for r in batch.latest.values()]))
        if self._dirty:
            slots = sorted(self._dirty)
            rollups = [(key, hour, *self._accs[(key, hour)].row()) for key, hour in slots]
            await conn.execute(_ROLLUPS, [list(column) for column in zip(*rollups, strict=True)])
            self._dirty.clear()

    async def _housekeeping(self, conn: Conn, now: float) -> None:
        """Retention and packing, by the observing monitor only (never by a reader), once
        an hour, in transactions of `PRUNE_CHUNK` targets."""
        if self.raw_retention is None or now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        cutoff = now - self.raw_retention
        before_day = int(now // DAY) - 1  # days before yesterday (UTC) are finished
        # The packed hours leave the memory too: a late result then starts a new row.
        self._accs = {k: a for k, a in self._accs.items() if k[1] >= before_day * 24}
        cur = await conn.execute("SELECT key FROM targets ORDER BY key")
        keys = [int(key) for (key,) in await cur.fetchall()]
        for first in range(0, len(keys), PRUNE_CHUNK):
            chunk = keys[first : first + PRUNE_CHUNK]
            async with conn.transaction():
                await pgreads.prune(conn, cutoff, chunk)
                await pack_days(conn, chunk, before_day)


async def pack_days(conn: Conn, keys: list[int], before_day: int) -> int:
    """Move the hourly rollups of these targets' days before `before_day` into one
    `rollup_days` row per (target, location, day), merged with a row already there (an
    hour that arrived late); return how many hourly rows were packed."""
    cur = await conn.execute(
        "DELETE FROM rollups WHERE target = ANY(%s) AND hour < %s RETURNING target, location, hour, count, "
        "failures, degraded, maintenance, lat_count, lat_sum, lat_min, lat_max, hist",
        (keys, before_day * 24),
    )
    rows = await cur.fetchall()
    if not rows:
        return 0
    days: dict[tuple[int, int, int], dict[int, Accumulator]] = defaultdict(dict)
    for target, location, hour, *values in rows:
        days[(target, location, hour // 24)][hour % 24] = Accumulator.from_row(tuple(values))
    targets, locations, numbers = (list(c) for c in zip(*days, strict=True))
    cur = await conn.execute(
        "SELECT d.target, d.location, d.day, d.hours FROM rollup_days d JOIN unnest(%s::integer[], "
        "%s::smallint[], %s::integer[]) AS s (target, location, day) ON d.target = s.target AND "
        "d.location = s.location AND d.day = s.day",
        (targets, locations, numbers),
    )
    for target, location, day, packed in await cur.fetchall():
        hours = days[(target, location, day)]
        for index, acc in unpack_hours(packed):
            if index in hours:
                hours[index].merge(acc)
            else:
                hours[index] = acc
    blobs = [pack_hours(sorted(hours.items(), key=lambda item: item[0])) for hours in days.values()]
    await conn.execute(
        "INSERT INTO rollup_days (target, location, day, hours) SELECT * FROM unnest(%s::integer[], "
        "%s::smallint[], %s::integer[], %s::bytea[]) ON CONFLICT (target, location, day) DO UPDATE SET "
        "hours = excluded.hours",
        (targets, locations, numbers, blobs),
    )
    return len(rows)


__all__ = ["LOCAL", "Writer", "pack_days"]
