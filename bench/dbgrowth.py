"""Database growth per target per year, measured through the real store.

Simulates `--days` of probe results every `--interval` seconds for `--targets` targets
(log-normal latency around 120 ms, a short outage about once a week, a maintenance hour
a month) through the real store with a simulated clock, pruning raw results daily as the
running monitor does, then prints the database's size per target scaled to a year, and
what it is made of.

- SQLite (the default): `SQLiteStore`, one flush a simulated day; sizes from SQLite's
  `dbstat` table.
- PostgreSQL (`--postgresql`, on a throw-away cluster of Debian's `postgresql`, or
  `--url` for a database of yours that it fills): `PostgresStore` running as the monitor
  does (its hourly housekeeping deletes expired raw results and packs finished days'
  rollups), flushed every `--flush` simulated seconds so each hourly rollup row is
  rewritten as it is in a running monitor, and `VACUUM` once a simulated day, as
  autovacuum does at its default thresholds; sizes from `pg_relation_size` of the
  monitor's tables that hold per-target rows, with their indexes and TOAST.

    python -m bench.dbgrowth [--targets 3] [--days 365] [--interval 30]
    python -m bench.dbgrowth --postgresql [--targets 3] [--days 60] [--flush 600]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.result import Event, Reason, Result, State
from monitor.store import HistoryWriter
from monitor.store.sqlite.store import SQLiteStore

DAY = 86400.0
START = 1_700_000_000.0
BUDGET = 1_000_000  # bytes per target per year (BENCHMARKS.md)


# Tables that grow with time; the others hold a fixed window (raw results) or a row each.
GROWING = ("rollups", "events", "events_by_target", "events_by_time")
# On PostgreSQL hourly rollups are a fixed window too: finished days are packed.
PG_GROWING = ("rollup_days", "events")
PG_TABLES = ("results", "rollups", "rollup_days", "events", "latest", "targets", "runs")


@dataclass(frozen=True)
class Growth:
    """What `measure` found, in bytes. `per_target_year` is the file per target after a
    year: the fixed raw window plus a year of the growing tables (scaled when fewer days
    were simulated)."""

    targets: int
    days: int
    results: int
    file_size: int
    tables: dict[str, int]
    growing_tables: tuple[str, ...] = GROWING

    @property
    def growing(self) -> int:
        return sum(size for name, size in self.tables.items() if name in self.growing_tables)

    @property
    def growth_per_target_year(self) -> float:
        return self.growing / self.targets * 365 / self.days

    @property
    def per_target_year(self) -> float:
        fixed = self.file_size - self.growing
        return fixed / self.targets + self.growth_per_target_year


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _day(
    store: HistoryWriter, rng: random.Random, day: int, targets: int, interval: float, slices: int = 1
) -> Iterator[int]:
    """Queue a simulated day of every target's results, in `slices` stretches of time
    (yielding how many results each added, so the caller can flush in between)."""
    base = START + day * DAY
    outages = [base + rng.uniform(0, DAY) if rng.random() < 1 / 7 else None for _ in range(targets)]
    maint = day % 30 == 15
    for t, outage in enumerate(outages):
        if outage is not None:
            store.add_event(Event(f"target-{t}", outage, State.UP, State.DOWN, Reason.TIMEOUT, "timeout"))
            store.add_event(Event(f"target-{t}", outage + 600, State.DOWN, State.UP, Reason.OK))
    step = DAY / slices
    for piece in range(slices):
        added, lo, hi = 0, base + piece * step, base + (piece + 1) * step
        for t, outage in enumerate(outages):
            first = base + t * 0.37
            at = first + max(0, -(-(lo - first) // interval)) * interval
            while at < hi:
                in_outage = outage is not None and outage <= at < outage + 600
                in_maint = maint and 3600 <= at - base < 7200
                if in_outage:
                    result = Result(False, Reason.TIMEOUT, "no answer", 10.0, at)
                else:
                    result = Result(True, Reason.OK, "", rng.lognormvariate(-2.1, 0.25), at, status_code=200)
                store.add_result(f"target-{t}", result, in_maint)
                added += 1
                at += interval
        yield added


async def measure(targets: int = 3, days: int = 365, interval: float = 30.0, folder: Path | None = None) -> Growth:
    """Run the simulation in `folder` (a temporary one by default)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = (folder or Path(tmp)) / "monitor.db"
        clock, rng, results = _Clock(), random.Random(42), 0
        store = SQLiteStore(path, clock=clock, flush_interval=3600.0, batch_size=50_000)
        await store.open()
        for day in range(days):
            results += sum(_day(store, rng, day, targets, interval))
            clock.now = START + (day + 1) * DAY
            await store.flush()
            await store.prune(clock.now)
        await store.close()
        return Growth(targets, days, results, path.stat().st_size, _tables(path))


