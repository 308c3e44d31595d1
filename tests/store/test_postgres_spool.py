"""The PostgreSQL store's local spool (`data_dir/spool.db`): what waits for an
unreachable database is in that file as well as in memory, so a restart during the
outage loses nothing, and the replay at the next start doubles nothing, even of items
the database had already taken (a commit whose answer never came)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.result import Event, Result, State
from monitor.store.postgres.store import PostgresStore
from monitor.store.sqlite.spool import SQLiteSpool
from tests.postgresql import PostgreSQL
from tests.waiting import until

pytestmark = pytest.mark.integration

T = 1_800_000_000.0


@pytest.fixture
def url(postgresql: PostgreSQL) -> Iterator[str]:
    found = postgresql.create_database()
    yield found
    postgresql.accept(found)
    postgresql.drop_database(found)


def store(url: str, folder: Path) -> PostgresStore:
    return PostgresStore(url, flush_interval=0.05, clock=lambda: T + 3600, spool=SQLiteSpool(folder / "spool.db"))


def result(at: float) -> Result:
    return Result(True, duration=0.01, started=at, detail="ok")


async def test_a_restart_during_an_outage_loses_nothing(postgresql: PostgreSQL, url: str, tmp_path: Path) -> None:
    first = store(url, tmp_path)
    await first.open()
    first.add_result("web", result(T))
    await first.flush()
    postgresql.refuse(url)
    for n in range(1, 21):
        first.add_result("web", result(T + n))
    first.add_event(Event("web", T + 20, State.UP, State.DOWN, "timeout"))
    spool = SQLiteSpool(tmp_path / "spool.db")
    await until(lambda: len(spool.load()) == 21, 15, what="the outage's items in the spool")
    await first.close()  # the instance stops while the database is still away
    postgresql.accept(url)

    second = store(url, tmp_path)
    await second.open()
    try:
        await second.flush()
        stored = await second.results("web", T - 1, T + 100)
        events = await second.events(None, T - 1, T + 100)
    finally:
        await second.close()
    assert [r.at for r in stored] == [T + n for n in range(21)]
    assert [(e.at, e.new) for e in events] == [(T + 20, State.DOWN)]
    assert spool.load() == []


async def test_a_replay_of_what_the_database_already_took_doubles_nothing(url: str, tmp_path: Path) -> None:
    first = store(url, tmp_path)
    await first.open()
    event = Event("web", T + 2, State.UP, State.DOWN, "timeout")
    first.add_result("web", result(T))
    first.add_result("web", result(T + 1))
    first.add_event(event)
    await first.flush()
    await first.close()
    # As if the commit had gone through but its answer was lost: the spool still has it.
    SQLiteSpool(tmp_path / "spool.db").keep([("web", result(T), False), ("web", result(T + 1), False), event])

    second = store(url, tmp_path)
    await second.open()
    try:
        await second.flush()
        stored = await second.results("web", T - 1, T + 100)
        events = await second.events(None, T - 1, T + 100)
        stats = await second.probe_stats(["web"], T - 3600, T + 3600)
    finally:
        await second.close()
    assert [r.at for r in stored] == [T, T + 1]
    assert [(e.at, e.new) for e in events] == [(T + 2, State.DOWN)]
    assert stats["web"].count == 2
