"""`Replicas`: this instance among the others sharing its store and its location.

Every `RENEW_SECONDS` the instance renews its membership row and reads back the live
members of its location (rows renewed within `DEAD_AFTER`, two renewals: a member
whose row is older is dead, and its targets move to the others at this renewal). A
target is this instance's when `rendezvous.owner` picks it among the live members, so
every instance that sees the same members splits the targets the same way and each is
probed once per location. A member that joins is seen at the others' next renewal.

The same renewal takes or keeps the sender's lease (`LEASE_SECONDS` long, so a sender
killed without a word is replaced within `LEASE_SECONDS + RENEW_SECONDS`). The holder
stops counting itself the sender as soon as its last successful renewal is older than
`LEASE_SECONDS - RENEW_SECONDS` by its own monotonic clock, before the lease can expire
in the database and be taken by another: two instances never send at once while their
clocks run at the same rate.

When the store cannot be reached, the last members seen stay (a member that died
meanwhile is noticed when the store is back) and the lease lapses: what this instance
holds in memory it delivers itself (`monitor.alerting.fallback`), the shared outbox
waits for a sender.

Two sides, so that a busy event loop never makes a live member look dead: `renew_rows`
talks to the store (blocking; in the membership's own thread, `monitor.cluster.renewals`,
or a worker thread) and leaves what it read in `_live` and `_leased_at`, plain
attributes replaced whole; `apply` runs on the loop, takes the members read as the
loop's own `members` and calls `on_change` / `on_sender` there. The loop's view of the
members therefore changes only on the loop, between two of its callbacks, while the row
and the lease are renewed on time whatever the loop is doing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path

from monitor.cluster.rendezvous import owner
from monitor.errors import StoreError
from monitor.log import kv
from monitor.store import Member, Membership

log = logging.getLogger("monitor.cluster")

RENEW_SECONDS = 5.0  # between two renewals of the membership row and the lease
DEAD_AFTER = 2 * RENEW_SECONDS  # a row older than two renewals is a dead member's
LEASE_SECONDS = 15.0  # the sender's lease, renewed with the membership
ID_FILE = "instance-id"  # in data_dir: the same id after a restart


def instance_id(data_dir: Path) -> str:
    """This instance's id: kept in `data_dir` so that a restarted instance takes its own
    row and lease back at once (made from the host name and random bits the first
    time; not kept when `data_dir` is not a folder or cannot be written)."""
    path = data_dir / ID_FILE
    try:
        found = path.read_text().strip()
        if found:
            return found
    except OSError:
        pass
    made = f"{socket.gethostname()}-{secrets.token_hex(4)}"
    if not data_dir.is_dir():
        return f"{made}-{os.getpid()}"
    try:
        path.write_text(made + "\n")
    except OSError as exc:
        log.warning("cannot keep the instance id", extra=kv(path=str(path), error=str(exc)))
        made = f"{made}-{os.getpid()}"
    return made


class Replicas:
    """This instance's membership and lease; see the module doc. `on_change(members)`
    is called on the loop after a renewal that changed the live members."""

    def __init__(
        self,
        membership: Membership,
        instance: str,
        location: str = "local",
        *,
        renew_every: float = RENEW_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.membership, self.clock = membership, clock
        self.renew_every, self.lease_seconds = renew_every, lease_seconds
        self.me = Member(instance, location, time.time())
        self.members: tuple[str, ...] = (instance,)  # the loop's view (changed by `apply` only)
        self._live: tuple[str, ...] = (instance,)  # the last renewal's reading (any thread)
        self.renewals = 0  # successful renewals so far
        self.on_change: Callable[[tuple[str, ...]], None] | None = None
        self.on_sender: Callable[[bool], None] | None = None
        self._leased_at: float | None = None  # monotonic start of the last renewal that kept the lease
        self._was_sender = False
        self.failure = ""  # why the last renewal failed ("" when it did not)

    @property
    def instance(self) -> str:
        return self.me.instance

    @property
    def sender(self) -> bool:
        """This instance sends alerts and keeps house now (safe from any thread)."""
        at = self._leased_at
        return at is not None and self.clock() - at < self.lease_seconds - self.renew_every

    def owns(self, target_id: str) -> bool:
        """`target_id` is probed here."""
        members = self.members
        return len(members) == 1 or owner(target_id, members) == self.instance

    async def renew(self) -> None:
        """One renewal in a worker thread, applied on the loop (at start, and in tests)."""
        await asyncio.to_thread(self.renew_rows)
        self.apply()

    def renew_rows(self) -> bool:
        """The row, the live members, the lease, from the store (blocking: never on the
        loop). False when the store failed (logged once until it works again)."""
        started = self.clock()
        try:
            live = self.membership.renew(self.me, self.renew_every * 2)
            held = self.membership.lease(self.instance, self.lease_seconds)
        except StoreError as exc:
            if not self.failure:
                log.error("cluster membership not renewed", extra=kv(reason=exc.reason or str(exc)))
            self.failure = exc.reason or str(exc)
            return False
        if self.failure:
            log.warning("cluster membership renewed again")
            self.failure = ""
        self._leased_at = started if held else None
        self._live = tuple(sorted({m.instance for m in live} | {self.instance}))
        self.renewals += 1
        return True

    def apply(self) -> None:
        """On the loop: take the members last read, tell `on_change` and `on_sender`."""
        members = self._live
        if members != self.members:
            log.warning(
                "cluster members changed",
                extra=kv(location=self.me.location, members=",".join(members), was=",".join(self.members)),
            )
            self.members = members
            if self.on_change is not None:
                self.on_change(members)
        self._sender_changed()

    def _sender_changed(self) -> None:
        now = self.sender
        if now != self._was_sender:
            self._was_sender = now
            log.warning("this instance sends alerts now" if now else "this instance no longer sends alerts")
            if self.on_sender is not None:
                self.on_sender(now)

    def leave_rows(self) -> None:
        """The row and the lease given up, so the others take over at once (blocking)."""
        self._leased_at = None
        try:
            self.membership.leave(self.instance)
        except StoreError as exc:
            log.warning("cluster membership not given up", extra=kv(reason=exc.reason or str(exc)))

    async def leave(self) -> None:
        """`leave_rows` in a worker thread (a stop without the membership's thread)."""
        await asyncio.to_thread(self.leave_rows)
