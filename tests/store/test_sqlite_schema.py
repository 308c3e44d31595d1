"""The SQLite store's schema: migrating a version 1 file, two processes creating a new
file at once, and refusing a file newer than the code."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.result import Event, State
from monitor.store.sqlite.schema import SCHEMA_VERSION, _create, connect, migrate, schema_version
from monitor.store.sqlite.store import SQLiteStore
from tests.history import T0, Clock, H


def _v1_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE results (target TEXT, at REAL, ok INTEGER, duration REAL, reason TEXT,
                              detail TEXT);
        CREATE TABLE events (target TEXT, at REAL, old TEXT, new TEXT, reason TEXT,
                             detail TEXT);
    """)
    rows = [("web", T0 + i * 600, int(not 12 <= i < 18), 0.5, "ok", "") for i in range(36)]
    conn.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("web", T0, "UNKNOWN", "UP", "ok", ""),
            ("web", T0 + 2 * H, "UP", "DOWN", "timeout", None),
            ("web", T0 + 3 * H, "DOWN", "UP", "ok", ""),
        ],
    )
    conn.commit()
    conn.close()


async def test_it_migrates_a_version_1_database(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    _v1_database(path)
    store = SQLiteStore(path, observe=False, clock=Clock(T0 + 6 * H))
    await store.open()
    try:
        with sqlite3.connect(path) as conn:
            assert schema_version(conn) == SCHEMA_VERSION
        up = (await store.uptime(["web"], T0, T0 + 6 * H))["web"]
        # The old history counts as monitored from its first to its last row.
        assert up.observed == pytest.approx(T0 + 35 * 600 - T0)
        assert up.down == pytest.approx(H)
        stats = (await store.probe_stats(["web"], T0, T0 + 6 * H))["web"]
        assert (stats.count, stats.failures) == (36, 6)
        assert (await store.last_events())["web"] == Event("web", T0 + 3 * H, State.DOWN, State.UP, "ok", "")
    finally:
        await store.close()


def test_two_processes_opening_a_new_database_together_migrate_it_once(tmp_path: Path) -> None:
    first, second = connect(tmp_path / "monitor.db"), connect(tmp_path / "monitor.db")
    outcome: list[object] = []
    locking = threading.Event()
    second.set_trace_callback(lambda sql: locking.set() if sql.startswith("BEGIN IMMEDIATE") else None)
    first.execute("BEGIN IMMEDIATE")  # the first process is migrating
    # The second reads the empty database's version, then waits for the write lock.
    late = threading.Thread(target=lambda: outcome.append(_migrated(second)))
    late.start()
    assert locking.wait(10), "the second never asked for the write lock"
    _create(first)
    first.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    first.execute("COMMIT")
    late.join()
    first.close()
    second.close()
    assert outcome == [SCHEMA_VERSION]


def _migrated(conn: sqlite3.Connection) -> object:
    try:
        return migrate(conn)
    except StoreError as exc:
        return exc


async def test_it_refuses_a_database_newer_than_itself(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    with pytest.raises(StoreError, match="newer"):
        await SQLiteStore(path).open()
