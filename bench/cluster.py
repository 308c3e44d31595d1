"""Several `monitor run` instances as replicas of one location on one PostgreSQL (a
throw-away cluster of Debian's `postgresql`), against the local farm:

- each instance's scheduler lag p99 over `--window` seconds, once the members have seen
  each other and every target was probed once (the light /metrics scrape: the lag
  histogram only), and the probes it made a second;
- PostgreSQL's CPU over the same window (the postmaster and every backend, from /proc:
  the backends alive and those reaped), its commits and rows written a second, its WAL
  and its database's growth a second;
- the membership's stability: the "cluster members changed" lines each instance logged
  from the settling to the end of the window (0 when no live member looked dead);
- the sender's failover: the sender (the `leases` row's holder) killed with SIGKILL, the
  seconds until another instance holds the lease, and until every survivor has taken
  its share of the dead one's targets ("targets moved" in its log).

    python -m bench.cluster [--instances 3] [--targets 20000] [--interval 30] [--window 60]

`--targets` is per instance: the configuration lists `instances × targets` HTTP targets
and rendezvous hashing gives each instance about `targets` of them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.farm import Farm, farm
from bench.monitorproc import Monitor, TargetSpec, lag_quantile, monitor_run
from bench.procstat import children, cpu_seconds
from bench.runs import kind_targets

_TICK_FIELDS = (13, 14)  # cutime, cstime after the state field: reaped children's CPU


@dataclass
class Figures:
    """What one run measured."""

    instances: int
    targets: int  # per instance (configured: instances × targets)
    interval: float
    window: float
    lag_p99: list[float] = field(default_factory=list)  # per instance, seconds (a bucket bound)
    probes_per_second: list[float] = field(default_factory=list)
    owned: list[int] = field(default_factory=list)
    member_changes: list[int] = field(default_factory=list)  # per instance, over the window
    pg_cpu: float = 0.0  # cores PostgreSQL used on average over the window
    commits: float = 0.0  # a second
    rows: float = 0.0  # inserted + updated a second
    wal: float = 0.0  # bytes a second
    growth: float = 0.0  # database bytes a second
    lease_failover: float | None = None  # seconds from the sender's kill to a new holder
    takeover: float | None = None  # seconds until every survivor moved the dead one's targets
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        n = self.instances
        found = [
            f"{n} instances, one location, one PostgreSQL; {n * self.targets:,} targets every {self.interval:g}s "
            f"(~{self.targets:,} each), window {self.window:g}s",
        ]
        for i, (lag, rate, owned) in enumerate(zip(self.lag_p99, self.probes_per_second, self.owned, strict=True)):
            found.append(
                f"  instance {i}: {owned:,} targets, {rate:,.0f} probes/s, scheduler lag p99 ≤ {lag * 1000:.0f} ms"
            )
        found += [
            f"  members changed during the window: {' / '.join(str(c) for c in self.member_changes)}",
            f"  PostgreSQL: {self.pg_cpu:.0%} of a core, {self.commits:,.1f} commits/s, "
            f"{self.rows:,.0f} rows written/s, WAL {self.wal / 1e6:.2f} MB/s, database +{self.growth / 1e3:,.0f} kB/s",
            f"  sender killed (SIGKILL): lease taken over after {seconds(self.lease_failover)}, "
            f"its targets moved after {seconds(self.takeover)}",
            *[f"  {note}" for note in self.notes],
        ]
        return found


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def write_config(folder: Path, url: str, specs: Sequence[TargetSpec], interval: float) -> Path:
    lines = [
        "[monitor]",
        'title = "bench cluster"',
        f'store = "{url}"',
        "",
        "[defaults]",
        f'interval = "{interval:g}s"',
        'timeout = "2s"',
        "",
    ]
    for spec in specs:
        lines += [f"[targets.{spec.id}]", f'url = "{spec.url}"', *[f"{k} = {v}" for k, v in spec.extra], ""]
    path = folder / "targets.toml"
    path.write_text("\n".join(lines))
    return path


@contextlib.contextmanager
def instances(folder: Path, config: Path, n: int) -> Iterator[list[Monitor]]:
    with contextlib.ExitStack() as stack:
        found = []
        for i in range(n):
            home = folder / f"instance-{i}"
            (home / "data").mkdir(parents=True)
            (home / "data" / "instance-id").write_text(f"bench-{i}\n")
            found.append(stack.enter_context(monitor_run(home, config)))
        yield found


def pg_cpu(postmaster: int) -> float:
    """CPU seconds of the postmaster, its live backends and those reaped."""
    with open(f"/proc/{postmaster}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    reaped = (int(fields[_TICK_FIELDS[0]]) + int(fields[_TICK_FIELDS[1]])) / os.sysconf("SC_CLK_TCK")
    total = cpu_seconds(postmaster) + reaped
    for pid in children(postmaster):
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def _counters(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[float, float, float, float]:
    row = conn.execute(
        "SELECT xact_commit, tup_inserted + tup_updated, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'), "
        "pg_database_size(current_database()) FROM pg_stat_database WHERE datname = current_database()"
    ).fetchone()
    assert row is not None
    return tuple(float(str(v)) for v in row)  # type: ignore[return-value]


def measure(folder: Path, targets: Farm, n: int, per: int, interval: float, window: float) -> Figures:
    from tests.postgresql import PostgreSQL

    figures = Figures(n, per, interval, window)
    folder.mkdir(parents=True, exist_ok=True)
    server = PostgreSQL()
    server.start()
    try:
        url = server.create_database()
        specs = kind_targets(targets, "http", n * per)
        config = write_config(folder, url, specs, interval)
        postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
        with instances(folder, config, n) as mons, psycopg.connect(url, autocommit=True) as conn:
            _settle(conn, mons, n, interval)
            figures.owned = [_moved_or_started(m) for m in mons]
            before = [m.metrics(light=True) for m in mons]
            changed = [_log(m).count("cluster members changed") for m in mons]
            cpu0, c0, began = pg_cpu(postmaster), _counters(conn), time.monotonic()
            time.sleep(window)
            after = [m.metrics(light=True) for m in mons]
            figures.member_changes = [
                _log(m).count("cluster members changed") - c for m, c in zip(mons, changed, strict=True)
            ]
            cpu1, c1, wall = pg_cpu(postmaster), _counters(conn), time.monotonic() - began
            figures.lag_p99 = [lag_quantile(b, a, 0.99)[0] for b, a in zip(before, after, strict=True)]
            figures.probes_per_second = [(a.started - b.started) / wall for b, a in zip(before, after, strict=True)]
            figures.pg_cpu = (cpu1 - cpu0) / wall
            figures.commits, figures.rows, figures.wal, figures.growth = (
                (e - s) / wall for s, e in zip(c0, c1, strict=True)
            )
            _failover(conn, mons, figures)
    finally:
        server.stop()
    return figures


def _settle(conn: psycopg.Connection[tuple[object, ...]], mons: list[Monitor], n: int, interval: float) -> None:
    """Until every instance sees all the others (a renewal after the last start) and has
    probed its targets once (one interval), plus a renewal for good measure."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = conn.execute("SELECT count(*) FROM members WHERE renewed_at > extract(epoch FROM now()) - 10").fetchone()
        if row is not None and row[0] == n:
            break
        time.sleep(0.5)
    time.sleep(5.0 + interval + 5.0)


