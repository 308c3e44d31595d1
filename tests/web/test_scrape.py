"""`GET /metrics` is written on one thread of its own, whatever the number of scrapes, and
a whole scrape gives the memory its text took back to the system (`trim_heap`); so does
the heap's settling after a load (`freeze_heap`)."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from monitor import runtime
from monitor.config import Config, Settings, Target
from monitor.result import Result
from monitor.runtime import Monitor, freeze_heap, trim_heap
from monitor.store.registry import open_store
from monitor.web import create_app, scrape

TARGETS = 400  # ~2 KB of text each: several batches of `scrape.SEND` characters


def _target(i: int) -> Target:
    return Target(id=f"t{i}", name=f"t{i}", kind="http", url=f"http://127.0.0.1:{1000 + i}/", spec=None, group="g")


@pytest.fixture
async def monitor(tmp_path: Path) -> AsyncIterator[Monitor]:
    targets = {t.id: t for t in map(_target, range(TARGETS))}
    settings = Settings(data_dir=tmp_path)
    store = open_store(settings)
    await store.open()
    monitor = Monitor(Config(path=tmp_path / "targets.toml", settings=settings, targets=targets), store)
    for target in targets.values():
        monitor.record(target, Result(True, detail="HTTP 200", duration=0.01, started=1.0, status_code=200))
    yield monitor
    await monitor.stop()


def _client(monitor: Monitor) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(monitor)), base_url="http://monitor")


async def test_every_batch_of_every_scrape_is_written_on_the_one_scrape_thread(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # glibc keeps what a thread freed in that thread's arena: batches spread over a pool
    # of threads left a scrape's text resident in each.
    threads: list[str] = []
    written = scrape._batch

    def batch(pieces: Iterator[str]) -> bytes:
        threads.append(threading.current_thread().name)
        return written(pieces)

    monkeypatch.setattr(scrape, "_batch", batch)
    async with _client(monitor) as client:
        texts = [(await client.get("/metrics")).text for _ in range(3)]
    assert texts[0].count("probe_success{") == TARGETS
    assert len(threads) > 3 * 2  # several batches a scrape
    assert len(set(threads)) == 1
    assert threads[0].startswith("monitor-scrape")


async def test_a_whole_scrape_gives_its_memory_back_and_a_read_by_name_does_not_trim(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    trims: list[str] = []
    monkeypatch.setattr(scrape, "trim_heap", lambda: trims.append(threading.current_thread().name) or True)
    async with _client(monitor) as client:
        whole = await client.get("/metrics")
        assert len(trims) == 1  # once, after the last batch
        light = await client.get("/metrics?name[]=monitor_scheduler_lag_seconds_count")
    assert whole.status_code == light.status_code == 200
    assert len(trims) == 1
    assert trims[0].startswith("monitor-scrape")  # off the event loop


def _resident() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(runtime._MALLOC_TRIM is None, reason="not glibc: trim_heap has nothing to call")
def test_trim_heap_gives_a_threads_freed_memory_back_to_the_system() -> None:
    kept: list[bytearray] = []

    def churn() -> None:  # 120 MB from this thread's arena, each block below malloc's mmap threshold
        blocks = [bytearray(60_000) for _ in range(2_000)]
        kept.extend(blocks[::50])  # the blocks kept pin the heap: what was freed lies between them

    before = _resident()
    thread = threading.Thread(target=churn)
    thread.start()
    thread.join()
    churned = _resident() - before
    assert churned > 60 * 2**20  # freed, yet resident
    assert trim_heap()
    assert _resident() - before < churned / 4
    assert len(kept) == 40


def test_without_glibc_trim_heap_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_MALLOC_TRIM", None)
    assert trim_heap() is False


def test_freeze_heap_trims_after_its_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[bool] = []
    monkeypatch.setattr(runtime, "trim_heap", lambda: trims.append(True) or True)
    freeze_heap()
    assert trims == [True]
