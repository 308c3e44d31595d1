"""The SQLite store's one writer thread: batches, its hourly retention in short
transactions, a malformed result skipped, and failing rather than hanging."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import StoreError
from monitor.result import Result
from monitor.store.sqlite import writer as sqlwriter
from monitor.store.sqlite.store import SQLiteStore
from monitor.store.sqlite.writer import Writer
from tests.history import T0, Clock, H
from tests.waiting import until


async def test_it_writes_thousands_of_queued_results_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "monitor.db", flush_interval=0.05, batch_size=1000, clock=Clock(T0 + 20_000))
    await store.open()
    # The writer is held inside its first write: queueing must not wait for the disk.
    held, release = threading.Event(), threading.Event()
    write = Writer._write

    def stuck(self: Writer, conn: sqlite3.Connection, items: list[Any]) -> Any:
        held.set()
        release.wait(30)
        return write(self, conn, items)

    monkeypatch.setattr(Writer, "_write", stuck)
    try:
        store.add_result("t0", Result(True, duration=0.01, started=T0))
        await until(held.is_set, what="the writer inside its first write")
        for i in range(1, 20_000):
            store.add_result(f"t{i % 50}", Result(True, duration=0.01 * (i % 7 + 1), started=T0 + i))
        assert not release.is_set()  # every result was queued while the writer could not write
        release.set()
        await store.flush()
        stats = await store.probe_stats(None, T0, T0 + 20_000)
        assert len(stats) == 50 and sum(s.count for s in stats.values()) == 20_000
        assert len(await store.results("t7", T0, T0 + 20_000)) == 400
        assert store.healthy()
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
