"""The durable outbox on SQLite (`monitor.store.protocols.Outbox`): every alert is
written here before anyone tries to send it.

Its tables live in the store's SQLite file (`<data_dir>/monitor.db`, WAL) under names
prefixed `outbox`, through a connection of its own:

- `outbox`: one row per (alert id, notifier): the alert as JSON, `status` pending ->
  delivered | failed, attempts, when to try next, the last error. Delivered rows are
  pruned after `keep_delivered`, failed ones after `keep_failed`.
- `outbox_seen`: every (alert id, notifier) ever queued, kept for `keep_seen`. An alert
  offered again with the same id (after a restart, a reminder computed twice) is
  dropped here, so a receiver hears it once.
- `outbox_said`: each target's newest alert of each of `SAID_KINDS` per notifier, never
  pruned (one row each): what the alert policy (and the uplink's alerts) resume from
  after a restart (`latest`).

Writes are single small transactions; committed rows survive a `kill -9` (WAL), so a
restart resends whatever was pending.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from monitor.errors import StoreError
from monitor.notifiers.base import Alert
from monitor.store.records import DELIVERED, EPHEMERAL, FAILED, SAID_KINDS, Entry
from monitor.store.sqlite.failures import reason
from monitor.store.sqlite.schema import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    notifier TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    alert TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    next_at REAL NOT NULL,
    done_at REAL,
    error TEXT,
    UNIQUE (alert_id, notifier)
);
CREATE INDEX IF NOT EXISTS outbox_queue ON outbox (notifier, status, seq);
CREATE TABLE IF NOT EXISTS outbox_seen (
    alert_id TEXT NOT NULL,
    notifier TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (alert_id, notifier)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox_said (
    target TEXT NOT NULL,
    notifier TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    alert TEXT NOT NULL,
    PRIMARY KEY (target, notifier, kind)
) WITHOUT ROWID;
"""

KEEP_EPHEMERAL = 3600.0  # delivered refreshes are pruned after an hour