async def measure_postgresql(
    url: str, targets: int = 3, days: int = 60, interval: float = 30.0, flush: float = 600.0
) -> Growth:
    """Run the simulation in the (empty) PostgreSQL database at `url`."""
    import psycopg

    from monitor.store.postgres.store import PostgresStore

    clock, rng, results = _Clock(), random.Random(42), 0
    store = PostgresStore(url, clock=clock, flush_interval=3600.0, batch_size=10**9, raw_retention=48 * 3600.0)
    slices = max(1, round(DAY / flush))
    await store.open()
    for day in range(days):
        for piece, added in enumerate(_day(store, rng, day, targets, interval, slices)):
            results += added
            clock.now = START + day * DAY + (piece + 1) * DAY / slices
            await store.flush()  # the running monitor's hourly housekeeping included
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM")  # what autovacuum does in real time
    await store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        sizes = {name: _pg_size(conn, name) for name in PG_TABLES}
    return Growth(targets, days, results, sum(sizes.values()), sizes, PG_GROWING)


_SIZE = (
    "SELECT COALESCE(SUM(pg_relation_size(c.oid)), 0) FROM pg_class c WHERE c.oid = %(t)s::regclass "
    "OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = %(t)s::regclass) "
    "OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = %(t)s::regclass)"
)


def _pg_size(conn: Any, table: str) -> int:
    """A table's pages with its indexes' and TOAST's (the data itself: not the free-space
    and visibility maps, a few pages per relation that would swamp a small simulation
    and are a ten-thousandth of a large one)."""
    row = conn.execute(_SIZE, {"t": table}).fetchone()
    return int(row[0]) if row else 0


@contextmanager
def postgresql_database() -> Iterator[str]:
    """A throw-away cluster of Debian's `postgresql` with one empty database: its URL."""
    from tests.postgresql import PostgreSQL

    server = PostgreSQL()
    server.start()
    try:
        yield server.create_database(migrated=False)
    finally:
        server.stop()


def _tables(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        return {name: int(size) for name, size in rows}
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=3)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--postgresql", action="store_true", help="on a throw-away PostgreSQL cluster")
    parser.add_argument("--url", help="on this (empty) PostgreSQL database instead")
    parser.add_argument("--flush", type=float, default=600.0, help="PostgreSQL: simulated seconds between flushes")
    args = parser.parse_args()
    if args.url:
        growth = asyncio.run(measure_postgresql(args.url, args.targets, args.days, args.interval, args.flush))
    elif args.postgresql:
        with postgresql_database() as url:
            growth = asyncio.run(measure_postgresql(url, args.targets, args.days, args.interval, args.flush))
    else:
        growth = asyncio.run(measure(args.targets, args.days, args.interval))
    print(
        f"database size after a year: {growth.per_target_year / 1e6:.3f} MB per target "
        f"(budget {BUDGET / 1e6:.0f} MB), of which history growing "
        f"{growth.growth_per_target_year / 1e6:.3f} MB per year "
        f"({growth.targets} targets, {growth.days} days simulated, {growth.results} results "
        f"every {args.interval:g}s)"
    )
    for name, size in growth.tables.items():
        if size > 4096 * growth.targets:
            print(f"  {name:<20} {size / growth.targets:>12,.0f} bytes per target")


if __name__ == "__main__":
    main()
