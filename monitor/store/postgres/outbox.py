"""The durable outbox on PostgreSQL (`monitor.store.protocols.Outbox`): every alert is
written here before anyone tries to send it.

The same tables as on SQLite (`outbox`, `outbox_seen`, and `outbox_said`: each
target's newest alert of each of `RESUME_KINDS` per notifier, never pruned, which
`latest` answers; created by the schema's migrations), on one synchronous connection of
its own: the dispatcher calls the outbox
on the event loop, and each call is one small transaction (an enqueue is a few hundred
microseconds on loopback, BENCHMARKS.md).

**Claims.** `head()` claims the row it returns for this outbox (`claimed_by`, a random
id per open, until `claimed_until`): it locks the notifier's oldest pending row with
`FOR UPDATE SKIP LOCKED`, so an outbox of another instance on the same table never
waits on it and never takes it while the claim holds, and a notifier's alerts still
leave in order (when the oldest is taken elsewhere, `head()` answers None rather than
the next). A claim lasts `CLAIM_SECONDS` past the row's `next_at` and is renewed by
every `head()`; `close()` gives this outbox's claims up, and a claim of an instance
that died expires by itself: meanwhile `head()` answers the row with its `next_at` set
to the claim's end, so the dispatcher waits for it instead of sending it.

Errors are `StoreError` with the short reason of `monitor.store.postgres.failures`
("database unreachable", "disk full", ...): the alerting service then holds alerts in
memory (`monitor.alerting.fallback`) and writes them with `adopt` once the database
takes writes again.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any

import psycopg

from monitor.errors import StoreError
from monitor.notifiers.base import Alert
from monitor.store.postgres.failures import reason
from monitor.store.postgres.schema import LOOP_TIMEOUT, connect, migrate, on_loop
from monitor.store.postgres.url import redacted
from monitor.store.records import DELIVERED, EPHEMERAL, FAILED, RESUME_KINDS, Entry

Conn = psycopg.Connection[tuple[Any, ...]]
KEEP_EPHEMERAL = 3600.0  # delivered refreshes are pruned after an hour
CLAIM_SECONDS = 120.0
NAME = "monitor outbox"  # its application_name
BUSY_SECONDS = 1.0  # a row another instance holds is looked at again this much later

_COLUMNS = "seq, alert, notifier, status, attempts, created, next_at, done_at, error, alert_id, kind, target"
_UNREADABLE = (ValueError, TypeError, AttributeError)  # what decoding a damaged row raises


class PostgresOutbox:
    """The outbox tables; see the module docstring. Not thread-safe: one event loop."""

    def __init__(
        self,
        url: str,
        clock: Callable[[], float] = time.time,
        keep_delivered: float = 7 * 86400,
        keep_failed: float = 30 * 86400,
        keep_seen: float = 400 * 86400,
    ) -> None:
        self.url, self.clock = url, clock
        self.keep_delivered, self.keep_failed = keep_delivered, keep_failed
        self.keep_seen = keep_seen
        self.claimant = secrets.token_hex(8)
        self._db: Conn | None = None
        self._opened = False

    def open(self) -> None:
        db = on_loop(connect(self.url, NAME, LOOP_TIMEOUT))
        try:
            migrate(db)
        except (psycopg.Error, StoreError) as exc:
            db.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open the outbox in {redacted(self.url)}: {exc}", reason(exc)) from exc
        self._db, self._opened = db, True

    def close(self) -> None:
        self._opened = False
        if self._db is not None:
            with contextlib.suppress(psycopg.Error):
                self._db.execute("UPDATE outbox SET claimed_by = NULL WHERE claimed_by = %s", (self.claimant,))
            self._db.close()
            self._db = None

    @property
    def db(self) -> Conn:
        """The connection; connected again after it broke (`StoreError` while it cannot)."""
        if not self._opened:
            raise StoreError("the outbox is not open")
        if self._db is None or self._db.closed:
            self._db = on_loop(connect(self.url, NAME, LOOP_TIMEOUT))
        return self._db

    def enqueue(self, alert: Alert, notifiers: Iterable[str]) -> list[str]:
        now, added = self.clock(), []
        payload = json.dumps(alert.to_dict(), ensure_ascii=False)
        ephemeral = alert.kind in EPHEMERAL
        with self._transaction() as db:
            for name in notifiers:
                if not ephemeral:
                    seen = db.execute(
                        "INSERT INTO outbox_seen VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (alert.id, name, now)
                    )
                    if seen.rowcount == 0:
                        continue
                else:
                    db.execute(
                        "DELETE FROM outbox WHERE notifier = %s AND target = %s AND kind = %s AND "
                        "status = 'pending' AND attempts = 0",
                        (name, alert.target, alert.kind),
                    )
                inserted = db.execute(
                    "INSERT INTO outbox (alert_id, notifier, target, kind, alert, created, next_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING seq",
                    (alert.id, name, alert.target, alert.kind, payload, now, now),
                ).fetchone()
                if inserted is not None:
                    added.append(name)
                    _said(db, alert, name, inserted[0], payload)
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
                        "INSERT INTO outbox_seen VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                        (alert.id, entry.notifier, entry.created),
                    )
                    if seen.rowcount == 0:
                        seqs.append(None)
                        continue
                payload = json.dumps(alert.to_dict(), ensure_ascii=False)
                row = db.execute(
                    "INSERT INTO outbox (alert_id, notifier, target, kind, alert, status, attempts, created, "
                    "next_at, done_at, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING RETURNING seq",
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
                ).fetchone()
                seqs.append(None if row is None else int(row[0]))
                if row is not None:
                    _said(db, alert, entry.notifier, row[0], payload)
        return seqs

    def known(self, alert_id: str) -> set[str]:
        """The notifiers this alert id was ever queued for (a read)."""
        with self._transaction() as db:
            rows = db.execute("SELECT notifier FROM outbox_seen WHERE alert_id = %s", (alert_id,)).fetchall()
        return {str(name) for (name,) in rows}

    def latest(self, kinds: Collection[str]) -> dict[str, list[tuple[Alert, str]]]:
        """Per target, the newest alert of these kinds queued for each notifier, oldest
        first (`outbox_said`: what the alert policy resumes from after a restart)."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT target, notifier, alert FROM (SELECT DISTINCT ON (target, notifier) target, notifier, "
                "alert, seq FROM outbox_said WHERE kind = ANY(%s) ORDER BY target, notifier, seq DESC) AS newest "
                "ORDER BY seq",
                (list(kinds),),
            ).fetchall()
        found: dict[str, list[tuple[Alert, str]]] = {}
        for target, notifier, alert in rows:
            with contextlib.suppress(*_UNREADABLE):
                found.setdefault(str(target), []).append((Alert.from_dict(json.loads(alert)), str(notifier)))
        return found

    def head(self, notifier: str, skip: Collection[int] = ()) -> Entry | None:
        """The oldest pending alert of a notifier (other than those in `skip`), claimed
        (see the module doc). A row that no longer reads as an alert is failed on the
        way: left pending it would block every alert behind it."""
        while True:
            row = self._claim(notifier, skip)
            if row is None:
                return None
            try:
                return _entry(row)
            except _UNREADABLE as exc:
                self.failed(row[0], f"unreadable alert: {type(exc).__name__}: {exc}")

    def _claim(self, notifier: str, skip: Collection[int]) -> tuple[Any, ...] | None:
        now = self.clock()
        with self._transaction() as db:
            oldest = db.execute(
                "SELECT seq FROM outbox WHERE notifier = %s AND status = 'pending' AND NOT (seq = ANY(%s)) "
                "ORDER BY seq LIMIT 1",
                (notifier, [int(seq) for seq in skip]),
            ).fetchone()
            if oldest is None:
                return None
            row = db.execute(
                f"SELECT {_COLUMNS}, claimed_by, claimed_until FROM outbox WHERE seq = %s AND status = 'pending' "
                "FOR UPDATE SKIP LOCKED",
                oldest,
            ).fetchone()
            if row is None:  # another instance is claiming or finishing it this moment
                row = db.execute(
                    f"SELECT {_COLUMNS}, '', %s::float8 FROM outbox WHERE seq = %s", (now + BUSY_SECONDS, oldest[0])
                ).fetchone()
                if row is None:
                    return None
            *columns, holder, until = row
            if holder not in (None, self.claimant) and until is not None and until > now:
                # Held elsewhere: this outbox's turn comes when the claim ends (if it does).
                columns[6] = max(columns[6], until + BUSY_SECONDS)
                return tuple(columns)
            db.execute(
                "UPDATE outbox SET claimed_by = %s, claimed_until = GREATEST(next_at, %s) + %s WHERE seq = %s",
                (self.claimant, now, CLAIM_SECONDS, oldest[0]),
            )
            return tuple(columns)

    def delivered(self, seq: int) -> None:
        self._finish(seq, DELIVERED, None)

    def failed(self, seq: int, error: str) -> None:
        self._finish(seq, FAILED, error)

    def retry(self, seq: int, next_at: float, error: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = %s, error = %s, "
                "claimed_until = GREATEST(claimed_until, %s + %s) WHERE seq = %s",
                (next_at, error, next_at, CLAIM_SECONDS, seq),
            )

    def _finish(self, seq: int, status: str, error: str | None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET status = %s, attempts = attempts + 1, done_at = %s, error = %s, "
                "claimed_by = NULL, claimed_until = NULL WHERE seq = %s",
                (status, self.clock(), error, seq),
            )

    def fail_orphans(self, configured: Iterable[str], error: str) -> int:
        with self._transaction() as db:
            cur = db.execute(
                "UPDATE outbox SET status = 'failed', done_at = %s, error = %s "
                "WHERE status = 'pending' AND NOT (notifier = ANY(%s))",
                (self.clock(), error, list(configured)),
            )
        return cur.rowcount

    def queue_sizes(self, notifiers: Iterable[str] = ()) -> dict[str, int]:
        sizes = dict.fromkeys(notifiers, 0)
        with self._transaction() as db:
            rows = db.execute(
                "SELECT notifier, COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY notifier"
            ).fetchall()
        sizes.update((str(name), int(count)) for name, count in rows)
        return sizes

    def entries(self, status: str | None = None, limit: int = 100) -> list[Entry]:
        where, args = ("WHERE status = %s", (status,)) if status else ("", ())
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY seq DESC LIMIT %s", (*args, limit)
            ).fetchall()
        return [_entry(row, lenient=True) for row in rows]

    def prune(self) -> None:
        now = self.clock()
        with self._transaction() as db:
            db.execute("DELETE FROM outbox WHERE status = 'delivered' AND done_at < %s", (now - self.keep_delivered,))
            db.execute(
                "DELETE FROM outbox WHERE status = 'delivered' AND kind = 'refresh' AND done_at < %s",
                (now - KEEP_EPHEMERAL,),
            )
            db.execute("DELETE FROM outbox WHERE status = 'failed' AND done_at < %s", (now - self.keep_failed,))
            db.execute("DELETE FROM outbox_seen WHERE at < %s", (now - self.keep_seen,))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Conn]:
        """One transaction; PostgreSQL's errors as `StoreError`, the kind the dispatcher's
        workers wait out and retry (a broken connection is opened again next time)."""
        db = self.db
        try:
            with db.transaction():
                yield db
        except psycopg.Error as exc:
            if db.broken:
                db.close()  # the next call connects again
            raise StoreError(f"outbox: {str(exc).strip()}", reason(exc)) from exc


def _said(db: Conn, alert: Alert, notifier: str, seq: int, payload: str) -> None:
    """Remember `alert` as the newest of its kind said about its target (`latest`)."""
    if alert.kind in RESUME_KINDS:
        db.execute(
            "INSERT INTO outbox_said VALUES (%s, %s, %s, %s, %s) ON CONFLICT (target, notifier, kind) DO UPDATE "
            "SET seq = excluded.seq, alert = excluded.alert WHERE outbox_said.seq < excluded.seq",
            (alert.target, notifier, alert.kind, seq, payload),
        )


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
