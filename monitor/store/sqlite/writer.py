"""The SQLite store's one writer: a thread that drains an in-memory queue in batches.

The probe loop only appends to a `deque` (atomic, no lock, no await), so probing never
waits on the disk. The thread wakes every `flush_interval`, or early when `batch_size`
items are waiting, and writes everything queued in one transaction: raw results, the
hourly rollups they change, the latest result per target, events, and any operations
queued with `call` (flushes, notes, ...), whose futures resolve after the commit.

Rollups are kept current in memory (one `Accumulator` per target and hour, loaded from
the table the first time an hour is touched after a restart) and written with the batch,
so no separate rollup job exists and the current hour is always answered. For the same
reason the running monitor's writer deletes expired raw results itself, once an hour.

A batch the database refuses (disk full, an I/O error, a damaged page) is not lost: it
goes back to the front of the queue (`monitor.store.backlog`) and is tried again after
a backoff until it is written, and `health()` tells why meanwhile. Operations queued with
`call` fail instead (their caller is waiting for an answer and gets the error).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import StoreError
from monitor.log import kv
from monitor.result import Event, Result
from monitor.store.backlog import LIMIT, Backlog
from monitor.store.records import StoreHealth
from monitor.store.rollup import HOUR, Accumulator
from monitor.store.sqlite import reads as sqlreads
from monitor.store.sqlite.failures import reason
from monitor.store.sqlite.schema import DEGRADED, MAINTENANCE, OK, connect

log = logging.getLogger(__name__)

HEARTBEAT = 10.0  # seconds between two `runs.last_seen` updates while idle
PRUNE_EVERY = 3600.0  # seconds between two deletions of expired raw results
PRUNE_CHUNK = 200  # targets per retention transaction (see `_prune`)


@dataclass(slots=True)
class Op:
    """An operation to run inside the writer's next transaction."""

    fn: Callable[[sqlite3.Connection], Any]
    future: Future[Any]


OpOutcome = tuple[Op, Any, BaseException | None]
Item = tuple[str, Result, bool] | Event | Op


def _is_result(item: Item) -> bool:
    return isinstance(item, tuple)


def result_json(result: Result) -> str:
    return json.dumps(
        {
            "ok": result.ok,
            "reason": result.reason,
            "detail": result.detail,
            "duration": result.duration,
            "started": result.started,
            "degraded": result.degraded,
            "status_code": result.status_code,
            "cert_expiry": result.cert_expiry,
            "phases": dict(result.phases),
            "extra": dict(result.extra),
        }
    )


