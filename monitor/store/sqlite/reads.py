"""The SQLite store's queries: blocking functions on the reading connection, run by
`SQLiteStore` in its reader thread. None of them scans raw results beyond one target's
requested range."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from monitor.result import Event, Result, State
from monitor.store import AuditEntry, Note, Period, PlannedMaintenance, StoredResult, timeline
from monitor.store.rollup import HOUR, Accumulator
from monitor.store.sqlite.schema import DEGRADED, MAINTENANCE, OK

_EVENT = "t.id, e.at, e.old, e.new, e.reason, e.detail, e.locations"


def _ids(ids: Collection[str] | None, column: str = "t.id") -> tuple[str, list[Any]]:
    """An `AND column IN (...)` filter (empty for every target)."""
    if ids is None:
        return "", []
    ids = list(ids)
    return f" AND {column} IN ({', '.join('?' * len(ids))})", ids


def _event(row: tuple[Any, ...]) -> Event:
    tid, at, old, new, reason, detail, locations = row[:7]
    return Event(tid, at, State(old), State(new), reason, detail, tuple(locations.split(",")) if locations else ())


def target_ids(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT id FROM targets ORDER BY id")]


def last_events(
    conn: sqlite3.Connection, before: float | None = None, ids: Collection[str] | None = None
) -> dict[str, Event]:
    """Each target's latest event (strictly before `before` if given)."""
    where, params = _ids(ids)
    bound = "" if before is None else " AND at < ?"
    rows = conn.execute(
        f"SELECT {_EVENT} FROM targets t JOIN events e ON e.id = (SELECT id FROM events "
        f"WHERE target = t.key{bound} ORDER BY at DESC, id DESC LIMIT 1) WHERE 1{where}",
        ([] if before is None else [before]) + params,
    )
    return {row[0]: _event(row) for row in rows}


