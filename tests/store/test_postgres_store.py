"""The PostgreSQL store itself: it is a `Store`, its sessions notice a dead server within
seconds, and its database grows within budget.
What every backend promises is tested on PostgreSQL too, in the contract modules of
this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.store import Store
from monitor.store.postgres.schema import connect
from monitor.store.postgres.store import PostgresStore
from tests.postgresql import PostgreSQL

pytestmark = pytest.mark.integration


@pytest.fixture
def empty(postgresql: PostgreSQL) -> Iterator[str]:
    url = postgresql.create_database(migrated=False)
    yield url
    postgresql.drop_database(url)


def test_it_satisfies_the_store_protocol(empty: str) -> None:
    store: Store = PostgresStore(empty)
    assert store.healthy() is False  # not open yet


def test_its_sessions_give_up_on_a_silent_server_within_seconds_unless_the_url_says_otherwise(empty: str) -> None:
    with connect(empty) as conn:
        found = conn.info.get_parameters()
    assert (found["tcp_user_timeout"], found["keepalives_idle"]) == ("5000", "10")
    with connect(empty + "?tcp_user_timeout=20000") as conn:
        assert conn.info.get_parameters()["tcp_user_timeout"] == "20000"


async def test_its_history_grows_by_less_than_one_megabyte_per_target_per_year(empty: str) -> None:
    from bench.dbgrowth import measure_postgresql

    # Two weeks of five targets, flushed hourly, vacuumed daily: the days before the last
    # two are packed. A small run overstates the growth (each index's first pages are
    # counted as growth): the budget holding here holds at scale.
    growth = await measure_postgresql(empty, targets=5, days=14, interval=30.0, flush=3600.0)
    assert growth.results == 5 * 14 * 2880
    assert growth.tables["rollup_days"] > 0
    assert growth.growth_per_target_year < 1_000_000
