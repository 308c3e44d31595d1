"""The PostgreSQL store's costs, on a throw-away cluster of Debian's `postgresql` on
loopback (or `--url`, an empty database of yours):

- **outbox**: the latency of one `enqueue` (one alert, one notifier: one small
  synchronous transaction, on the event loop as the dispatcher calls it), and of one
  `head` + `delivered`;
- **events**: the latency of one `add_event` (committed before it returns, in one small
  synchronous transaction, on the event loop as the runtime calls it);
- **COPY against pipeline mode**: 20,000 raw results written once as the writer does
  (COPY into a temporary table, merged by key in one statement) and once as
  `executemany` of `INSERT ... ON CONFLICT` (psycopg sends it in pipeline mode: no
  round trip per row, one statement per row for the server);
- **the writer on the event loop**: a 1 ms ticker's overshoot (how late the loop runs
  a timer) while the store takes 20,000 targets' results at 30 s (667 a second) for
  `--seconds`, then while it writes a backlog of 20,000 at once; and the CPU time it
  cost per result. The GIL switch interval is `monitor run`'s (1 ms).

    python -m bench.pgstore [--seconds 10] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from monitor.notifiers.base import Alert
from monitor.result import Event, Result, State
from monitor.serve import SWITCH_INTERVAL
from monitor.store.postgres.outbox import PostgresOutbox
from monitor.store.postgres.schema import migrate_url
from monitor.store.postgres.store import PostgresStore

RATE = 20_000 / 30.0  # results a second: 20,000 targets every 30 s


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def outbox_latency(url: str, n: int = 1000) -> dict[str, float]:
    box = PostgresOutbox(url)
    box.open()
    enqueue, drain = [], []
    try:
        for i in range(n):
            alert = Alert(f"bench:down:{i}", "down", "bench", "Bench", "", "UP", "DOWN", "timeout", time.time())
            began = time.perf_counter()
            box.enqueue(alert, ["hook"])
            enqueue.append(time.perf_counter() - began)
        for _ in range(n):
            began = time.perf_counter()
            head = box.head("hook")
            assert head is not None
            box.delivered(head.seq)
            drain.append(time.perf_counter() - began)
    finally:
        box.close()
    return {
        "enqueue_p50": statistics.median(enqueue),
        "enqueue_p99": _quantile(enqueue, 0.99),
        "head_delivered_p50": statistics.median(drain),
    }


async def event_latency(url: str, n: int = 1000) -> dict[str, float]:
    store = PostgresStore(url)
    await store.open()
    took = []
    try:
        for i in range(n):
            event = Event(f"bench-{i % 50}", time.time(), State.UP, State.DOWN, "timeout", "no answer")
            began = time.perf_counter()
            store.add_event(event)
            took.append(time.perf_counter() - began)
    finally:
        await store.close()
    return {"p50": statistics.median(took), "p99": _quantile(took, 0.99)}


def copy_against_pipeline(url: str, rows: int = 20_000) -> dict[str, float]:
    base = time.time()
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute("INSERT INTO targets (id) VALUES ('bench-copy'), ('bench-pipeline') RETURNING key")
        copied_key, pipelined_key = (int(str(key)) for (key,) in cur.fetchall())
        data = [(copied_key, 1, base + i, 120_000, 200, None, None) for i in range(rows)]
        conn.execute("CREATE TEMPORARY TABLE incoming_results (LIKE results INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        began = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(
                "COPY incoming_results (target, flags, at, duration, status_code, reason, detail) FROM STDIN"
            ) as copy:
                for row in data:
                    copy.write_row(row)
            cur.execute(
                "WITH moved AS (DELETE FROM incoming_results RETURNING *) INSERT INTO results SELECT * FROM moved "
                "ON CONFLICT (target, location, at) DO UPDATE SET flags = excluded.flags"
            )
        copied = time.perf_counter() - began
        began = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO results (target, flags, at, duration, status_code, reason, detail) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (target, location, at) DO UPDATE SET flags = "
                "excluded.flags",
                [(pipelined_key, *row[1:]) for row in data],
            )
        pipelined = time.perf_counter() - began
    return {"copy_rows_per_s": rows / copied, "pipeline_rows_per_s": rows / pipelined}


async def writer_on_the_loop(url: str, seconds: float) -> dict[str, float]:
    sys.setswitchinterval(SWITCH_INTERVAL)  # as `monitor run` sets it
    store = PostgresStore(url)
    await store.open()
    late: list[tuple[float, float]] = []  # (when, how late) of each tick
    stop = False

    async def ticker() -> None:
        while not stop:
            due = time.perf_counter() + 0.001
            await asyncio.sleep(0.001)
            late.append((due, time.perf_counter() - due))

    tick = asyncio.create_task(ticker())
    cpu0, sent, began = time.process_time(), 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        while sent < elapsed * RATE:
            store.add_result(f"t{sent % 20_000}", Result(True, duration=0.12, started=time.time(), status_code=200))
            sent += 1
        await asyncio.sleep(0.01)
    await store.flush()
    cpu, ended = time.process_time() - cpu0, time.perf_counter()
    for i in range(20_000):
        store.add_result(f"t{i}", Result(True, duration=0.12, started=time.time() + 1, status_code=200))
    await store.flush()
    stop = True
    await tick
    await store.close()
    first = [lag for at, lag in late if at < began + 1.0]  # every target new to the store
    steady = [lag for at, lag in late if began + 1.0 <= at < ended]
    burst = [lag for at, lag in late if at >= ended]
    # The ticker's own cost (a wake-up every millisecond) is in the CPU time too.
    return {
        "steady_p99": _quantile(steady, 0.99),
        "steady_max": max(steady),
        "first_second_max": max(first),
        "burst_max": max(burst),
        "cpu_us_per_result": cpu / max(sent, 1) * 1e6,
    }


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from bench.dbgrowth import postgresql_database

    with postgresql_database() as fresh:
        yield fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a throw-away cluster)")
    args = parser.parse_args()
    with database(args.url) as url:
        migrate_url(url)
        box = outbox_latency(url)
        print(
            f"outbox enqueue (one alert, one notifier): median {box['enqueue_p50'] * 1e6:.0f} µs, "
            f"p99 {box['enqueue_p99'] * 1e6:.0f} µs; head + delivered median {box['head_delivered_p50'] * 1e6:.0f} µs"
        )
        events = asyncio.run(event_latency(url))
        print(
            f"add_event (committed before it returns): median {events['p50'] * 1e6:.0f} µs, "
            f"p99 {events['p99'] * 1e6:.0f} µs"
        )
        ways = copy_against_pipeline(url)
        print(
            f"20,000 raw results: COPY + merge {ways['copy_rows_per_s']:,.0f} rows/s, "
            f"executemany in pipeline mode {ways['pipeline_rows_per_s']:,.0f} rows/s"
        )
        loop = asyncio.run(writer_on_the_loop(url, args.seconds))
        print(
            f"writer task at {RATE:.0f} results/s for {args.seconds:g} s: 1 ms timer late by p99 "
            f"{loop['steady_p99'] * 1e3:.2f} ms, max {loop['steady_max'] * 1e3:.2f} ms (the first second, every "
            f"target new: max {loop['first_second_max'] * 1e3:.2f} ms); a backlog of 20,000 "
            f"written at once: max {loop['burst_max'] * 1e3:.2f} ms; "
            f"{loop['cpu_us_per_result']:.0f} µs CPU per result (whole process, ticker included)"
        )


if __name__ == "__main__":
    main()
