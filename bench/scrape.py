"""`python -m bench.scrape [N ...]`: one full `/metrics` text at N probed HTTP targets in
one process without the farm (so the machine's other load moves it less than a scrape
timed from outside): the CPU it takes, its size, and what it does to the event loop
while it is written in a thread, as `GET /metrics` writes it: a 1 ms timer's overshoot
and a loopback connect-send-receive-close's time (a probe's system calls), both p99."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import uvloop

from bench.stalls import make_config
from monitor.result import Result
from monitor.runtime import Monitor
from tests.fakestore import MemoryStore


@dataclass(frozen=True)
class ScrapeCost:
    targets: int
    cpu: list[float]  # seconds of CPU per render (the thread's, measured in it)
    size: int  # bytes
    overshoot_p99: float
    exchange_p99: float


async def _ticks(out: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        began = time.perf_counter()
        await asyncio.sleep(0.001)
        out.append(time.perf_counter() - began - 0.001)


async def _exchanges(out: list[float], stop: asyncio.Event) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(1))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    while not stop.is_set():
        began = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x")
        await reader.read(1)
        writer.close()
        out.append(time.perf_counter() - began)
        await asyncio.sleep(0.002)
    server.close()


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")


async def measure(n: int, rounds: int = 3) -> ScrapeCost:
    with tempfile.TemporaryDirectory(prefix="monitor-scrape-") as tmp:
        config = make_config(Path(tmp), n)
        monitor = Monitor(config, MemoryStore())
        await monitor.metrics.seed_uptime()  # no history: the ratios from the first results on
        now = time.time()
        for target in config.targets.values():
            monitor.record(target, Result(True, duration=0.002, started=now, status_code=200, phases={"resolve": 1e-4}))
        await asyncio.sleep(0.01)  # observed for a moment: every target has its three ratios

        def timed() -> tuple[float, int]:
            began = time.thread_time()
            size = sum(len(p) for p in monitor.metrics.pieces())  # written as it is taken
            return time.thread_time() - began, size

        cpu, ticks, exchanges, size = [], [], [], 0
        for _ in range(rounds):
            stop = asyncio.Event()
            tasks = [asyncio.create_task(_ticks(ticks, stop)), asyncio.create_task(_exchanges(exchanges, stop))]
            await asyncio.sleep(0.2)
            seconds, size = await asyncio.to_thread(timed)
            cpu.append(seconds)
            stop.set()
            await asyncio.gather(*tasks)
        return ScrapeCost(n, cpu, size, _p99(ticks), _p99(exchanges))


def main() -> None:
    sys.setswitchinterval(0.001)  # as `monitor run` sets it
    for n in [int(a) for a in sys.argv[1:]] or [20_000, 100_000]:
        c = uvloop.run(measure(n))
        print(
            f"/metrics at {n:,} targets: {statistics.median(c.cpu) * 1e3:.0f} ms CPU median "
            f"({', '.join(f'{s * 1e3:.0f}' for s in c.cpu)}), {c.size / 1e6:.0f} MB; while it is written: "
            f"1 ms timer overshoot p99 {c.overshoot_p99 * 1e3:.2f} ms, loopback exchange p99 "
            f"{c.exchange_p99 * 1e3:.2f} ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
