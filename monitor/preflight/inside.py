"""The checklist inside the running monitor: the admin view's section in the days before
a watch period, and one alert with its result at the period's start.

Here the facts come from the monitor itself: its open store (the history, and whether
it takes writes: `storage_health()`), its view of its own uplink (`connectivity`), its
outbox, its dead-man's switch and its own process (the open-file limit that matters is
its own). Nothing is probed and no test message is sent: the last probes' expiry dates
are what the admin view judges, and `monitor preflight --send-test` is the full check.

- `admin_section(app_state, runtime, now, language)`: the admin view's checklist in
  words while a watch starts within `ADMIN_DAYS` (None otherwise), kept by the app's
  `AdminChecklist` and recomputed at most every `ADMIN_REFRESH` seconds (the
  database's integrity check is not free on a large store);
- `Announcer.tick()`: the runtime's housekeeping job; once a watch has started (up to
  `ANNOUNCE_GRACE` late, e.g. after a restart) it queues one "preflight" alert to every
  notifier whose `events` want it. Its id is stable per watch (`announcement_id`), so
  the outbox, which remembers ids, delivers it once even across restarts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from monitor.alerting.policy import ADMIN_TOKEN_ENV
from monitor.config import Config, Watch
from monitor.connectivity import Connectivity
from monitor.errors import StoreError
from monitor.log import kv
from monitor.notifiers.base import Alert
from monitor.preflight.checks import run_checks
from monitor.preflight.facts import Facts, History, Reader, UplinkNow, check_integrity, read_history
from monitor.preflight.host import Host, own_open_files
from monitor.preflight.model import Checklist, Status, Window
from monitor.preflight.render import Formatter, View, view
from monitor.store import StoreHealth, registry

if TYPE_CHECKING:
    from monitor.alerting.deadman import DeadMan
    from monitor.alerting.service import Alerting

log = logging.getLogger("monitor.preflight")

ADMIN_DAYS = 7
ADMIN_REFRESH = 300.0
ANNOUNCE_GRACE = 3600.0
ANNOUNCE_EVERY = 60.0  # seconds between the housekeeping job's looks
ALERT_LINES = 10  # findings listed in the alert; the rest are on the admin view
DAY = 86400.0
INSIDE = Host(open_files=own_open_files, units=())  # the process is the monitor: its own limit is the one


class InsideRuntime(Protocol):
    """What the checklist reads of the running monitor (`monitor.runtime.Monitor`)."""

    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> Reader: ...


def window_of(watch: Watch) -> Window:
    return Window(watch.name, watch.start.timestamp(), watch.end.timestamp())


def upcoming(config: Config, now: float, days: float = ADMIN_DAYS) -> Window | None:
    """The first watch period starting within `days` from now, if any."""
    soon = [w for w in config.watches if now <= w.start.timestamp() < now + days * DAY]
    return window_of(min(soon, key=lambda w: w.start)) if soon else None


async def inside_checklist(runtime: InsideRuntime, window: Window, now: float, host: Host = INSIDE) -> Checklist:
    """The checklist from the running monitor's own store, outbox and switch."""
    config = runtime.config
    settings = config.settings
    alerting: Alerting | None = getattr(runtime, "alerting", None)
    switch: DeadMan | None = getattr(runtime, "deadman", None)
    where = registry.where(settings)
    try:
        found = await read_history(config, runtime.store, alerting.outbox if alerting else None, now, where)
    except StoreError as exc:  # a damaged file: the checklist says so instead of failing the page
        found = History(where, available=True, error=str(exc))
    if found.error is None:  # the store answered: its own check, to its end
        found = dataclasses.replace(found, integrity=await check_integrity(settings))
    health: Callable[[], StoreHealth] | None = getattr(runtime, "storage_health", None)
    uplink: Connectivity | None = getattr(runtime, "connectivity", None)
    url = settings.heartbeat_url
    folder = registry.folder(settings)
    facts = Facts(
        config=config,
        window=window,
        now=now,
        history=found,
        deadman=switch.state(url) if switch is not None and url else None,
        folder=folder,
        free=host.disk_free(folder) if folder is not None else None,
        open_files=host.open_files(),
        unit=host.unit_limit(host.units),
        clock=host.clock_sync(),
        storage=health() if health is not None else None,
        uplink=UplinkNow(uplink.state, uplink.since) if uplink is not None else None,
        inside=True,
    )
    return Checklist.of(settings.title, window, now, settings.zone, run_checks(facts))


