"""`python -m bench.stalls`: what stalls the event loop at 20,000 targets, measured in
one process without the farm (so another load on the machine moves these figures less
than the latency run's): the alerting tick, the start's uptime seed of every target with a
loop watchdog, and a full cyclic-GC collection after the start freeze and after freezing
again (see `monitor.runtime.freeze_heap`)."""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from monitor.alerting.policy import Policy
from monitor.config import Config
from monitor.config.loader import load_config
from monitor.result import Event, Result, State
from monitor.runtime import Monitor, freeze_heap
from monitor.store.sqlite.store import SQLiteStore

N = 20_000


def make_config(folder: Path, n: int = N) -> Config:
    """`n` HTTP targets every 30 s, every 10th with `cert_warn_days`."""
    lines = ["[monitor]", 'title = "stalls"', f'data_dir = "{folder}"', "", "[defaults]", 'interval = "30s"', ""]
    for i in range(n):
        lines += [f"[targets.t{i}]", f'name = "t{i}"', f'url = "http://127.0.0.1:{1000 + i % 1000}/"']
        lines += ["cert_warn_days = [30, 14, 7]"] if i % 10 == 0 else []
        lines.append("")
    (folder / "targets.toml").write_text("\n".join(lines))
    return load_config(folder / "targets.toml")


def tick(config: Config) -> None:
    now = [1_800_000_000.0]
    policy = Policy(config, clock=lambda: now[0])
    for tid, target in config.targets.items():
        policy.on_event(Event(tid, now[0], State.UNKNOWN, State.UP, "ok", ""), target)
    for tid in list(config.targets)[:20]:
        policy.on_event(Event(tid, now[0], State.UP, State.DOWN, "refused", ""), config.targets[tid])
    policy.tick()  # the first: every certificate due
    times = []
    for _ in range(50):
        now[0] += 10
        started = time.process_time()
        policy.tick()
        times.append(time.process_time() - started)
    times.sort()
    print(
        f"Policy.tick, {len(config.targets)} targets (20 down, every 10th with cert_warn_days): "
        f"median {times[25] * 1e3:.2f} ms CPU, max {times[-1] * 1e3:.2f} ms"
    )


async def uptime(config: Config, folder: Path) -> None:
    store = SQLiteStore(folder / "uptime.db")
    mon = Monitor(config, store)  # type: ignore[arg-type]
    await store.open()
    start = time.time() - 3 * 86400
    for tid in config.targets:
        store.add_event(Event(tid, start, State.UNKNOWN, State.UP, "ok", ""))
    for tid in list(config.targets)[::7]:
        store.add_event(Event(tid, start + 3600, State.UP, State.DOWN, "refused", ""))
        store.add_event(Event(tid, start + 7200, State.DOWN, State.UP, "ok", ""))
    await store.flush()
    freeze_heap()
    # The uptime ratios are read from the store once, at start (then kept in memory).
    print(f"uptime seed at start, all targets: {await _watched(mon.metrics.seed_uptime)}")
    await store.close()


async def _watched(call: Callable[[], Awaitable[None]]) -> str:
    stalls: list[float] = []

    async def watch() -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - began - 0.001)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.05)
    before = [s["collections"] for s in gc.get_stats()]
    cpu, wall = time.process_time(), time.perf_counter()
    await call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    watcher.cancel()
    collections = [s["collections"] - b for s, b in zip(gc.get_stats(), before, strict=True)]
    return (
        f"{wall * 1e3:.0f} ms wall, {cpu * 1e3:.0f} ms CPU (all threads), longest loop stall "
        f"{max(stalls) * 1e3:.1f} ms, GC collections gen0/1/2 {collections}"
    )


async def collections(config: Config, folder: Path) -> None:
    store = SQLiteStore(folder / "gc.db")
    mon = Monitor(config, store, alerting=True)  # type: ignore[arg-type]
    await store.open()
    freeze_heap()  # as start() does
    now = time.time()
    for target in config.targets.values():
        mon.record(target, Result(True, duration=0.002, started=now, status_code=200))
    await store.flush()
    print(f"full GC collection, every target probed once, after the start freeze: {_full():.1f} ms")
    freeze_heap()
    for target in config.targets.values():  # the next round replaces the last results
        mon.record(target, Result(True, duration=0.002, started=now + 30, status_code=200))
    await store.flush()
    print(f"full GC collection after freezing again: {_full():.1f} ms")
    await store.close()


def _full() -> float:
    """Median of 5 full collections, in ms."""
    times = []
    for _ in range(5):
        began = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - began) * 1e3)
    return sorted(times)[2]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="monitor-stalls-") as tmp:
        folder = Path(tmp)
        config = make_config(folder)
        tick(config)
        asyncio.run(uptime(config, folder))
        asyncio.run(collections(config, folder))


if __name__ == "__main__":
    main()
