"""`python -m bench.latency [--window S] [--rounds N]`: only `make bench`'s 20,000-target
run (30 s interval, every 50th target the 100 ms one, one core), repeated, for the
latency error's spread between runs without the rest of the bench."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench import runs
from bench.__main__ import _pin_farm
from bench.farm import farm


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=60.0, help="seconds measured per run (default 60)")
    parser.add_argument("--rounds", type=int, default=2, help="runs, each a fresh monitor (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitor-latency-") as tmp:
        folder = Path(tmp)
        with farm(folder / "farm") as targets:
            cpu = _pin_farm(targets)
            for i in range(args.rounds):
                c = runs.capacity(folder / f"run{i}", targets, 20_000, 30.0, args.window, 50, cpu)
                errors = sorted(abs(e) for e in c.slow_errors)
                print(
                    f"run {i + 1}: {c.window:.0f} s window, lag p50 ≤ {c.lag_p50 * 1e3:.0f} ms, "
                    f"p99 ≤ {c.lag_p99 * 1e3:.0f} ms, {c.cpu_share:.0%} of the core, {c.started} probes, "
                    f"{c.failures} failed; 100 ms target: {len(errors)} probes, error median "
                    f"{runs.quantile(errors, 0.5) * 1e3:.2f} ms, p99 {runs.quantile(errors, 0.99) * 1e3:.2f} ms, "
                    f"max {errors[-1] * 1e3:.1f} ms",
                    flush=True,
                )


if __name__ == "__main__":
    main()
