"""The PostgreSQL store's one writer: an asyncio task that drains an in-memory queue in
batches, on one async connection of its own.

The probe loop only appends to a `deque` (no lock, no await). The task wakes every
`flush_interval`, or early when `batch_size` items wait, and writes everything queued
in one transaction of a few statements whatever the batch's size: the raw results, the
rollups they change and the latest result per target each by one `COPY` into a
temporary table merged by key in one statement (a result written twice replaces
itself, as on SQLite), and the events by one `COPY`. Operations queued with `call`
(flushes, notes, ...) run in the same transaction, after what was queued before them,
each in a savepoint; their futures resolve after the commit.

**The event loop is never held for a batch.** Turning a batch into rows (the rollups'
accumulators, the latest results' JSON, the COPY text itself) costs tens of
microseconds per result: it runs in the writer's own thread (`_build`), and the loop
only streams the finished text to the server. The queries stay on the loop (psycopg's
async connection). BENCHMARKS.md has the figures that chose this.

Rollups are kept current in memory as on SQLite (`monitor.store.rollup.Accumulator`
per target and hour, loaded for a whole batch in one query after a restart, and again
after the instances sharing the database changed: `reload_rollups`). Once an hour the
running monitor's writer (the sender's, among several instances: `housekeeper`) deletes
expired raw results and packs the finished days' hourly rollups into one `rollup_days`
row each, both in transactions of `PRUNE_CHUNK` targets.

A batch the database refuses (the server unreachable, its disk full, an I/O error, a
damaged page) is not lost, as on SQLite: it goes back to the front of the queue
(`monitor.store.backlog`, shared by the backends) and is tried again after a backoff,
on a new connection if the old one broke, until it is written; `health()` tells why
meanwhile. Operations queued with `call` fail instead (their caller is waiting for an
answer and gets the error). With a `spool` (the running monitor's: `data_dir/spool.db`,
`monitor.store.sqlite.spool`), every failed batch's items also go to that local file,
emptied once the database took them and `replay`ed at the next start, and what comes
while the database stays away is added every `flush_interval` between two tries: a
restart during an outage loses nothing either (a `kill -9`, at most the last second).
Replaying is harmless after a partial write: results are merged by key, events stored
once (`events_once`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection

from monitor.errors import StoreError
from monitor.log import kv
from monitor.result import Event, Result
from monitor.store.backlog import LIMIT, Backlog
from monitor.store.postgres import reads as pgreads
from monitor.store.postgres.failures import reason
from monitor.store.postgres.reads import result_json
from monitor.store.postgres.schema import CONNECT_TIMEOUT, DEGRADED, LOCAL, MAINTENANCE, OK, session
from monitor.store.postgres.url import redacted
from monitor.store.protocols import Spool
from monitor.store.records import StoreHealth
from monitor.store.rollup import HOUR, Accumulator, pack_hours, unpack_hours

log = logging.getLogger(__name__)

T = TypeVar("T")
Conn = AsyncConnection[tuple[Any, ...]]
NAME = "monitor writer"  # its application_name
HEARTBEAT = 10.0  # seconds between two `runs.last_seen` updates while idle
PRUNE_EVERY = 3600.0  # seconds between two retention passes
PRUNE_CHUNK = 200  # targets per retention transaction
DAY = 86400
MAX_MICROS = 2**31 - 1  # `duration` is an integer column of microseconds

# Temporary tables (one set per connection) that COPY fills and each merge empties.
_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS incoming_results (LIKE results INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; "
    "CREATE TEMPORARY TABLE IF NOT EXISTS incoming_rollups (LIKE rollups INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; "
    "CREATE TEMPORARY TABLE IF NOT EXISTS incoming_latest (LIKE latest INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; "
    "CREATE TEMPORARY TABLE IF NOT EXISTS incoming_events (target integer NOT NULL, location smallint NOT NULL "
    "DEFAULT 0, at double precision NOT NULL, old text NOT NULL, new text NOT NULL, reason text NOT NULL, "
    "detail text NOT NULL, locations text NOT NULL DEFAULT '') ON COMMIT DELETE ROWS"
)
_COPY_RESULTS = "COPY incoming_results (target, location, flags, at, duration, status_code, reason, detail) FROM STDIN"
_MERGE_RESULTS = (
    "WITH moved AS (DELETE FROM incoming_results RETURNING *) INSERT INTO results SELECT * FROM moved "
    "ON CONFLICT (target, location, at) DO UPDATE SET flags = excluded.flags, duration = excluded.duration, "
    "status_code = excluded.status_code, reason = excluded.reason, detail = excluded.detail"
)
_COPY_ROLLUPS = (
    "COPY incoming_rollups (target, location, hour, count, failures, degraded, maintenance, lat_count, lat_sum, "
    "lat_min, lat_max, hist) FROM STDIN"
)
_MERGE_ROLLUPS = (
    "WITH moved AS (DELETE FROM incoming_rollups RETURNING *) INSERT INTO rollups SELECT * FROM moved "
    "ON CONFLICT (target, location, hour) DO UPDATE SET count = excluded.count, failures = excluded.failures, "
    "degraded = excluded.degraded, maintenance = excluded.maintenance, lat_count = excluded.lat_count, "
    "lat_sum = excluded.lat_sum, lat_min = excluded.lat_min, lat_max = excluded.lat_max, hist = excluded.hist"
)
_COPY_LATEST = "COPY incoming_latest (target, location, started, result) FROM STDIN"
_MERGE_LATEST = (
    "WITH moved AS (DELETE FROM incoming_latest RETURNING *) INSERT INTO latest SELECT * FROM moved "
    "ON CONFLICT (target, location) DO UPDATE SET started = excluded.started, result = excluded.result "
    "WHERE latest.started <= excluded.started"
)
_COPY_EVENTS = "COPY incoming_events (target, location, at, old, new, reason, detail, locations) FROM STDIN"
# An event already stored (a batch written again after its commit went unacknowledged,
# or committed by `write_event` before) is not stored twice.
_MERGE_EVENTS = (
    "WITH moved AS (DELETE FROM incoming_events RETURNING target, location, at, old, new, reason, detail, locations) "
    "INSERT INTO events (target, location, at, old, new, reason, detail, locations) SELECT * FROM moved ORDER BY at "
    "ON CONFLICT (target, location, at, old, new) DO NOTHING"
)
_LOAD = (
    "SELECT r.target, r.hour, r.count, r.failures, r.degraded, r.maintenance, r.lat_count, r.lat_sum, r.lat_min, "
    "r.lat_max, r.hist FROM rollups r JOIN unnest(%s::integer[], %s::integer[]) AS s (target, hour) "
    "ON r.target = s.target AND r.hour = s.hour WHERE r.location = %s"
)


def copy_line(row: tuple[Any, ...]) -> str:
    """One line of COPY's text format. NUL cannot be stored in a text column: dropped."""
    return "\t".join(_field(value) for value in row) + "\n"


