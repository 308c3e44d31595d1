"""Keeping the web port from starving the probes: a budget of connections and a deadline
for every request head.

The probes and the web server share one process and one open-file limit. uvicorn keeps
a connection that never finishes its request head open for ever (its keep-alive
timeout starts only after a response), so a few hundred clients sending a byte at a
time once took every descriptor: each probe then failed with "Too many open files" and
every target went DOWN. So the web side gets a budget of its own (what the limit leaves
after the probes' reserve, see `connection_budget`), and:

- a connection must deliver a whole request head within `HEAD_TIMEOUT` of being opened
  (or of its previous response, on a kept-alive connection), or it is closed;
- when the budget is full, a new connection closes the oldest one still sending its
  head (a slow client's, never one being answered); when none is, the new connection
  is closed at once. Either way a health check or a citizen arriving later gets in.

`guarded(protocol)` wraps uvicorn's HTTP protocol class with this; the `Guard` is shared
by every connection of a listener.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import OrderedDict
from typing import Any

from monitor.log import kv

log = logging.getLogger(__name__)

HEAD_TIMEOUT = 10.0  # seconds a client has to send a whole request head
MAX_CONNECTIONS = 4096  # the web side never holds more, whatever the limit allows
PROBE_RESERVE_BASE = 128  # descriptors kept for the store, logs, listeners, DNS
MIN_CONNECTIONS = 32
SHED_LOG_SECONDS = 60.0  # at most one "shedding" line a minute


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one (systemd's default soft limit is
    1,024 whatever the hard one); return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def connection_budget(open_files: int, probes_in_flight: int) -> tuple[int, str | None]:
    """How many web connections fit beside the probes, and a warning when the limit is
    too low. Each probe in flight may hold two descriptors (a connection, and a second
    one for a redirect or a certificate read)."""
    reserve = PROBE_RESERVE_BASE + 2 * probes_in_flight
    budget = min(MAX_CONNECTIONS, open_files - reserve)
    if budget >= MIN_CONNECTIONS:
        return budget, None
    warning = (
        f"the open-file limit ({open_files}) is too low for {probes_in_flight} probes in flight and the web "
        f"server: raise it to at least {reserve + 256} (LimitNOFILE= in the systemd unit, ulimit -n)"
    )
    return MIN_CONNECTIONS, warning


class Guard:
    """The connections of one listener: how many, and which are still sending a head."""

    def __init__(self, budget: int, head_timeout: float = HEAD_TIMEOUT) -> None:
        self.budget, self.head_timeout = budget, head_timeout
        self.open = 0
        self.waiting: OrderedDict[int, asyncio.BaseTransport] = OrderedDict()  # oldest first
        self.shed = 0
        self._logged = 0.0

    def admit(self, transport: asyncio.BaseTransport) -> bool:
        """Count a new connection; False when it must be closed at once."""
        if self.open >= self.budget:
            if not self.waiting:
                self._shed("connection budget full")
                return False
            _, oldest = self.waiting.popitem(last=False)
            oldest.close()  # its connection_lost uncounts it
            self._shed("connection budget full: the oldest unfinished request closed")
        self.open += 1
        self.waiting[id(transport)] = transport
        return True

    def head_done(self, transport: asyncio.BaseTransport) -> None:
        self.waiting.pop(id(transport), None)

    def head_expected(self, transport: asyncio.BaseTransport) -> None:
        self.waiting[id(transport)] = transport

    def gone(self, transport: asyncio.BaseTransport) -> None:
        self.waiting.pop(id(transport), None)
        self.open -= 1

    def timed_out(self) -> None:
        self._shed("request head not received in time")

    def _shed(self, why: str) -> None:
        self.shed += 1
        now = time.monotonic()
        if now - self._logged >= SHED_LOG_SECONDS:
            self._logged = now
            log.warning("web connections shed", extra=kv(why=why, open=self.open, budget=self.budget, shed=self.shed))


def guarded(base: type[asyncio.Protocol], guard: Guard) -> type[asyncio.Protocol]:
    """`base` (uvicorn's H11Protocol or HttpToolsProtocol) under `guard`."""

    class Guarded(base):  # type: ignore[valid-type,misc]
        _head_timer: asyncio.TimerHandle | None = None
        _admitted = False

        def connection_made(self, transport: Any) -> None:
            if not guard.admit(transport):
                transport.close()
                return
            self._admitted = True
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if not self._admitted:
                return
            self._disarm()
            guard.gone(self.transport)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if not self._admitted:
                return
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before and self._head_timer is not None:  # a whole head arrived
                self._disarm()
                guard.head_done(self.transport)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                guard.head_expected(self.transport)
                self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(guard.head_timeout, self._head_timeout)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timeout(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                guard.timed_out()
                self.transport.close()

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded
