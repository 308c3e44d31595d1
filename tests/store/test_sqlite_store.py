"""The SQLite store against the hand-computed history of `tests/history.py`."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.result import Event, Result, State
from monitor.store import Store
from monitor.store.sqlite import writer as sqlwriter
from monitor.store.sqlite.schema import SCHEMA_VERSION, _create, connect, migrate, schema_version
from monitor.store.sqlite.store import SQLiteStore
from monitor.store.sqlite.writer import Writer
from tests.history import END, T0, ZONE, Clock, H, build


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    clock = await build(tmp_path / "monitor.db", raw_retention=48 * H)
    reader = SQLiteStore(tmp_path / "monitor.db", observe=False, clock=clock, raw_retention=48 * H)
    await reader.open()
    yield reader
    await reader.close()


def test_it_satisfies_the_store_protocol(tmp_path: Path) -> None:
    store: Store = SQLiteStore(tmp_path / "x.db")
    assert store.healthy() is False  # not open yet


async def test_it_computes_time_based_availability_excluding_maintenance_and_the_restart(store: SQLiteStore) -> None:
    ups = await store.uptime(None, T0, END)
    web, mail = ups["web"], ups["mail"]
    assert web.observed == pytest.approx(21 * H)
    assert web.down == pytest.approx(3 * H)
    assert web.maintenance == pytest.approx(1 * H)
    assert web.unmonitored == pytest.approx(2 * H)
    assert web.percent == pytest.approx(100 * 18 / 21)
    assert web.incidents == 2
    assert mail.observed == pytest.approx(22 * H)
    assert mail.down == pytest.approx(2 * H)
    assert mail.degraded == pytest.approx(1 * H)
    assert mail.ratio == pytest.approx(20 / 22)
    assert mail.incidents == 1


async def test_it_answers_any_window_and_counts_time_outside_every_run_as_unmonitored(store: SQLiteStore) -> None:
    week = (await store.uptime(["web"], END - 7 * 24 * H, END))["web"]
    assert week.observed == pytest.approx(21 * H)  # the six days before: no run
    assert week.unmonitored == pytest.approx(6 * 24 * H + 2 * H)
    part = (await store.uptime(["web"], T0 + 8 * H, T0 + 14 * H))["web"]
    assert (part.observed, part.down, part.unmonitored) == pytest.approx((4 * H, 2 * H, 2 * H))
    assert part.incidents == 1
    unknown = (await store.uptime(["nothing"], T0, END))["nothing"]
    assert unknown.ratio is None and unknown.unmonitored == pytest.approx(24 * H)


async def test_it_splits_downtime_into_local_days(store: SQLiteStore) -> None:
    days = (await store.daily(["web"], 2, ZONE, END - 1))["web"]
    assert [d.day.isoformat() for d in days] == ["2018-06-10", "2018-06-11"]
    assert days[1].uptime.down == pytest.approx(3 * H)
    assert days[1].uptime.start == T0
    assert days[0].uptime.observed == 0
    utc = (await store.daily(["web"], 2, UTC, END - 1))["web"]
    # 2018-06-10 UTC ends at 07:00 Jakarta: down 02-03, maintenance 05-06.
    assert utc[0].day.isoformat() == "2018-06-10"
    assert (utc[0].uptime.observed, utc[0].uptime.down) == pytest.approx((6 * H, 1 * H))
    assert utc[1].uptime.down == pytest.approx(2 * H)


async def test_it_lists_incidents_newest_first_with_their_real_durations(store: SQLiteStore) -> None:
    incidents = await store.incidents(None, T0, END)
    assert [(p.target, (p.start - T0) / H) for p in incidents] == [("mail", 22), ("web", 9), ("web", 2)]
    assert incidents[0].end is None
    assert await store.incidents(None, T0, END, limit=2) == incidents[:2]
    assert incidents[1].duration(END) == pytest.approx(4 * H)
    assert incidents[1].reason == "connection_refused"
    maintenance = await store.periods(["web"], T0, END, {State.MAINTENANCE})
    assert [(p.start, p.end) for p in maintenance] == [(T0 + 5 * H, T0 + 6 * H)]
    # A window inside the second outage still finds it, with its real start.
    inside = await store.incidents(["web"], T0 + 10 * H, T0 + 11 * H)
    assert [p.start for p in inside] == [T0 + 9 * H]


async def test_it_resumes_from_the_last_event_and_result(store: SQLiteStore) -> None:
    last = await store.last_events()
    assert last["web"].new == State.UP and last["mail"].new == State.DOWN
    results = await store.last_results()
    assert results["mail"].reason == "dns_error"
    assert results["mail"].started == END - 300


async def test_it_rolls_up_probe_counts_and_latency_per_hour(store: SQLiteStore) -> None:
    stats = await store.probe_stats(["web", "mail"], T0, END)
    web = stats["web"]
    assert (web.count, web.failures, web.maintenance, web.latency_count) == (264, 36, 12, 216)
    assert web.latency_mean == pytest.approx((18 * 1.0 + 198 * 0.1) / 216)
    assert (web.latency_min, web.latency_max) == (0.1, 1.0)
    assert web.quantile(0.5) == pytest.approx(0.1, rel=0.1)
    assert web.quantile(0.95) == pytest.approx(1.0, rel=0.1)
    mail = stats["mail"]
    assert (mail.count, mail.failures, mail.degraded) == (264, 24, 12)
    assert mail.quantile(0.5) == pytest.approx(0.2, rel=0.1)
    hours = (await store.rollups(["web"], T0, END))["web"]
    assert len(hours) == 22  # two hours without a run
    assert hours[0].start == T0 and hours[0].count == 12


async def test_it_downsamples_series_from_raw_or_from_rollups(store: SQLiteStore) -> None:
    raw = await store.series("mail", T0 + 12 * H, END, points=12)
    assert len(raw) == 12 and sum(p.count for p in raw) == 144
    assert raw[8].degraded == 12  # 20:00-21:00
    store.clock = Clock(END + 30 * 24 * H)  # now the raw window has passed: use rollups
    hourly = await store.series("mail", T0, END, points=6)
    assert [p.end - p.start for p in hourly] == [4 * H] * 6
    assert sum(p.count for p in hourly) == 264


async def test_it_prunes_raw_results_but_keeps_rollups_and_events(tmp_path: Path) -> None:
    clock = await build(tmp_path / "monitor.db")
    store = SQLiteStore(
        tmp_path / "monitor.db", raw_retention=12 * H, clock=clock, observe=False
    )  # no hourly pruning of its own: this test prunes
    await store.open()
    try:
        assert await store.prune(END) == 2 * 120  # run 1's results of both targets
        assert await store.results("web", T0, END, limit=1) == [(await store.results("web", T0 + 12 * H, END))[0]]
        assert (await store.probe_stats(["web"], T0, END))["web"].count == 264
        assert len(await store.events(None, T0, END)) == 11
    finally:
        await store.close()


async def test_the_running_monitor_deletes_expired_raw_results_every_hour(tmp_path: Path) -> None:
    clock = Clock(T0)
    store = SQLiteStore(tmp_path / "monitor.db", raw_retention=H, clock=clock)
    await store.open()
    try:
        for minute in range(0, 180, 10):
            store.add_result("web", Result(True, duration=0.1, started=T0 + minute * 60))
        await store.flush()
        assert len(await store.results("web", T0, T0 + 3 * H)) == 18
        clock.now = T0 + 3 * H
        await store.flush()
        assert len(await store.results("web", T0, T0 + 3 * H)) == 6  # the last hour
        assert (await store.probe_stats(["web"], T0, T0 + 3 * H))["web"].count == 18
    finally:
        await store.close()


async def test_the_hourly_retention_covers_every_target_in_its_short_transactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlwriter, "PRUNE_CHUNK", 2)  # five targets: three transactions
    clock = Clock(T0)
    store = SQLiteStore(tmp_path / "monitor.db", raw_retention=H, clock=clock)
    await store.open()
    try:
        for tid in ("a", "b", "c", "d", "e"):
            for minute in (0, 150):
                store.add_result(tid, Result(True, duration=0.1, started=T0 + minute * 60))
        await store.flush()
        clock.now = T0 + 3 * H
        await store.flush()
        for tid in ("a", "b", "c", "d", "e"):
            kept = await store.results(tid, T0, T0 + 3 * H)
            assert [r.at for r in kept] == [T0 + 150 * 60]
    finally:
        await store.close()


async def test_it_writes_thousands_of_queued_results_in_batches(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "monitor.db", flush_interval=0.05, batch_size=1000, clock=Clock(T0 + 20_000))
    await store.open()
    try:
        began = time.perf_counter()
        for i in range(20_000):
            store.add_result(f"t{i % 50}", Result(True, duration=0.01 * (i % 7 + 1), started=T0 + i))
        queued = time.perf_counter() - began
        await store.flush()
        assert queued < 1.0  # generous: queueing is an append, the disk is elsewhere
        stats = await store.probe_stats(None, T0, T0 + 20_000)
        assert len(stats) == 50 and sum(s.count for s in stats.values()) == 20_000
        assert len(await store.results("t7", T0, T0 + 20_000)) == 400
        assert store.healthy()
    finally:
        await store.close()


async def test_it_keeps_notes_and_planned_maintenance(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "monitor.db")
    await store.open()
    try:
        note = await store.add_note("web", T0, "Kabel putus", "admin")
        assert await store.notes(["web"], T0, END) == [note]
        window = await store.add_maintenance(T0, T0 + H, ["web"], [], "Pembaruan")
        assert await store.planned_maintenance(T0) == [window]
        assert await store.remove_maintenance(window.id) is True
        assert await store.planned_maintenance(T0) == []
    finally:
        await store.close()


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


async def test_it_stays_within_one_megabyte_per_target_per_year(tmp_path: Path) -> None:
    from bench.dbgrowth import measure

    # Sixty days: enough pages that scaling the growing tables to a year is fair.
    growth = await measure(targets=1, days=60, interval=30.0, folder=tmp_path)
    assert growth.results == 60 * 2880
    assert growth.tables["rollups"] > 0
    assert growth.per_target_year < 1_000_000


async def test_a_malformed_result_is_skipped_and_the_writer_goes_on(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "monitor.db", clock=Clock(T0))
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


async def test_it_opens_again_after_closing_as_a_new_run(tmp_path: Path) -> None:
    clock = Clock(T0)
    store = SQLiteStore(tmp_path / "monitor.db", clock=clock)
    for hour in (0, 2):
        clock.now = T0 + hour * H
        await store.open()
        store.add_event(Event("web", T0 + hour * H, State.UNKNOWN, State.UP, "ok"))
        clock.now = T0 + (hour + 1) * H
        await store.close()
    reader = SQLiteStore(tmp_path / "monitor.db", observe=False)
    await reader.open()
    try:
        up = (await reader.uptime(["web"], T0, T0 + 3 * H))["web"]
        assert (up.observed, up.unmonitored) == pytest.approx((2 * H, H))
    finally:
        await reader.close()


def test_an_operation_fails_rather_than_hangs_when_the_writer_cannot_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = Writer(tmp_path / "no such folder" / "monitor.db", time.time, None)
    pending = writer.call(lambda conn: None)
    with caplog.at_level(logging.ERROR, logger="monitor.store.sqlite.writer"):
        writer.start()
        with pytest.raises(StoreError, match="writer has stopped"):
            pending.result(timeout=10)
        writer.stop()
    assert not writer.alive()
    assert "the store's writer stopped" in caplog.text
