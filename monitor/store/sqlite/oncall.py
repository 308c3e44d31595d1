"""The SQL of the on-call records (`OnCallRecords`) on SQLite: acknowledgements, mutes
(each change counted in `oncall_changes`, in the same transaction) and the chat bots'
update offsets. Each function runs on the writer's or the reader's connection
(`SQLiteStore._write`, `_read`)."""

from __future__ import annotations

import json
import sqlite3

from monitor.store.records import Ack, Mute


def _silences(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(n), str(i)) for n, i in json.loads(text or "[]"))


def _counted(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE oncall_changes SET changes = changes + 1")


def add_ack(conn: sqlite3.Connection, ack: Ack) -> Ack:
    added = conn.execute(
        "INSERT INTO acks (target, since, at, who, note, silences) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (target, since) DO NOTHING",
        (ack.target, ack.since, ack.at, ack.who, ack.note, json.dumps(ack.silences)),
    )
    if added.rowcount:
        _counted(conn)
        return ack
    r = conn.execute(
        "SELECT target, since, at, who, note, silences FROM acks WHERE target = ? AND since = ?",
        (ack.target, ack.since),
    ).fetchone()
    return Ack(r[0], r[1], r[2], r[3], r[4], _silences(r[5]))


def acks(conn: sqlite3.Connection, since: float) -> list[Ack]:
    rows = conn.execute(
        "SELECT target, since, at, who, note, silences FROM acks WHERE since >= ? ORDER BY since, target", (since,)
    )
    return [Ack(r[0], r[1], r[2], r[3], r[4], _silences(r[5])) for r in rows]


def set_mute(conn: sqlite3.Connection, mute: Mute) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO mutes (target, start, until, who, silences) VALUES (?, ?, ?, ?, ?)",
        (mute.target, mute.start, mute.until, mute.who, json.dumps(mute.silences)),
    )
    _counted(conn)


def remove_mute(conn: sqlite3.Connection, target: str) -> Mute | None:
    row = conn.execute("DELETE FROM mutes WHERE target = ? RETURNING target, start, until, who, silences", (target,))
    found = row.fetchone()
    if found:
        _counted(conn)
    return Mute(found[0], found[1], found[2], found[3], _silences(found[4])) if found else None


def mutes(conn: sqlite3.Connection) -> list[Mute]:
    rows = conn.execute("SELECT target, start, until, who, silences FROM mutes ORDER BY target")
    return [Mute(r[0], r[1], r[2], r[3], _silences(r[4])) for r in rows]


def changes(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT changes FROM oncall_changes").fetchone()[0])


def bot_offset(conn: sqlite3.Connection, bot: str) -> int | None:
    row = conn.execute("SELECT next FROM bot_offsets WHERE bot = ?", (bot,)).fetchone()
    return int(row[0]) if row else None


def set_bot_offset(conn: sqlite3.Connection, bot: str, offset: int) -> None:
    conn.execute("INSERT OR REPLACE INTO bot_offsets (bot, next) VALUES (?, ?)", (bot, offset))