def events(
    conn: sqlite3.Connection,
    ids: Collection[str] | None,
    start: float,
    end: float,
    newest_first: bool = False,
    limit: int | None = None,
) -> list[Event]:
    where, params = _ids(ids)
    order = "DESC" if newest_first else "ASC"
    sql = (
        f"SELECT {_EVENT} FROM events e JOIN targets t ON t.key = e.target "
        f"WHERE e.at >= ? AND e.at < ?{where} ORDER BY e.at {order}, e.id {order}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_event(row) for row in conn.execute(sql, [start, end, *params])]


def down_periods(
    conn: sqlite3.Connection, ids: Collection[str] | None, start: float, end: float, limit: int | None = None
) -> list[Period]:
    """Incidents (`monitor.store.Period`) overlapping `[start, end)`, newest first: those
    opened inside the window and one still open at its start, each followed to its end."""
    where, params = _ids(ids)
    # A DOWN event opens an incident unless it ends a maintenance window entered DOWN.
    continuing = (
        "e.old = 'MAINTENANCE' AND (SELECT p.old FROM events p WHERE p.target = e.target AND "
        "(p.at < e.at OR (p.at = e.at AND p.id < e.id)) ORDER BY p.at DESC, p.id DESC LIMIT 1) = 'DOWN'"
    )
    sql = (
        f"SELECT e.id, e.target, {_EVENT} FROM events e JOIN targets t ON t.key = e.target "
        f"WHERE e.new = 'DOWN' AND e.at >= ? AND e.at < ?{where} AND NOT ({continuing}) "
        "ORDER BY e.at DESC, e.id DESC"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    found = [(row[0], row[1], _event(tuple(row[2:]))) for row in conn.execute(sql, [start, end, *params])]
    if limit is None or len(found) < limit:
        carried = []
        for event_id, key, *row in conn.execute(
            f"SELECT e.id, e.target, {_EVENT} FROM targets t JOIN events e ON e.id = (SELECT id "
            "FROM events WHERE target = t.key AND at < ? ORDER BY at DESC, id DESC LIMIT 1) "
            f"WHERE (e.new = 'DOWN' OR (e.new = 'MAINTENANCE' AND e.old = 'DOWN')){where}",
            [start, *params],
        ).fetchall():
            opening = _opening(conn, key, event_id, _event(tuple(row)))
            if opening is not None:
                carried.append(opening)
        found += sorted(carried, key=lambda f: (f[2].at, f[0]), reverse=True)
    return [
        timeline.incident(event, _following(conn, key, event_id, event.at)) for event_id, key, event in found[:limit]
    ]


def _previous(conn: sqlite3.Connection, key: int, event_id: int, at: float) -> tuple[int, Event] | None:
    row = conn.execute(
        f"SELECT e.id, {_EVENT} FROM events e JOIN targets t ON t.key = e.target WHERE e.target = ? "
        "AND (e.at < ? OR (e.at = ? AND e.id < ?)) ORDER BY e.at DESC, e.id DESC LIMIT 1",
        (key, at, at, event_id),
    ).fetchone()
    return None if row is None else (row[0], _event(tuple(row[1:])))


def _opening(conn: sqlite3.Connection, key: int, event_id: int, event: Event) -> tuple[int, int, Event] | None:
    """The event that opened the incident `event` belongs to, or None if it belongs to none."""
    while True:
        if event.new == State.DOWN and event.old != State.MAINTENANCE:
            return event_id, key, event  # opens one whatever came before
        found = _previous(conn, key, event_id, event.at)
        previous = None if found is None else found[1]
        if timeline.opens(previous, event):
            return event_id, key, event
        if found is None or not timeline.continues(previous, event):
            return None
        event_id, event = found


def _following(conn: sqlite3.Connection, key: int, event_id: int, at: float) -> Iterator[Event]:
    """The target's events after one, oldest first, read as they are asked for."""
    rows = conn.execute(
        f"SELECT {_EVENT} FROM events e JOIN targets t ON t.key = e.target WHERE e.target = ? "
        "AND (e.at > ? OR (e.at = ? AND e.id > ?)) ORDER BY e.at, e.id",
        (key, at, at, event_id),
    )
    try:
        for row in rows:
            yield _event(row)
    finally:
        rows.close()


def runs(conn: sqlite3.Connection) -> list[tuple[int, float, float]]:
    return [(i, a, b) for i, a, b in conn.execute("SELECT id, started, last_seen FROM runs ORDER BY started")]


def results(
    conn: sqlite3.Connection, target_id: str, start: float, end: float, limit: int | None = None
) -> list[StoredResult]:
    sql = (
        "SELECT r.at, r.flags, r.duration, r.reason, r.status_code, r.detail FROM results r "
        "JOIN targets t ON t.key = r.target WHERE t.id = ? AND r.at >= ? AND r.at < ? "
        "ORDER BY r.at"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [
        StoredResult(
            target=target_id,
            at=at,
            ok=bool(flags & OK),
            duration=duration / 1e6,
            reason=reason or "ok",
            degraded=bool(flags & DEGRADED),
            maintenance=bool(flags & MAINTENANCE),
            status_code=code,
            detail=detail or "",
        )
        for at, flags, duration, reason, code, detail in conn.execute(sql, (target_id, start, end))
    ]


def rollups(
    conn: sqlite3.Connection, ids: Collection[str] | None, start: float, end: float
) -> dict[str, list[tuple[int, Accumulator]]]:
    """Each target's (hour, aggregate) for the hours overlapping `[start, end)`."""
    where, params = _ids(ids)
    first, last = start // HOUR, -(-end // HOUR)
    out: dict[str, list[tuple[int, Accumulator]]] = {}
    for row in conn.execute(
        "SELECT t.id, r.hour, r.count, r.failures, r.degraded, r.maintenance, r.lat_count, "
        # Targets first (CROSS JOIN fixes the order): each target's hours are then one
        # primary-key range, never a scan of every rollup ever written.
        "r.lat_sum, r.lat_min, r.lat_max, r.hist FROM targets t CROSS JOIN rollups r "
        f"ON r.target = t.key WHERE r.hour >= ? AND r.hour < ?{where} ORDER BY t.key, r.hour",
        [int(first), int(last), *params],
    ):
        out.setdefault(row[0], []).append((row[1], Accumulator.from_row(row[2:])))
    return out


def latest_results(conn: sqlite3.Connection) -> dict[str, Result]:
    out = {}
    for tid, text in conn.execute("SELECT t.id, l.result FROM latest l JOIN targets t ON t.key = l.target"):
        data = json.loads(text)
        out[tid] = Result(**data)
    return out


def notes(conn: sqlite3.Connection, ids: Collection[str] | None, start: float, end: float) -> list[Note]:
    where, params = _ids(ids, "target")
    return [
        Note(*row)
        for row in conn.execute(
            f"SELECT id, target, at, text, author FROM notes WHERE at >= ? AND at < ?{where} ORDER BY at, id",
            [start, end, *params],
        )
    ]


def add_note(conn: sqlite3.Connection, target: str, at: float, text: str, author: str) -> Note:
    cur = conn.execute("INSERT INTO notes (target, at, text, author) VALUES (?, ?, ?, ?)", (target, at, text, author))
    return Note(int(cur.lastrowid or 0), target, at, text, author)


def add_maintenance(
    conn: sqlite3.Connection, start: float, end: float, targets: tuple[str, ...], groups: tuple[str, ...], reason: str
) -> PlannedMaintenance:
    cur = conn.execute(
        'INSERT INTO maintenance (start, "end", targets, groups, reason) VALUES (?, ?, ?, ?, ?)',
        (start, end, json.dumps(targets), json.dumps(groups), reason),
    )
    return PlannedMaintenance(int(cur.lastrowid or 0), start, end, targets, groups, reason)


def remove_maintenance(conn: sqlite3.Connection, window_id: int) -> bool:
    return conn.execute("DELETE FROM maintenance WHERE id = ?", (window_id,)).rowcount > 0


def planned_maintenance(conn: sqlite3.Connection, since: float) -> list[PlannedMaintenance]:
    return [
        PlannedMaintenance(i, a, b, tuple(json.loads(t)), tuple(json.loads(g)), reason)
        for i, a, b, t, g, reason in conn.execute(
            'SELECT id, start, "end", targets, groups, reason FROM maintenance WHERE "end" > ? ORDER BY start, id',
            (since,),
        )
    ]


def prune(conn: sqlite3.Connection, cutoff: float, keys: Sequence[int] | None = None) -> int:
    """Delete raw results older than `cutoff` of these targets (by key; all if None),
    target by target (each uses the index)."""
    if keys is None:
        keys = [key for (key,) in conn.execute("SELECT key FROM targets")]
    deleted = 0
    for key in keys:
        deleted += conn.execute("DELETE FROM results WHERE target = ? AND at < ?", (key, cutoff)).rowcount
    return deleted


def record_audit(conn: sqlite3.Connection, entry: AuditEntry) -> None:
    conn.execute(
        "INSERT INTO audit (at, who, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (entry.at, entry.who, entry.action, entry.subject, entry.detail),
    )


def audit_entries(conn: sqlite3.Connection, limit: int) -> list[AuditEntry]:
    rows = conn.execute("SELECT at, who, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,))
    return [AuditEntry(*row) for row in rows]
