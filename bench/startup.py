"""`python -m bench.startup [N ...]`: `monitor run` of N HTTP targets every 60 s (every
50th another, as `bench.scale` writes them; no farm: the targets are closed ports, the
start-up does not depend on them), from the process's start to `/healthz` answering 200:
the wall time and the CPU the process took by then (utime + stime, robust to a loaded
machine where the wall time is not)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.monitorproc import TargetSpec, monitor_run, write_config
from bench.procstat import cpu_seconds


def startup(folder: Path, n: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) from the start of `monitor run` to `/healthz` 200."""
    specs = [
        TargetSpec(f"t{i}-slow" if i % 50 == 0 else f"t{i}", f"http://127.0.0.1:{10 if i % 50 == 0 else 9}/x")
        for i in range(n)
    ]
    config = write_config(folder, specs, "60s")
    with monitor_run(folder, config) as mon:
        return mon.startup, cpu_seconds(mon.pid)


def main() -> None:
    for n in [int(a) for a in sys.argv[1:]] or [20_000, 100_000]:
        with tempfile.TemporaryDirectory(prefix="monitor-startup-") as tmp:
            wall, cpu = startup(Path(tmp), n)
        print(f"start-up at {n:,} targets: {wall:.1f} s to /healthz 200, {cpu:.1f} CPU-s", flush=True)


if __name__ == "__main__":
    main()
