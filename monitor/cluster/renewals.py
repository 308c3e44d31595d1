"""`Renewals`: the membership's own thread, so that a busy event loop never makes a live
member look dead.

Under a storm (tens of thousands of results a minute, a burst of state changes) the
event loop can be late by seconds; a renewal that waited for it missed its deadline, the
others counted the member dead, the targets moved, and moved back at its next renewal.
This thread renews the membership row and the sender's lease every `renew_every`
seconds by its own monotonic clock, through the store's synchronous `Membership` calls
(PostgreSQL: a connection of its own, `monitor members`, with its own connect and
statement deadlines), whatever the loop is doing. After each attempt it hands the loop
`Replicas.apply` (`call_soon_threadsafe`): the loop takes the members read and reacts
to a change (hand-overs, take-overs) between two of its own callbacks.

The thread starts right after the first renewal, before the runtime's start reads the
history (which takes seconds at tens of thousands of targets: the row must not expire
meanwhile), but the loop is told only from `tell()` on, once the start is done: a change
of members must not move targets under a start that is resuming them.

A failed renewal (the database gone, a statement past its deadline) is retried after a
backoff (`BACKOFF_FIRST` doubling up to `renew_every`) on a new session; the store's
failure is logged once until a renewal works again (`Replicas.renew_rows`), and any
other exception is logged with its traceback and the thread goes on: it never ends
silently. `stop` asks it to end, waits for it to give the row and the lease up
(`Replicas.leave_rows`) at most `STOP_SECONDS`, and otherwise lets the row expire.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from monitor.cluster.replicas import Replicas
from monitor.log import kv

log = logging.getLogger("monitor.cluster")

BACKOFF_FIRST = 0.5  # seconds before the first retry of a failed renewal
STOP_SECONDS = 5.0  # how long a stop waits for the thread to leave
NAME = "monitor members"  # the thread's name (and the PostgreSQL session's)


class Renewals:
    """The thread renewing `replicas` and telling `loop`; see the module doc."""

    def __init__(self, replicas: Replicas, loop: asyncio.AbstractEventLoop) -> None:
        self.replicas, self.loop = replicas, loop
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=NAME, daemon=True)
        self._crashed = False  # an unexpected error was logged (once until a renewal works)
        self._telling = False  # the loop is handed each renewal's reading (from `tell`)

    def start(self) -> None:
        self._thread.start()

    def tell(self) -> None:
        """On the loop, once the start is done: apply the last reading now, and hand the
        loop every reading from now on."""
        self._telling = True
        self.replicas.apply()

    def alive(self) -> bool:
        return self._thread.is_alive()

    async def stop(self, deadline: float = STOP_SECONDS) -> None:
        """End the thread, which leaves the membership; wait `deadline` seconds at most."""
        self._stopping.set()
        if not self._thread.is_alive():
            return
        await asyncio.to_thread(self._thread.join, deadline)
        if self._thread.is_alive():
            log.warning(
                "the membership thread did not stop in time: its row expires by itself",
                extra=kv(seconds=deadline),
            )

    def _run(self) -> None:
        every = self.replicas.renew_every
        backoff = BACKOFF_FIRST
        due = time.monotonic() + every
        while not self._stopping.wait(max(0.0, due - time.monotonic())):
            if self._renew():
                backoff = BACKOFF_FIRST
                # On its own cadence; a renewal that ran late does not bunch the next ones.
                due = max(due + every, time.monotonic() + every / 2)
            else:
                due = time.monotonic() + backoff
                backoff = min(backoff * 2, every)
            self._tell_loop()
        self.replicas.leave_rows()

    def _renew(self) -> bool:
        try:
            done = self.replicas.renew_rows()
        except Exception:  # a bug, not the store: logged, and the thread goes on
            if not self._crashed:
                log.exception("the membership renewal failed unexpectedly")
            self._crashed = True
            return False
        if done:
            self._crashed = False
        return done

    def _tell_loop(self) -> None:
        if not self._telling:
            return
        try:
            self.loop.call_soon_threadsafe(self.replicas.apply)
        except RuntimeError:  # the loop is closed: the process is ending
            self._stopping.set()