class AdminChecklist:
    """The admin view's checklist, kept for `ADMIN_REFRESH` seconds."""

    def __init__(self, host: Host = INSIDE, refresh: float = ADMIN_REFRESH) -> None:
        self.host, self.refresh = host, refresh
        self._kept: tuple[Window, float, Checklist] | None = None
        self._lock = asyncio.Lock()

    async def get(self, runtime: InsideRuntime, now: float) -> Checklist | None:
        window = upcoming(runtime.config, now)
        if window is None:
            return None
        async with self._lock:
            kept = self._kept
            if kept is None or kept[0] != window or now - kept[1] >= self.refresh or now < kept[1]:
                self._kept = kept = (window, now, await inside_checklist(runtime, window, now, self.host))
            return kept[2]


async def admin_section(state: Any, runtime: InsideRuntime, now: float, language: str) -> View | None:
    """The admin view's checklist in `language`, None outside the days before a watch
    period; the web app's `AdminChecklist` is kept on its `state` between requests."""
    kept: AdminChecklist | None = getattr(state, "preflight", None)
    if kept is None:
        kept = state.preflight = AdminChecklist()
    checklist = await kept.get(runtime, now)
    return view(checklist, language) if checklist is not None else None


def announcement_id(window: Window) -> str:
    return f"preflight:{window.name}:{round(window.start)}"


def summary_alert(config: Config, checklist: Checklist, ident: str, admin_view: bool = False) -> Alert:
    """The checklist's result as one alert: the counts, and the problems and warnings
    in words (at most `ALERT_LINES`). It links to the checklist on the admin view
    (`admin_url`, as a private target's alerts do) while the admin view is on; it has no
    public page (`url` None)."""
    words = Formatter(checklist, config.settings.language)
    counts = (checklist.count(Status.OK), checklist.count(Status.WARNING), checklist.count(Status.PROBLEM))
    findings = [r for r in checklist.rows if r.status is not Status.OK]
    lines = []
    for row in findings[:ALERT_LINES]:
        shown = words.row(row)
        ids = f" ({', '.join(row.ids)})" if row.ids else ""
        lines.append(f"{shown.status_word}: {shown.title}{ids}: {shown.found}")
    if len(findings) > ALERT_LINES:
        lines.append(words.t("preflight.alert.more", count=len(findings) - ALERT_LINES))
    public_url = config.settings.public_url
    worst = "DOWN" if counts[2] else "DEGRADED" if counts[1] else "UP"
    return Alert(
        id=ident,
        kind="preflight",
        target="preflight",
        name=checklist.window.name,
        group="",
        old="UNKNOWN",
        new=worst,
        reason="ok",
        at=checklist.now,
        detail="\n".join(lines),
        since=checklist.window.start,
        admin_url=f"{public_url}/admin#preflight" if public_url and admin_view else None,
        checks=counts,
    )


class Announcer:
    """The housekeeping job queueing each watch period's "preflight" alert once."""

    def __init__(
        self,
        runtime: InsideRuntime,
        alerting: Alerting,
        clock: Callable[[], float] = time.time,
        host: Host = INSIDE,
        grace: float = ANNOUNCE_GRACE,
        every: float = ANNOUNCE_EVERY,
        admin_view: Callable[[], bool] = lambda: bool(os.environ.get(ADMIN_TOKEN_ENV)),
    ) -> None:
        self.runtime, self.alerting, self.clock, self.host, self.grace = runtime, alerting, clock, host, grace
        self.every, self.admin_view = every, admin_view
        self._done: set[str] = set()

    def due(self, now: float) -> list[Window]:
        """Watch periods that began less than `grace` ago and are not announced yet."""
        found = []
        for watch in self.runtime.config.watches:
            window = window_of(watch)
            begun = window.start <= now < min(window.start + self.grace, window.end)
            if begun and announcement_id(window) not in self._done:
                found.append(window)
        return found

    async def tick(self) -> None:
        now = self.clock()
        for window in self.due(now):
            ident = announcement_id(window)
            self._done.add(ident)
            try:
                checklist = await inside_checklist(self.runtime, window, now, self.host)
                self._announce(checklist, ident)
            except Exception:  # a job must not raise; the next watch tries again
                log.exception("preflight announcement failed", extra=kv(watch=window.name))

    def _announce(self, checklist: Checklist, ident: str) -> None:
        config = self.runtime.config
        names: Sequence[str] = [n for n, nc in config.notifiers.items() if "preflight" in nc.events]
        queued = self.alerting.announce(summary_alert(config, checklist, ident, self.admin_view()), names)
        log.info(
            "preflight announced",
            extra=kv(watch=checklist.window.name, notifiers=",".join(queued), problems=checklist.count(Status.PROBLEM)),
        )
