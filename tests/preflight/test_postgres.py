"""`monitor preflight` on the PostgreSQL store (Debian's real server, `tests.postgresql`):
the history read through the same seam, the backend's own check (the server keeps its
pages: the store answers at a known schema), its space not checked from here; and a
database that cannot be reached is a problem row, never a traceback. The URL's password
is in no output."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.preflight.model import Status
from monitor.preflight.render import render
from monitor.result import Event, Result, State
from monitor.store.registry import open_store
from tests.alertkit import free_port
from tests.postgresql import PostgreSQL
from tests.preflight.kit import DAY, NOW, Clock, build, row, statuses, write_config

pytestmark = pytest.mark.integration

NOTIFIER = f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{free_port()}/hook"\n'
TARGETS = (
    f'[targets.web]\nurl = "http://127.0.0.1:{free_port()}/"\n[targets.api]\nurl = "http://127.0.0.1:{free_port()}/"\n'
)


@pytest.fixture
async def database(postgresql: PostgreSQL) -> AsyncIterator[str]:
    url = await asyncio.to_thread(postgresql.create_database)
    try:
        yield url
    finally:
        await asyncio.to_thread(postgresql.drop_database, url)


async def test_the_checklist_reads_a_postgresql_store(tmp_path: Path, database: str, postgresql: PostgreSQL) -> None:
    config = write_config(tmp_path, TARGETS + NOTIFIER, monitor=f'store = "{database}"', defaults='notify = ["hook"]')
    clock = Clock(NOW - 8 * DAY)
    store = open_store(config.settings, clock=clock)
    await store.open()
    store.add_event(Event("web", NOW - 8 * DAY, State.UNKNOWN, State.UP, "ok"))
    store.add_event(Event("api", NOW - 8 * DAY, State.UNKNOWN, State.UP, "ok"))
    store.add_event(Event("api", NOW - 3600, State.UP, State.DOWN, "timeout", "no answer"))
    store.add_result("api", Result(False, reason="timeout", started=NOW - 60, duration=2.0))
    await store.flush()
    clock.now = NOW
    await store.close()
    checklist = await build(config)
    history = row(checklist, "history")
    assert (history.status, history.found.key) == (Status.OK, "preflight.history.ok")
    assert statuses(checklist, "integrity") == [(Status.OK, (), "preflight.integrity.server")]
    assert statuses(checklist, "storage") == [(Status.WARNING, (), "preflight.storage.server")]
    down = row(checklist, "states", "api")
    assert (down.status, down.found.key) == (Status.PROBLEM, "preflight.state.down")
    for fmt in ("text", "json", "html"):
        assert postgresql.password not in render(checklist, fmt, "en")


async def test_a_database_that_cannot_be_reached_is_a_problem_row(tmp_path: Path, postgresql: PostgreSQL) -> None:
    unreachable = f"postgresql://{postgresql.user}:{postgresql.password}@127.0.0.1:{free_port()}/monitor"
    config = write_config(
        tmp_path, TARGETS + NOTIFIER, monitor=f'store = "{unreachable}"', defaults='notify = ["hook"]'
    )
    checklist = await build(config)
    history = row(checklist, "history")
    assert (history.status, history.found.key) == (Status.PROBLEM, "preflight.history.unreadable")
    assert checklist.exit_code == 1
    assert postgresql.password not in render(checklist, "text", "en")
