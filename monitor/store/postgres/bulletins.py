"""The PostgreSQL store's side of `protocols.Bulletins`: declared incidents, the records
of automatic ones, their updates, and announcements. Writes run on the writer's
connection, reads on the reader pool (`PostgresStore`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from monitor.store.records import Announcement, IncidentUpdate, PostedIncident, Wording

Conn = AsyncConnection[tuple[Any, ...]]
_INCIDENT = "id, opened, target, targets, title_id, title_en"
_UPDATE = "id, incident, at, status, text_id, text_en, author"
_ANNOUNCEMENT = 'id, level, text_id, text_en, start, "end", created'


async def declare(conn: Conn, targets: Sequence[str], title: Wording, at: float) -> PostedIncident:
    cur = await conn.execute(
        "INSERT INTO posted_incidents (opened, target, targets, title_id, title_en) "
        "VALUES (%s, NULL, %s, %s, %s) RETURNING id",
        (at, list(targets), title.id, title.en),
    )
    row = await cur.fetchone()
    assert row is not None
    return PostedIncident(int(row[0]), at, tuple(targets), title)


async def automatic(conn: Conn, target: str, opened: float, title: Wording | None) -> PostedIncident:
    await conn.execute(
        "INSERT INTO posted_incidents (opened, target, targets, title_id, title_en) "
        "VALUES (%s, %s, %s, NULL, '') ON CONFLICT (target, opened) DO NOTHING",
        (opened, target, [target]),
    )
    if title is not None:
        await conn.execute(
            "UPDATE posted_incidents SET title_id = %s, title_en = %s WHERE target = %s AND opened = %s",
            (title.id, title.en, target, opened),
        )
    cur = await conn.execute(
        f"SELECT {_INCIDENT} FROM posted_incidents WHERE target = %s AND opened = %s", (target, opened)
    )
    row = await cur.fetchone()
    assert row is not None
    return (await _with_updates(conn, [_incident(row)]))[0]


async def add_update(conn: Conn, incident: int, at: float, status: str, text: Wording, author: str) -> IncidentUpdate:
    cur = await conn.execute(
        "INSERT INTO incident_updates (incident, at, status, text_id, text_en, author) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (incident, at, status, text.id, text.en, author),
    )
    row = await cur.fetchone()
    assert row is not None
    return IncidentUpdate(int(row[0]), incident, at, status, text, author)


async def one(conn: Conn, incident: int) -> PostedIncident | None:
    cur = await conn.execute(f"SELECT {_INCIDENT} FROM posted_incidents WHERE id = %s", (incident,))
    row = await cur.fetchone()
    return None if row is None else (await _with_updates(conn, [_incident(row)]))[0]


async def since(conn: Conn, at: float) -> list[PostedIncident]:
    """Opened or updated since `at`, and every declared one not resolved, by opening."""
    cur = await conn.execute(
        f"SELECT {_INCIDENT} FROM posted_incidents p WHERE opened >= %s "
        "OR EXISTS (SELECT 1 FROM incident_updates u WHERE u.incident = p.id AND u.at >= %s) "
        "OR (target IS NULL AND COALESCE((SELECT status FROM incident_updates u WHERE u.incident = p.id "
        "ORDER BY at DESC, id DESC LIMIT 1), '') != 'resolved') ORDER BY opened, id",
        (at, at),
    )
    return await _with_updates(conn, [_incident(r) for r in await cur.fetchall()])


async def _with_updates(conn: Conn, found: list[PostedIncident]) -> list[PostedIncident]:
    if not found:
        return found
    updates: dict[int, list[IncidentUpdate]] = defaultdict(list)
    cur = await conn.execute(
        f"SELECT {_UPDATE} FROM incident_updates WHERE incident = ANY(%s) ORDER BY at, id", ([p.id for p in found],)
    )
    for uid, incident, at, status, text_id, text_en, author in await cur.fetchall():
        updates[incident].append(IncidentUpdate(uid, incident, at, status, Wording(text_id, text_en), author))
    return [PostedIncident(p.id, p.opened, p.targets, p.title, p.target, tuple(updates[p.id])) for p in found]


def _incident(row: tuple[Any, ...]) -> PostedIncident:
    pid, opened, target, targets, title_id, title_en = row
    title = None if title_id is None else Wording(title_id, title_en)
    return PostedIncident(int(pid), opened, tuple(targets), title, target)


async def add_announcement(
    conn: Conn, level: str, text: Wording, start: float, end: float | None, created: float
) -> Announcement:
    cur = await conn.execute(
        'INSERT INTO announcements (level, text_id, text_en, start, "end", created) '
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (level, text.id, text.en, start, end, created),
    )
    row = await cur.fetchone()
    assert row is not None
    return Announcement(int(row[0]), level, text, start, end, created)


async def remove_announcement(conn: Conn, announcement: int) -> bool:
    cur = await conn.execute("DELETE FROM announcements WHERE id = %s", (announcement,))
    return cur.rowcount > 0


async def announcements(conn: Conn, at: float) -> list[Announcement]:
    cur = await conn.execute(
        f'SELECT {_ANNOUNCEMENT} FROM announcements WHERE "end" IS NULL OR "end" > %s ORDER BY start, id', (at,)
    )
    return [
        Announcement(int(i), level, Wording(tid, ten), start, end, created)
        for i, level, tid, ten, start, end, created in await cur.fetchall()
    ]