class SQLiteOutbox:
    """The outbox tables; see the module docstring. Not thread-safe: one event loop."""

    def __init__(
        self,
        path: str | Path,
        clock: Callable[[], float] = time.time,
        keep_delivered: float = 7 * 86400,
        keep_failed: float = 30 * 86400,
        keep_seen: float = 400 * 86400,
    ) -> None:
        self.path, self.clock = Path(path), clock
        self.keep_delivered, self.keep_failed = keep_delivered, keep_failed
        self.keep_seen = keep_seen
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A short wait for the lock: the outbox is used on the event loop.
            db = connect(self.path, timeout=5.0)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the outbox in {self.path}: {exc}", reason(exc)) from exc
        try:
            db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(f"cannot open the outbox in {self.path}: {exc}", reason(exc)) from exc
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the outbox is not open")
        return self._db

    def enqueue(self, alert: Alert, notifiers: Iterable[str]) -> list[str]:
        """Queue `alert` for each notifier not queued this alert id before; return those.
        A "refresh" is not remembered in `outbox_seen` (there is one a minute) and replaces
        the same target's refreshes still waiting: only the newest matters."""
        now, added = self.clock(), []
        payload = json.dumps(alert.to_dict(), ensure_ascii=False)
        with self._transaction() as db:
            for name in notifiers:
                ephemeral = alert.kind in EPHEMERAL
                if not ephemeral:
                    seen = db.execute("INSERT OR IGNORE INTO outbox_seen VALUES (?, ?, ?)", (alert.id, name, now))
                    if seen.rowcount == 0:
                        continue
                else:
                    db.execute(
                        "DELETE FROM outbox WHERE notifier = ? AND target = ? AND "
                        "kind = ? AND status = 'pending' AND attempts = 0",
                        (name, alert.target, alert.kind),
                    )
                inserted = db.execute(
                    "INSERT OR IGNORE INTO outbox (alert_id, notifier, target, kind, alert, "
                    "created, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (alert.id, name, alert.target, alert.kind, payload, now, now),
                )
                if inserted.rowcount:
                    added.append(name)
                    _said(db, alert, name, inserted.lastrowid, payload)
        return added

    def adopt(self, entries: Sequence[Entry]) -> list[int | None]:
        """Write entries kept in memory while the outbox refused writes, in order, with
        the status and attempts they reached there, in one transaction; return each one's
        new `seq` (None: its alert id was queued for that notifier before)."""
        seqs: list[int | None] = []
        with self._transaction() as db:
            for entry in entries:
                alert = entry.alert
                if alert.kind not in EPHEMERAL:
                    seen = db.execute(
                        "INSERT OR IGNORE INTO outbox_seen VALUES (?, ?, ?)", (alert.id, entry.notifier, entry.created)
                    )
                    if seen.rowcount == 0:
                        seqs.append(None)
                        continue
                payload = json.dumps(alert.to_dict(), ensure_ascii=False)
                cur = db.execute(
                    "INSERT OR IGNORE INTO outbox (alert_id, notifier, target, kind, alert, status, attempts, "
                    "created, next_at, done_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        alert.id,
                        entry.notifier,
                        alert.target,
                        alert.kind,
                        payload,
                        entry.status,
                        entry.attempts,
                        entry.created,
                        entry.next_at,
                        entry.done_at,
                        entry.error,
                    ),
                )
                seqs.append(cur.lastrowid if cur.rowcount else None)
                if cur.rowcount:
                    _said(db, alert, entry.notifier, cur.lastrowid, payload)
        return seqs

    def known(self, alert_id: str) -> set[str]:
        """The notifiers this alert id was ever queued for (a read: it answers while
        writes fail)."""
        with _errors():
            rows = self.db.execute("SELECT notifier FROM outbox_seen WHERE alert_id = ?", (alert_id,)).fetchall()
        return {name for (name,) in rows}

    def latest(self, kinds: Collection[str]) -> dict[str, list[tuple[Alert, str]]]:
        """Per target, the newest alert of these kinds queued for each notifier, oldest
        first (`outbox_said`: what the alert policy resumes from after a restart)."""
        marks = ",".join("?" * len(kinds))
        with _errors():
            rows = self.db.execute(
                f"SELECT target, notifier, alert, MAX(seq) FROM outbox_said WHERE kind IN ({marks}) "
                "GROUP BY target, notifier ORDER BY MAX(seq)",
                tuple(kinds),
            ).fetchall()
        found: dict[str, list[tuple[Alert, str]]] = {}
        for target, notifier, alert, _ in rows:
            with contextlib.suppress(*_UNREADABLE):
                found.setdefault(target, []).append((Alert.from_dict(json.loads(alert)), notifier))
        return found

    def head(self, notifier: str, skip: Collection[int] = ()) -> Entry | None:
        """The oldest pending alert of a notifier (other than those in `skip`): alerts
        leave in the order they came. A row that no longer reads as an alert (damaged,
        or written by another version) is failed on the way: left pending it would
        block every alert behind it."""
        others = "".join(f" AND seq != {int(seq)}" for seq in skip)
        while True:
            with _errors():
                row = self.db.execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE notifier = ? AND status = 'pending'{others} "
                    "ORDER BY seq LIMIT 1",
                    (notifier,),
                ).fetchone()
            if row is None:
                return None
            try:
                return _entry(row)
            except _UNREADABLE as exc:
                self.failed(row[0], f"unreadable alert: {type(exc).__name__}: {exc}")

    def delivered(self, seq: int) -> None:
        self._finish(seq, DELIVERED, None)

    def failed(self, seq: int, error: str) -> None:
        self._finish(seq, FAILED, error)

    def retry(self, seq: int, next_at: float, error: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, error = ? WHERE seq = ?", (next_at, error, seq)
            )

    def _finish(self, seq: int, status: str, error: str | None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, done_at = ?, error = ? WHERE seq = ?",
                (status, self.clock(), error, seq),
            )

    def fail_orphans(self, configured: Iterable[str], error: str) -> int:
        """Fail pending alerts of notifiers no longer configured; return how many."""
        names = list(configured)
        marks = ",".join("?" * len(names))
        with self._transaction() as db:
            cur = db.execute(
                f"UPDATE outbox SET status = 'failed', done_at = ?, error = ? "
                f"WHERE status = 'pending' AND notifier NOT IN ({marks})",
                (self.clock(), error, *names),
            )
        return cur.rowcount

    def queue_sizes(self, notifiers: Iterable[str] = ()) -> dict[str, int]:
        """Pending alerts per notifier (`monitor_notification_queue`); 0 for the named
        notifiers with none."""
        sizes = dict.fromkeys(notifiers, 0)
        with _errors():
            sizes.update(
                self.db.execute(
                    "SELECT notifier, COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY notifier"
                ).fetchall()
            )
        return sizes

    def entries(self, status: str | None = None, limit: int = 100) -> list[Entry]:
        """The newest entries (of one status): the admin view lists failed ones."""
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        with _errors():
            rows = self.db.execute(
                f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY seq DESC LIMIT ?", (*args, limit)
            ).fetchall()
        return [_entry(row, lenient=True) for row in rows]

    def prune(self) -> None:
        now = self.clock()
        with self._transaction() as db:
            db.execute("DELETE FROM outbox WHERE status = 'delivered' AND done_at < ?", (now - self.keep_delivered,))
            db.execute(
                "DELETE FROM outbox WHERE status = 'delivered' AND kind = 'refresh' AND done_at < ?",
                (now - KEEP_EPHEMERAL,),
            )
            db.execute("DELETE FROM outbox WHERE status = 'failed' AND done_at < ?", (now - self.keep_failed,))
            db.execute("DELETE FROM outbox_seen WHERE at < ?", (now - self.keep_seen,))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` ... COMMIT, rolled back on any error (a failed COMMIT too:
        a transaction left open would make every later write fail)."""
        db = self.db
        with _errors():
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite may have rolled back already
                    db.execute("ROLLBACK")
                raise


def _said(db: sqlite3.Connection, alert: Alert, notifier: str, seq: int | None, payload: str) -> None:
    """Remember `alert` as the newest of its kind said about its target (`latest`)."""
    if alert.kind in SAID_KINDS:
        db.execute(
            "INSERT OR REPLACE INTO outbox_said VALUES (?, ?, ?, ?, ?)",
            (alert.target, notifier, alert.kind, seq, payload),
        )


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """SQLite's errors as `StoreError` with their short reason, the kind the alerting
    service keeps alerts in memory for; any other kind would end a worker and strand
    its notifier's alerts."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"outbox: {exc}", reason(exc)) from exc


_COLUMNS = "seq, alert, notifier, status, attempts, created, next_at, done_at, error, alert_id, kind, target"
_UNREADABLE = (ValueError, TypeError, AttributeError)  # what decoding a damaged row raises


def _entry(row: tuple[Any, ...], lenient: bool = False) -> Entry:
    """The entry of a row; `lenient`: a row whose alert cannot be read (see `head`) shows
    what its columns still say, for listing."""
    seq, alert, notifier, status, attempts, created, next_at, done_at, error, *ident = row
    try:
        decoded = Alert.from_dict(json.loads(alert))
    except _UNREADABLE:
        if not lenient:
            raise
        alert_id, kind, target = ident
        decoded = Alert(alert_id, kind, target, target, "", "", "", "", created)
    return Entry(seq, decoded, notifier, status, attempts, created, next_at, done_at, error)
