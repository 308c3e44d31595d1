"""`python -m bench.scale [--targets N] [--interval S] [--window S]`: one `monitor run` of
N targets (every 50th the 100 ms one) on one core while a Prometheus-like client scrapes
the whole `/metrics` every 15 s: start-up time, scheduler lag and the 100 ms target's
latency error with the scrapes going on, each scrape's time from outside, and resident
memory per target (above a one-target monitor) at its highest after a scrape.

`make bench` runs it at 20,000 targets every 30 s and at 100,000 every 60 s."""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import runs
from bench.farm import Farm, farm
from bench.monitorproc import lag_quantile, monitor_run, stored_results, write_config
from bench.procstat import CpuWindow, rss_bytes

SCRAPE_EVERY = 15.0  # seconds, as a Prometheus job's scrape_interval


@dataclass
class Scale:
    """One run's figures."""

    targets: int
    interval: float
    startup: float  # seconds from the process's start to /healthz answering 200
    lag_p50: float
    lag_p99: float
    started: int
    failures: int
    cpu_share: float
    slow_errors: list[float]
    scrapes: list[float] = field(default_factory=list)  # seconds each, from outside
    scrape_bytes: int = 0
    rss_peak: int = 0  # the highest RSS sampled right after a scrape
    rss_end: int = 0
    window: float = 0.0
    command: str = ""

    @property
    def sustained(self) -> bool:
        expected = self.targets / self.interval * self.window
        return self.lag_p99 <= 0.1 and self.started >= 0.97 * expected


class Scraper(threading.Thread):
    """GET /metrics every `every` seconds, as Prometheus does, timing each from outside."""

    def __init__(self, get: object, pid: int, every: float) -> None:
        super().__init__(daemon=True)
        self.get, self.pid, self.every = get, pid, every
        self.times: list[float] = []
        self.rss: list[int] = []
        self.size = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            began = time.perf_counter()
            status, body = self.get("/metrics")  # type: ignore[operator]
            self.times.append(time.perf_counter() - began)
            self.rss.append(rss_bytes(self.pid))
            self.size = len(body) if status == 200 else -status
            self.stopped.wait(max(0.0, self.every - (time.perf_counter() - began)))


def scale(
    folder: Path, targets: Farm, n: int, interval: float, window: float, cpu: int | None, every: float = SCRAPE_EVERY
) -> Scale:
    """The run described in the module docstring; the warm-up is one interval (every
    target probed once) with the scraper already going."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder, runs.mixed_targets(targets, n, 50), f"{interval:g}s")
    with monitor_run(folder, config, cpu) as mon:
        scraper = Scraper(mon.get, mon.pid, every)
        scraper.start()
        time.sleep(interval)
        meter = CpuWindow(mon.pid)
        before = mon.metrics(light=True)
        meter.start()
        since = time.time()
        time.sleep(window)
        after = mon.metrics(light=True)
        meter.stop()
        until = time.time()
        scraper.stopped.set()
        scraper.join()
        rss_end = rss_bytes(mon.pid)
    p99, started = lag_quantile(before, after, 0.99)
    p50, _ = lag_quantile(before, after, 0.50)
    stored = stored_results(mon.data, "%", since, until)
    slow = stored_results(mon.data, "%-slow", since, until)
    return Scale(
        targets=n,
        interval=interval,
        startup=mon.startup,
        lag_p50=p50,
        lag_p99=p99,
        started=started,
        failures=sum(1 for ok, _ in stored if not ok),
        cpu_share=meter.utilisation,
        slow_errors=[d - runs.SLOW_DELAY for ok, d in slow if ok],
        scrapes=scraper.times[1:],  # the first ran while the targets were still being probed once
        scrape_bytes=scraper.size,
        rss_peak=max(scraper.rss[1:] or scraper.rss or [rss_end]),
        rss_end=rss_end,
        window=meter.wall,
        command=f"{mon.command}; GET /metrics every {every:g}s",
    )


def describe(s: Scale, base: int) -> str:
    errors = sorted(abs(e) for e in s.slow_errors)
    scrapes = ", ".join(f"{t:.2f}" for t in s.scrapes)
    per = (s.rss_peak - base) / max(1, s.targets - 1)
    return (
        f"{s.targets:,} targets every {s.interval:g}s: start-up {s.startup:.1f} s; lag p50 ≤ {s.lag_p50 * 1e3:.0f} ms, "
        f"p99 ≤ {s.lag_p99 * 1e3:.0f} ms ({s.started} probes, {s.failures} failed, {s.cpu_share:.0%} of the core); "
        f"100 ms target error p99 {runs.quantile(errors, 0.99) * 1e3:.2f} ms ({len(errors)} probes); "
        f"scrapes {scrapes} s ({s.scrape_bytes / 1e6:.0f} MB); RSS after a scrape at most {s.rss_peak / 2**20:.0f} MB "
        f"= {per / 1024:.1f} KB per target above {base / 2**20:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=20_000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--window", type=float, default=60.0, help="seconds measured after one interval")
    args = parser.parse_args()
    from bench.__main__ import _pin_farm

    with tempfile.TemporaryDirectory(prefix="monitor-scale-") as tmp:
        folder = Path(tmp)
        with farm(folder / "farm") as targets:
            cpu = _pin_farm(targets)
            base = runs.base_memory(folder / "base", targets, 3.0, cpu)
            s = scale(folder / "run", targets, args.targets, args.interval, args.window, cpu)
            print(describe(s, base), flush=True)


if __name__ == "__main__":
    main()
