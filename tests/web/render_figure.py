"""How long the status page takes for 1,000 targets, from the real SQLite store.

    PYTHONPATH=. python -m tests.web.render_figure [TARGETS]

Writes 90 days of history for each target (a ten-minute outage every 20 days, probes
every 10 minutes over the last day for the sparkline), then times `GET /` through the
real app: the store's reads (`snapshot`), the rendering, and a cached answer; and gives
the page's size on the wire, plain and in each coding (`monitor.web.compress`), with the
time each compression takes (made once per snapshot and language).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from monitor.resources import templates_dir
from monitor.result import Event, Result, State
from monitor.store.sqlite.store import SQLiteStore
from monitor.web import viewmodels
from monitor.web.compress import compress
from monitor.web.pages import status_context
from monitor.web.settled import Settled
from monitor.web.templating import Renderer
from tests.history import Clock
from tests.web.conftest import FakeRuntime, make_app, make_config, set_state, target

DAY = 86400.0


async def build(path: Path, ids: list[str], now: float) -> None:
    clock = Clock(now - 91 * DAY)
    store = SQLiteStore(path, clock=clock)
    await store.open()
    for n, tid in enumerate(ids):
        store.add_event(Event(tid, now - 91 * DAY, State.UNKNOWN, State.UP, "ok"))
        for k in range(4):
            down = now - (85 - 20 * k) * DAY - n * 60
            store.add_event(Event(tid, down, State.UP, State.DOWN, "timeout"))
            store.add_event(Event(tid, down + 600, State.DOWN, State.UP, "ok"))
    at = now - DAY
    while at < now:
        for tid in ids:
            store.add_result(tid, Result(True, duration=0.08 + (at % 3600) / 36000, started=at))
        at += 600
    await store.flush()
    clock.now = now
    await store.close()


async def main(count: int) -> None:
    now = time.time()
    ids = [f"t{i}" for i in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "monitor.db"
        started = time.perf_counter()
        await build(path, ids, now)
        print(f"history for {count} targets written in {time.perf_counter() - started:.1f} s")
        store = SQLiteStore(path)
        await store.open()
        runtime = FakeRuntime(
            make_config([target(i, f"Layanan {i}", group=f"Kelompok {n % 20}") for n, i in enumerate(ids)]),
            store=store,
        )
        for tid in ids:
            set_state(runtime, tid, State.UP, now - DAY, last=Result(True, duration=0.1, started=now - 20))
        app = make_app(runtime)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
            await client.get("/")  # compiles the templates, warms the store's caches
            reads, renders, cpu, pages, kept = [], [], [], [], []
            bars = Settled()
            await viewmodels.snapshot(runtime, time.time(), bars)  # the cache's one full read
            for _ in range(7):
                t0 = time.perf_counter()
                await viewmodels.snapshot(runtime, time.time(), bars)
                kept.append(time.perf_counter() - t0)
            renderer = Renderer(templates_dir())
            for _ in range(7):
                t0 = time.perf_counter()
                snap = await viewmodels.snapshot(runtime, time.time())
                reads.append(time.perf_counter() - t0)
                t0, c0 = time.perf_counter(), time.process_time()
                t = renderer.texts("id", ZoneInfo("Asia/Jakarta"))
                common = {
                    "lang": "id",
                    "t": t,
                    "title": "Status",
                    "zone": "Asia/Jakarta",
                    "switch": {},
                    "subscribe": None,
                }
                renderer.render("status.html.j2", {**common, **status_context(snap, t)})
                renders.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                t0 = time.perf_counter()
                response = await client.get("/")
                pages.append(time.perf_counter() - t0)
            app.state.snapshot_seconds = 60  # the cached path
            await client.get("/")
            # A plain answer: httpx would otherwise spend its own time decompressing.
            t0 = time.perf_counter()
            await client.get("/", headers={"Accept-Encoding": "identity"})
            cached = time.perf_counter() - t0
            wire = {}
            for coding in ("identity", "gzip", "br"):
                answer = await client.get("/", headers={"Accept-Encoding": coding})
                wire[coding] = int(answer.headers["content-length"])
        await store.close()
    body = response.content
    packing = {}
    for coding in ("gzip", "br"):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            compress(body, coding)
            times.append(time.perf_counter() - t0)
        packing[coding] = statistics.median(times)
    size = len(body) / 1e6
    print(f"store reads (snapshot): median {statistics.median(reads) * 1000:.0f} ms, min {min(reads) * 1000:.0f} ms")
    print(
        f"store reads (snapshot, settled days and hours kept): median {statistics.median(kept) * 1000:.0f} ms, "
        f"min {min(kept) * 1000:.0f} ms"
    )
    print(
        f"GET / uncached (reads + render): median {statistics.median(pages) * 1000:.0f} ms, "
        f"min {min(pages) * 1000:.0f} ms; {size:.2f} MB of HTML"
    )
    print(
        f"render from a snapshot: median {statistics.median(renders) * 1000:.0f} ms, "
        f"min {min(renders) * 1000:.0f} ms; CPU time median {statistics.median(cpu) * 1000:.0f} ms"
    )
    print(f"GET / cached: {cached * 1000:.1f} ms")
    print(
        f"on the wire: {wire['identity'] / 1000:.0f} KB plain, {wire['gzip'] / 1000:.0f} KB gzip "
        f"({packing['gzip'] * 1000:.0f} ms to compress), {wire['br'] / 1000:.0f} KB br "
        f"({packing['br'] * 1000:.0f} ms to compress)"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