def _field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if any(c in text for c in "\\\t\n\r\x00"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        text = text.replace("\x00", "")
    return text


@dataclass(slots=True)
class Op:
    """An operation to run inside the writer's next transaction."""

    fn: Callable[[Conn], Awaitable[Any]]
    future: asyncio.Future[Any]


Result3 = tuple[str, Result, bool]
Item = Result3 | Event | Op
OpOutcome = tuple[Op, Any, BaseException | None]


def _is_result(item: Item) -> bool:
    return isinstance(item, tuple)


@dataclass
class _Built:
    """A stretch of the queue (up to the next operation) as COPY text, made in the
    writer's thread: results, events, the latest results, the changed rollups."""

    results: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    latest: list[str] = field(default_factory=list)
    rollups: list[str] = field(default_factory=list)


class Writer:
    """Owns the writing connection, its thread and the queue; see the module doc."""

    def __init__(
        self,
        url: str,
        clock: Callable[[], float],
        run_id: int | None,
        flush_interval: float = 1.0,
        batch_size: int = 5000,
        raw_retention: float | None = None,
        backlog_limit: int = LIMIT,
        spool: Spool | None = None,
    ) -> None:
        self.backlog: Backlog[Item] = Backlog(_is_result, backlog_limit, clock)
        self.spool = spool
        self._spooled = 0  # items at the front of the queue that the spool holds already
        self._unsure = False  # the queue may hold results the database took already
        self.queue = self.backlog.items
        self.url, self.clock, self.run_id = url, clock, run_id
        self.flush_interval, self.batch_size = flush_interval, batch_size
        self.raw_retention = raw_retention
        self.stopped = False  # the task ended on an unexpected error
        self._called = False  # an operation waits: a retry may not wait out its backoff
        self._conn: Conn | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._keys: dict[str, int] = {}
        self.location = LOCAL  # the key of the location this writer stores results with
        self._accs: dict[tuple[int, int], Accumulator] = {}
        self._beat = 0.0
        self._pruned = 0.0
        # Retention and packing: by the instance holding the sender's lease only.
        self.housekeeper = True
        self._reload = False  # the rollups in memory may be stale: read them again

    def reload_rollups(self) -> None:
        """Another instance may have written rollups of targets this one writes (the
        members changed, so targets moved): read them from the database again before
        the next batch adds to them."""
        self._reload = True

    async def replay(self) -> None:
        """Put what the spool kept (a run that could not write it) in front of the queue."""
        if self.spool is None:
            return
        try:
            kept = await asyncio.to_thread(self.spool.load)
        except StoreError as exc:
            log.error("the spool cannot be read", extra=kv(error=str(exc)))
            return
        if kept:
            log.warning("replaying the spool", extra=kv(items=len(kept)))
            self.queue.extendleft(reversed(kept))
            self._spooled = len(kept)
            self._unsure = True

    def start(self) -> None:
        self._stopping = False
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="monitor-store-writer")
        self._task = asyncio.get_running_loop().create_task(self._run(), name="monitor-store-writer")

    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def health(self) -> StoreHealth:
        if self.stopped:
            return StoreHealth(False, "the store's writer stopped", waiting=len(self.queue))
        return self.backlog.health()

    @property
    def healthy(self) -> bool:
        return self.health().ok

    def put(self, item: Result3 | Event) -> None:
        self.queue.append(item)
        if len(self.queue) % self.batch_size == 0:
            self._wake.set()

    def call(self, fn: Callable[[Conn], Awaitable[Any]]) -> asyncio.Future[Any]:
        """Run `fn(conn)` in the next batch, after everything queued before it."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.append(Op(fn, future))
        self._called = True
        self._wake.set()
        return future

    async def stop(self) -> None:
        """Write what is queued, close the connection and end the task."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _off_loop(self, fn: Callable[[], T]) -> T:
        assert self._thread is not None
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    async def _run(self) -> None:
        try:
            while True:
                await self._wait()
                stopping = self._stopping
                await self._drain(final=stopping)
                if stopping and (not self.queue or self.backlog.failures):
                    if self.queue and self._spooled >= len(self.queue):
                        log.warning(
                            "store stopped with items unwritten, kept in the spool", extra=kv(kept=len(self.queue))
                        )
                    elif self.queue:  # the process is ending: nowhere left to keep them
                        lost = len(self.queue) - self._spooled
                        log.error("store stopped with items unwritten", extra=kv(lost=lost, spooled=self._spooled))
                    break
        except Exception:
            self.stopped = True
            log.exception("the store's writer stopped")
        finally:
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    await self._conn.close()
                self._conn = None
            if self._thread is not None:
                self._thread.shutdown(wait=False)
            # However the task ends, no caller may wait for ever on an operation.
            for item in list(self.queue):
                if isinstance(item, Op) and not item.future.done():
                    item.future.set_exception(StoreError("the store's writer has stopped"))

    async def _wait(self) -> None:
        """Until the next batch is due. While writes fail, a full batch does not hurry
        the retry (each retry writes everything kept); an operation or a stop does."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.backlog.retry_delay(self.flush_interval)
        while True:
            spool_at = loop.time() + self.flush_interval  # what came meanwhile goes to the spool
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, min(deadline, spool_at) - loop.time()))
            self._wake.clear()
            urgent = self._stopping or not self.backlog.failures or self._called
            if urgent or loop.time() >= deadline:
                return
            if self.spool is not None and len(self.queue) > self._spooled:
                await self._keep([i for i in self.queue if not isinstance(i, Op)])  # no operation waits here

    async def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:  # broken: the session ended (a restart, the network)
                with contextlib.suppress(psycopg.Error):
                    await self._conn.close()
            self._conn = None
            try:
                conn = await AsyncConnection.connect(
                    session(self.url), autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name=NAME
                )
            except psycopg.Error as exc:
                raise StoreError(f"cannot connect to {redacted(self.url)}: {str(exc).strip()}", reason(exc)) from exc
            try:
                await conn.execute(_STAGE)
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    await conn.close()
                raise
            self._conn = conn
            self._keys.clear()  # looked up again on the new connection, batch by batch
        return self._conn

    async def _drain(self, final: bool) -> None:
        self._called = False  # before taking: an operation queued from now on wakes the next
        items = self.backlog.take()
        now = self.clock()
        beat = self.run_id is not None and (final or now - self._beat >= HEARTBEAT)
        if not items and not beat:
            return
        ops: list[OpOutcome] = []
        try:
            conn = await self._connection()
            if self._unsure:  # a write before may have committed unanswered: not twice into rollups
                items = await _unstored(conn, items, self.location)
            # New targets are numbered outside the batch's transaction: their rows locked
            # until its end would hold up another instance's events (see `on_loop`).
            named = [i for i in items if not isinstance(i, Op)]
            await self._lookup_keys(conn, (await self._off_loop(lambda: _scan(named)))[0])
            async with conn.transaction():
                ops = await self._write(conn, items)
                if self.run_id is not None:
                    await conn.execute(
                        "UPDATE runs SET last_seen = GREATEST(last_seen, %s) WHERE id = %s", (now, self.run_id)
                    )
                    self._beat = now
        except Exception as exc:  # the writer must outlive any one bad batch
            if not isinstance(exc, (psycopg.Error, StoreError)):  # a bug, not the database: say where
                log.exception("store write failed unexpectedly")
            self._accs.clear()  # they may hold what was not written: load them again
            self._keys.clear()  # may hold keys rolled back
            why = reason(exc)
            for item in items:
                if isinstance(item, Op) and not item.future.done():
                    item.future.set_exception(StoreError(f"store write failed: {str(exc).strip()}", why))
            kept = [i for i in items if not isinstance(i, Op)]
            self._unsure = True
            await self._keep(kept)
            dropped = self.backlog.dropped
            self.backlog.failed(kept, why)
            self._spooled = max(0, self._spooled - (self.backlog.dropped - dropped))  # the oldest went first
            return
        self.backlog.succeeded(len(items))
        self._unsure = False
        await self._cleared()
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

    async def _keep(self, items: list[Result3 | Event]) -> None:
        """A write failed: the items the spool does not hold yet go there too."""
        if self.spool is None or len(items) <= self._spooled:
            return
        fresh, spool = items[self._spooled :], self.spool
        try:
            await self._off_loop(lambda: spool.keep(fresh))
            self._spooled = len(items)
        except StoreError as exc:  # kept in memory all the same
            log.error("the spool cannot be written", extra=kv(error=str(exc), items=len(fresh)))

    async def _cleared(self) -> None:
        if self.spool is None or not self._spooled:
            return
        spool, self._spooled = self.spool, 0
        try:
            await self._off_loop(spool.clear)
        except StoreError as exc:  # replayed at the next start: harmless (results keyed, events once)
            log.error("the spool cannot be emptied", extra=kv(error=str(exc)))

    async def _write(self, conn: Conn, items: list[Item]) -> list[OpOutcome]:
        ops: list[OpOutcome] = []
        stretch: list[Result3 | Event] = []
        for item in items:
            if not isinstance(item, Op):
                stretch.append(item)
                continue
            # Everything queued before the operation is written before it runs.
            await self._write_stretch(conn, stretch)
            stretch = []
            try:
                async with conn.transaction():
                    ops.append((item, await item.fn(conn), None))
            except Exception as exc:  # reported to the caller through its future
                ops.append((item, None, exc))
        await self._write_stretch(conn, stretch)
        return ops

    async def _write_stretch(self, conn: Conn, items: list[Result3 | Event]) -> None:
        if not items:
            return
        if self._reload:
            self._reload = False
            self._accs.clear()
        ids, hours = await self._off_loop(lambda: _scan(items))
        await self._lookup_keys(conn, ids)
        missing = await self._off_loop(lambda: self._missing(hours))
        if missing:
            keys, numbers = zip(*missing, strict=True)
            cur = await conn.execute(_LOAD, (list(keys), list(numbers), self.location))
            loaded = await cur.fetchall()
            await self._off_loop(lambda: self._loaded(missing, loaded))
        built = await self._off_loop(lambda: self._build(items))
        for copy, merge, lines in (
            (_COPY_RESULTS, _MERGE_RESULTS, built.results),
            (_COPY_EVENTS, _MERGE_EVENTS, built.events),
            (_COPY_LATEST, _MERGE_LATEST, built.latest),
            (_COPY_ROLLUPS, _MERGE_ROLLUPS, built.rollups),
        ):
            if not lines:
                continue
            async with conn.cursor().copy(copy) as stream:
                await stream.write("".join(lines))
            if merge is not None:
                await conn.execute(merge)

    async def _lookup_keys(self, conn: Conn, ids: set[str]) -> None:
        unknown = sorted(ids - self._keys.keys())
        if not unknown:
            return
        await conn.execute("INSERT INTO targets (id) SELECT unnest(%s::text[]) ON CONFLICT (id) DO NOTHING", (unknown,))
        cur = await conn.execute("SELECT id, key FROM targets WHERE id = ANY(%s)", (unknown,))
        self._keys.update((tid, int(key)) for tid, key in await cur.fetchall())

    # -- in the writer's thread -----------------------------------------------------

    def _missing(self, hours: set[tuple[str, int]]) -> list[tuple[int, int]]:
        """The (key, hour) slots not in memory yet."""
        return sorted({(self._keys[tid], hour) for tid, hour in hours} - self._accs.keys())

    def _loaded(self, missing: list[tuple[int, int]], rows: list[tuple[Any, ...]]) -> None:
        for row in rows:
            self._accs[(row[0], row[1])] = Accumulator.from_row(row[2:])
        for slot in missing:
            self._accs.setdefault(slot, Accumulator())

    def _build(self, items: list[Result3 | Event]) -> _Built:
        built, latest, dirty = _Built(), {}, set()
        results: dict[tuple[int, float], str] = {}  # the last of a key wins
        for item in items:
            if isinstance(item, Event):
                row = (
                    self._keys[item.target],
                    self.location,
                    item.at,
                    item.old.value,
                    item.new.value,
                    item.reason,
                    item.detail,
                    ",".join(item.locations),
                )
                built.events.append(copy_line(row))
                continue
            target_id, result, maint = item
            try:
                key, started, line = self._result(target_id, result, maint)
            except (TypeError, ValueError, OverflowError) as exc:  # a malformed result
                log.error("store skipped a malformed result of %s: %r", target_id, exc)
                continue
            results[(key, started)] = line
            latest[key] = result
            dirty.add((key, int(started // HOUR)))
        built.results = list(results.values())
        built.latest = [copy_line((key, self.location, float(r.started), result_json(r))) for key, r in latest.items()]
        built.rollups = [
            copy_line((key, self.location, hour, *self._accs[(key, hour)].row())) for key, hour in sorted(dirty)
        ]
        if len(self._accs) > 4 * max(len(self._keys), 1):
            newest = max(hour for _, hour in self._accs)
            self._accs = {k: a for k, a in self._accs.items() if k[1] >= newest - 1}
        return built

    def _result(self, target_id: str, result: Result, maint: bool) -> tuple[int, float, str]:
        """The `results` line of one result; its rollup updated."""
        started, duration = float(result.started), float(result.duration)
        micros = min(max(round(duration * 1e6), 0), MAX_MICROS)
        key = self._keys[target_id]
        flags = OK * result.ok | DEGRADED * result.degraded | MAINTENANCE * maint
        slot = (key, int(started // HOUR))
        reason = None if result.ok and result.reason == "ok" else str(result.reason)
        line = copy_line(
            (key, self.location, flags, started, micros, result.status_code, reason, result.detail or None)
        )
        self._accs[slot].add(result.ok, result.degraded, maint, duration)
        return key, started, line

    # -- housekeeping ---------------------------------------------------------------

    async def _housekeeping(self, conn: Conn, now: float) -> None:
        """Retention and packing, by the observing monitor only (never by a reader), once
        an hour, in transactions of `PRUNE_CHUNK` targets."""
        if self.raw_retention is None or not self.housekeeper or now - self._pruned < PRUNE_EVERY:
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


async def _unstored(conn: Conn, items: list[Item], location: int) -> list[Item]:
    """`items` without the results the database holds already. A batch retried after its
    commit went unanswered, or a spool replayed after a crash, would otherwise count
    those results in the rollups a second time (the raw rows merge by key, the events
    are stored once; the rollups add)."""
    keys = [(item[0], float(item[1].started)) for item in items if isinstance(item, tuple)]
    if not keys:
        return items
    ids, ats = (list(column) for column in zip(*keys, strict=True))
    cur = await conn.execute(
        "SELECT s.id, s.at FROM unnest(%s::text[], %s::float8[]) AS s (id, at) JOIN targets t ON t.id = s.id "
        "JOIN results r ON r.target = t.key AND r.location = %s AND r.at = s.at",
        (ids, ats, location),
    )
    stored = {(str(tid), float(at)) for tid, at in await cur.fetchall()}
    if not stored:
        return items
    log.warning("results written before left out of the retry", extra=kv(count=len(stored)))
    return [i for i in items if not (isinstance(i, tuple) and (i[0], float(i[1].started)) in stored)]


def _scan(items: list[Result3 | Event]) -> tuple[set[str], set[tuple[str, int]]]:
    """The targets a stretch names, and the (target, hour) slots its results touch."""
    ids: set[str] = set()
    hours: set[tuple[str, int]] = set()
    for item in items:
        if isinstance(item, Event):
            ids.add(item.target)
            continue
        ids.add(item[0])
        with contextlib.suppress(TypeError, ValueError, OverflowError):  # skipped by `_build`
            hours.add((item[0], int(float(item[1].started) // HOUR)))
    return ids, hours


# One statement, so one round trip and one commit in autocommit: an event is written on
# the event loop, and a storm of state changes must not hold it for five round trips
# each. A target already numbered is found by the scalar subquery (the CTE's RETURNING is
# empty then); a new one is numbered by the CTE (which the subquery cannot see yet).
_EVENT = (
    "WITH new AS (INSERT INTO targets (id) VALUES (%(target)s) ON CONFLICT (id) DO NOTHING RETURNING key) "
    "INSERT INTO events (target, location, at, old, new, reason, detail, locations) "
    "SELECT COALESCE((SELECT key FROM new), (SELECT key FROM targets WHERE id = %(target)s)), "
    "%(location)s, %(at)s, %(old)s, %(new)s, %(reason)s, %(detail)s, %(locations)s "
    "ON CONFLICT (target, location, at, old, new) DO NOTHING"
)


def write_event(conn: psycopg.Connection[tuple[Any, ...]], event: Event, location: int = LOCAL) -> None:
    """Commit one incident event now, in one statement (`PostgresStore.add_event`; `conn`
    in autocommit)."""
    conn.execute(
        _EVENT,
        {
            "target": event.target,
            "location": location,
            "at": event.at,
            "old": event.old.value,
            "new": event.new.value,
            "reason": _text(event.reason),
            "detail": _text(event.detail),
            "locations": ",".join(event.locations),
        },
    )


def _text(value: str) -> str:
    """NUL cannot be stored in a text column: dropped, as `copy_line` does."""
    return value.replace("\x00", "")


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


__all__ = ["Writer", "copy_line", "pack_days", "write_event"]
