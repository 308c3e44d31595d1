"""Is the SQLite file sound? `PRAGMA quick_check`, with a time budget at start.

`quick_check` reads every page once (no index cross-checks, unlike `integrity_check`),
so it costs time in proportion to the file: on this project's 2-core machine 1.4 s for a
1 GB `monitor.db` already in the page cache, 24 s for the same file read cold from disk
(docs/status-page.md). Hence two uses:

- `verify(path, budget)` before `monitor run` and `monitor report` start: damage found
  within `budget` seconds stops the command (exit 2, docs/cli.md); a check that needs
  longer is left to
- `Check(path)`, which the running store starts in a background thread at open: damage
  it finds makes the store's `health()` fail (`/readyz`, the storage alert) while the
  monitor goes on probing and alerting from memory.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from pathlib import Path

from monitor.errors import StoreError
from monitor.log import kv

log = logging.getLogger("monitor.store")

BUDGET = 5.0  # seconds a command waits for the check at start
_STEPS = 10_000  # virtual machine steps between two looks at the clock


class Unfinished(Exception):
    """The check did not end within its budget (or was cancelled)."""


def quick_check(path: Path, stop: threading.Event | None = None, budget: float | None = None) -> str | None:
    """None when the file is sound (or missing), else what SQLite found first and how
    many problems. Raises `Unfinished` past `budget` seconds or once `stop` is set."""
    if not path.exists():
        return None
    deadline = None if budget is None else time.monotonic() + budget
    conn = sqlite3.connect(path, timeout=30.0)
    try:

        def progress() -> int:
            late = deadline is not None and time.monotonic() > deadline
            return 1 if late or (stop is not None and stop.is_set()) else 0

        conn.set_progress_handler(progress, _STEPS)
        try:
            rows = [row[0] for row in conn.execute("PRAGMA quick_check")]
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise Unfinished() from exc
            raise
        except sqlite3.DatabaseError as exc:  # "file is not a database", a damaged header
            return " ".join(str(exc).split())
    finally:
        conn.close()
    if rows == ["ok"]:
        return None
    more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
    return " ".join(str(rows[0]).split()) + more  # one line


def verify(path: Path, budget: float = BUDGET) -> bool:
    """Check before a command starts: True sound, False not finished within `budget` (or
    not possible now); `StoreError` (reason "database corrupt") for a damaged file, its
    message one line."""
    try:
        damage = quick_check(path, budget=budget)
    except (Unfinished, sqlite3.Error):  # e.g. locked: the running store checks again
        return False
    if damage is not None:
        raise StoreError(f"{path} is damaged: {damage}", "database corrupt")
    return True


class Check:
    """`quick_check` in a background thread, started at construction. `damage()` is what
    it found (None while running, when sound, or when it could not run)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done_at: float | None = None
        self._damage: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monitor-store-check", daemon=True)
        self._thread.start()

    def damage(self) -> str | None:
        return self._damage

    def cancel(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with contextlib.suppress(Unfinished):
            try:
                damage = quick_check(self.path, self._stop)
            except sqlite3.Error as exc:
                log.warning("integrity check could not run", extra=kv(error=str(exc)))
                return
            self.done_at = time.time()
            if damage is not None:
                self._damage = damage
                log.error("the history database is damaged", extra=kv(path=str(self.path), damage=damage))
