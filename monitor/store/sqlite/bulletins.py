"""The SQLite store's side of `protocols.Bulletins`: declared incidents, the records of
automatic ones, their updates, and announcements. Writes run in the writer's batches,
reads on the reading connection (`SQLiteStore`)."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from monitor.store.records import Announcement, IncidentUpdate, PostedIncident, Wording

_INCIDENT = "id, opened, target, targets, title_id, title_en"
_UPDATE = "id, incident, at, status, text_id, text_en, author"
_ANNOUNCEMENT = 'id, level, text_id, text_en, start, "end", created'


def declare(conn: sqlite3.Connection, targets: Sequence[str], title: Wording, at: float) -> PostedIncident:
    cur = conn.execute(
        "INSERT INTO posted_incidents (opened, target, targets, title_id, title_en) VALUES (?, NULL, ?, ?, ?)",
        (at, json.dumps(list(targets)), title.id, title.en),
    )
    return PostedIncident(int(cur.lastrowid or 0), at, tuple(targets), title)


def automatic(conn: sqlite3.Connection, target: str, opened: float, title: Wording | None) -> PostedIncident:
    conn.execute(
        "INSERT OR IGNORE INTO posted_incidents (opened, target, targets, title_id, title_en) "
        "VALUES (?, ?, ?, NULL, '')",
        (opened, target, json.dumps([target])),
    )
    if title is not None:
        conn.execute(
            "UPDATE posted_incidents SET title_id = ?, title_en = ? WHERE target = ? AND opened = ?",
            (title.id, title.en, target, opened),
        )
    row = conn.execute(
        f"SELECT {_INCIDENT} FROM posted_incidents WHERE target = ? AND opened = ?", (target, opened)
    ).fetchone()
    return _with_updates(conn, [_incident(row)])[0]


def add_update(
    conn: sqlite3.Connection, incident: int, at: float, status: str, text: Wording, author: str
) -> IncidentUpdate:
    cur = conn.execute(
        "INSERT INTO incident_updates (incident, at, status, text_id, text_en, author) VALUES (?, ?, ?, ?, ?, ?)",
        (incident, at, status, text.id, text.en, author),
    )
    return IncidentUpdate(int(cur.lastrowid or 0), incident, at, status, text, author)


def one(conn: sqlite3.Connection, incident: int) -> PostedIncident | None:
    row = conn.execute(f"SELECT {_INCIDENT} FROM posted_incidents WHERE id = ?", (incident,)).fetchone()
    return None if row is None else _with_updates(conn, [_incident(row)])[0]


def since(conn: sqlite3.Connection, at: float) -> list[PostedIncident]:
    """Opened or updated since `at`, and every declared one not resolved, by opening."""
    rows = conn.execute(
        f"SELECT {_INCIDENT} FROM posted_incidents p WHERE opened >= ? "
        "OR EXISTS (SELECT 1 FROM incident_updates u WHERE u.incident = p.id AND u.at >= ?) "
        "OR (target IS NULL AND COALESCE((SELECT status FROM incident_updates u WHERE u.incident = p.id "
        "ORDER BY at DESC, id DESC LIMIT 1), '') != 'resolved') ORDER BY opened, id",
        (at, at),
    ).fetchall()
    return _with_updates(conn, [_incident(r) for r in rows])


def _with_updates(conn: sqlite3.Connection, found: list[PostedIncident]) -> list[PostedIncident]:
    if not found:
        return found
    ids = [p.id for p in found]
    updates: dict[int, list[IncidentUpdate]] = defaultdict(list)
    rows = conn.execute(
        f"SELECT {_UPDATE} FROM incident_updates WHERE incident IN ({', '.join('?' * len(ids))}) ORDER BY at, id",
        ids,
    )
    for uid, incident, at, status, text_id, text_en, author in rows:
        updates[incident].append(IncidentUpdate(uid, incident, at, status, Wording(text_id, text_en), author))
    return [PostedIncident(p.id, p.opened, p.targets, p.title, p.target, tuple(updates[p.id])) for p in found]


def _incident(row: tuple[Any, ...]) -> PostedIncident:
    pid, opened, target, targets, title_id, title_en = row
    title = None if title_id is None else Wording(title_id, title_en)
    return PostedIncident(pid, opened, tuple(json.loads(targets)), title, target)


def add_announcement(
    conn: sqlite3.Connection, level: str, text: Wording, start: float, end: float | None, created: float
) -> Announcement:
    cur = conn.execute(
        'INSERT INTO announcements (level, text_id, text_en, start, "end", created) VALUES (?, ?, ?, ?, ?, ?)',
        (level, text.id, text.en, start, end, created),
    )
    return Announcement(int(cur.lastrowid or 0), level, text, start, end, created)


def remove_announcement(conn: sqlite3.Connection, announcement: int) -> bool:
    return conn.execute("DELETE FROM announcements WHERE id = ?", (announcement,)).rowcount > 0


def announcements(conn: sqlite3.Connection, at: float) -> list[Announcement]:
    rows = conn.execute(
        f'SELECT {_ANNOUNCEMENT} FROM announcements WHERE "end" IS NULL OR "end" > ? ORDER BY start, id', (at,)
    )
    return [
        Announcement(i, level, Wording(tid, ten), start, end, created)
        for i, level, tid, ten, start, end, created in rows
    ]
