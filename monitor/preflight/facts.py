"""Everything the checks read, gathered once: `Facts`.

The checks (`monitor.preflight.checks`) are plain functions of `Facts`, with no I/O of
their own, so the command (`monitor.preflight.run`), the admin view and the alert at a
watch's start (`monitor.preflight.inside`) all judge the same way. What is read:

- the stored history (`History`, through the store seam): each target's last event and
  last result, its state changes of the last `FLAP_WINDOW`, its availability over the
  last `WEEK`, the planned maintenance, the outbox's entries and the database's
  consistency check (`check_integrity`: the store backend's one check, `Backend.check`,
  without a time budget);
- the running store's health (`StoreHealth`: does it take writes?) and its own uplink
  (`monitor.connectivity`: offline now?), inside the monitor;
- expiry dates read now (`probed`: certificates, domain registrations) and test
  messages sent now (`sent`), by the command;
- the dead-man's switch's last outcome (`monitor.alerting.deadman.DeadManState`);
- the machine (`monitor.preflight.host`): free space where the store grows, the
  open-file limits, the clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from monitor.alerting.deadman import DeadManState
from monitor.alerting.policy import FLAP_WINDOW
from monitor.config import Config, Settings, Target
from monitor.connectivity import Uplink
from monitor.errors import StoreError
from monitor.preflight.host import ClockSync, UnitLimit
from monitor.preflight.model import Window
from monitor.probes import PROBES
from monitor.result import Event, Result
from monitor.store import Entry, HistoryReader, Outbox, PlannedMaintenance, StoreHealth, Uptime, registry
from monitor.store.protocols import Annotations

WEEK = 7 * 86400.0
RECENT = 60.0  # seconds: a running monitor records that it runs every 10 s at least
OUTBOX_READ = 1000  # newest outbox entries read: enough for each notifier's latest outcome


class Reader(HistoryReader, Annotations, Protocol):
    """What the checks read of a store: its history and its planned maintenance."""


@dataclass(frozen=True)
class Integrity:
    """The store backend's check (`Backend.check`): `problem` what it found (None:
    sound), or `finished` False when it could not run to its end now (the file was
    locked); `reads_pages` whether it read the data for damage or only found the store
    usable (a database server)."""

    finished: bool
    problem: str | None = None
    reads_pages: bool = True


async def check_integrity(settings: Settings) -> Integrity:
    """The store backend's check run to its end, in a thread (it may read the whole
    database)."""
    pages = registry.reads_pages(settings)
    try:
        finished = await asyncio.to_thread(registry.check_store, settings, None)
    except StoreError as exc:
        return Integrity(True, str(exc), pages)
    return Integrity(finished, None, pages)


@dataclass(frozen=True)
class UplinkNow:
    """The running monitor's view of its own uplink (`monitor.connectivity.Connectivity`):
    its state and since when (None: not known)."""

    state: Uplink
    since: float | None = None


@dataclass(frozen=True)
class History:
    """What the store holds. `available` is False before `monitor run` ever stored
    anything here; `error` says why the store could not be read; `running` whether a
    `monitor run` recorded itself in the last `RECENT` seconds (None: cannot tell)."""

    where: str
    available: bool = False
    error: str | None = None
    last_events: Mapping[str, Event] = field(default_factory=dict)
    last_results: Mapping[str, Result] = field(default_factory=dict)
    changes: Mapping[str, int] = field(default_factory=dict)
    week: Mapping[str, Uptime] = field(default_factory=dict)
    planned: Sequence[PlannedMaintenance] = ()
    outbox: Sequence[Entry] | None = None  # None: not read
    integrity: Integrity | None = None  # None: not checked
    running: bool | None = None


async def read_history(config: Config, store: Reader, outbox: Outbox | None, now: float, where: str) -> History:
    """Read what the checks need from an open store (and its open outbox)."""
    ids = list(config.targets)
    recent = await store.events(ids, now - FLAP_WINDOW, now)
    last_events = await store.last_events()
    return History(
        where=where,
        available=True,
        running=await _running(store, [t for t in ids if t in last_events and last_events[t].at < now - RECENT], now),
        last_events=last_events,
        last_results=await store.last_results(),
        changes=Counter(event.target for event in recent),
        week=await store.uptime(ids, now - WEEK, now),
        planned=await store.planned_maintenance(now),
        outbox=outbox.entries(None, OUTBOX_READ) if outbox is not None else None,
    )


async def _running(store: Reader, known: list[str], now: float) -> bool | None:
    """Whether a monitor recorded itself lately: for targets known before the last
    `RECENT` seconds, all of that time is unmonitored only when no monitor ran in it."""
    if not known:
        return None
    recent = await store.uptime(known, now - RECENT, now)
    return any(u.unmonitored < RECENT - 1.0 for u in recent.values())


@dataclass(frozen=True)
class Facts:
    """Everything one checklist is judged from; see the module docstring. `folder` is
    where the store's files grow (None: on a database server), `free` the bytes free
    there; `open_files` the limit `monitor run` works with here and `unit` an installed
    systemd unit's; `storage` the running store's health and `uplink` its view of its own
    uplink (None: not running here);
    `inside` is True when the monitor itself gathers them (the admin view, the alert at
    a watch's start) rather than `monitor preflight`."""

    config: Config
    window: Window
    now: float
    history: History
    deadman: DeadManState | None = None
    probed: Mapping[str, Result] = field(default_factory=dict)
    sent: Mapping[str, str | None] | None = None
    folder: Path | None = None
    free: int | None = None
    open_files: int | None = None
    unit: UnitLimit | None = None
    clock: ClockSync | None = None
    storage: StoreHealth | None = None
    uplink: UplinkNow | None = None
    inside: bool = False

    def expiry(self, target: Target) -> float | None:
        """The date the target's kind must not let lapse (`ProbeKind.expiry`: the earliest
        certificate expiry, a domain's registration): read now, else the stored result's."""
        kind = PROBES.get(target.kind)
        if kind is None:
            return None
        for source in (self.probed, self.history.last_results):
            result = source.get(target.id)
            at = kind.expiry.at(result) if result is not None else None
            if at is not None:
                return at
        return None
