"""Citizens' subscriptions and their mail queue on PostgreSQL (`monitor.store.protocols.Subscribers`).

The statements are `monitor.store.subscribersql`'s; this module runs them on one
synchronous connection of its own (each call one small transaction, on the event loop
as the outbox's are), connected again after it broke. The tables come with the schema's
migrations.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg

from monitor.errors import StoreError
from monitor.store.postgres.failures import reason
from monitor.store.postgres.schema import LOOP_TIMEOUT, connect, migrate
from monitor.store.postgres.url import redacted
from monitor.store.subscribersql import Run, SubscriberSQL

Conn = psycopg.Connection[tuple[Any, ...]]
NAME = "monitor subscriptions"  # its application_name


class PostgresSubscribers(SubscriberSQL):
    """See the module docstring. Not thread-safe: one event loop."""

    lock = " FOR UPDATE"

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.url = url
        self._db: Conn | None = None
        self._opened = False

    def open(self) -> None:
        db = connect(self.url, NAME, LOOP_TIMEOUT)
        try:
            migrate(db)
        except (psycopg.Error, StoreError) as exc:
            db.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open the subscriptions in {redacted(self.url)}: {exc}", reason(exc)) from exc
        self._db, self._opened = db, True

    def close(self) -> None:
        self._opened = False
        if self._db is not None:
            with contextlib.suppress(psycopg.Error):  # another instance may send them now
                self._db.execute("UPDATE subscriber_mail SET claimed_by = NULL WHERE claimed_by = %s", (self.claimant,))
            self._db.close()
            self._db = None

    @property
    def db(self) -> Conn:
        if not self._opened:
            raise StoreError("the subscriptions are not open")
        if self._db is None or self._db.closed:
            self._db = connect(self.url, NAME, LOOP_TIMEOUT)
        return self._db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Run]:
        db = self.db

        def run(sql: str, params: Sequence[Any]) -> tuple[list[tuple[Any, ...]], int]:
            cursor = db.execute(sql.encode(), tuple(params))
            rows = cursor.fetchall() if cursor.description is not None else []
            return rows, cursor.rowcount

        try:
            with db.transaction():
                yield run
        except psycopg.Error as exc:
            if db.broken:
                db.close()  # the next call connects again
            raise StoreError(f"subscriptions: {str(exc).strip()}", reason(exc)) from exc