def _moved_or_started(mon: Monitor) -> int:
    text = (mon.data.parent / "monitor.log").read_text()
    found = re.findall(r"owned=(\d+)", text)
    return int(found[-1]) if found else 0


def _failover(conn: psycopg.Connection[tuple[object, ...]], mons: list[Monitor], figures: Figures) -> None:
    row = conn.execute("SELECT holder FROM leases WHERE name = 'sender'").fetchone()
    if row is None:
        figures.notes.append("no sender lease found: failover not measured")
        return
    holder = str(row[0])
    index = int(holder.rsplit("-", 1)[1])
    victim, survivors = mons[index], [m for i, m in enumerate(mons) if i != index]
    moved = [_log(m).count("targets moved") for m in survivors]
    os.kill(victim.pid, signal.SIGKILL)
    killed = time.monotonic()
    deadline = killed + 90
    while time.monotonic() < deadline and (figures.lease_failover is None or figures.takeover is None):
        now = time.monotonic() - killed
        if figures.lease_failover is None:
            found = conn.execute("SELECT holder FROM leases WHERE name = 'sender'").fetchone()
            if found is not None and str(found[0]) != holder:
                figures.lease_failover = now
        if figures.takeover is None and all(
            _log(m).count("targets moved") > k for m, k in zip(survivors, moved, strict=True)
        ):
            figures.takeover = now
        time.sleep(0.2)


def _log(mon: Monitor) -> str:
    return (mon.data.parent / "monitor.log").read_text()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--targets", type=int, default=20_000, help="per instance")
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--window", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monitor-bench-cluster-") as tmp, farm(Path(tmp) / "farm") as targets:
        figures = measure(Path(tmp), targets, args.instances, args.targets, args.interval, args.window)
    print("\n".join(figures.lines()))


if __name__ == "__main__":
    main()
