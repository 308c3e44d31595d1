"""The locations' rows on PostgreSQL, where several instances publish at once: a reader
that asks for the rows after the newest number it saw never skips a publication that
took a lower number and committed later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from monitor.result import State
from monitor.store import LocationSeen, LocationState
from monitor.store.postgres import locations as loc
from monitor.store.postgres.store import PostgresStore
from tests.history import T0
from tests.postgresql import PostgreSQL
from tests.waiting import until

pytestmark = pytest.mark.integration


@pytest.fixture
def url(postgresql: PostgreSQL) -> Iterator[str]:
    url = postgresql.create_database()
    yield url
    postgresql.drop_database(url)


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    opened = PostgresStore(url, flush_interval=0.05)
    await opened.open()
    yield opened
    await opened.close()


def _waiting_for_the_lock(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event = 'advisory'",
            (loc.NAME,),
        ).fetchone()
        return row is not None and int(str(row[0])) > 0


async def test_a_publication_committed_after_a_later_one_is_still_read(url: str, store: PostgresStore) -> None:
    sampit = LocationState("web", "sampit", State.DOWN, T0, T0 + 10, "timeout", "", None)
    jakarta = LocationState("web", "jakarta", State.UP, T0, T0 + 11, "ok", "", 0.02)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as slow:
        async with slow.transaction():  # sampit's publication, not committed yet
            await loc.publish(slow, LocationSeen("sampit", T0 + 10, 10.0), [sampit])
            later = asyncio.create_task(store.publish_location(LocationSeen("jakarta", T0 + 11, 10.0), [jakarta]))
            await until(
                lambda: later.done() or _waiting_for_the_lock(url), what="jakarta's publication committed or waiting"
            )
            mark = (await store.location_changes(0)).newest
        await later
    found = await store.location_changes(mark)
    assert sampit in found.states and jakarta in found.states
