"""The embedded default backend: the whole store in one SQLite file in `data_dir`
(`store = "sqlite"`, the default), so `monitor run` needs no database server.

- `store`: `SQLiteStore`, the `Store` on one file (WAL), reads in a thread of their own;
- `writer`: the one writer thread that persists results and events in batches;
- `reads`: the SQL of every read, run on either connection;
- `schema`: the tables, their versions and migrations, the connection setup;
- `outbox`: the durable alert queue's tables in the same file;
- `integrity`: `PRAGMA quick_check`, at start within a budget and in the background;
- `failures`: SQLite's errors as short reasons ("disk full", "database corrupt", ...).
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.config import Settings
from monitor.store.backend import Backend
from monitor.store.sqlite import integrity
from monitor.store.sqlite.schema import migrate_file
from monitor.store.sqlite.store import SQLiteStore, database_path


def _build(settings: Settings, *, observe: bool, clock: Callable[[], float]) -> SQLiteStore:
    return SQLiteStore.for_settings(settings, observe=observe, clock=clock)


def _has_history(settings: Settings) -> bool:
    return database_path(settings).exists()


def _where(settings: Settings) -> str:
    return str(database_path(settings))


def _migrate(settings: Settings) -> tuple[int, int]:
    return migrate_file(database_path(settings))


def _check(settings: Settings) -> bool:
    return integrity.verify(database_path(settings))


BACKEND = Backend(scheme="sqlite", build=_build, has_history=_has_history, where=_where, migrate=_migrate, check=_check)

__all__ = ["BACKEND", "SQLiteStore"]
