"""The configuration (`targets.toml`) as frozen, typed values.

`monitor.config.loader.load_config` builds them; everything else reads them. Each
probe and notifier kind keeps its own keys in its frozen `spec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Kinds a notifier may choose with `events = [...]`; the alert policy raises these.
# "preflight": the readiness checklist's result at a watch period's start (`monitor.preflight`).
EVENT_KINDS = ("down", "up", "degraded", "cert", "reminder", "flapping", "preflight")
DEFAULT_EVENTS = frozenset({"down", "up", "cert", "reminder", "flapping", "preflight"})


@dataclass(frozen=True)
class Settings:
    """`[monitor]`: the instance as a whole."""

    title: str = "Service status"
    language: str = "en"
    timezone: str = "UTC"
    listen: str = "127.0.0.1:8080"
    metrics_listen: str | None = None  # a second listener for /metrics and /probe (only there)
    data_dir: Path = Path("data")
    public_url: str | None = None
    heartbeat_url: str | None = None
    raw_retention: float = 48 * 3600.0  # seconds raw probe results are kept (rollups stay)
    store: str = "sqlite"  # the backend's scheme, or its URL (`monitor.store.registry`)
    # Checks that should always pass while this instance is online (`monitor.connectivity`):
    # probes like a target's, each with its `id` as the check's name. Empty: off.
    connectivity: tuple[Target, ...] = ()
    # This instance's place among several sharing one store (`monitor.cluster`); the
    # replicas of one location split its targets.
    location: str = "local"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# The `[monitor]` keys a reload cannot apply: the listeners are bound, the store opened
# (with its `raw_retention`) and the data folder and location taken at start.
RESTART_SETTINGS = ("listen", "metrics_listen", "data_dir", "store", "raw_retention", "location")


def pending_restart(started: Settings, now: Settings) -> list[str]:
    """The `RESTART_SETTINGS` keys whose value in `now` differs from the one the
    instance `started` with: they take effect at the next start."""
    return [key for key in RESTART_SETTINGS if getattr(started, key) != getattr(now, key)]


@dataclass(frozen=True)
class Watch:
    """`[[watch]]`: a period to watch closely and report on."""

    name: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Target:
    """`[targets.ID]`: one monitored service. `spec` is the kind's own frozen spec.
    Slotted: one per target, 100,000 in one process (no `__dict__` each)."""

    id: str
    name: str
    kind: str
    url: str | None
    spec: Any
    group: str = ""
    description: str = ""
    interval: float = 30.0
    timeout: float = 10.0
    failure_threshold: int = 3
    success_threshold: int = 2
    notify: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    public: bool = True
    degraded_after: float | None = None
    down_after: float | None = None
    cert_warn_days: tuple[int, ...] = ()
    # Reached across the monitor's uplink: while the monitor is offline a failing probe
    # of it is no verdict (held UNKNOWN, `monitor_offline`). The loader's default is
    # false for the monitor's own host (loopback, `localhost`, its listen address) and
    # for passive kinds, true for everything else.
    external: bool = True
    paused: bool = False  # `paused = true`: kept in the file, not probed, shown as paused
    # Several locations (`monitor.cluster`): where the target is probed (empty: every
    # location) and how many of the reporting locations must see it DOWN for the
    # target to be DOWN (None: "majority", more than half of them).
    locations: tuple[str, ...] = ()
    quorum: int | None = None

    def probed_at(self, location: str) -> bool:
        """Whether an instance of `location` probes this target."""
        return not self.locations or location in self.locations


@dataclass(frozen=True)
class NotifierConfig:
    """`[notifiers.NAME]`: one alert channel. `spec` is the kind's own frozen spec.
    `events`, `repeat_every`, `escalate_after` and `escalate_to` steer the alert policy
    (see `monitor.policy`)."""

    name: str
    type: str
    spec: Any
    repeat_every: float | None = None
    events: frozenset[str] = DEFAULT_EVENTS
    escalate_after: float | None = None
    escalate_to: tuple[str, ...] = ()


ROLES = ("viewer", "operator", "admin")  # each may do what the ones before it may


@dataclass(frozen=True)
class Admin:
    """`[admins.NAME]`: a person who may log in to the admin UI (`monitor.config.accounts`).
    `role`: a viewer reads, an operator also acts (pause, maintenance, notes), an admin
    also edits the configuration."""

    name: str
    password_hash: str = field(repr=False)
    role: str = "viewer"


@dataclass(frozen=True)
class Subscriptions:
    """`[subscriptions]`: citizens' e-mail subscriptions (`monitor.subscriptions`).
    `spec` is the e-mail notifier's server spec (`monitor.notifiers.email.EmailSpec`,
    without recipients): the same keys, the same sending code."""

    enabled: bool
    spec: Any


@dataclass(frozen=True)
class Maintenance:
    """`[[maintenance]]`: a planned window; no alerts, not counted as downtime."""

    start: datetime
    end: datetime
    targets: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    reason: str = ""

    def covers(self, target: Target) -> bool:
        return target.id in self.targets or target.group in self.groups


WEEK_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class Shift:
    """`[[duty]]`: `who` (a notifier) is on duty in `roster` from `start` to `end`, or
    every week in `weekly` spans: (minute of the week the span starts at, counted from
    Monday 00:00 in the configured time zone, and the minute it ends; an end past
    `WEEK_MINUTES` runs into the next Monday)."""

    roster: str
    who: str
    start: datetime | None = None
    end: datetime | None = None
    weekly: tuple[tuple[int, int], ...] = ()

    def covers(self, at: datetime) -> bool:
        """On duty at `at` (an aware time; weekly spans are read in its zone)."""
        if self.start is not None and self.end is not None:
            return self.start <= at < self.end
        minute = at.weekday() * 1440 + at.hour * 60 + at.minute
        return any(s <= m < e for s, e in self.weekly for m in (minute, minute + WEEK_MINUTES))


@dataclass(frozen=True)
class Roster:
    """`[rosters.NAME]`: what `notify = ["duty:NAME"]` needs besides the shifts: the
    notifier an alert goes to when nobody is on duty (and last when nobody acknowledges),
    and how long each one on the way has to acknowledge."""

    name: str
    fallback: str
    escalate_after: float = 900.0


@dataclass(frozen=True)
class Config:
    """The whole, validated configuration."""

    path: Path
    settings: Settings
    targets: Mapping[str, Target]
    notifiers: Mapping[str, NotifierConfig] = field(default_factory=dict)
    watches: tuple[Watch, ...] = ()
    maintenance: tuple[Maintenance, ...] = ()
    rosters: Mapping[str, Roster] = field(default_factory=dict)
    duty: tuple[Shift, ...] = ()
    warnings: tuple[str, ...] = ()  # worth saying, not wrong: gaps in a roster (`monitor validate`)
    admins: Mapping[str, Admin] = field(default_factory=dict)
    subscriptions: Subscriptions | None = None  # None: no [subscriptions] table
    digest: str = ""  # SHA-256 of the file's bytes, to tell a changed file from a touched one

    def maintenance_for(self, target: Target, at: datetime) -> Maintenance | None:
        """The maintenance window covering `target` at `at`, if any."""
        for window in self.maintenance:
            if window.start <= at < window.end and window.covers(target):
                return window
        return None
