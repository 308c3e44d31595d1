"""The dead-man's switch: ping `heartbeat_url` every minute while probing is healthy.

An outside service (Healthchecks, Uptime Kuma's push monitor, Cronitor...) expects the
ping and alerts when it stops: when the monitor dies, hangs, or stops probing on time.
So the ping is sent only while `healthy()` says the probes run on time; when they do
not, the monitor stays silent on purpose. `tick()` is the job the runtime schedules
every `PING_SECONDS`; it never raises.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from monitor import __version__
from monitor.log import kv

log = logging.getLogger("monitor.deadman")

PING_SECONDS = 60.0


class DeadMan:
    """Pings `url()` (None: switched off) on each `tick()` while `healthy()`.
    `last_ping` / `last_ok` / `last_error` / `last_success` tell the admin view how it
    went."""

    def __init__(
        self,
        url: Callable[[], str | None],
        healthy: Callable[[], bool],
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url, self.healthy, self.timeout, self.clock = url, healthy, timeout, clock
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(headers={"User-Agent": f"monitor/{__version__}"})
        self.last_ping: float | None = None
        self.last_ok: bool | None = None
        self.last_error: str | None = None
        self.last_success: float | None = None  # when a ping was last answered 2xx
        self.skipped = 0  # ticks withheld because probing was unhealthy

    async def tick(self) -> None:
        url = self.url()
        if not url:
            return
        if not self.healthy():
            self.skipped += 1
            log.warning("heartbeat withheld: probing is not healthy")
            return
        self.last_ping = self.clock()
        try:
            response = await self.client.get(url, timeout=self.timeout)
        except httpx.HTTPError as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            return
        if not response.is_success:
            # Not `raise_for_status()`: its message quotes the URL, whose path is the
            # check's secret key, and this error is logged.
            self._failed(f"HTTP {response.status_code} {response.reason_phrase}")
            return
        self.last_ok, self.last_error = True, None
        self.last_success = self.last_ping

    def _failed(self, error: str) -> None:
        self.last_ok, self.last_error = False, error
        log.warning("heartbeat failed", extra=kv(error=error))

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()
