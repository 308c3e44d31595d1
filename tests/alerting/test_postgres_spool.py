"""Alerts held while PostgreSQL is away are kept in the local spool too: an instance
stopped during the outage holds them again at its next start, with the status they
reached (a delivered one is not sent again), and writes them to the outbox once the
database is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from monitor.alerting.fallback import FallbackOutbox
from monitor.store.postgres.outbox import PostgresOutbox
from monitor.store.sqlite.spool import SQLiteSpool
from tests.alertkit import alert
from tests.postgresql import PostgreSQL

pytestmark = pytest.mark.integration


@pytest.fixture
def url(postgresql: PostgreSQL) -> Iterator[str]:
    found = postgresql.create_database()
    yield found
    postgresql.accept(found)
    postgresql.drop_database(found)


def test_alerts_held_through_a_restart_in_an_outage_are_written_once_with_their_status(
    postgresql: PostgreSQL, url: str, tmp_path: Path
) -> None:
    box = FallbackOutbox(PostgresOutbox(url), spool=SQLiteSpool(tmp_path / "spool.db"))
    box.open()
    postgresql.refuse(url)
    assert box.enqueue(alert("web:down:1", "down"), ["hook"]) == ["hook"]  # held
    down = box.head("hook")
    assert down is not None and down.seq < 0
    box.delivered(down.seq)
    assert box.enqueue(alert("web:up:1", "up"), ["hook"]) == ["hook"]
    box.close()  # stopped while the database is away

    postgresql.accept(url)
    again = FallbackOutbox(PostgresOutbox(url), spool=SQLiteSpool(tmp_path / "spool.db"))
    again.open()
    try:
        assert [(e.alert.id, e.status) for e in again.held] == [("web:down:1", "delivered"), ("web:up:1", "pending")]
        assert again.sync(force=True)
        up = again.head("hook")
        assert up is not None and up.alert.id == "web:up:1"  # the delivered "down" is not sent again
    finally:
        again.close()
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT alert_id, status FROM outbox ORDER BY seq").fetchall()
    assert rows == [("web:down:1", "delivered"), ("web:up:1", "pending")]
    assert SQLiteSpool(tmp_path / "spool.db").held_alerts() == []
