"""`python -m bench` (`make bench`): every performance figure of BENCHMARKS.md, measured on a
local farm, printed next to its target and written to bench/out/.

On a machine with 2+ CPUs the farm, the load driver and this harness run on CPU 0 and
the process measured (the monitor, or the blackbox exporter) alone on CPU 1, so "one
core" means one core and the two probers are compared under the same conditions.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import statistics
import tempfile
import time
from pathlib import Path

import uvloop

from bench import blackbox, runs, scale, scrape
from bench.farm import Farm, farm
from bench.procstat import pin
from bench.report import Figure, Report

OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and short windows (a minute)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where results go (default {OUT})")
    args = parser.parse_args()
    sizes = Sizes(quick=args.quick)
    report = Report()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        folder = Path(tmp)
        with farm(folder / "farm") as targets:
            cpus = _pin_farm(targets)
            measure_all(folder, targets, sizes, cpus, report)
    report.notes.append(f"bench took {time.monotonic() - started:.0f} s")
    report.print()
    report.write(args.out)
    print(f"written to {args.out}/results.md and results.json")


class Sizes:
    """How big and how long each run is; `quick` for a fast look."""

    def __init__(self, quick: bool) -> None:
        self.rates = {"http": 500, "https": 200, "https-rsa": 200, "tcp": 500}
        self.warmup, self.window = (2.0, 3.0) if quick else (3.0, 5.0)
        self.rounds = 1 if quick else 3
        self.full_targets = 20_000  # the target's figure, at its 30 s interval
        self.full_window = 10.0 if quick else 30.0
        self.ladder_interval = 3.0
        self.ladder = (3000, 4500) if quick else (4500, 6000, 7500, 9000)
        self.ladder_window = 6.0 if quick else 10.0
        self.page_targets, self.page_repeat = 1000, 5 if quick else 9
        self.crowd_seconds = 5.0 if quick else 15.0
        self.db_targets, self.db_days = 2, 30 if quick else 60
        # Three replicas on one PostgreSQL: targets each, their interval, the window.
        self.cluster = (2000, 10.0, 10.0) if quick else (20_000, 30.0, 60.0)
        # (targets, interval) of the runs scraped every 15 s; the second is the target's figure
        self.scale = ((5_000, 10.0),) if quick else ((20_000, 30.0), (100_000, 60.0))
        self.scale_window = 30.0 if quick else 60.0
        self.scrape_sizes = (5_000,) if quick else (20_000, 100_000)


def _pin_farm(targets: Farm) -> int | None:
    """Farm and harness on CPU 0, the measured process on CPU 1 (None: no pinning)."""
    if (os.cpu_count() or 1) < 2:
        return None
    for pid in targets.pids.values():
        pin(pid, {0})
    os.sched_setaffinity(0, {0})
    return 1


def measure_all(folder: Path, targets: Farm, sizes: Sizes, cpu: int | None, report: Report) -> None:
    probers(folder, targets, sizes, cpu, report)
    capacity(folder, targets, sizes, cpu, report)
    scaled(folder, targets, sizes, cpu, report)
    scrape_cost(sizes, report)
    page(folder, targets, sizes, cpu, report)
    citizens(folder, targets, sizes, cpu, report)
    database(sizes, report)
    replicas(folder, targets, sizes, report)


def replicas(folder: Path, targets: Farm, sizes: Sizes, report: Report) -> None:
    """Three instances as replicas of one location on one PostgreSQL (`bench.cluster`)."""
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        report.notes.append("three instances on PostgreSQL not measured: apt-get install postgresql")
        return
    from bench import cluster

    per, interval, window = sizes.cluster
    found = cluster.measure(folder / "cluster", targets, 3, per, interval, window)
    command = f"python -m bench.cluster --instances 3 --targets {per} --interval {interval:g} --window {window:g}"
    worst = max(found.lag_p99, default=float("inf"))
    report.add(
        Figure(
            f"three replicas on one PostgreSQL, {per:,} targets each every {interval:g} s: scheduler lag p99",
            ", ".join(_ms(lag) for lag in found.lag_p99),
            "< 100 ms on every instance",
            worst < 0.1,
            f"{command}; targets per instance {', '.join(f'{n:,}' for n in found.owned)}",
            worst,
        )
    )
    report.add(
        Figure(
            "PostgreSQL under the three: CPU and writes",
            f"{found.pg_cpu:.0%} of a core; {found.rows:,.0f} rows/s, {found.commits:,.1f} commits/s, "
            f"WAL {found.wal / 1e6:.2f} MB/s",
            "reported",
            None,
            f"{command}; /proc of the postmaster and its backends, pg_stat_database",
            found.pg_cpu,
        )
    )
    failover = found.lease_failover
    report.add(
        Figure(
            "sender failover after kill -9",
            f"{failover:.1f} s (its targets moved after {cluster.seconds(found.takeover)})" if failover else "—",
            "< 30 s",
            failover is not None and failover < 30,
            f"{command}; the lease holder killed, until another instance holds the lease",
            failover or float("inf"),
        )
    )


def probers(folder: Path, targets: Farm, sizes: Sizes, cpu: int | None, report: Report) -> None:
    """Probes per CPU-second of the monitor and of the blackbox exporter, side by side."""
    if not blackbox.available():
        report.notes.append("prometheus-blackbox-exporter is not installed: no side-by-side figures")
    modules = {"http": "http_2xx", "https": "https_2xx", "https-rsa": "https_2xx", "tcp": "tcp_connect"}
    words = {
        "http": "HTTP",
        "https": "HTTPS, ECDSA P-256 leaf",
        "https-rsa": "HTTPS, RSA-2048 leaf",
        "tcp": "TCP connect",
    }
    wanted = {"http": 3.0, "https": 1.5, "https-rsa": 1.5}  # × the exporter
    for kind, rate in sizes.rates.items():
        specs = runs.kind_targets(targets, kind, rate)
        urls = [s.url.removeprefix("tcp://") for s in specs]
        both = runs.side_by_side(
            folder / f"tp-{kind}",
            specs,
            urls,
            modules[kind],
            targets.ca_file,
            rate,
            sizes.rounds,
            sizes.warmup,
            sizes.window,
            cpu,
        )
        mon, ref = both.median(both.monitor), both.median(both.blackbox)
        ratio = mon / ref if ref else None
        spread = ", ".join(f"{r.per_cpu_second:,.0f}" for r in both.monitor)
        probes = sum(r.probes for r in both.monitor)
        goal = wanted.get(kind)
        report.add(
            Figure(
                f"monitor: {words[kind]} probes per CPU-second (whole process)",
                f"{mon:,.0f} (median of {spread})",
                f"≥ {goal:g} × blackbox = {goal * ref:,.0f}" if goal and ref else "—",
                (ratio >= goal) if goal and ratio else None,
                f"{both.monitor[0].command}; {rate} {kind} targets every 1s; {sizes.rounds} windows of "
                f"{sizes.window:g}s alternating with the exporter's; {probes} probes, "
                f"{both.monitor[0].failures} failed",
                mon,
            )
        )
        if not both.blackbox:
            continue
        spread = ", ".join(f"{r.per_cpu_second:,.0f}" for r in both.blackbox)
        report.add(
            Figure(
                f"blackbox exporter {blackbox.version()}: {words[kind]} probes per CPU-second",
                f"{ref:,.0f} (median of {spread})",
                "—",
                None,
                f"{both.blackbox[0].command}, pinned like the monitor, monitor stopped meanwhile; "
                f"{sum(r.failures for r in both.blackbox)} failed",
                ref,
            )
        )
        report.add(
            Figure(
                f"ratio monitor / blackbox, {words[kind]}",
                f"{ratio:.2f} ×",
                f"≥ {goal:g} ×" if goal else "—",
                (ratio >= goal) if goal and ratio else None,
                "the two lines above",
                ratio,
            )
        )


def capacity(folder: Path, targets: Farm, sizes: Sizes, cpu: int | None, report: Report) -> None:
    """20,000 targets at 30 s on one core; then more, at a tenth of the interval."""
    base = runs.base_memory(folder / "mem-base", targets, sizes.warmup, cpu)
    n = sizes.full_targets
    full = runs.capacity(folder / "cap-full", targets, n, 30.0, sizes.full_window, 50, cpu, scrape=True)
    how = (
        f"{full.command}; {n} targets every 30s (every 50th the 100 ms target), "
        f"{full.window:.0f}s window, {full.started} probes, {full.failures} failed, "
        f"{full.cpu_share:.0%} of the core"
    )
    report.add(
        Figure(
            f"scheduler lag at {n:,} targets every 30 s, one core",
            f"p50 ≤ {_ms(full.lag_p50)}, p99 ≤ {_ms(full.lag_p99)}",
            "p99 < 100 ms",
            full.sustained,
            how,
            full.lag_p99,
        )
    )
    best = full if full.sustained else None
    for count in sizes.ladder:
        step = runs.capacity(
            folder / f"cap-{count}", targets, count, sizes.ladder_interval, sizes.ladder_window, 50, cpu
        )
        equivalent = int(count * 30 / sizes.ladder_interval)
        report.notes.append(
            f"one-core ladder: {count} targets every {sizes.ladder_interval:g}s (= {equivalent:,} at 30s): "
            f"lag p99 ≤ {_ms(step.lag_p99)}, {step.cpu_share:.0%} of the core, {step.started} probes, "
            f"{step.failures} failed -> {'sustained' if step.sustained else 'not sustained'}"
        )
        if not step.sustained:
            break
        best = step
    largest = 0 if best is None else int(best.targets * 30 / best.interval)
    report.add(
        Figure(
            "targets at a 30 s interval on one core, lag p99 < 100 ms",
            f"≥ {largest:,}" if best else "< 20,000",
            "≥ 20,000",
            largest >= 20_000,
            f"{n:,} measured at 30s; above that at {sizes.ladder_interval:g}s with a tenth of the targets "
            "(same probe rate; see the notes)",
            float(largest),
        )
    )
    errors = [abs(e) for e in full.slow_errors]
    report.add(
        Figure(
            f"latency error, 100 ms target, at {n:,} targets",
            f"median {_ms(runs.quantile(errors, 0.5), 2)}, "
            f"p99 {_ms(runs.quantile(errors, 0.99), 2)} ({len(errors)} probes)",
            "≤ 5 ms p99",
            runs.quantile(errors, 0.99) <= 0.005,
            "stored durations - 100 ms, same run as the lag above",
            runs.quantile(errors, 0.99),
        )
    )
    per_target = (full.rss - base) / (n - 1)
    report.add(
        Figure(
            "resident memory per target above the base",
            f"{per_target / 1024:.1f} KB ({base / 2**20:.0f} MB with 1 target, {full.rss / 2**20:.0f} MB with {n:,})",
            "≤ 10 KB",
            per_target <= 10 * 1024,
            "RSS from /proc/PID/statm, 1 target vs the run above",
            per_target,
        )
    )
    if full.scrape_seconds is not None:
        report.add(
            Figure(
                f"one full GET /metrics at {n:,} targets",
                f"{full.scrape_seconds:.2f} s",
                "—",
                None,
                "timed from outside after the window (the loop is busy meanwhile)",
                full.scrape_seconds,
            )
        )


def scaled(folder: Path, targets: Farm, sizes: Sizes, cpu: int | None, report: Report) -> None:
    """Start-up, lag, latency error, scrape time and memory while scraped every 15 s."""
    base = runs.base_memory(folder / "scale-base", targets, sizes.warmup, cpu)
    for n, interval in sizes.scale:
        s = scale.scale(folder / f"scale-{n}", targets, n, interval, sizes.scale_window, cpu)
        report.notes.append("python -m bench.scale: " + scale.describe(s, base))
        what = f"{n:,} targets every {interval:g} s, scraped every 15 s"
        report.add(
            Figure(f"start-up, {n:,} targets", f"{s.startup:.1f} s", "< 10 s", s.startup < 10, s.command, s.startup)
        )
        report.add(
            Figure(
                f"scheduler lag, {what}",
                f"p50 ≤ {_ms(s.lag_p50)}, p99 ≤ {_ms(s.lag_p99)} ({s.cpu_share:.0%} of the core)",
                "p99 < 100 ms",
                s.sustained,
                f"python -m bench.scale --targets {n} --interval {interval:g} --window {sizes.scale_window:g}; "
                f"{s.started} probes, {s.failures} failed",
                s.lag_p99,
            )
        )
        errors = [abs(e) for e in s.slow_errors]
        p99 = runs.quantile(errors, 0.99)
        report.add(
            Figure(
                f"latency error, 100 ms target, {what}",
                f"median {_ms(runs.quantile(errors, 0.5), 2)}, p99 {_ms(p99, 2)} ({len(errors)} probes)",
                "≤ 5 ms p99",
                p99 <= 0.005,
                "stored durations - 100 ms, same run",
                p99,
            )
        )
        if s.scrapes:
            median = statistics.median(s.scrapes)
            report.add(
                Figure(
                    f"GET /metrics from outside, {what}",
                    f"median {median:.2f} s ({', '.join(f'{t:.2f}' for t in s.scrapes)}; "
                    f"{s.scrape_bytes / 1e6:.0f} MB)",
                    "< 250 ms" if n == 20_000 else "—",
                    median < 0.25 if n == 20_000 else None,
                    "http.client on the farm's CPU, the whole body read",
                    median,
                )
            )
        per = (s.rss_peak - base) / max(1, n - 1)
        report.add(
            Figure(
                f"resident memory per target while scraped, {n:,} targets",
                f"{per / 1024:.1f} KB (at most {s.rss_peak / 2**20:.0f} MB after a scrape, "
                f"{base / 2**20:.0f} MB with 1)",
                "≤ 5 KB",
                per <= 5 * 1024,
                "RSS from /proc/PID/statm right after each scrape, the highest",
                per,
            )
        )


def scrape_cost(sizes: Sizes, report: Report) -> None:
    """The CPU of one /metrics text, in one process (less noisy than from outside)."""
    for n in sizes.scrape_sizes:
        c = uvloop.run(scrape.measure(n))
        cpu = statistics.median(c.cpu)
        report.add(
            Figure(
                f"CPU of one /metrics at {n:,} targets (in the scrape's thread)",
                f"{cpu * 1e3:.0f} ms median ({', '.join(f'{x * 1e3:.0f}' for x in c.cpu)}; {c.size / 1e6:.0f} MB)",
                "< 250 ms" if n == 20_000 else "—",
                cpu < 0.25 if n == 20_000 else None,
                f"python -m bench.scrape {n}; beside it a loopback exchange's p99 {c.exchange_p99 * 1e3:.2f} ms, "
                f"a 1 ms timer's overshoot p99 {c.overshoot_p99 * 1e3:.2f} ms",
                cpu,
            )
        )


def page(folder: Path, targets: Farm, sizes: Sizes, cpu: int | None, report: Report) -> None:
    times = runs.status_page(folder / "page", targets, sizes.page_targets, 4.0, sizes.page_repeat, cpu)
    report.add(
        Figure(
            f"status page with {times.targets:,} targets",
            f"{_ms(times.median, 1)} median (HTTP {times.status}, {times.size / 1024:.0f} KB)",
            "< 100 ms",
            times.status == 200 and times.median < 0.1,
            times.command,
            times.median,
        )
    )


def citizens(folder: Path, targets: Farm, sizes: Sizes, cpu: int | None, report: Report) -> None:
    """A crowd on `/` (wrk -c64) while 1,000 targets are probed: what it gets, what it costs."""
    from bench import crowd

    if not crowd.available():
        report.notes.append("the citizen crowd was not measured: apt-get install wrk")
        return
    found = crowd.measure(folder / "crowd", targets, sizes.page_targets, sizes.crowd_seconds, cpu)
    how = (
        f"{found.command}; {found.targets:,} targets every {crowd.INTERVAL:g}s (one in {crowd.SLOW_EVERY} the "
        f"100 ms target), {found.seconds:g}s of crowd after as long a quiet window; {found.probes} probes "
        f"during it, {found.failures} failed"
    )
    report.add(
        Figure(
            f"citizen crowd on / with {found.targets:,} targets: requests per second",
            f"{found.requests_per_second:,.0f} (p99 {found.latency_p99})",
            "≥ 2,000",
            found.requests_per_second >= 2000,
            how,
            found.requests_per_second,
        )
    )
    report.add(
        Figure(
            "scheduler lag p99 during the crowd",
            f"≤ {_ms(found.lag_crowd_p99)} (quiet: ≤ {_ms(found.lag_quiet_p99)})",
            "< 100 ms",
            found.lag_crowd_p99 <= 0.1,
            "the lag histogram's bucket holding the 99th percentile, same run",
            found.lag_crowd_p99,
        )
    )
    errors = [abs(e) for e in found.slow_errors]
    error = runs.quantile(errors, 0.99) if errors else float("inf")
    calm = [abs(e) for e in found.quiet_errors]
    report.add(
        Figure(
            "latency error of the 100 ms target during the crowd",
            f"p99 {_ms(error, 2)}, median {_ms(runs.quantile(errors, 0.5), 2)} ({len(errors)} probes; "
            f"quiet: p99 {_ms(runs.quantile(calm, 0.99), 2)})",
            "≤ 5 ms p99",
            error <= 0.005,
            "stored durations - 100 ms, same run",
            error,
        )
    )


def database(sizes: Sizes, report: Report) -> None:
    from bench import dbgrowth

    growth = asyncio.run(dbgrowth.measure(sizes.db_targets, sizes.db_days, 30.0))
    report.add(
        Figure(
            "database size per target after a year",
            f"{growth.per_target_year / 1e6:.3f} MB "
            f"(of which growing {growth.growth_per_target_year / 1e6:.3f} MB/year)",
            "≤ 1 MB",
            growth.per_target_year <= 1e6,
            f"python -m bench.dbgrowth --targets {sizes.db_targets} --days {sizes.db_days} --interval 30 "
            "(the real SQLiteStore, simulated clock, extrapolated to 365 days)",
            growth.per_target_year,
        )
    )
    if not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        report.notes.append("PostgreSQL growth not measured: apt-get install postgresql")
        return
    targets = 10 * sizes.db_targets
    with dbgrowth.postgresql_database() as url:
        pg = asyncio.run(dbgrowth.measure_postgresql(url, targets, sizes.db_days, 30.0, 600.0))
    report.add(
        Figure(
            "PostgreSQL: history growth per target-year",
            f"{pg.growth_per_target_year / 1e6:.3f} MB/year (and a fixed window of raw results and recent hours, "
            f"{(pg.per_target_year - pg.growth_per_target_year) / 1e6:.3f} MB per target)",
            "≤ 1 MB",
            pg.growth_per_target_year <= 1e6,
            f"python -m bench.dbgrowth --postgresql --targets {targets} --days {sizes.db_days} --flush 600 "
            "(the real PostgresStore on a throw-away cluster, simulated clock, extrapolated to 365 days)",
            pg.growth_per_target_year,
        )
    )


def _ms(seconds: float, digits: int = 0) -> str:
    if seconds == float("inf"):
        return "∞"
    return f"{seconds * 1000:.{digits}f} ms"


if __name__ == "__main__":
    main()