class Writer:
    """Owns the writing connection and the queue; see the module doc."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float],
        run_id: int | None,
        flush_interval: float = 1.0,
        batch_size: int = 5000,
        raw_retention: float | None = None,
        backlog_limit: int = LIMIT,
    ) -> None:
        self.backlog: Backlog[Item] = Backlog(_is_result, backlog_limit, clock)
        self.queue = self.backlog.items
        self.path, self.clock, self.run_id = path, clock, run_id
        self.flush_interval, self.batch_size = flush_interval, batch_size
        self.stopped = False  # the thread ended on an unexpected error
        self.started = False
        self._wake = threading.Event()
        self._called = False  # an operation waits: a retry may not wait out its backoff
        self._stopping = False
        self._keys: dict[str, int] = {}
        self._accs: dict[tuple[int, int], Accumulator] = {}
        self._dirty: set[tuple[int, int]] = set()
        self._beat = 0.0
        self.raw_retention = raw_retention
        self.location = "local"  # the location results are stored with (the store's)
        self._pruned = 0.0
        self._thread = threading.Thread(target=self._run, name="monitor-store-writer", daemon=True)

    def start(self) -> None:
        self.started = True
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def health(self) -> StoreHealth:
        if self.stopped:
            return StoreHealth(False, "the store's writer stopped", waiting=len(self.queue))
        return self.backlog.health()

    @property
    def healthy(self) -> bool:
        return self.health().ok

    def put(self, item: tuple[str, Result, bool] | Event) -> None:
        self.queue.append(item)
        if len(self.queue) % self.batch_size == 0:
            self._wake.set()

    def call(self, fn: Callable[[sqlite3.Connection], Any]) -> Future[Any]:
        """Run `fn(conn)` in the next batch, after everything queued before it."""
        future: Future[Any] = Future()
        self.queue.append(Op(fn, future))
        self._called = True
        self._wake.set()
        return future

    def stop(self) -> None:
        """Write what is queued, close the connection and end the thread."""
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            conn = connect(self.path)
            try:
                self._loop(conn)
            finally:
                conn.close()
        except Exception:
            self.stopped = True
            log.exception("the store's writer stopped")
        finally:
            # However the thread ends, no caller may wait for ever on an operation.
            for item in list(self.queue):
                if isinstance(item, Op) and not item.future.done():
                    item.future.set_exception(StoreError("the store's writer has stopped"))

    def _loop(self, conn: sqlite3.Connection) -> None:
        self._keys = dict((i, k) for k, i in conn.execute("SELECT key, id FROM targets"))
        while True:
            self._wait()
            stopping = self._stopping
            self._drain(conn, final=stopping)
            if stopping and (not self.queue or self.backlog.failures):
                if self.queue:  # the process is ending: nowhere left to keep them
                    log.error("store stopped with items unwritten", extra=kv(lost=len(self.queue)))
                break

    def _wait(self) -> None:
        """Until the next batch is due. While writes fail, a full batch does not hurry
        the retry (each retry writes everything kept); an operation or a stop does."""
        deadline = time.monotonic() + self.backlog.retry_delay(self.flush_interval)
        while True:
            self._wake.wait(max(0.0, deadline - time.monotonic()))
            self._wake.clear()
            urgent = self._stopping or not self.backlog.failures or self._called
            if urgent or time.monotonic() >= deadline:
                return

    def _drain(self, conn: sqlite3.Connection, final: bool) -> None:
        self._called = False  # before taking: an operation queued from now on wakes the next
        items = self.backlog.take()
        now = self.clock()
        beat = self.run_id is not None and (final or now - self._beat >= HEARTBEAT)
        if not items and not beat:
            return
        ops: list[OpOutcome] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            ops = self._write(conn, items)
            if self.run_id is not None:
                conn.execute("UPDATE runs SET last_seen = MAX(last_seen, ?) WHERE id = ?", (now, self.run_id))
                self._beat = now
            conn.execute("COMMIT")
        except Exception as exc:  # the writer must outlive any one bad batch
            if not isinstance(exc, sqlite3.Error):  # a bug, not the disk: say where
                log.exception("store write failed unexpectedly")
            # Nothing here may raise in turn (the thread would end): no query, a guarded
            # rollback (SQLite may have rolled back already, or fail again).
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            self._accs.clear()  # they may hold what was not written: reload from disk
            self._dirty.clear()
            self._keys.clear()  # may hold keys rolled back: `_key` looks them up again
            for item in items:
                if isinstance(item, Op) and not item.future.done():
                    item.future.set_exception(StoreError(f"store write failed: {exc}", reason(exc)))
            self.backlog.failed([i for i in items if not isinstance(i, Op)], reason(exc))
            return
        self.backlog.succeeded(len(items))
        try:  # before the futures resolve: a flush that passes the hour includes it
            self._prune(conn, now)
        except sqlite3.Error:  # nothing is lost: the next hour tries again
            log.exception("store retention failed")
        for op, value, error in ops:
            if error is not None:
                op.future.set_exception(error)
            else:
                op.future.set_result(value)

    def _write(self, conn: sqlite3.Connection, items: list[Any]) -> list[OpOutcome]:
        rows: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        latest: dict[int, Result] = {}
        ops: list[OpOutcome] = []
        for item in items:
            if isinstance(item, Op):
                # Everything queued before the operation is written before it runs.
                self._write_rows(conn, rows, events, latest)
                rows, events, latest = [], [], {}
                try:
                    ops.append((item, item.fn(conn), None))
                except Exception as exc:  # reported to the caller through its future
                    ops.append((item, None, exc))
            elif isinstance(item, Event):
                events.append(
                    (
                        self._key(conn, item.target),
                        item.at,
                        item.old.value,
                        item.new.value,
                        item.reason,
                        item.detail,
                        ",".join(item.locations),
                    )
                )
            else:
                try:
                    row = self._result(conn, *item)
                except (TypeError, ValueError, OverflowError) as exc:  # a malformed result
                    log.error("store skipped a malformed result of %s: %r", item[0], exc)
                    continue
                rows.append(row)
                latest[row[0]] = item[1]
        self._write_rows(conn, rows, events, latest)
        return ops

    def _result(self, conn: sqlite3.Connection, target_id: str, result: Result, maint: bool) -> tuple[Any, ...]:
        """The `results` row of one result; its rollup updated."""
        started, duration = float(result.started), float(result.duration)
        micros = round(duration * 1e6)
        key = self._key(conn, target_id)
        flags = OK * result.ok | DEGRADED * result.degraded | MAINTENANCE * maint
        self._acc(conn, key, started).add(result.ok, result.degraded, maint, duration)
        return (
            key,
            started,
            flags,
            micros,
            None if result.ok and result.reason == "ok" else result.reason,
            result.status_code,
            result.detail or None,
            self.location,
        )

    def _write_rows(
        self, conn: sqlite3.Connection, rows: list[Any], events: list[Any], latest: dict[int, Result]
    ) -> None:
        conn.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany(
            "INSERT INTO events (target, at, old, new, reason, detail, locations) VALUES (?, ?, ?, ?, ?, ?, ?)", events
        )
        conn.executemany(
            "INSERT INTO latest (target, result) VALUES (?, ?) ON CONFLICT (target) DO UPDATE "
            "SET result = excluded.result WHERE json_extract(latest.result, '$.started') <= ?",
            [(key, result_json(r), r.started) for key, r in latest.items()],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO rollups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(k[0], k[1], *self._accs[k].row()) for k in self._dirty],
        )
        self._dirty.clear()
        if len(self._accs) > 4 * max(len(self._keys), 1):
            newest = max(hour for _, hour in self._accs)
            self._accs = {k: a for k, a in self._accs.items() if k[1] >= newest - 1}

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        """Retention, run by the observing monitor only (never by a report's reader),
        after the batch and in transactions of `PRUNE_CHUNK` targets: an hour of raw
        results is millions of rows at 2,000 probes a second, and the outbox, which
        queues alerts on the event loop, shares this file's write lock."""
        if self.raw_retention is None or now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        cutoff = now - self.raw_retention
        keys = [key for (key,) in conn.execute("SELECT key FROM targets")]
        for first in range(0, len(keys), PRUNE_CHUNK):
            conn.execute("BEGIN IMMEDIATE")
            try:
                sqlreads.prune(conn, cutoff, keys[first : first + PRUNE_CHUNK])
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _key(self, conn: sqlite3.Connection, target_id: str) -> int:
        key = self._keys.get(target_id)
        if key is None:
            conn.execute("INSERT OR IGNORE INTO targets (id) VALUES (?)", (target_id,))
            row = conn.execute("SELECT key FROM targets WHERE id = ?", (target_id,)).fetchone()
            key = self._keys[target_id] = int(row[0])
        return key

    def _acc(self, conn: sqlite3.Connection, key: int, at: float) -> Accumulator:
        slot = (key, int(at // HOUR))
        acc = self._accs.get(slot)
        if acc is None:
            row = conn.execute(
                "SELECT count, failures, degraded, maintenance, lat_count, lat_sum, lat_min, "
                "lat_max, hist FROM rollups WHERE target = ? AND hour = ?",
                slot,
            ).fetchone()
            acc = self._accs[slot] = Accumulator.from_row(row) if row else Accumulator()
        self._dirty.add(slot)
        return acc


def write_event(conn: sqlite3.Connection, event: Event) -> None:
    """Commit one incident event now, in a transaction of its own (`SQLiteStore.add_event`)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT OR IGNORE INTO targets (id) VALUES (?)", (event.target,))
        (key,) = conn.execute("SELECT key FROM targets WHERE id = ?", (event.target,)).fetchone()
        conn.execute(
            "INSERT INTO events (target, at, old, new, reason, detail, locations) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, event.at, event.old.value, event.new.value, event.reason, event.detail, ",".join(event.locations)),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already
            conn.execute("ROLLBACK")
        raise
