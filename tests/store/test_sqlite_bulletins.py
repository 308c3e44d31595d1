"""The SQLite backend's own: a database from before incident updates and banners gains
their tables when a newer monitor opens it, and keeps its history."""

from __future__ import annotations

from pathlib import Path

from monitor.result import State
from monitor.store import Wording
from monitor.store.sqlite.schema import SCHEMA_VERSION, _create, connect, schema_version
from monitor.store.sqlite.store import SQLiteStore
from tests.history import T0, H


async def test_a_version_2_database_gains_the_bulletin_tables(tmp_path: Path) -> None:
    path = tmp_path / "monitor.db"
    conn = connect(path)
    _create(conn)  # the tables of version 2, before any later step
    conn.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    conn.execute("INSERT INTO targets (id) VALUES ('web')")
    conn.execute(
        "INSERT INTO events (target, at, old, new, reason, detail) VALUES (1, ?, 'UP', 'DOWN', 'timeout', '')", (T0,)
    )
    conn.close()
    store = SQLiteStore(path, clock=lambda: T0 + H)
    await store.open()
    try:
        assert [e.new for e in await store.events(["web"], T0 - H, T0 + H)] == [State.DOWN]
        record = await store.automatic_incident("web", T0, Wording("Website mati"))
        await store.add_incident_update(record.id, T0 + H, "identified", Wording("Kabel putus"))
        assert [p.title for p in await store.posted_incidents(T0)] == [Wording("Website mati")]
    finally:
        await store.close()
    conn = connect(path)
    assert schema_version(conn) == SCHEMA_VERSION
    conn.close()
