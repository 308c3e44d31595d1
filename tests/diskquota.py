"""A disk that fills up on demand, at the SQLite layer. While `Disk.full`, every connection
opened through `sqlite3.connect` gets `PRAGMA max_page_count` set to its current size, so
SQLite itself answers "database or disk is full" (SQLITE_FULL) to a write that needs a
new page, as on a full file system; and its write transactions (`BEGIN IMMEDIATE`) fail
with that same error at once, so even a write that would fit in a page's slack fails
(a real full disk lets those through: a test could not tell when it fails). Works
anywhere, unlike a tiny mount."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

UNLIMITED = 1_073_741_823


class Disk:
    """`full = True` fills it, `full = False` frees it again."""

    def __init__(self) -> None:
        self.full = False


def full() -> sqlite3.OperationalError:
    """The error SQLite raises on a full disk, with its code."""
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = sqlite3.SQLITE_FULL
    error.sqlite_errorname = "SQLITE_FULL"
    return error


def connection_class(disk: Disk) -> type[sqlite3.Connection]:
    class Quota(sqlite3.Connection):
        """Applies the disk's state on the connection's own thread, before each statement."""

        _full = False

        def _apply(self) -> None:
            if self._full != disk.full:
                self._full = disk.full
                if disk.full:
                    (pages,) = super().execute("PRAGMA page_count").fetchone()
                    super().execute(f"PRAGMA max_page_count = {int(pages)}")
                else:
                    super().execute(f"PRAGMA max_page_count = {UNLIMITED}")

        def execute(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
            self._apply()
            if disk.full and str(args[0]).strip().upper() == "BEGIN IMMEDIATE":
                raise full()
            return super().execute(*args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
            self._apply()
            return super().executemany(*args, **kwargs)

    return Quota


def install(monkeypatch: pytest.MonkeyPatch) -> Disk:
    """Every SQLite connection opened from now on, until the test ends, lives on the
    returned disk (a test module's `disk` fixture calls this)."""
    found = Disk()
    real = sqlite3.connect
    quota = connection_class(found)

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", quota)
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    return found
