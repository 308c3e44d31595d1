"""The SQLite store's `Locations` queries (`monitor.store.protocols.Locations`): run
on the writer's connection (the writes) or the reader's."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from monitor.result import State
from monitor.store.records import LocationSeen, LocationState


def publish(conn: sqlite3.Connection, seen: LocationSeen, states: Sequence[LocationState]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO location_seen (location, seen, shortest, offline) VALUES (?, ?, ?, ?)",
        (seen.location, seen.seen, seen.shortest, int(seen.offline)),
    )
    conn.executemany(
        "INSERT OR REPLACE INTO location_states (target, location, state, since, at, reason, detail, latency) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(s.target, s.location, s.state.value, s.since, s.at, s.reason, s.detail, s.latency) for s in states],
    )


def seen(conn: sqlite3.Connection) -> list[LocationSeen]:
    rows = conn.execute("SELECT location, seen, shortest, offline FROM location_seen ORDER BY location")
    return [LocationSeen(name, at, shortest, bool(offline)) for name, at, shortest, offline in rows]


def states(conn: sqlite3.Connection) -> list[LocationState]:
    rows = conn.execute(
        "SELECT s.target, s.location, s.state, s.since, s.at, s.reason, s.detail, s.latency, "
        "COALESCE(l.offline, 0) FROM location_states s LEFT JOIN location_seen l ON l.location = s.location "
        "ORDER BY s.target, s.location"
    )
    return [
        LocationState(target, location, State(state), since, at, reason, detail, latency, bool(offline))
        for target, location, state, since, at, reason, detail, latency, offline in rows
    ]
