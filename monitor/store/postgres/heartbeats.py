"""Push heartbeats shared by the instances on one database (`protocols.SharedHeartbeats`).

The instance a job's push reached inserts it into `heartbeats`; the owner of the target
reads the rows numbered after the last it read (`heartbeats_since`, by the index of the
primary key: never a scan of the table). The numbers come from the sequence
`heartbeat_changes`, taken inside the inserting transaction under `HEARTBEAT_LOCK`, so
rows commit in the order of their numbers: a reader that saw number n never meets a
smaller one later (a plain sequence would let a slow transaction commit 7 after 8 was
read). A push is a small row, so inserts waiting for each other cost nothing.

It runs on one async connection of its own (`monitor heartbeats`, opened at the first
call and again after it broke), one call at a time, with `STATEMENT_TIMEOUT`: the push
route answers 503 rather than wait long for a database that does not answer. Rows older
than the retention are pruned by the sender, except each target's newest, which a new
owner reads when it takes a target over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection

from monitor.errors import StoreError
from monitor.store.postgres.failures import reason
from monitor.store.postgres.schema import LOOP_TIMEOUT, session
from monitor.store.postgres.url import redacted
from monitor.store.records import PushedHeartbeat

Conn = AsyncConnection[tuple[Any, ...]]
T = TypeVar("T")
NAME = "monitor heartbeats"  # its application_name
HEARTBEAT_LOCK = 0x6D6F6E707368  # "monpsh" as a number: heartbeats numbered one at a time
STATEMENT_TIMEOUT = "5s"
_COLUMNS = "change, target, arrived, down, detail, duration, received_by"
_INSERT = (
    "INSERT INTO heartbeats (change, target, arrived, down, detail, duration, received_by) "
    "VALUES (nextval('heartbeat_changes'), %s, %s, %s, %s, %s, %s)"
)
_SINCE = f"SELECT {_COLUMNS} FROM heartbeats WHERE change > %s ORDER BY change LIMIT %s"
_LATEST = f"SELECT DISTINCT ON (target) {_COLUMNS} FROM heartbeats WHERE target = ANY(%s) ORDER BY target, change DESC"
_PRUNE = (
    "DELETE FROM heartbeats h WHERE arrived < %s "
    "AND EXISTS (SELECT 1 FROM heartbeats n WHERE n.target = h.target AND n.change > h.change)"
)


class HeartbeatLog:
    """The `heartbeats` table; see the module doc."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Conn | None = None
        self._lock = asyncio.Lock()  # one call at a time on the one connection

    async def add(self, heartbeat: PushedHeartbeat) -> None:
        async def insert(conn: Conn) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (HEARTBEAT_LOCK,))
                h = heartbeat
                await conn.execute(_INSERT, (h.target, h.arrived, h.down, h.detail, h.duration, h.received_by))

        await self._run(insert, "cannot store the heartbeat")

    async def since(self, after: int, limit: int) -> list[PushedHeartbeat]:
        async def read(conn: Conn) -> list[PushedHeartbeat]:
            cur = await conn.execute(_SINCE, (after, limit))
            return [_row(r) for r in await cur.fetchall()]

        return await self._run(read, "cannot read the heartbeats")

    async def mark(self) -> int:
        async def read(conn: Conn) -> int:
            cur = await conn.execute("SELECT COALESCE(MAX(change), 0) FROM heartbeats")
            row = await cur.fetchone()
            return int(row[0]) if row else 0

        return await self._run(read, "cannot read the heartbeats")

    async def latest(self, target_ids: Collection[str]) -> dict[str, PushedHeartbeat]:
        async def read(conn: Conn) -> dict[str, PushedHeartbeat]:
            cur = await conn.execute(_LATEST, (list(target_ids),))
            return {h.target: h for h in map(_row, await cur.fetchall())}

        return await self._run(read, "cannot read the heartbeats")

    async def prune(self, before: float) -> int:
        async def delete(conn: Conn) -> int:
            cur = await conn.execute(_PRUNE, (before,))
            return max(cur.rowcount, 0)

        return await self._run(delete, "cannot prune the heartbeats")

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def _run(self, call: Callable[[Conn], Awaitable[T]], what: str) -> T:
        async with self._lock:
            try:
                return await call(await self._connection())
            except psycopg.Error as exc:
                if self._conn is not None and (self._conn.broken or self._conn.closed):
                    await self.close()
                raise StoreError(f"{what} in {redacted(self.url)}: {str(exc).strip()}", reason(exc)) from exc

    async def _connection(self) -> Conn:
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            await self.close()
        if self._conn is None:
            conn = await AsyncConnection.connect(
                session(self.url), autocommit=True, connect_timeout=LOOP_TIMEOUT, application_name=NAME
            )
            try:
                await conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
            except psycopg.Error:
                await conn.close()
                raise
            self._conn = conn
        return self._conn


def _row(row: tuple[Any, ...]) -> PushedHeartbeat:
    change, target, arrived, down, detail, duration, received_by = row
    return PushedHeartbeat(
        int(change), str(target), float(arrived), bool(down), str(detail), float(duration), str(received_by)
    )
