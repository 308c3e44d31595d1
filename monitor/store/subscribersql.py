"""The subscriptions' SQL, the same on both backends (`monitor.store.protocols.Subscribers`).

The tables (`subscribers`, `subscriber_mail`, `maintenance_notices`: what the subscribers
were told of the configuration's maintenance windows; the signing key is the `meta` row
`subscription_secret`) are made by each backend's migrations. `SubscriberSQL` holds
every statement, written with `%s` placeholders; a backend's subclass says how a
transaction runs (`_transaction`, yielding a function that executes one statement and
returns its rows and row count) and which placeholder it takes (SQLite's `?`).

A mail is sent at least once and queued once per `key` (the unique column): an event
fanned out twice (a restart, two instances) is still one mail to each subscriber.
`prune` forgets sent mails only: one waiting or given up (failed) stays.

**Claims.** `next_mail()` claims the oldest waiting mail for this connection
(`claimed_by`, a random id per object, until `CLAIM_SECONDS` past its `next_at`), so
several instances on one PostgreSQL never send the same mail at once: while another
holds the oldest, `next_mail()` answers it with `next_at` at the claim's end (the
sender waits instead of sending it, and mails still leave in order); a claim of an
instance that died expires by itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from monitor.store.records import Mail, Notice, Outgoing, Subscriber

Run = Callable[[str, Sequence[Any]], tuple[list[tuple[Any, ...]], int]]
SECRET_KEY = "subscription_secret"
_SUBSCRIBER = "id, address, targets, groups, lang, confirmed"
_MAIL = "seq, key, subscriber, recipient, message, attempts, next_at, claimed_by, claimed_until"
_NOTICE = "key, starts, ends, targets, groups, reason, announced"
CLAIM_SECONDS = 120.0


class SubscriberSQL:
    """The statements; a backend subclasses it with `_transaction` and `placeholder`."""

    placeholder = "%s"
    lock = ""  # what locks the selected row to the transaction's end (" FOR UPDATE")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.claimant = secrets.token_hex(8)
        self._secret: bytes | None = None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Run]:
        raise NotImplementedError
        yield  # pragma: no cover

    def _one(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[tuple[Any, ...]], int]:
        with self._transaction() as run:
            return run(self._sql(sql), params)

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "%s" else sql.replace("%s", self.placeholder)

    def secret(self) -> bytes:
        if self._secret is None:
            with self._transaction() as run:
                run(
                    self._sql("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING"),
                    (SECRET_KEY, secrets.token_hex(32)),
                )
                rows, _ = run(self._sql("SELECT value FROM meta WHERE key = %s"), (SECRET_KEY,))
            self._secret = bytes.fromhex(str(rows[0][0]))
        return self._secret

    def confirm(self, address: str, targets: Sequence[str], groups: Sequence[str], lang: str, at: float) -> Subscriber:
        rows, _ = self._one(
            "INSERT INTO subscribers (address, targets, groups, lang, confirmed) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (address) DO UPDATE SET targets = excluded.targets, groups = excluded.groups, "
            f"lang = excluded.lang, confirmed = excluded.confirmed RETURNING {_SUBSCRIBER}",
            (address.strip().lower(), json.dumps(list(targets)), json.dumps(list(groups)), lang, at),
        )
        return _subscriber(rows[0])

    def remove(self, subscriber_id: int) -> bool:
        with self._transaction() as run:
            run(self._sql("DELETE FROM subscriber_mail WHERE subscriber = %s AND status = 'pending'"), (subscriber_id,))
            _, count = run(self._sql("DELETE FROM subscribers WHERE id = %s"), (subscriber_id,))
        return count > 0

    def subscribers(self) -> list[Subscriber]:
        rows, _ = self._one(f"SELECT {_SUBSCRIBER} FROM subscribers ORDER BY id")
        return [_subscriber(row) for row in rows]

    def enqueue(self, mails: Iterable[Outgoing]) -> int:
        now, queued = self.clock(), 0
        sql = self._sql(
            "INSERT INTO subscriber_mail (key, subscriber, recipient, message, created, next_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING"
        )
        with self._transaction() as run:
            for mail in mails:
                _, count = run(sql, (mail.key, mail.subscriber, mail.recipient, mail.message, now, now))
                queued += max(count, 0)
        return queued

    def next_mail(self) -> Mail | None:
        now = self.clock()
        with self._transaction() as run:
            rows, _ = run(
                f"SELECT {_MAIL} FROM subscriber_mail WHERE status = 'pending' ORDER BY seq LIMIT 1{self.lock}", ()
            )
            if not rows:
                return None
            *fields, claimed_by, claimed_until = rows[0]
            mail = Mail(*fields)
            if claimed_by not in (None, self.claimant) and claimed_until is not None and claimed_until > now:
                return dataclasses.replace(mail, next_at=max(mail.next_at, claimed_until))
            run(
                self._sql("UPDATE subscriber_mail SET claimed_by = %s, claimed_until = %s WHERE seq = %s"),
                (self.claimant, max(mail.next_at, now) + CLAIM_SECONDS, mail.seq),
            )
        return mail

    def sent(self, seq: int) -> None:
        self._done(seq, "sent", None)

    def failed(self, seq: int, error: str) -> None:
        self._done(seq, "failed", error)

    def _done(self, seq: int, status: str, error: str | None) -> None:
        self._one(
            "UPDATE subscriber_mail SET status = %s, attempts = attempts + 1, done_at = %s, error = %s, "
            "message = '' WHERE seq = %s",
            (status, self.clock(), error, seq),
        )

    def retry(self, seq: int, next_at: float, error: str) -> None:
        self._one(
            "UPDATE subscriber_mail SET attempts = attempts + 1, next_at = %s, error = %s, claimed_until = %s "
            "WHERE seq = %s",
            (next_at, error, next_at + CLAIM_SECONDS, seq),
        )

    def pending(self) -> int:
        rows, _ = self._one("SELECT count(*) FROM subscriber_mail WHERE status = 'pending'")
        return int(rows[0][0])

    def prune(self, before: float) -> int:
        _, count = self._one("DELETE FROM subscriber_mail WHERE status = 'sent' AND done_at < %s", (before,))
        return count

    def notices(self) -> list[Notice]:
        rows, _ = self._one(f"SELECT {_NOTICE} FROM maintenance_notices ORDER BY starts, key")
        return [_notice(row) for row in rows]

    def remember_notice(self, notice: Notice) -> None:
        self._one(
            f"INSERT INTO maintenance_notices ({_NOTICE}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (key) DO UPDATE SET starts = excluded.starts, ends = excluded.ends, "
            "targets = excluded.targets, groups = excluded.groups, reason = excluded.reason, "
            "announced = excluded.announced",
            (
                notice.key,
                notice.start,
                notice.end,
                json.dumps(list(notice.targets)),
                json.dumps(list(notice.groups)),
                notice.reason,
                notice.announced,
            ),
        )

    def forget_notice(self, key: str) -> None:
        self._one("DELETE FROM maintenance_notices WHERE key = %s", (key,))


def _notice(row: tuple[Any, ...]) -> Notice:
    key, start, end, targets, groups, reason, announced = row
    return Notice(
        str(key),
        float(start),
        float(end),
        tuple(json.loads(targets)),
        tuple(json.loads(groups)),
        str(reason),
        float(announced),
    )


def _subscriber(row: tuple[Any, ...]) -> Subscriber:
    sid, address, targets, groups, lang, confirmed = row
    return Subscriber(
        int(sid), str(address), tuple(json.loads(targets)), tuple(json.loads(groups)), str(lang), float(confirmed)
    )
