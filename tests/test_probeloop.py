"""The probe loop (`monitor.probeloop`): calls run on its thread in order, results come
back to the serving loop in batches and in order, a stop cancels what is in flight and
closes within its deadline, a dead probing task is logged and shown; and the monitor on
it: probes run on the probe thread, results are judged on the serving loop, a reload,
"probe now" and the connectivity checks reach it, and timing marks are the transport's."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config import Config, Settings, Target
from monitor.config.loader import load_config
from monitor.connectivity import Uplink
from monitor.probeloop import ProbeLoop
from monitor.probes import PROBES, ProbeContext
from monitor.probes.base import ProbeKind
from monitor.probes.fasthttp import AT, FastTransport
from monitor.result import Result
from monitor.runtime import Monitor
from monitor.web import create_app
from tests.fakestore import MemoryStore
from tests.sites import Site
from tests.waiting import until


@pytest.fixture
async def probing() -> AsyncIterator[ProbeLoop]:
    loop = ProbeLoop()
    await loop.start()
    try:
        yield loop
    finally:
        await loop.stop()


async def test_calls_run_on_the_probe_thread_in_the_order_made(probing: ProbeLoop) -> None:
    seen: list[tuple[int, int]] = []
    for i in range(50):
        probing.call(lambda i=i: seen.append((i, threading.get_ident())))
    await until(lambda: len(seen) == 50, what="50 calls run")
    assert [i for i, _ in seen] == list(range(50))
    assert {ident for _, ident in seen} != {threading.get_ident()}
    assert len({ident for _, ident in seen}) == 1


async def test_run_returns_what_the_coroutine_returned_there_and_raises_what_it_raised(probing: ProbeLoop) -> None:
    async def where() -> int:
        return threading.get_ident()

    async def fails() -> None:
        raise LookupError("no such target")

    assert await probing.run(where()) != threading.get_ident()
    with pytest.raises(LookupError, match="no such target"):
        await probing.run(fails())


async def test_deliveries_reach_the_serving_loop_in_order_and_in_one_batch(probing: ProbeLoop) -> None:
    main = asyncio.get_running_loop()
    got: list[int] = []
    threads: set[int] = set()
    at_first: list[int] = []

    def received(i: int) -> None:
        got.append(i)
        threads.add(threading.get_ident())
        if i == 0:  # runs after the rest of this batch, unless the batch was split
            main.call_soon(lambda: at_first.append(len(got)))

    def deliver_all() -> None:
        for i in range(100):
            probing.deliver(received, i)

    probing.call(deliver_all)
    await until(lambda: at_first, what="the batch received")
    assert got == list(range(100))
    assert at_first == [100]
    assert threads == {threading.get_ident()}


async def test_before_start_and_after_stop_everything_runs_on_the_caller() -> None:
    loop = ProbeLoop()
    seen: list[str] = []
    loop.call(seen.append, "call")
    loop.deliver(seen.append, "deliver")

    async def value() -> str:
        return "run"

    seen.append(await loop.run(value()))
    await loop.start()
    await loop.stop()
    loop.call(seen.append, "after")
    assert seen == ["call", "deliver", "run", "after"]


async def test_the_switch_interval_is_shorter_while_it_runs_and_restored_after() -> None:
    before = sys.getswitchinterval()
    loop = ProbeLoop(switch_interval=before / 5)
    await loop.start()
    try:
        assert sys.getswitchinterval() == pytest.approx(before / 5)
    finally:
        await loop.stop()
    assert sys.getswitchinterval() == before


async def test_stop_cancels_the_tasks_closes_there_and_joins_the_thread() -> None:
    loop = ProbeLoop()
    await loop.start()
    began, cancelled = threading.Event(), threading.Event()
    closed: list[int] = []

    async def forever() -> None:
        began.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def closing() -> None:
        closed.append(threading.get_ident())

    loop.spawn(forever(), name="forever")
    await until(began.is_set, what="the task running")
    thread = loop._thread
    await loop.stop(closing)
    assert cancelled.is_set()
    assert closed and closed[0] != threading.get_ident()
    assert thread is not None and not thread.is_alive()
    assert loop.alive and not loop.running


async def test_a_probing_task_that_dies_is_logged_and_probing_is_not_alive(
    probing: ProbeLoop, caplog: pytest.LogCaptureFixture
) -> None:
    async def crashes() -> None:
        raise RuntimeError("scheduler bug")

    with caplog.at_level(logging.ERROR, logger="monitor.probeloop"):
        probing.spawn(crashes(), name="scheduler")
        await until(lambda: not probing.alive, what="probing marked dead")
    assert "a probing task ended" in caplog.text
    assert "scheduler bug" in caplog.text


# -- the monitor on its probe loop ----------------------------------------------------


class Threads:
    """A probe kind that remembers which thread probed, and how often."""

    def __init__(self) -> None:
        self.probed: list[int] = []

    async def probe(self, target: Target, ctx: ProbeContext) -> Result:
        self.probed.append(threading.get_ident())
        return Result(True, started=time.time(), duration=0.001)


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> Threads:
    kind = Threads()
    monkeypatch.setitem(PROBES, "threads", ProbeKind("threads", (), lambda t, u: None, kind.probe))
    return kind


def fake(tid: str) -> Target:
    return Target(id=tid, name=tid, kind="threads", url=None, spec=None, interval=0.2, failure_threshold=1)


def config_of(tmp_path: Path, *targets: Target, connectivity: tuple[Target, ...] = ()) -> Config:
    settings = Settings(data_dir=tmp_path, connectivity=connectivity)
    return Config(path=tmp_path / "targets.toml", settings=settings, targets={t.id: t for t in targets})


async def test_probes_run_on_the_probe_thread_and_are_judged_on_the_serving_loop(
    threads: Threads, tmp_path: Path
) -> None:
    monitor = Monitor(config_of(tmp_path, fake("web")), MemoryStore())
    judged: set[int] = set()
    record = monitor.record

    def spying(target: Target, result: Result) -> None:
        judged.add(threading.get_ident())
        record(target, result)

    monitor.record = spying  # type: ignore[method-assign]
    await monitor.start()
    try:
        await until(lambda: monitor.states.status("web").last is not None, what="web judged")
        assert monitor.healthy()
    finally:
        await monitor.stop()
    assert threading.get_ident() not in set(threads.probed)
    assert judged == {threading.get_ident()}
    assert (monitor.metrics.lag.total or 0) >= 1


async def test_readyz_fails_naming_the_probing_thread_when_it_stopped(tmp_path: Path) -> None:
    monitor = Monitor(config_of(tmp_path), MemoryStore())
    monitor.ready = True
    monitor.probing.failed = True  # as a probing task that ended leaves it
    transport = httpx.ASGITransport(app=create_app(monitor))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["probing_running"] is False
    assert "the probing thread stopped (its error is in the log)" in ready.json()["problems"]
    assert not monitor.healthy()


async def test_a_reload_reaches_the_scheduler_on_the_probe_loop(threads: Threads, tmp_path: Path) -> None:
    monitor = Monitor(config_of(tmp_path, fake("web")), MemoryStore())
    await monitor.start()
    try:
        monitor.apply(config_of(tmp_path, fake("web"), fake("api")))
        await until(lambda: monitor.states.status("api").last is not None, what="the added target judged")
    finally:
        await monitor.stop()


async def test_probe_now_runs_on_the_probe_thread(threads: Threads, tmp_path: Path) -> None:
    paused = Target(id="web", name="web", kind="threads", url=None, spec=None, paused=True)
    monitor = Monitor(config_of(tmp_path, paused), MemoryStore())
    await monitor.start()
    try:
        result = await monitor.probe_now(paused)
    finally:
        await monitor.stop()
    assert result.ok
    assert threads.probed and threads.probed[0] != threading.get_ident()


async def test_the_connectivity_checks_run_there_and_reach_the_uplink(threads: Threads, tmp_path: Path) -> None:
    check = fake("uplink-1")
    monitor = Monitor(config_of(tmp_path, fake("web"), connectivity=(check,)), MemoryStore())
    await monitor.start()
    try:
        await until(lambda: monitor.connectivity.state is Uplink.ONLINE, what="the uplink judged online")
    finally:
        await monitor.stop()


async def test_a_stop_leaves_no_probe_running(tmp_path: Path) -> None:
    with Site() as site:
        path = tmp_path / "targets.toml"
        path.write_text(
            f'[monitor]\ndata_dir = "{tmp_path}"\n[defaults]\ninterval = "1s"\n'
            f'[targets.slow]\nurl = "{site.url}/slow"\n'
        )
        monitor = Monitor(load_config(path), MemoryStore())
        await monitor.start()
        await until(lambda: monitor.scheduler.in_flight == 1, what="the slow probe in flight", every=0.005)
        thread = monitor.probing._thread
        await monitor.stop()
    assert monitor.scheduler.in_flight == 0
    assert thread is not None and not thread.is_alive()


async def test_the_transport_marks_arrivals_at_the_callbacks_time() -> None:
    marks: dict[str, tuple[float | None, float]] = {}

    async def trace(event: str, info: Mapping[str, Any]) -> None:
        marks[event] = (info.get(AT), time.perf_counter())

    transport = FastTransport()
    with Site() as site:
        request = httpx.Request("GET", f"{site.url}/ok", extensions={"trace": trace})
        response = await transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
            await transport.aclose()
    for event in (
        "connection.connect_tcp.complete",
        "http11.receive_response_headers.complete",
        "http11.receive_response_body.complete",
    ):
        at, traced = marks[event]
        assert at is not None and at <= traced, event
    connected = marks["connection.connect_tcp.complete"][0]
    head = marks["http11.receive_response_headers.complete"][0]
    body = marks["http11.receive_response_body.complete"][0]
    assert connected is not None and head is not None and body is not None
    assert marks["connection.connect_tcp.started"][1] <= connected <= head <= body
