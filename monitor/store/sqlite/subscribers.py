"""Citizens' subscriptions and their mail queue on SQLite (`monitor.store.protocols.Subscribers`).

The statements are `monitor.store.subscribersql`'s; this module runs them on a
connection of its own to the store's file (WAL), each call one `BEGIN IMMEDIATE`
transaction. The tables come with the schema's migrations (version 3).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from monitor.errors import StoreError
from monitor.store.sqlite.failures import reason
from monitor.store.sqlite.schema import connect, migrate
from monitor.store.subscribersql import Run, SubscriberSQL


class SQLiteSubscribers(SubscriberSQL):
    """See the module docstring. Not thread-safe: one event loop."""

    placeholder = "?"

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = connect(self.path, timeout=5.0)  # used on the event loop: a short wait
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the subscriptions in {self.path}: {exc}", reason(exc)) from exc
        try:
            migrate(db)
        except (sqlite3.Error, StoreError) as exc:
            db.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(f"cannot open the subscriptions in {self.path}: {exc}", reason(exc)) from exc
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Run]:
        db = self._db
        if db is None:
            raise StoreError("the subscriptions are not open")

        def run(sql: str, params: Sequence[Any]) -> tuple[list[tuple[Any, ...]], int]:
            cursor = db.execute(sql, tuple(params))
            rows = cursor.fetchall()
            return rows, cursor.rowcount

        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield run
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"subscriptions: {exc}", reason(exc)) from exc
