"""The PostgreSQL store's `Locations` queries (`monitor.store.protocols.Locations`):
the reads on one of the readers' connections, the publications on a connection of their
own (`Publisher`, `monitor locations` in `pg_stat_activity`), each in a transaction of
its own: never in the writer's batch, whose row locks another instance's batch may wait
for while it waits for `PUBLISH_LOCK`.

Every publication numbers its rows from the `location_changes` sequence, and a reader
asks for the rows numbered after the newest it saw (`location_states_by_change`). A
sequence alone does not keep that promise with several writers: a publication that
took 41 may commit after one that took 42, and a reader that saw 42 would never read
41. So each publication takes `PUBLISH_LOCK` (an advisory lock held to its commit)
before its number: numbers are taken, and committed, one publication after another."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import AsyncConnection

from monitor.errors import StoreError
from monitor.result import State
from monitor.store.postgres.failures import reason as why
from monitor.store.postgres.schema import CONNECT_TIMEOUT, session
from monitor.store.postgres.url import redacted
from monitor.store.records import LocationChanges, LocationSeen, LocationState

Conn = AsyncConnection[tuple[Any, ...]]

PUBLISH_LOCK = 0x6D6F6E6C6F63  # "monloc" as a number: publications, one at a time
NAME = "monitor locations"


class Publisher:
    """This instance's publications, on a connection opened at the first and opened
    again after the session broke; `StoreError` when the database refuses one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Conn | None = None

    async def publish(self, seen: LocationSeen, states: Sequence[LocationState]) -> None:
        try:
            conn = await self._connection()
            async with conn.transaction():
                await publish(conn, seen, states)
        except psycopg.Error as exc:
            raise StoreError(f"cannot write {redacted(self.url)}: {str(exc).strip()}", why(exc)) from exc

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def _connection(self) -> Conn:
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            await self.close()
        if self._conn is None:
            self._conn = await AsyncConnection.connect(
                session(self.url), autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name=NAME
            )
        return self._conn


async def publish(conn: Conn, seen: LocationSeen, states: Sequence[LocationState]) -> None:
    """One statement per table, whatever the number of targets, in a transaction of its
    own that takes `PUBLISH_LOCK` first: it touches nothing but these two tables, so
    publications wait for each other and never for anything else."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (PUBLISH_LOCK,))
    await conn.execute(
        "INSERT INTO location_seen (location, seen, shortest, offline) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (location) DO UPDATE SET seen = excluded.seen, shortest = excluded.shortest, "
        "offline = excluded.offline",
        (seen.location, seen.seen, seen.shortest, seen.offline),
    )
    if not states:
        return
    cur = await conn.execute("SELECT nextval('location_changes')")
    row = await cur.fetchone()
    assert row is not None
    columns = list(
        zip(*((s.target, s.since, s.at, s.latency, s.state.value, s.reason, s.detail) for s in states), strict=True)
    )
    await conn.execute(
        "INSERT INTO location_states (target, location, since, at, latency, state, reason, detail, change) "
        "SELECT t, %s, s, a, l, st, r, d, %s FROM unnest(%s::text[], %s::float8[], %s::float8[], %s::float8[], "
        "%s::text[], %s::text[], %s::text[]) AS u (t, s, a, l, st, r, d) "
        "ON CONFLICT (target, location) DO UPDATE SET since = excluded.since, at = excluded.at, "
        "latency = excluded.latency, state = excluded.state, reason = excluded.reason, detail = excluded.detail, "
        "change = excluded.change",
        (seen.location, row[0], *(list(c) for c in columns)),
    )


async def seen(conn: Conn) -> list[LocationSeen]:
    cur = await conn.execute("SELECT location, seen, shortest, offline FROM location_seen ORDER BY location")
    return [LocationSeen(name, at, shortest, bool(offline)) for name, at, shortest, offline in await cur.fetchall()]


async def changes(conn: Conn, after: int) -> LocationChanges:
    """The newest number first: a row committed between the two statements is read
    with a number above it, never skipped."""
    cur = await conn.execute("SELECT COALESCE(max(change), 0) FROM location_states")
    row = await cur.fetchone()
    newest = int(row[0]) if row is not None else 0
    cur = await conn.execute(
        "SELECT s.target, s.location, s.state, s.since, s.at, s.reason, s.detail, s.latency, "
        "COALESCE(l.offline, false), s.change FROM location_states s "
        "LEFT JOIN location_seen l ON l.location = s.location WHERE s.change > %s "
        "ORDER BY s.target, s.location",
        (after,),
    )
    states: list[LocationState] = []
    for target, location, state, since, at, reason, detail, latency, offline, change in await cur.fetchall():
        states.append(LocationState(target, location, State(state), since, at, reason, detail, latency, bool(offline)))
        newest = max(newest, int(change))
    return LocationChanges(tuple(states), newest)
