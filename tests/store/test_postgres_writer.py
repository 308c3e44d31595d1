"""The PostgreSQL store's writer, as the server sees it (`pg_stat_statements`): results
go in by COPY, a few statements a batch whatever its size; the hourly retention and
the packing of finished days run in transactions of a few targets each; a batch that
fails turns the store unhealthy until a write succeeds again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from monitor.result import Event, Result, State
from monitor.store.postgres import writer as pgwriter
from monitor.store.postgres.store import PostgresStore
from tests.history import T0, Clock, H
from tests.postgresql import PostgreSQL
from tests.waiting import until

pytestmark = pytest.mark.integration


@pytest.fixture
async def url(postgresql: PostgreSQL) -> AsyncIterator[str]:
    url = postgresql.create_database()
    yield url
    postgresql.drop_database(url)


def statements(url: str) -> dict[str, int]:
    """Calls per statement the server ran in this database (since the last reset)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()
    return {str(query): int(calls) for query, calls in rows}


def reset_statements(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


def calls(found: dict[str, int], start: str) -> int:
    return sum(n for query, n in found.items() if query.lstrip().upper().startswith(start.upper()))


async def test_it_writes_twenty_thousand_results_with_a_few_copies_not_a_statement_each(url: str) -> None:
    store = PostgresStore(url, batch_size=5000, clock=Clock(T0 + 20_000))
    await store.open()
    try:
        reset_statements(url)
        for i in range(20_000):
            store.add_result(f"t{i % 50}", Result(True, duration=0.01 * (i % 7 + 1), started=T0 + i))
        await store.flush()
        found = statements(url)
        assert 1 <= calls(found, "COPY incoming_results") <= 5, found
        assert sum(found.values()) < 100, found  # not one round trip per result
        stats = await store.probe_stats(None, T0, T0 + 20_000)
        assert len(stats) == 50 and sum(s.count for s in stats.values()) == 20_000
        assert len(await store.results("t7", T0, T0 + 20_000)) == 400
        assert store.healthy()
    finally:
        await store.close()


async def test_a_result_written_twice_replaces_itself_as_on_sqlite(url: str) -> None:
    store = PostgresStore(url, clock=Clock(T0))
    await store.open()
    try:
        store.add_result("web", Result(True, duration=0.1, started=T0))
        store.add_result("web", Result(False, "timeout", duration=10.0, started=T0))  # the same batch
        await store.flush()
        store.add_result("web", Result(True, duration=0.3, started=T0))  # a later batch
        await store.flush()
        assert [(r.ok, r.duration) for r in await store.results("web", T0, T0 + H)] == [(True, 0.3)]
    finally:
        await store.close()


async def test_details_with_tabs_newlines_backslashes_and_nul_survive_the_copy(url: str) -> None:
    store = PostgresStore(url, clock=Clock(T0))
    await store.open()
    try:
        detail = "line one\nline\ttwo \\N C:\\probe\r\x00end"
        store.add_result("web", Result(False, "http_status", detail, 0.1, T0, status_code=500))
        store.add_event(Event("web", T0, State.UP, State.DOWN, "http_status", detail))
        await store.flush()
        [stored] = await store.results("web", T0, T0 + H)
        assert (stored.detail, stored.reason, stored.status_code) == (detail.replace("\x00", ""), "http_status", 500)
        assert (await store.last_results())["web"].detail == detail  # JSON keeps even NUL
        [event] = await store.events(["web"], T0, T0 + H)
        assert event.detail == detail.replace("\x00", "")
    finally:
        await store.close()


async def test_the_hourly_retention_deletes_in_transactions_of_a_few_targets(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgwriter, "PRUNE_CHUNK", 2)  # five targets: three transactions
    clock = Clock(T0)
    store = PostgresStore(url, raw_retention=H, clock=clock)
    await store.open()
    try:
        for tid in ("a", "b", "c", "d", "e"):
            for minute in (0, 150):
                store.add_result(tid, Result(True, duration=0.1, started=T0 + minute * 60))
        await store.flush()
        reset_statements(url)
        clock.now = T0 + 3 * H
        await store.flush()
        assert calls(statements(url), "DELETE FROM results") == 3
        for tid in ("a", "b", "c", "d", "e"):
            assert [r.at for r in await store.results(tid, T0, T0 + 3 * H)] == [T0 + 150 * 60]
    finally:
        await store.close()


async def test_finished_days_are_packed_into_one_row_per_target_and_day_and_read_the_same(url: str) -> None:
    clock = Clock(T0)
    store = PostgresStore(url, raw_retention=H, clock=clock)
    await store.open()
    try:
        for minute in range(0, 3 * 24 * 60, 10):  # three days, six probes an hour
            ok = minute % 120 != 0
            store.add_result("web", Result(ok, duration=0.05 + minute % 7 / 100, started=T0 + minute * 60))
        clock.now = T0 + 3 * 24 * H - 1
        await store.flush()
        before = (await store.rollups(["web"], T0, T0 + 3 * 24 * H))["web"]
        clock.now = T0 + 4 * 24 * H  # the hour's housekeeping: days before yesterday packed
        await store.flush()
        with psycopg.connect(url) as conn:
            packed = conn.execute("SELECT COUNT(*) FROM rollup_days").fetchone()
            hourly = conn.execute("SELECT COUNT(*) FROM rollups").fetchone()
        assert packed is not None and hourly is not None
        assert packed[0] >= 2 and hourly[0] < 3 * 24
        assert (await store.rollups(["web"], T0, T0 + 3 * 24 * H))["web"] == before
        # A late result for a packed hour adds to it instead of replacing it.
        store.add_result("web", Result(True, duration=0.2, started=T0 + 30))
        await store.flush()
        first = (await store.rollups(["web"], T0, T0 + H))["web"][0]
        assert first.count == before[0].count + 1
    finally:
        await store.close()


async def test_it_is_unhealthy_while_writes_fail_and_healthy_again_once_one_succeeds(url: str) -> None:
    store = PostgresStore(url, flush_interval=0.05, clock=Clock(T0))
    await store.open()
    try:
        store.add_result("web", Result(True, duration=0.1, started=T0))
        await store.flush()
        with psycopg.connect(url, autocommit=True) as conn:
            # The writer's session ends (a database restart, a network cut) ...
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (pgwriter.NAME,)
            )
        store.add_result("web", Result(True, duration=0.1, started=T0 + 30))
        await until(lambda: not store.healthy(), what="the failed batch noticed")
        # ... the next batch connects again.
        store.add_result("web", Result(True, duration=0.1, started=T0 + 60))
        await until(store.healthy, what="a batch written again")
        assert [r.at for r in await store.results("web", T0, T0 + H)][-1] == T0 + 60
    finally:
        await store.close()


async def test_a_malformed_result_is_skipped_and_the_writer_goes_on(url: str) -> None:
    store = PostgresStore(url, clock=Clock(T0))
    await store.open()
    try:
        store.add_result("web", Result(True, duration=0.1, started=T0))
        store.add_result("web", Result(True, duration=float("nan"), started=T0 + 30))
        store.add_result("web", Result(True, duration=0.2, started=T0 + 60))
        await store.flush()
        assert [r.duration for r in await store.results("web", T0, T0 + H)] == [0.1, 0.2]
        assert store.healthy()
    finally:
        await store.close()
