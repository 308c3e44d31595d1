"""The SQL of the on-call records (`OnCallRecords`) on PostgreSQL: acknowledgements,
mutes (each change counted in `oncall_changes`, in the same transaction: the row lock
orders the writers of several instances, and a reader never sees the count move before
the change it counts) and the chat bots' update offsets; coroutines on the writer's
connection (writes) or one of the reader pool (reads)."""

from __future__ import annotations

import json
from typing import Any

from psycopg import AsyncConnection

from monitor.store.records import Ack, Mute

Conn = AsyncConnection[tuple[Any, ...]]


def _silences(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(n), str(i)) for n, i in json.loads(text or "[]"))


async def _counted(conn: Conn) -> None:
    await conn.execute("UPDATE oncall_changes SET changes = changes + 1")


async def add_ack(conn: Conn, ack: Ack) -> Ack:
    added = await conn.execute(
        "INSERT INTO acks (target, since, at, who, note, silences) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (target, since) DO NOTHING",
        (ack.target, ack.since, ack.at, ack.who, ack.note, json.dumps(ack.silences)),
    )
    if added.rowcount:
        await _counted(conn)
        return ack
    cur = await conn.execute(
        "SELECT target, since, at, who, note, silences FROM acks WHERE target = %s AND since = %s",
        (ack.target, ack.since),
    )
    r = await cur.fetchone()
    assert r is not None  # the conflicting row: acknowledgements are never deleted
    return Ack(r[0], r[1], r[2], r[3], r[4], _silences(r[5]))


async def acks(conn: Conn, since: float) -> list[Ack]:
    cur = await conn.execute(
        "SELECT target, since, at, who, note, silences FROM acks WHERE since >= %s ORDER BY since, target", (since,)
    )
    return [Ack(r[0], r[1], r[2], r[3], r[4], _silences(r[5])) for r in await cur.fetchall()]


async def set_mute(conn: Conn, mute: Mute) -> None:
    await conn.execute(
        "INSERT INTO mutes (target, start, until, who, silences) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (target) DO UPDATE SET start = excluded.start, until = excluded.until, "
        "who = excluded.who, silences = excluded.silences",
        (mute.target, mute.start, mute.until, mute.who, json.dumps(mute.silences)),
    )
    await _counted(conn)


async def remove_mute(conn: Conn, target: str) -> Mute | None:
    cur = await conn.execute(
        "DELETE FROM mutes WHERE target = %s RETURNING target, start, until, who, silences", (target,)
    )
    found = await cur.fetchone()
    if found:
        await _counted(conn)
    return Mute(found[0], found[1], found[2], found[3], _silences(found[4])) if found else None


async def mutes(conn: Conn) -> list[Mute]:
    cur = await conn.execute("SELECT target, start, until, who, silences FROM mutes ORDER BY target")
    return [Mute(r[0], r[1], r[2], r[3], _silences(r[4])) for r in await cur.fetchall()]


async def changes(conn: Conn) -> int:
    cur = await conn.execute("SELECT changes FROM oncall_changes")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def bot_offset(conn: Conn, bot: str) -> int | None:
    cur = await conn.execute("SELECT next FROM bot_offsets WHERE bot = %s", (bot,))
    row = await cur.fetchone()
    return int(row[0]) if row else None


async def set_bot_offset(conn: Conn, bot: str, offset: int) -> None:
    await conn.execute(
        "INSERT INTO bot_offsets (bot, next) VALUES (%s, %s) ON CONFLICT (bot) DO UPDATE SET next = excluded.next",
        (bot, offset),
    )
