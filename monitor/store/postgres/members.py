"""The instances sharing a PostgreSQL database (`monitor.store.protocols.Membership`).

Each running instance upserts its row in `members` every few seconds (`renew`) and
reads the rows of its location renewed recently: those are the live members
(`monitor.cluster` splits the targets among them). The sender's lease is one row of
`leases` with an expiry: `lease` takes it when it is free or expired and keeps it while
its holder renews it. Every time is the database's (`statement_timestamp()`), so instances
whose clocks disagree still agree on who is alive and who holds the lease.

Why a lease row and not an advisory lock: a lock lives as long as a TCP session, which
a connection pooler in front of the server breaks, and a half-open session (a machine
gone without a word) keeps it until the server's keepalives notice; a row's expiry is
explicit, the same for every instance, and visible to people
(`SELECT * FROM leases`).

All of it runs on one async connection of its own (`monitor members`), connected again
after it broke, in statements that each commit by themselves (no row stays locked while
the loop does something else), from `monitor.cluster.Replicas`'s own task.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
from psycopg import AsyncConnection

from monitor.errors import StoreError
from monitor.store.postgres.failures import reason
from monitor.store.postgres.schema import LOOP_TIMEOUT, session
from monitor.store.postgres.url import redacted
from monitor.store.records import Member

Conn = AsyncConnection[tuple[Any, ...]]
NAME = "monitor members"  # its application_name
SENDER = "sender"  # the lease's name
FORGET_SECONDS = 86400.0  # rows of members gone this long are deleted
_NOW = "extract(epoch FROM statement_timestamp())"

_RENEW = (
    "INSERT INTO members (instance, location, started, renewed_at) VALUES (%s, %s, %s, " + _NOW + ") "
    "ON CONFLICT (instance) DO UPDATE SET location = excluded.location, renewed_at = excluded.renewed_at"
)
_LIVE = (
    "SELECT instance, location, started, renewed_at FROM members "
    "WHERE location = %s AND renewed_at > " + _NOW + " - %s ORDER BY instance"
)
_FORGET = "DELETE FROM members WHERE renewed_at < " + _NOW + " - %s"
# Taken when free or expired, kept by its holder; `since` says when the holder took it.
_LEASE = (
    "INSERT INTO leases AS l (name, holder, since, expires_at) VALUES (%s, %s, " + _NOW + ", " + _NOW + " + %s) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, "
    "since = CASE WHEN l.holder = excluded.holder THEN l.since ELSE excluded.since END "
    "WHERE l.holder = excluded.holder OR l.expires_at < excluded.since "
    "RETURNING holder"
)
# Only the holder sends: when this process starts holding the lease (taken from a dead
# holder, or kept from this instance's run before a crash), any claim left is a dead
# sender's.
_RELEASE_CLAIMS = "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by IS NOT NULL"


class Members:
    """The membership rows and the lease; see the module doc."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Conn | None = None
        self._held = False  # this process held the lease at its last renewal

    async def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    await self._conn.close()
            self._conn = None
            try:
                self._conn = await AsyncConnection.connect(
                    session(self.url), autocommit=True, connect_timeout=LOOP_TIMEOUT, application_name=NAME
                )
            except psycopg.Error as exc:
                raise StoreError(f"cannot connect to {redacted(self.url)}: {str(exc).strip()}", reason(exc)) from exc
        return self._conn

    async def renew(self, member: Member, dead_after: float) -> list[Member]:
        try:
            conn = await self._connection()
            await conn.execute(_RENEW, (member.instance, member.location, member.started))
            cur = await conn.execute(_LIVE, (member.location, dead_after))
            rows = await cur.fetchall()
            await conn.execute(_FORGET, (FORGET_SECONDS,))
        except psycopg.Error as exc:
            raise StoreError(f"cannot renew the membership: {str(exc).strip()}", reason(exc)) from exc
        return [Member(str(i), str(loc), float(s), float(r)) for i, loc, s, r in rows]

    async def lease(self, holder: str, ttl: float) -> bool:
        try:
            conn = await self._connection()
            # Each statement commits by itself: no lock is held while this loop does other
            # work (a synchronous outbox call waiting on it would never let it commit).
            cur = await conn.execute(_LEASE, (SENDER, holder, ttl))
            held = await cur.fetchone() is not None
            if held and not self._held:
                await conn.execute(_RELEASE_CLAIMS)
        except psycopg.Error as exc:
            self._held = False
            raise StoreError(f"cannot take the sender's lease: {str(exc).strip()}", reason(exc)) from exc
        self._held = held
        return held

    async def leave(self, instance: str) -> None:
        try:
            conn = await self._connection()
            await conn.execute("DELETE FROM members WHERE instance = %s", (instance,))
            await conn.execute("DELETE FROM leases WHERE holder = %s", (instance,))
            self._held = False
        except psycopg.Error as exc:
            raise StoreError(f"cannot leave the membership: {str(exc).strip()}", reason(exc)) from exc

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
            self._conn = None
