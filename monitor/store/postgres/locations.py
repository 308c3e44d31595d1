"""The PostgreSQL store's `Locations` queries (`monitor.store.protocols.Locations`):
coroutines on the writer's connection (the writes) or one of the readers'."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from monitor.result import State
from monitor.store.records import LocationSeen, LocationState

Conn = AsyncConnection[tuple[Any, ...]]


async def publish(conn: Conn, seen: LocationSeen, states: Sequence[LocationState]) -> None:
    """One statement per table, whatever the number of targets."""
    await conn.execute(
        "INSERT INTO location_seen (location, seen, shortest, offline) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (location) DO UPDATE SET seen = excluded.seen, shortest = excluded.shortest, "
        "offline = excluded.offline",
        (seen.location, seen.seen, seen.shortest, seen.offline),
    )
    if not states:
        return
    columns = list(
        zip(*((s.target, s.since, s.at, s.latency, s.state.value, s.reason, s.detail) for s in states), strict=True)
    )
    await conn.execute(
        "INSERT INTO location_states (target, location, since, at, latency, state, reason, detail) "
        "SELECT t, %s, s, a, l, st, r, d FROM unnest(%s::text[], %s::float8[], %s::float8[], %s::float8[], "
        "%s::text[], %s::text[], %s::text[]) AS u (t, s, a, l, st, r, d) "
        "ON CONFLICT (target, location) DO UPDATE SET since = excluded.since, at = excluded.at, "
        "latency = excluded.latency, state = excluded.state, reason = excluded.reason, detail = excluded.detail",
        (seen.location, *(list(c) for c in columns)),
    )


async def seen(conn: Conn) -> list[LocationSeen]:
    cur = await conn.execute("SELECT location, seen, shortest, offline FROM location_seen ORDER BY location")
    return [LocationSeen(name, at, shortest, bool(offline)) for name, at, shortest, offline in await cur.fetchall()]


async def states(conn: Conn) -> list[LocationState]:
    cur = await conn.execute(
        "SELECT s.target, s.location, s.state, s.since, s.at, s.reason, s.detail, s.latency, "
        "COALESCE(l.offline, false) FROM location_states s LEFT JOIN location_seen l ON l.location = s.location "
        "ORDER BY s.target, s.location"
    )
    return [
        LocationState(target, location, State(state), since, at, reason, detail, latency, bool(offline))
        for target, location, state, since, at, reason, detail, latency, offline in await cur.fetchall()
    ]
