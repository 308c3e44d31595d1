"""The SQLite store on a disk that fills up: what it cannot write waits in memory (events
always, results up to a bound, the oldest dropped first and counted), its health says
why, and everything is written by itself once space returns. (That an event is durable
before `add_event` returns is a contract of every backend: `test_writes.py`.)"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.log import _FIELDS
from monitor.result import Event, Result, State
from monitor.store.sqlite.store import SQLiteStore
from tests.diskquota import Disk, install
from tests.waiting import until

T = 1_800_000_000.0


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    return install(monkeypatch)


def fields(record: logging.LogRecord) -> dict[str, object]:
    found: dict[str, object] = getattr(record, _FIELDS, {})
    return found


def result(at: float, ok: bool = True) -> Result:
    return Result(ok, "ok" if ok else "timeout", duration=0.01, started=at)


@pytest.fixture
async def store(tmp_path: Path, disk: Disk) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "monitor.db", flush_interval=0.02, clock=lambda: T + 3600)
    await opened.open()
    yield opened
    disk.full = False
    await opened.close()


async def fill(store: SQLiteStore, disk: Disk, first: float = T) -> int:
    """Fill the disk and queue results until a write fails; return how many were queued."""
    disk.full = True
    count = 0
    while store.health().ok:
        for i in range(500):
            store.add_result("web", result(first + count + i))
        count += 500
        with contextlib.suppress(StoreError):  # the flush shares the batch's fate
            await store.flush()
    return count


async def test_a_batch_the_disk_refuses_is_kept_and_written_once_space_returns(
    store: SQLiteStore, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    queued = await fill(store, disk)
    down = Event("web", T + 10_000, State.UP, State.DOWN, "timeout", "no answer")
    store.add_event(down)  # not even tried now: it waits with the rest
    health = store.health()
    assert (health.ok, health.reason) == (False, "disk full")
    assert health.waiting >= 1 and health.dropped == 0
    # The writer thread logs just after it marks itself failing: wait for the line.
    await until(lambda: "store write failed; kept in memory for a retry" in caplog.text, what="the failure logged")
    assert "items lost" not in caplog.text

    disk.full = False
    await until(lambda: store.health().ok, what="the store recovered")
    await store.flush()
    assert len(await store.results("web", T, T + 10_000_000)) == queued
    assert await store.last_events() == {"web": down}
    [incident] = await store.incidents(None, T, T + 20_000)
    assert (incident.start, incident.end) == (down.at, None)
    await until(lambda: "store writes resumed" in caplog.text, what="the recovery logged")


async def test_events_are_never_dropped_and_the_oldest_results_are(
    tmp_path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "monitor.db", flush_interval=0.02, backlog_limit=1000, clock=lambda: T + 3600)
    await store.open()
    try:
        queued = await fill(store, disk)
        events = [Event("web", T + 20_000 + i, State.UP, State.DOWN, "timeout") for i in range(3)]
        for event in events:
            store.add_event(event)
        for i in range(3000):
            store.add_result("web", result(T + 30_000 + i))
        await until(lambda: store.health().waiting <= 1000 and store.health().dropped > 0, what="the bound applied")
        # The writer thread logs just after it counts the drop: wait for the line.
        await until(lambda: any(fields(r).get("dropped") for r in caplog.records), what="the drop logged")
        dropped = store.health().dropped
        disk.full = False
        await until(lambda: store.health().ok, what="the store recovered")
        await store.flush()
        kept = await store.results("web", T, T + 10_000_000)
        assert len(kept) == queued + 3000 - dropped
        assert kept[-1].at == T + 30_000 + 2999  # the newest are kept
        assert [e.at for e in await store.events(None, T, T + 40_000)] == [e.at for e in reversed(events)]
        assert store.health().dropped == dropped  # counted since the start
    finally:
        disk.full = False
        await store.close()


async def test_a_stop_while_the_disk_is_full_ends_and_says_what_it_could_not_write(
    tmp_path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "monitor.db", flush_interval=0.02, clock=lambda: T + 3600)
    await store.open()
    await fill(store, disk)
    await store.close()
    assert "store stopped with items unwritten" in caplog.text


async def test_the_metrics_say_the_store_fails_and_what_waits(tmp_path: Path, disk: Disk) -> None:
    from monitor.runtime import Monitor
    from tests.alertkit import webhook_config

    store = SQLiteStore(tmp_path / "monitor.db", flush_interval=0.02, backlog_limit=1000, clock=lambda: T + 3600)
    monitor = Monitor(webhook_config("http://127.0.0.1:9/hook"), store)
    await monitor.store.open()
    try:
        sample = monitor.registry.get_sample_value
        assert (sample("monitor_store_writable"), sample("monitor_store_backlog_items")) == (1.0, 0.0)
        await fill(store, disk)
        for i in range(3000):
            store.add_result("web", result(T + 50_000 + i))
        await until(lambda: store.health().dropped > 0, what="the bound applied")
        assert sample("monitor_store_writable") == 0.0
        assert sample("monitor_store_backlog_items") == store.health().waiting > 0
        assert sample("monitor_store_dropped_results_total") == store.health().dropped
        disk.full = False
        await until(lambda: store.health().ok, what="the store recovered")
        assert (sample("monitor_store_writable"), sample("monitor_store_backlog_items")) == (1.0, 0.0)
    finally:
        disk.full = False
        await monitor.store.close()


async def test_the_writer_outlives_results_pouring_in_while_it_waits_to_retry(tmp_path: Path, disk: Disk) -> None:
    store = SQLiteStore(tmp_path / "monitor.db", flush_interval=0.02, batch_size=10, clock=lambda: T + 3600)
    await store.open()
    try:
        await fill(store, disk)
        for i in range(200_000):  # a full batch every ten: the waiting writer is woken all along
            store.add_result("web", result(T + 100_000 + i))
        assert store.health().reason == "disk full"  # not "the writer stopped"
        disk.full = False
        await until(lambda: store.health().ok, timeout=30, what="the store recovered")
    finally:
        disk.full = False
        await store.close()
