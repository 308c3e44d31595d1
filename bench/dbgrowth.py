"""Database growth per target per year, measured through the real store.

Simulates `--days` of probe results every `--interval` seconds for `--targets` targets
(log-normal latency around 120 ms, a short outage about once a week, a maintenance hour
a month) through `SQLiteStore` with a simulated clock, pruning raw results daily as the
running monitor does, then prints the database's size per target scaled to a year, and
what it is made of (SQLite's `dbstat` table, when compiled in).

    python -m bench.dbgrowth [--targets 3] [--days 365] [--interval 30]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from monitor.result import Event, Reason, Result, State
from monitor.store.sqlite.store import SQLiteStore

DAY = 86400.0
START = 1_700_000_000.0
BUDGET = 1_000_000  # bytes per target per year (BENCHMARKS.md)


# Tables that grow with time; the others hold a fixed window (raw results) or a row each.
GROWING = ("rollups", "events", "events_by_target", "events_by_time")


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

    @property
    def growing(self) -> int:
        return sum(size for name, size in self.tables.items() if name in GROWING)

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


def _day(store: SQLiteStore, rng: random.Random, day: int, targets: int, interval: float) -> int:
    base, added = START + day * DAY, 0
    for t in range(targets):
        tid = f"target-{t}"
        outage = base + rng.uniform(0, DAY) if rng.random() < 1 / 7 else None
        maint = day % 30 == 15
        if outage is not None:
            store.add_event(Event(tid, outage, State.UP, State.DOWN, Reason.TIMEOUT, "timeout"))
            store.add_event(Event(tid, outage + 600, State.DOWN, State.UP, Reason.OK))
        at = base + t * 0.37
        while at < base + DAY:
            in_outage = outage is not None and outage <= at < outage + 600
            in_maint = maint and 3600 <= at - base < 7200
            if in_outage:
                result = Result(False, Reason.TIMEOUT, "no answer", 10.0, at)
            else:
                result = Result(True, Reason.OK, "", rng.lognormvariate(-2.1, 0.25), at, status_code=200)
            store.add_result(tid, result, in_maint)
            added += 1
            at += interval
    return added


async def measure(targets: int = 3, days: int = 365, interval: float = 30.0, folder: Path | None = None) -> Growth:
    """Run the simulation in `folder` (a temporary one by default)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = (folder or Path(tmp)) / "monitor.db"
        clock, rng, results = _Clock(), random.Random(42), 0
        store = SQLiteStore(path, clock=clock, flush_interval=3600.0, batch_size=50_000)
        await store.open()
        for day in range(days):
            results += _day(store, rng, day, targets, interval)
            clock.now = START + (day + 1) * DAY
            await store.flush()
            await store.prune(clock.now)
        await store.close()
        return Growth(targets, days, results, path.stat().st_size, _tables(path))


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
    args = parser.parse_args()
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
