"""The measurements, one function each, on a running farm. Each starts what it measures
(a `monitor run` process or the blackbox exporter's load), measures from outside, and
returns plain figures; `bench.__main__` turns them into the report."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bench import blackbox
from bench.farm import Farm
from bench.monitorproc import Monitor, TargetSpec, lag_quantile, monitor_run, stored_results, write_config
from bench.procstat import CpuWindow, pin, rss_bytes

SLOW_DELAY = 0.100  # what bench.farmserver's slow target waits before answering


@dataclass(frozen=True)
class Throughput:
    """Probes completed in a window and the CPU the prober spent meanwhile."""

    probes: int
    failures: int
    cpu: float
    wall: float
    command: str
    since: float = 0.0  # unix times of the window, for the stored results
    until: float = 0.0

    @property
    def per_cpu_second(self) -> float:
        return self.probes / self.cpu if self.cpu else 0.0

    @property
    def rate(self) -> float:
        return self.probes / self.wall if self.wall else 0.0


@dataclass(frozen=True)
class Capacity:
    """One load level of the one-core run."""

    targets: int
    interval: float
    lag_p99: float  # upper bound of the histogram bucket holding the 99th percentile
    lag_p50: float
    started: int
    failures: int
    cpu_share: float  # of the one core, over the window
    rss: int
    slow_errors: list[float]  # measured duration - 100 ms, for each slow-target probe
    scrape_seconds: float | None  # one full /metrics at this size, when measured
    window: float
    command: str

    @property
    def sustained(self) -> bool:
        """Every slot served (none skipped) with lag p99 within 100 ms."""
        expected = self.targets / self.interval * self.window
        return self.lag_p99 <= 0.1 and self.started >= 0.97 * expected


def kind_targets(farm: Farm, kind: str, n: int, start: int = 0) -> list[TargetSpec]:
    """`n` targets of `kind` (http, https, https-rsa, tcp, slow) on the farm, ids `t00000-KIND` on:
    the scheduler spreads targets by id, so interleaved ids spread each kind too."""
    ca = (("ca_file", f'"{farm.ca_file}"'),)
    urls = {"http": farm.http_url, "https": farm.https_url, "https-rsa": farm.https_rsa_url, "slow": farm.slow_url}
    specs = []
    for i in range(start, start + n):
        if kind == "tcp":
            specs.append(TargetSpec(f"t{i:05d}-tcp", farm.tcp_url))
        else:
            specs.append(TargetSpec(f"t{i:05d}-{kind}", f"{urls[kind]}?t={i}", ca if kind.startswith("https") else ()))
    return specs


def mixed_targets(farm: Farm, n: int, every: int) -> list[TargetSpec]:
    """`n` HTTP targets of which every `every`-th is the 100 ms one, interleaved."""
    specs = []
    for i in range(n):
        specs += kind_targets(farm, "slow" if i % every == 0 else "http", 1, i)
    return specs


@dataclass(frozen=True)
class SideBySide:
    """Alternating windows of the monitor and of the blackbox exporter on the same
    targets at the same rate; the median of each (a VM's CPU accounting drifts by
    ±15 % between runs, so one window each would compare noise)."""

    monitor: list[Throughput]
    blackbox: list[Throughput]

    @staticmethod
    def median(runs: list[Throughput]) -> float:
        return statistics.median(r.per_cpu_second for r in runs) if runs else 0.0


def side_by_side(
    folder: Path,
    targets: list[TargetSpec],
    bb_targets: list[str],
    module: str,
    ca_file: Path,
    rate: float,
    rounds: int,
    warmup: float,
    window: float,
    cpu: int | None,
) -> SideBySide:
    """`rounds` alternating windows: the monitor probing `targets` at `rate`, then (the
    monitor stopped with SIGSTOP, so it takes no CPU and no port) the exporter driven
    through `/probe` at the same rate. Without the exporter installed, monitor only."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder, targets, f"{len(targets) / rate:g}s")
    mons: list[Throughput] = []
    bbs: list[Throughput] = []
    with monitor_run(folder, config, cpu) as mon, contextlib.ExitStack() as stack:
        exp = stack.enter_context(blackbox.exporter(folder / "blackbox", ca_file)) if blackbox.available() else None
        if exp is not None and cpu is not None:
            pin(exp.pid, {cpu})
        time.sleep(warmup)
        for _ in range(rounds):
            mons.append(_monitor_window(mon, window))
            if exp is not None:
                os.kill(mon.pid, signal.SIGSTOP)
                try:
                    bbs.append(blackbox_throughput(exp, module, bb_targets, rate, window))
                finally:
                    os.kill(mon.pid, signal.SIGCONT)
                time.sleep(1.0)  # the slots missed while stopped are skipped, not bunched
    since, until = mons[0].since, mons[-1].until
    failures = sum(1 for ok, _ in stored_results(mon.data, "%", since, until) if not ok)
    mons = [dataclasses.replace(m, failures=failures) for m in mons]
    return SideBySide(mons, bbs)


