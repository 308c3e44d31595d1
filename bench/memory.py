"""`python -m bench.memory [N] [--top K]`: what each of N HTTP targets holds, by
`tracemalloc`, in one process without the farm: the configuration loaded, a `Monitor`
built as `monitor run` builds it (SQLite store, alerting, the scheduler's entries), two
results recorded per target as an HTTP probe makes them, and one `/metrics` text
rendered and dropped. Printed: the bytes per target still held after all that, the
configuration's share, and the top allocation sites per target. RSS, which `bench.scale`
measures from outside, adds the allocator's slack and the scrape's peak on top."""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from bench.stalls import make_config
from monitor.result import Result
from monitor.runtime import Monitor
from monitor.store.registry import open_store


def _result(now: float) -> Result:
    """A fresh result shaped as `http.probe` returns one (its own dict, floats, text)."""
    phases = {"resolve": 1e-5 * (now % 7), "connect": 2e-4, "processing": 1e-3, "transfer": 1e-4}
    return Result(True, detail=f"HTTP {200}", duration=0.0013 + now % 1e-4, started=now, status_code=200, phases=phases)


@dataclass(frozen=True)
class Held:
    targets: int
    per_target: float  # bytes still allocated per target, after the scrape
    config: float  # of which the configuration's
    sites: list[tuple[float, float, str]]  # (bytes, blocks) per target and "file:line", largest first


async def measure(n: int, top: int = 25) -> Held:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    start = tracemalloc.get_traced_memory()[0]
    with tempfile.TemporaryDirectory(prefix="monitor-memory-") as tmp:
        config = make_config(Path(tmp), n)
        gc.collect()
        loaded = tracemalloc.get_traced_memory()[0]
        store = open_store(config.settings)
        await store.open()
        monitor = Monitor(config, store, alerting=True)
        await monitor.metrics.seed_uptime()
        monitor.scheduler.set_targets(list(config.targets.values()))
        for _ in range(2):
            for target in config.targets.values():
                monitor.record(target, _result(time.time()))
            await store.flush()
        for _piece in monitor.metrics.pieces():  # one scrape, written and dropped
            pass
        gc.collect()
        held = tracemalloc.take_snapshot()
        total = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        sites = [
            (stat.size_diff / n, stat.count_diff / n, f"{stat.traceback[0].filename}:{stat.traceback[0].lineno}")
            for stat in held.compare_to(base, "lineno")[:top]
        ]
        await monitor.stop()  # closes the store too
    return Held(n, (total - start) / n, (loaded - start) / n, sites)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("targets", type=int, nargs="?", default=20_000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    held = asyncio.run(measure(args.targets, args.top))
    print(
        f"{held.targets:,} targets: {held.per_target:,.0f} B per target held (configuration {held.config:,.0f} B of it)"
    )
    for size, blocks, where in held.sites:
        print(f"  {size:7.0f} B  {blocks:5.1f} blocks  {where}")


if __name__ == "__main__":
    main()
