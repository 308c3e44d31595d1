"""The membership's own thread on a real PostgreSQL: the row is renewed while the event
loop is blocked for longer than a member's expiry (the other member never sees it die),
a session the server ended is connected again and logged once, and a stop leaves (the
row deleted) within its deadline."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from monitor.cluster import Replicas
from monitor.cluster.renewals import Renewals
from monitor.store.postgres.members import NAME, Members
from tests.postgresql import PostgreSQL
from tests.waiting import until

pytestmark = pytest.mark.integration

EVERY = 1.0  # seconds between renewals: a member is dead after 2


@pytest.fixture
def url(postgresql: PostgreSQL) -> Iterator[str]:
    found = postgresql.create_database()
    yield found
    postgresql.drop_database(found)


@pytest.fixture
async def pair(url: str) -> AsyncIterator[tuple[Renewals, Renewals]]:
    loop = asyncio.get_running_loop()
    rows = [Members(url), Members(url)]
    made = [Renewals(Replicas(m, name, renew_every=EVERY), loop) for m, name in zip(rows, ("a", "b"), strict=True)]
    for renewals in made:
        await renewals.replicas.renew()
    for renewals in made:
        renewals.start()
        renewals.tell()
    yield made[0], made[1]
    for renewals, members in zip(made, rows, strict=True):
        await renewals.stop()
        members.close()


def _rows(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [str(r[0]) for r in conn.execute("SELECT instance FROM members ORDER BY instance").fetchall()]


async def test_the_row_is_renewed_while_the_loop_is_blocked_longer_than_the_expiry(
    pair: tuple[Renewals, Renewals],
) -> None:
    a, b = pair
    await until(lambda: a.replicas.members == b.replicas.members == ("a", "b"), 10, what="both seeing both")
    changes: list[tuple[str, ...]] = []
    b.replicas.on_change = changes.append
    seen: list[tuple[str, ...]] = []  # what b's thread read, while the loop was blocked
    renewed = a.replicas.renewals

    def block() -> None:
        # Blocked until a renewed four times (twice the expiry), however long that takes.
        started = time.monotonic()
        while a.replicas.renewals < renewed + 4 and time.monotonic() - started < 60:
            time.sleep(0.05)
            seen.append(b.replicas._live)

    asyncio.get_running_loop().call_soon(block)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert a.replicas.renewals >= renewed + 4, "a's row was not renewed while the loop was blocked"
    assert seen and all(live == ("a", "b") for live in seen)
    await asyncio.sleep(EVERY * 2)
    assert changes == [] and b.replicas.members == ("a", "b")


async def test_a_session_the_server_ended_is_connected_again_and_logged_once(
    url: str, pair: tuple[Renewals, Renewals], caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = pair
    caplog.set_level(logging.WARNING, "monitor.cluster")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
            (NAME, conn.info.dbname),
        )
    await until(lambda: "cluster membership renewed again" in caplog.text, 20, what="the renewals back")
    renewed = a.replicas.renewals
    await until(lambda: a.replicas.renewals > renewed, 10, what="one more renewal")
    assert caplog.text.count("cluster membership not renewed") <= 2  # one per member at most
    assert a.alive() and a.replicas.failure == ""


async def test_a_stop_leaves_within_its_deadline(url: str, pair: tuple[Renewals, Renewals]) -> None:
    a, _ = pair
    await a.stop()
    assert not a.alive()
    assert _rows(url) == ["b"]