def _monitor_window(mon: Monitor, window: float) -> Throughput:
    meter = CpuWindow(mon.pid)
    before = mon.metrics(light=True)
    meter.start()
    since = time.time()
    time.sleep(window)
    after = mon.metrics(light=True)
    meter.stop()
    return Throughput(int(after.started - before.started), 0, meter.cpu, meter.wall, mon.command, since, time.time())


def blackbox_throughput(
    exp: blackbox.Exporter, module: str, targets: list[str], rate: float, window: float
) -> Throughput:
    """The exporter's CPU per probe when driven at `rate` probes a second."""
    load = blackbox.drive(exp, module, targets, rate, window)
    command = f"{exp.command} + GET /probe?module={module}&target=... at {rate:g}/s"
    return Throughput(load.probes, load.failures, load.cpu, load.wall, command)


def capacity(
    folder: Path,
    farm: Farm,
    targets: int,
    interval: float,
    window: float,
    every: int,
    cpu: int | None,
    scrape: bool = False,
    warmup: float | None = None,
) -> Capacity:
    """Run `targets` targets (every `every`-th answers in 100 ms) at `interval` on one
    core; the scheduler's lag over `window` after `warmup` (default: one interval, so
    that every target has been probed and stored once: the steady state), the latency
    error of the slow target, the resident memory at the end and, if `scrape`, the time
    of one full /metrics."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = mixed_targets(farm, targets, every)
    config = write_config(folder, specs, f"{interval:g}s")
    scrape_seconds = None
    with monitor_run(folder, config, cpu) as mon:
        time.sleep(interval if warmup is None else warmup)
        meter = CpuWindow(mon.pid)
        before = mon.metrics(light=True)
        meter.start()
        since = time.time()
        time.sleep(window)
        after = mon.metrics(light=True)
        meter.stop()
        until = time.time()
        rss = rss_bytes(mon.pid)
        if scrape:
            begun = time.perf_counter()
            mon.metrics()
            scrape_seconds = time.perf_counter() - begun
    p99, started = lag_quantile(before, after, 0.99)
    p50, _ = lag_quantile(before, after, 0.50)
    stored = stored_results(mon.data, "%", since, until)
    slow_results = stored_results(mon.data, "%-slow", since, until)
    result = Capacity(
        targets=targets,
        interval=interval,
        lag_p99=p99,
        lag_p50=p50,
        started=started,
        failures=sum(1 for ok, _ in stored if not ok),
        cpu_share=meter.utilisation,
        rss=rss,
        slow_errors=[d - SLOW_DELAY for ok, d in slow_results if ok],
        scrape_seconds=scrape_seconds,
        window=meter.wall,
        command=mon.command,
    )
    return result


def base_memory(folder: Path, farm: Farm, settle: float, cpu: int | None) -> int:
    """Resident memory of `monitor run` with a single target (it needs at least one)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder, kind_targets(farm, "http", 1), "1s")
    with monitor_run(folder, config, cpu) as mon:
        time.sleep(settle)
        return rss_bytes(mon.pid)


@dataclass(frozen=True)
class PageTimes:
    targets: int
    times: list[float]
    size: int
    status: int
    command: str

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


def status_page(folder: Path, farm: Farm, targets: int, settle: float, repeat: int, cpu: int | None) -> PageTimes:
    """Time `GET /` with `targets` targets, each probed at least once before."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder, kind_targets(farm, "http", targets), f"{max(1.0, settle - 1):g}s")
    times: list[float] = []
    with monitor_run(folder, config, cpu) as mon:
        time.sleep(settle)
        status, body = mon.get("/")  # the first render warms template caches
        for _ in range(repeat):
            begun = time.perf_counter()
            status, body = mon.get("/")
            times.append(time.perf_counter() - begun)
    return PageTimes(targets, times, len(body), status, f"{mon.command}; GET / x{repeat}")


def quantile(values: list[float], q: float) -> float:
    """The `q` quantile of `values` (nearest rank), nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]
