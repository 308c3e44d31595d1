"""The SQLite store's `Locations` queries (`monitor.store.protocols.Locations`): run
on the writer's connection (the writes) or the reader's. One writer holds the file at
a time, so each publication numbers its rows one above the highest number stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from monitor.result import State
from monitor.store.records import LocationChanges, LocationSeen, LocationState


def publish(conn: sqlite3.Connection, seen: LocationSeen, states: Sequence[LocationState]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO location_seen (location, seen, shortest, offline) VALUES (?, ?, ?, ?)",
        (seen.location, seen.seen, seen.shortest, int(seen.offline)),
    )
    if not states:
        return
    change = _newest(conn) + 1
    conn.executemany(
        "INSERT OR REPLACE INTO location_states (target, location, state, since, at, reason, detail, latency, "
        "change) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(s.target, s.location, s.state.value, s.since, s.at, s.reason, s.detail, s.latency, change) for s in states],
    )


def seen(conn: sqlite3.Connection) -> list[LocationSeen]:
    rows = conn.execute("SELECT location, seen, shortest, offline FROM location_seen ORDER BY location")
    return [LocationSeen(name, at, shortest, bool(offline)) for name, at, shortest, offline in rows]


def changes(conn: sqlite3.Connection, after: int) -> LocationChanges:
    rows = conn.execute(
        "SELECT s.target, s.location, s.state, s.since, s.at, s.reason, s.detail, s.latency, "
        "COALESCE(l.offline, 0) FROM location_states s LEFT JOIN location_seen l ON l.location = s.location "
        "WHERE s.change > ? ORDER BY s.target, s.location",
        (after,),
    )
    states = tuple(
        LocationState(target, location, State(state), since, at, reason, detail, latency, bool(offline))
        for target, location, state, since, at, reason, detail, latency, offline in rows
    )
    return LocationChanges(states, _newest(conn))


def _newest(conn: sqlite3.Connection) -> int:
    (found,) = conn.execute("SELECT COALESCE(MAX(change), 0) FROM location_states").fetchone()
    return int(found)
