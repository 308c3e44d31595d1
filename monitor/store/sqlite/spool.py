"""`SQLiteSpool`: a local SQLite file (`data_dir/spool.db`) where a store on a database
server keeps what waits for the database while it cannot be reached
(`monitor.store.protocols.Spool`), so that it outlives a restart of the instance too.

Two tables: `items`, the writer's results and events in the order they came (JSON, one
row each, appended at every failed write and emptied once the database took them), and
`alerts`, the alerts the outbox's fallback holds (replaced whole at every change: they
are few). The file is created at the first write; WAL, so a `kill -9` loses nothing
committed. Calls come from the writer's thread and the event loop: one lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.errors import StoreError
from monitor.notifiers.base import Alert
from monitor.result import Event, Result, State
from monitor.store.protocols import SpoolItem
from monitor.store.records import Entry
from monitor.store.sqlite.failures import reason
from monitor.store.sqlite.schema import connect
from monitor.store.sqlite.writer import result_json

FILE = "spool.db"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS alerts (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);"
)


class SQLiteSpool:
    """The spool file; see the module doc. Errors are `StoreError`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _conn(self, create: bool) -> sqlite3.Connection | None:
        if self._db is None:
            if not create and not self.path.exists():
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = connect(self.path)
            self._db.executescript(_SCHEMA)
        return self._db

    def _run(self, create: bool, sql: str, rows: Sequence[tuple[Any, ...]] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                db = self._conn(create)
                if db is None:
                    return []
                if rows:
                    db.execute("BEGIN")
                    db.executemany(sql, rows)
                    db.execute("COMMIT")
                    return []
                return db.execute(sql).fetchall()
            except (sqlite3.Error, OSError) as exc:
                if self._db is not None and self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"spool {self.path}: {exc}", reason(exc)) from exc

    def keep(self, items: Sequence[SpoolItem]) -> None:
        if items:
            self._run(True, "INSERT INTO items (body) VALUES (?)", [(_item_json(i),) for i in items])

    def load(self) -> list[SpoolItem]:
        return [_item(json.loads(body)) for (body,) in self._run(False, "SELECT body FROM items ORDER BY seq")]

    def clear(self) -> None:
        if self._db is not None or self.path.exists():
            self._run(True, "DELETE FROM items")

    def keep_alerts(self, entries: Sequence[Entry]) -> None:
        if not entries and self._db is None and not self.path.exists():
            return
        with self._lock:
            try:
                db = self._conn(True)
                assert db is not None
                db.execute("BEGIN")
                db.execute("DELETE FROM alerts")
                db.executemany("INSERT INTO alerts (body) VALUES (?)", [(_entry_json(e),) for e in entries])
                db.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                if self._db is not None and self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"spool {self.path}: {exc}", reason(exc)) from exc

    def held_alerts(self) -> list[Entry]:
        return [_entry(json.loads(body)) for (body,) in self._run(False, "SELECT body FROM alerts ORDER BY seq")]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _item_json(item: SpoolItem) -> str:
    if isinstance(item, Event):
        return json.dumps(
            {
                "event": [item.target, item.at, item.old.value, item.new.value, item.reason, item.detail],
                "locations": list(item.locations),
            }
        )
    target, result, maintenance = item
    return json.dumps({"result": [target, json.loads(result_json(result)), maintenance]})


def _item(data: dict[str, Any]) -> SpoolItem:
    if "event" in data:
        target, at, old, new, why, detail = data["event"]
        return Event(target, at, State(old), State(new), why, detail, tuple(data.get("locations", ())))
    target, result, maintenance = data["result"]
    return (str(target), Result(**result), bool(maintenance))


def _entry_json(entry: Entry) -> str:
    return json.dumps(
        {
            "alert": entry.alert.to_dict(),
            "notifier": entry.notifier,
            "status": entry.status,
            "attempts": entry.attempts,
            "created": entry.created,
            "next_at": entry.next_at,
            "done_at": entry.done_at,
            "error": entry.error,
        },
        ensure_ascii=False,
    )


def _entry(data: dict[str, Any]) -> Entry:
    return Entry(
        0,
        Alert.from_dict(data["alert"]),
        data["notifier"],
        data["status"],
        data["attempts"],
        data["created"],
        data["next_at"],
        data["done_at"],
        data["error"],
    )
