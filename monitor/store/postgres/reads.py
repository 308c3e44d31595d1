"""The PostgreSQL store's queries: coroutines on one connection of the reader pool (or
the writer's, for the writes among them), each a few statements. None scans raw
results beyond one target's requested range; rollups come from the hourly table and
the packed days (`rollup_days`) together."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from psycopg import AsyncConnection

from monitor.result import Event, Result, State
from monitor.store import AuditEntry, Note, Period, PlannedMaintenance, StoredResult, timeline
from monitor.store.postgres.schema import DEGRADED, MAINTENANCE, OK
from monitor.store.rollup import HOUR, Accumulator, unpack_hours

Conn = AsyncConnection[tuple[Any, ...]]
DAY_HOURS = 24
_EVENT = "t.id, e.at, e.old, e.new, e.reason, e.detail, e.locations"


def result_json(result: Result) -> str:
    """The `latest` row of a result (read back by `latest_results`)."""
    return json.dumps(
        {
            "ok": result.ok,
            "reason": result.reason,
            "detail": result.detail,
            "duration": result.duration,
            "started": result.started,
            "degraded": result.degraded,
            "status_code": result.status_code,
            "cert_expiry": result.cert_expiry,
            "phases": dict(result.phases),
            "extra": dict(result.extra),
        }
    )


def _ids(ids: Collection[str] | None, column: str = "t.id") -> tuple[str, list[Any]]:
    """An `AND column = ANY(...)` filter (empty for every target)."""
    if ids is None:
        return "", []
    return f" AND {column} = ANY(%s)", [list(ids)]


def _event(row: Sequence[Any]) -> Event:
    tid, at, old, new, reason, detail, locations = row[:7]
    return Event(tid, at, State(old), State(new), reason, detail, tuple(locations.split(",")) if locations else ())


async def _all(conn: Conn, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql.encode(), params)
    return await cur.fetchall()


async def target_ids(conn: Conn) -> list[str]:
    return [row[0] for row in await _all(conn, "SELECT id FROM targets ORDER BY id")]


async def last_events(conn: Conn, before: float | None = None, ids: Collection[str] | None = None) -> dict[str, Event]:
    """Each target's latest event (strictly before `before` if given)."""
    where, params = _ids(ids)
    bound = "" if before is None else " AND at < %s"
    rows = await _all(
        conn,
        f"SELECT {_EVENT} FROM targets t CROSS JOIN LATERAL (SELECT at, old, new, reason, detail, "
        f"locations FROM events WHERE target = t.key{bound} ORDER BY at DESC, id DESC LIMIT 1) e WHERE true{where}",
        ([] if before is None else [before]) + params,
    )
    return {row[0]: _event(row) for row in rows}


