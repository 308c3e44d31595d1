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

All of it runs on one synchronous connection of its own (`monitor members`), from the
membership's own thread (`monitor.cluster.renewals`), never on the event loop: a loop
busy with a storm of results must not make a live member look dead. The connection has
deadlines of its own (`CONNECT_SECONDS` to connect, `STATEMENT_TIMEOUT` a statement,
the session's TCP timeouts), far inside a renewal's period, and is connected again at
the next call after it broke. Every statement commits by itself: no row stays locked
between two renewals.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import psycopg

from monitor.errors import StoreError
from monitor.store.postgres.failures import reason
from monitor.store.postgres.schema import session
from monitor.store.postgres.url import redacted
from monitor.store.records import Member

Conn = psycopg.Connection[tuple[Any, ...]]
NAME = "monitor members"  # its application_name
CONNECT_SECONDS = 3  # a renewal waits this long for a new session at most
STATEMENT_TIMEOUT = "3s"  # and this long for each statement (a renewal is every 5 s)
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
    """The membership rows and the lease; see the module doc. Safe to call from any
    thread (one call at a time)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Conn | None = None
        self._held = False  # this process held the lease at its last renewal
        self._lock = threading.Lock()

    def _connection(self) -> Conn:
        if self._conn is not None and (self._conn.closed or self._conn.broken):
            self._drop()
        if self._conn is None:
            try:
                conn = psycopg.connect(
                    session(self.url), autocommit=True, connect_timeout=CONNECT_SECONDS, application_name=NAME
                )
            except psycopg.Error as exc:
                raise StoreError(f"cannot connect to {redacted(self.url)}: {str(exc).strip()}", reason(exc)) from exc
            try:
                conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
            except psycopg.Error as exc:
                conn.close()
                raise StoreError(f"cannot set up the session: {str(exc).strip()}", reason(exc)) from exc
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def renew(self, member: Member, dead_after: float) -> list[Member]:
        with self._lock:
            try:
                conn = self._connection()
                conn.execute(_RENEW, (member.instance, member.location, member.started))
                rows = conn.execute(_LIVE, (member.location, dead_after)).fetchall()
                conn.execute(_FORGET, (FORGET_SECONDS,))
            except psycopg.Error as exc:
                self._drop()  # a statement that timed out leaves a session of unknown state
                raise StoreError(f"cannot renew the membership: {str(exc).strip()}", reason(exc)) from exc
        return [Member(str(i), str(loc), float(s), float(r)) for i, loc, s, r in rows]

    def lease(self, holder: str, ttl: float) -> bool:
        with self._lock:
            try:
                conn = self._connection()
                held = conn.execute(_LEASE, (SENDER, holder, ttl)).fetchone() is not None
                if held and not self._held:
                    conn.execute(_RELEASE_CLAIMS)
            except psycopg.Error as exc:
                self._held = False
                self._drop()
                raise StoreError(f"cannot take the sender's lease: {str(exc).strip()}", reason(exc)) from exc
            self._held = held
        return held

    def leave(self, instance: str) -> None:
        with self._lock:
            try:
                conn = self._connection()
                conn.execute("DELETE FROM members WHERE instance = %s", (instance,))
                conn.execute("DELETE FROM leases WHERE holder = %s", (instance,))
                self._held = False
            except psycopg.Error as exc:
                self._drop()
                raise StoreError(f"cannot leave the membership: {str(exc).strip()}", reason(exc)) from exc

    def close(self) -> None:
        with self._lock:
            self._drop()
