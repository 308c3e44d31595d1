"""The locations sync's reads on PostgreSQL (a throw-away cluster of Debian's
`postgresql` on loopback, or `--url`, an empty database of yours): `--locations`
locations of `--targets` targets each, probed every `--interval` seconds and publishing
every `--round` seconds (the sync's rounds: 5 s at most), each round's publication the
targets probed since the last one (as `monitor.cluster.member` publishes). Per round,
one reader reads the rows back twice: every row (what each round read before the change
numbers) and only those published after the newest number it read (what it reads now);
printed: the rows and the milliseconds of each read, the median over `--rounds` rounds.

    python -m bench.locsync [--targets 20000] [--locations 2] [--interval 30] [--round 5] [--rounds 12]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench.pgstore import database
from monitor.result import State
from monitor.store import LocationSeen, LocationState
from monitor.store.postgres.schema import migrate_url
from monitor.store.postgres.store import PostgresStore


def _rows(location: str, ids: list[str], at: float) -> list[LocationState]:
    return [LocationState(tid, location, State.UP, at - 3600.0, at, "ok", "HTTP 200", 0.02) for tid in ids]


async def measure(
    url: str, targets: int, locations: int, interval: float, every: float, rounds: int
) -> dict[str, float]:
    store = PostgresStore(url, observe=False)
    await store.open()
    names = [f"loc{n}" for n in range(locations)]
    ids = [f"target-{n:06d}" for n in range(targets)]
    share = max(1, round(targets * every / interval))  # probed in one round
    full_rows, full_ms, since_rows, since_ms = [], [], [], []
    try:
        now = time.time()
        for name in names:  # every target published once: the state at the start
            await store.publish_location(LocationSeen(name, now, interval), _rows(name, ids, now))
        mark = (await store.location_changes(0)).newest
        for n in range(rounds):
            at = now + (n + 1) * every
            start = n * share % targets
            probed = (ids + ids)[start : start + share]
            for name in names:
                await store.publish_location(LocationSeen(name, at, interval), _rows(name, probed, at))
            began = time.perf_counter()
            whole = await store.location_changes(0)
            full_ms.append((time.perf_counter() - began) * 1e3)
            full_rows.append(len(whole.states))
            began = time.perf_counter()
            changed = await store.location_changes(mark)
            since_ms.append((time.perf_counter() - began) * 1e3)
            since_rows.append(len(changed.states))
            mark = changed.newest
    finally:
        await store.close()
    return {
        "full_rows": statistics.median(full_rows),
        "full_ms": statistics.median(full_ms),
        "since_rows": statistics.median(since_rows),
        "since_ms": statistics.median(since_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=20_000)
    parser.add_argument("--locations", type=int, default=2)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--round", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a throw-away cluster)")
    args = parser.parse_args()
    with database(args.url) as url:
        migrate_url(url)
        found = asyncio.run(measure(url, args.targets, args.locations, args.interval, args.round, args.rounds))
    print(
        f"{args.targets:,} targets × {args.locations} locations at {args.interval:g} s, a round every "
        f"{args.round:g} s (median of {args.rounds}): every row {found['full_rows']:,.0f} rows, "
        f"{found['full_ms']:.0f} ms; only the changed {found['since_rows']:,.0f} rows, {found['since_ms']:.0f} ms"
    )


if __name__ == "__main__":
    main()