async def events(
    conn: Conn,
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
        f"WHERE e.at >= %s AND e.at < %s{where} ORDER BY e.at {order}, e.id {order}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_event(row) for row in await _all(conn, sql, [start, end, *params])]


_PAGE = 16  # events read at a time while following an incident to its end


async def down_periods(
    conn: Conn, ids: Collection[str] | None, start: float, end: float, limit: int | None = None
) -> list[Period]:
    """Incidents (`monitor.store.Period`) overlapping `[start, end)`, newest first: those
    opened inside the window and one still open at its start, each followed to its end
    (`monitor.store.timeline.incident`; the same reads as the SQLite backend's)."""
    where, params = _ids(ids)
    # A DOWN event opens an incident unless it ends a maintenance window entered DOWN.
    continuing = (
        "e.old = 'MAINTENANCE' AND EXISTS (SELECT 1 FROM (SELECT p.old, p.new FROM events p "
        "WHERE p.target = e.target AND (p.at < e.at OR (p.at = e.at AND p.id < e.id)) "
        "ORDER BY p.at DESC, p.id DESC LIMIT 1) p WHERE p.old = 'DOWN' AND p.new = 'MAINTENANCE')"
    )
    sql = (
        f"SELECT e.id, e.target, {_EVENT} FROM events e JOIN targets t ON t.key = e.target "
        f"WHERE e.new = 'DOWN' AND e.at >= %s AND e.at < %s{where} AND NOT ({continuing}) "
        "ORDER BY e.at DESC, e.id DESC"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    found = [(row[0], row[1], _event(row[2:])) for row in await _all(conn, sql, [start, end, *params])]
    if limit is None or len(found) < limit:
        carried = []
        for event_id, key, *row in await _all(
            conn,
            f"SELECT e.id, e.target, {_EVENT} FROM targets t CROSS JOIN LATERAL (SELECT id, target, at, old, "
            "new, reason, detail, locations FROM events WHERE target = t.key AND at < %s ORDER BY at DESC, id DESC "
            "LIMIT 1) e "
            f"WHERE (e.new = 'DOWN' OR (e.new = 'MAINTENANCE' AND e.old = 'DOWN')){where}",
            [start, *params],
        ):
            opening = await _opening(conn, key, event_id, _event(row))
            if opening is not None:
                carried.append(opening)
        found += sorted(carried, key=lambda f: (f[2].at, f[0]), reverse=True)
    return [await _incident(conn, key, event_id, event) for event_id, key, event in found[:limit]]


async def _previous(conn: Conn, key: int, event_id: int, at: float) -> tuple[int, Event] | None:
    rows = await _all(
        conn,
        f"SELECT e.id, {_EVENT} FROM events e JOIN targets t ON t.key = e.target WHERE e.target = %s "
        "AND (e.at < %s OR (e.at = %s AND e.id < %s)) ORDER BY e.at DESC, e.id DESC LIMIT 1",
        (key, at, at, event_id),
    )
    return (rows[0][0], _event(rows[0][1:])) if rows else None


async def _opening(conn: Conn, key: int, event_id: int, event: Event) -> tuple[int, int, Event] | None:
    """The event that opened the incident `event` belongs to, or None if it belongs to none."""
    while True:
        if event.new == State.DOWN and event.old != State.MAINTENANCE:
            return event_id, key, event  # opens one whatever came before
        found = await _previous(conn, key, event_id, event.at)
        previous = None if found is None else found[1]
        if timeline.opens(previous, event):
            return event_id, key, event
        if found is None or not timeline.continues(previous, event):
            return None
        event_id, event = found


async def _incident(conn: Conn, key: int, event_id: int, first: Event) -> Period:
    """The incident `first` opened, its following events read a page at a time until one
    ends it (or there are no more)."""
    following: list[Event] = []
    at, after = first.at, event_id
    while True:
        rows = await _all(
            conn,
            f"SELECT e.id, {_EVENT} FROM events e JOIN targets t ON t.key = e.target WHERE e.target = %s "
            f"AND (e.at > %s OR (e.at = %s AND e.id > %s)) ORDER BY e.at, e.id LIMIT {_PAGE}",
            (key, at, at, after),
        )
        following += [_event(row[1:]) for row in rows]
        period = timeline.incident(first, following)
        if period.end is not None or len(rows) < _PAGE:
            return period
        after, at = rows[-1][0], rows[-1][2]


async def runs(conn: Conn) -> list[tuple[int, float, float]]:
    return [(i, a, b) for i, a, b in await _all(conn, "SELECT id, started, last_seen FROM runs ORDER BY started")]


async def results(conn: Conn, target_id: str, start: float, end: float, limit: int | None = None) -> list[StoredResult]:
    sql = (
        "SELECT r.at, r.flags, r.duration, r.reason, r.status_code, r.detail FROM results r "
        "JOIN targets t ON t.key = r.target WHERE t.id = %s AND r.at >= %s AND r.at < %s ORDER BY r.at"
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
        for at, flags, duration, reason, code, detail in await _all(conn, sql, (target_id, start, end))
    ]


async def rollups(
    conn: Conn, ids: Collection[str] | None, start: float, end: float
) -> dict[str, list[tuple[int, Accumulator]]]:
    """Each target's (hour, aggregate) for the hours overlapping `[start, end)`, oldest
    first: the hourly rows and the packed days, an hour found in both merged."""
    where, params = _ids(ids)
    first, last = int(start // HOUR), int(-(-end // HOUR))
    found: dict[str, dict[int, Accumulator]] = {}
    for row in await _all(
        conn,
        "SELECT t.id, r.hour, r.count, r.failures, r.degraded, r.maintenance, r.lat_count, r.lat_sum, "
        "r.lat_min, r.lat_max, r.hist FROM rollups r JOIN targets t ON t.key = r.target "
        f"WHERE r.hour >= %s AND r.hour < %s{where}",
        [first, last, *params],
    ):
        found.setdefault(row[0], {})[row[1]] = Accumulator.from_row(row[2:])
    for tid, day, packed in await _all(
        conn,
        "SELECT t.id, d.day, d.hours FROM rollup_days d JOIN targets t ON t.key = d.target "
        f"WHERE d.day >= %s AND d.day < %s{where}",
        [first // DAY_HOURS, -(-last // DAY_HOURS), *params],
    ):
        hours = found.setdefault(tid, {})
        for index, acc in unpack_hours(packed):
            hour = day * DAY_HOURS + index
            if first <= hour < last:
                if hour in hours:
                    hours[hour].merge(acc)
                else:
                    hours[hour] = acc
    return {tid: sorted(hours.items(), key=lambda item: item[0]) for tid, hours in found.items()}


async def latest_results(conn: Conn) -> dict[str, Result]:
    rows = await _all(conn, "SELECT t.id, l.result FROM latest l JOIN targets t ON t.key = l.target")
    return {tid: Result(**json.loads(text)) for tid, text in rows}


async def notes(conn: Conn, ids: Collection[str] | None, start: float, end: float) -> list[Note]:
    where, params = _ids(ids, "target")
    rows = await _all(
        conn,
        f"SELECT id, target, at, text, author FROM notes WHERE at >= %s AND at < %s{where} ORDER BY at, id",
        [start, end, *params],
    )
    return [Note(*row) for row in rows]


async def add_note(conn: Conn, target: str, at: float, text: str, author: str) -> Note:
    cur = await conn.execute(
        "INSERT INTO notes (target, at, text, author) VALUES (%s, %s, %s, %s) RETURNING id", (target, at, text, author)
    )
    row = await cur.fetchone()
    return Note(int(row[0]) if row else 0, target, at, text, author)


async def add_maintenance(
    conn: Conn, start: float, end: float, targets: tuple[str, ...], groups: tuple[str, ...], reason: str
) -> PlannedMaintenance:
    cur = await conn.execute(
        'INSERT INTO maintenance (start, "end", targets, groups, reason) VALUES (%s, %s, %s, %s, %s) RETURNING id',
        (start, end, list(targets), list(groups), reason),
    )
    row = await cur.fetchone()
    return PlannedMaintenance(int(row[0]) if row else 0, start, end, targets, groups, reason)


async def remove_maintenance(conn: Conn, window_id: int) -> bool:
    cur = await conn.execute("DELETE FROM maintenance WHERE id = %s", (window_id,))
    return cur.rowcount > 0


async def planned_maintenance(conn: Conn, since: float) -> list[PlannedMaintenance]:
    rows = await _all(
        conn,
        'SELECT id, start, "end", targets, groups, reason FROM maintenance WHERE "end" > %s ORDER BY start, id',
        (since,),
    )
    return [PlannedMaintenance(i, a, b, tuple(t), tuple(g), reason) for i, a, b, t, g, reason in rows]


async def prune(conn: Conn, cutoff: float, keys: Sequence[int] | None = None) -> int:
    """Delete raw results older than `cutoff` of these targets (by key; all if None)."""
    if keys is None:
        cur = await conn.execute("DELETE FROM results WHERE at < %s", (cutoff,))
    else:
        cur = await conn.execute("DELETE FROM results WHERE target = ANY(%s) AND at < %s", (list(keys), cutoff))
    return cur.rowcount


async def record_audit(conn: Conn, entry: AuditEntry) -> None:
    await conn.execute(
        "INSERT INTO audit (at, who, action, subject, detail) VALUES (%s, %s, %s, %s, %s)",
        (entry.at, entry.who, entry.action, entry.subject, entry.detail),
    )


async def audit_entries(conn: Conn, limit: int) -> list[AuditEntry]:
    rows = await _all(conn, "SELECT at, who, action, subject, detail FROM audit ORDER BY id DESC LIMIT %s", [limit])
    return [AuditEntry(*row) for row in rows]
