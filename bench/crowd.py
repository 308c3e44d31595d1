"""`python -m bench.crowd [TARGETS] [SECONDS]`: a citizen crowd on the status page while
the monitor probes; also a part of `make bench` (`measure`).

A real `monitor run` (on its own CPU when there are two) probes TARGETS public targets
on the bench farm every 2 s: plain HTTP ones, and one in a hundred the farm's target
that answers in 100 ms. After a quiet window of SECONDS, `wrk -t2 -c64` asks for `/`
(br or gzip) for SECONDS from the harness's CPU. Figures: the crowd's requests per
second and latency p99; the scheduler's lag p99 quiet and during the crowd; the 100 ms
targets' latency error (stored duration - 100 ms) p99 during the crowd and before it;
failed probes.

Needs `wrk` and the farm's `nginx` (Debian's packages). Loopback only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import runs
from bench.farm import Farm, farm
from bench.monitorproc import lag_quantile, monitor_run, stored_results, write_config
from bench.procstat import pin

INTERVAL = 2.0
SLOW_EVERY = 100  # one target in a hundred is the 100 ms one


@dataclass(frozen=True)
class Crowd:
    targets: int
    seconds: float
    requests_per_second: float
    latency_p99: str  # as wrk prints it
    lag_quiet_p99: float  # upper bound of the histogram bucket holding the 99th percentile
    lag_crowd_p99: float
    slow_errors: list[float]  # stored duration - 100 ms of each 100 ms probe during the crowd
    quiet_errors: list[float]  # the same in the quiet window before it
    probes: int  # started during the crowd
    failures: int  # stored failed results during the crowd
    command: str


def available() -> bool:
    return shutil.which("wrk") is not None


def measure(
    folder: Path,
    targets: Farm,
    n: int = 1000,
    seconds: float = 15.0,
    cpu: int | None = None,
    path: str = "/",
    connections: int = 64,
) -> Crowd:
    """The crowd on `path` (`/`; another path tells what the page's own work costs) with
    `connections` kept open (64; fewer tell how the loop's share grows with them)."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = runs.mixed_targets(targets, n, SLOW_EVERY)
    config = write_config(folder, specs, f"{INTERVAL:g}s", groups=20)
    with monitor_run(folder, config, cpu) as mon:
        time.sleep(INTERVAL + 1)  # every target probed once: the steady state
        status, _ = mon.get("/")  # the first snapshot and render
        if status != 200:
            raise RuntimeError(f"/ answered {status}")
        quiet = mon.metrics(light=True)
        quiet_since = time.time()
        time.sleep(seconds)
        before = mon.metrics(light=True)
        since = time.time()
        wrk = [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "-H",
            "Accept-Encoding: br, gzip",
            f"http://127.0.0.1:{mon.port}{path}",
        ]
        out = subprocess.run(wrk, capture_output=True, text=True, check=True).stdout
        until = time.time()
        after = mon.metrics(light=True)
        command = f"{mon.command}; {' '.join(wrk[:-1])} {path}"
    rate = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    p99 = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("99%"))
    lag_crowd, started = lag_quantile(before, after, 0.99)
    slow = stored_results(mon.data, "%-slow", since, until)
    calm = stored_results(mon.data, "%-slow", quiet_since, since)
    stored = stored_results(mon.data, "%", since, until)
    return Crowd(
        targets=n,
        seconds=seconds,
        requests_per_second=rate,
        latency_p99=p99,
        lag_quiet_p99=lag_quantile(quiet, before, 0.99)[0],
        lag_crowd_p99=lag_crowd,
        slow_errors=[d - runs.SLOW_DELAY for ok, d in slow if ok],
        quiet_errors=[d - runs.SLOW_DELAY for ok, d in calm if ok],
        probes=started,
        failures=sum(1 for ok, _ in stored if not ok),
        command=command,
    )


def main(n: int = 1000, seconds: float = 15.0) -> None:
    with tempfile.TemporaryDirectory(prefix="monitor-crowd-") as tmp, farm(Path(tmp) / "farm") as targets:
        cpu = None
        if (os.cpu_count() or 1) >= 2:  # as `make bench`: the monitor alone on CPU 1
            for pid in targets.pids.values():
                pin(pid, {0})
            os.sched_setaffinity(0, {0})
            cpu = 1
        found = measure(Path(tmp) / "crowd", targets, n, seconds, cpu)
    errors = sorted(abs(e) for e in found.slow_errors)
    print(f"crowd: wrk -c64 for {seconds:g} s on / with {n} targets probed every {INTERVAL:g} s")
    print(f"  requests per second:          {found.requests_per_second:,.0f} (p99 {found.latency_p99})")
    print(f"  probes during the crowd:      {found.probes} ({found.failures} failed)")
    print(f"  scheduler lag p99, quiet:     <= {found.lag_quiet_p99 * 1000:g} ms")
    print(f"  scheduler lag p99, crowd:     <= {found.lag_crowd_p99 * 1000:g} ms")
    calm = sorted(abs(e) for e in found.quiet_errors)
    print(f"  100 ms target's error p99:    {runs.quantile(errors, 0.99) * 1000:.2f} ms ({len(errors)} probes)")
    print(f"    the same, quiet:            {runs.quantile(calm, 0.99) * 1000:.2f} ms ({len(calm)} probes)")


if __name__ == "__main__":
    main(*(int(a) if i == 0 else float(a) for i, a in enumerate(sys.argv[1:3])))  # type: ignore[arg-type]
