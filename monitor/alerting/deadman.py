"""The dead-man's switch: ping `heartbeat_url` every minute while probing is healthy.

An outside service (Healthchecks, Uptime Kuma's push monitor, Cronitor...) expects the
ping and alerts when it stops: when the monitor dies, hangs, or stops probing on time.
So the ping is sent only while `healthy()` says the probes run on time; when they do
not, the monitor stays silent on purpose. `tick()` is the job the runtime schedules
every `PING_SECONDS`; it never raises.

After each ping the outcome is written to `STATE_FILE` in the data directory (when the
runtime names one), replaced atomically, so `monitor preflight` — another process — can
tell whether and when the switch was last answered. The file holds no URL, only a digest
of it (`url_key`): a state written for another URL is not this one's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from monitor import __version__
from monitor.log import kv

log = logging.getLogger("monitor.deadman")

PING_SECONDS = 60.0
STATE_FILE = "deadman.json"


def url_key(url: str) -> str:
    """A digest naming a heartbeat URL without revealing it (its path is a secret)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class DeadManState:
    """How the switch's pings went: the last attempt (`last_ping`, `last_ok`,
    `last_error`), the last answered one (`last_success`), ticks withheld because probing
    was unhealthy (`skipped`), and for which URL (`url_key`)."""

    url_key: str
    last_ping: float | None = None
    last_ok: bool | None = None
    last_error: str | None = None
    last_success: float | None = None
    skipped: int = 0


def save_state(path: Path, state: DeadManState) -> None:
    """Write `state` to `path` atomically (a reader sees the old file or the new one)."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(dataclasses.asdict(state)), encoding="utf-8")
    os.replace(partial, path)


def load_state(path: Path) -> DeadManState | None:
    """The state last saved at `path`; None when there is none or it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return DeadManState(**{f.name: data[f.name] for f in dataclasses.fields(DeadManState) if f.name in data})
    except (OSError, ValueError, TypeError):
        return None


class DeadMan:
    """Pings `url()` (None: switched off) on each `tick()` while `healthy()`.
    `last_ping` / `last_ok` / `last_error` / `last_success` tell the admin view how it
    went; `state_file()` (None: nowhere) is where each outcome is saved for others."""

    def __init__(
        self,
        url: Callable[[], str | None],
        healthy: Callable[[], bool],
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        state_file: Callable[[], Path | None] = lambda: None,
    ) -> None:
        self.url, self.healthy, self.timeout, self.clock = url, healthy, timeout, clock
        self.state_file = state_file
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
        else:
            await self._ping(url)
        await self._save(url)

    async def _ping(self, url: str) -> None:
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

    def state(self, url: str) -> DeadManState:
        return DeadManState(
            url_key(url), self.last_ping, self.last_ok, self.last_error, self.last_success, self.skipped
        )

    async def _save(self, url: str) -> None:
        path = self.state_file()
        if path is None:
            return
        try:
            await asyncio.to_thread(save_state, path, self.state(url))
        except OSError as exc:
            log.warning("heartbeat state not saved", extra=kv(path=str(path), error=exc.strerror or str(exc)))

    def _failed(self, error: str) -> None:
        self.last_ok, self.last_error = False, error
        log.warning("heartbeat failed", extra=kv(error=error))

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()
