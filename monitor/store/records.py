"""The records the store keeps and answers with, shared by every backend.

**Availability is time-based.** A target's state timeline comes from its incident
events (few rows, kept for ever). Within a window:

- *maintenance*: time in the MAINTENANCE state;
- *unmonitored*: time the monitor was not running (between one run's last sign of life
  and the next run's start) and time before the target's first event (UNKNOWN);
- *observed*: the rest; *down* is the part of it in the DOWN state (DEGRADED is up).

`availability = (observed - down) / observed`, i.e. time DOWN over the window minus
maintenance and unmonitored time. The status page, the API, the badges, the metrics and
the report all use this one definition (`Uptime`).

Probe counts and latency come from hourly rollups (`Rollup`): counts, failures,
latency sum/min/max and a log-bucket histogram for p50/p95. Raw results are kept only
for a short window (`raw_retention`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from monitor.result import State

if TYPE_CHECKING:
    from monitor.config import Target
    from monitor.notifiers.base import Alert

# Latency histogram: bucket i holds latencies in [LATENCY_BASE * 2**((i-1)/4),
# LATENCY_BASE * 2**(i/4)) seconds; bucket 0 everything below LATENCY_BASE and the last
# bucket everything above. Quarter-octave buckets (19% wide) bound a quantile's error.
LATENCY_BASE = 0.001
LATENCY_BUCKETS = 72  # up to ~0.001 * 2**17.75 s ≈ 220 s


def latency_bucket(seconds: float) -> int:
    """The histogram bucket of a latency."""
    if seconds < LATENCY_BASE:
        return 0
    index = math.floor(4 * math.log2(seconds / LATENCY_BASE)) + 1
    return min(index, LATENCY_BUCKETS - 1)


def bucket_bounds(index: int) -> tuple[float, float]:
    """The latency range `[low, high)` of a histogram bucket."""
    if index == 0:
        return 0.0, LATENCY_BASE
    return LATENCY_BASE * 2 ** ((index - 1) / 4), LATENCY_BASE * 2 ** (index / 4)


@dataclass(frozen=True, slots=True)
class StoredResult:
    """One raw probe result as stored (kept for `raw_retention` only)."""

    target: str
    at: float  # unix time the probe started
    ok: bool
    duration: float
    reason: str
    degraded: bool = False
    maintenance: bool = False
    status_code: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Rollup:
    """Probe counts and latency of one target over `[start, end)`: one hourly bucket, a
    downsampled point of a series, or a whole window merged (`probe_stats`).

    Latency fields cover the successful probes outside maintenance (`latency_count` of
    them); a failed probe's duration is its timeout and would distort them.
    `histogram[i]` counts those latencies in bucket i (see `latency_bucket`).
    """

    target: str
    start: float
    end: float
    count: int = 0  # every probe
    failures: int = 0  # failed probes outside maintenance
    degraded: int = 0  # passed but degraded, outside maintenance
    maintenance: int = 0  # probes taken inside a maintenance window
    latency_count: int = 0
    latency_sum: float = 0.0
    latency_min: float | None = None
    latency_max: float | None = None
    histogram: tuple[int, ...] = ()

    @property
    def latency_mean(self) -> float | None:
        return self.latency_sum / self.latency_count if self.latency_count else None

    @property
    def success_ratio(self) -> float | None:
        """Passed probes over probes, maintenance excluded (a probe-based figure; the
        availability shown to users is time-based, see `Uptime`)."""
        counted = self.count - self.maintenance
        return (counted - self.failures) / counted if counted > 0 else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1) of latency, interpolated inside its histogram bucket and
        clamped to the observed min/max."""
        total = sum(self.histogram)
        if total == 0 or self.latency_min is None or self.latency_max is None:
            return None
        rank = q * total
        seen = 0
        for index, count in enumerate(self.histogram):
            if count and seen + count >= rank:
                low, high = bucket_bounds(index)
                low, high = max(low, self.latency_min), min(high, self.latency_max)
                if high <= low:
                    return low
                fraction = (rank - seen) / count
                return low + (high - low) * fraction
            seen += count
        return self.latency_max


@dataclass(frozen=True, slots=True)
class Uptime:
    """Time-based availability of one target over `[start, end)` (see the module doc).
    `start`..`end` = observed + maintenance + unmonitored; down is part of observed."""

    target: str
    start: float
    end: float
    observed: float = 0.0
    down: float = 0.0
    degraded: float = 0.0
    maintenance: float = 0.0
    unmonitored: float = 0.0
    incidents: int = 0  # incidents (see `Period`) that began inside the window

    @property
    def ratio(self) -> float | None:
        """Availability 0..1, or None when nothing was observed."""
        return (self.observed - self.down) / self.observed if self.observed > 0 else None

    @property
    def percent(self) -> float | None:
        ratio = self.ratio
        return None if ratio is None else 100.0 * ratio


@dataclass(frozen=True, slots=True)
class Period:
    """A stretch of time a target spent in one state, from its events. `end` is None while
    it lasts. MAINTENANCE periods are maintenance.

    An *incident* (`HistoryReader.incidents`) is a DOWN period that maintenance does not
    end: a target that goes into maintenance while DOWN and comes out of it still DOWN is
    one incident, from its first DOWN to the first change that is neither into nor out of
    such a window. `maintenance` lists those windows inside it (`end` None: still in
    maintenance); their time is maintenance, never downtime. When the target comes out of
    the window UP, the incident ends with the window: the monitor shows maintenance, not
    the target's state, while it lasts."""

    target: str
    state: State
    start: float
    end: float | None
    reason: str = ""
    detail: str = ""
    maintenance: tuple[tuple[float, float | None], ...] = ()

    def duration(self, now: float) -> float:
        return (self.end if self.end is not None else now) - self.start

    def in_maintenance(self, now: float) -> float:
        """Seconds of the period spent in maintenance until `now`."""
        return sum((now if end is None else end) - start for start, end in self.maintenance)


@dataclass(frozen=True, slots=True)
class DayUptime:
    """One local calendar day's availability (a bar of the status page)."""

    day: date
    uptime: Uptime


@dataclass(frozen=True, slots=True)
class Note:
    """An admin's note on a target's incident."""

    id: int
    target: str
    at: float
    text: str
    author: str = ""


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement of one incident: the target's outage that began at `since`
    (unix seconds, the incident's identity), taken by `who` at `at`. `silences` are the
    Alertmanager silences made for it, as (notifier, silence id)."""

    target: str
    since: float
    at: float
    who: str
    note: str = ""
    silences: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Mute:
    """A quiet period of one target from `start` until `until` (no alerts; still probed,
    shown and counted in availability), set by `who`; `silences` as on `Ack`."""

    target: str
    start: float
    until: float
    who: str
    silences: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change a person (or the admin token, `who = "token"`) made: a configuration
    edit (`detail` holds the diff), an acknowledgement, a mute, a maintenance window, an
    incident update. `action` is a short dotted name (`target.edit`, `incident.update`),
    `subject` what it acted on (a target id, an incident id)."""

    at: float
    who: str
    action: str
    subject: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PlannedMaintenance:
    """A maintenance window planned at runtime (through the admin view), in addition to
    the configuration's `[[maintenance]]`."""

    id: int
    start: float
    end: float
    targets: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    reason: str = ""

    def covers(self, target: Target) -> bool:
        """Whether the window names `target` or its group (as `config.Maintenance.covers`)."""
        return target.id in self.targets or target.group in self.groups


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """Whether a store takes writes now, for `/readyz`, the metrics and the storage alert.

    `reason` is short and fixed ("disk full", "I/O error", "database corrupt",
    "database locked", ...), `since` when the failure began. `waiting` counts what is
    kept in memory for a retry meanwhile, `dropped` the raw results dropped since the
    start because that memory was full (the oldest first; events and alerts never)."""

    ok: bool = True
    reason: str = ""
    since: float | None = None
    waiting: int = 0
    dropped: int = 0

    def describe(self) -> str:
        """One line for people: "disk full, 1200 items waiting in memory"."""
        parts = [self.reason or "failing"]
        if self.waiting:
            parts.append(f"{self.waiting} items waiting in memory")
        if self.dropped:
            parts.append(f"{self.dropped} results dropped")
        return ", ".join(parts)


# The outbox: an entry's status, and the alert kinds not remembered for deduplication.
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
EPHEMERAL = ("refresh",)  # re-posts of an open problem: no dedup memory, pruned early
# What was last said about a target, which the alert policy resumes from after a restart
# (`Outbox.latest`): an outbox keeps each target's newest of these however old.
RESUME_KINDS = ("down", "up", "degraded", "flapping", "stable")
# Every kind whose newest is kept so: the policy's, and the monitor's own uplink alerts
# (`monitor.alerting.uplink`: an outage announced and not yet restored goes on after a
# restart). Asked for separately, so neither hides the other's newest.
SAID_KINDS = (*RESUME_KINDS, "connectivity_lost", "connectivity_restored")


@dataclass(frozen=True)
class Entry:
    """One alert for one notifier, as the outbox holds it."""

    seq: int
    alert: Alert
    notifier: str
    status: str
    attempts: int
    created: float
    next_at: float
    done_at: float | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Member:
    """One running instance as the shared store knows it (`Membership`): its id, its
    location, when it started and when it last renewed its row (the database's clock,
    unix seconds)."""

    instance: str
    location: str = "local"
    started: float = 0.0
    renewed_at: float = 0.0


@dataclass(frozen=True, slots=True)
class PushedHeartbeat:
    """A push heartbeat one instance of a cluster received (`protocols.SharedHeartbeats`),
    for the instance that owns its target to judge: its number (`change`, in the order
    the heartbeats were stored), its target, when it arrived (unix seconds), what the job
    said (`down`, its message, its run time) and the instance that received it."""

    change: int
    target: str
    arrived: float
    down: bool = False
    detail: str = ""
    duration: float = 0.0
    received_by: str = ""


# What operators write for citizens (`protocols.Bulletins`): an incident's status, and an
# announcement's level.
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
ANNOUNCEMENT_LEVELS = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True)
class Wording:
    """A text for citizens in Indonesian (`id`, required) and optionally English."""

    id: str
    en: str = ""

    def in_language(self, lang: str) -> str:
        """The text in `lang`, Indonesian when there is none in it."""
        return self.en if lang == "en" and self.en else self.id


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    """One step of an incident's timeline, posted by an operator."""

    id: int
    incident: int  # `PostedIncident.id`
    at: float
    status: str  # one of INCIDENT_STATUSES
    text: Wording
    author: str = ""  # the operator's name: never public


@dataclass(frozen=True, slots=True)
class PostedIncident:
    """What operators wrote about one incident: a *declared* one (`target` None; about
    `targets`, open from `opened` until its latest update is `resolved`), or an
    *automatic* one, the DOWN period of `target` that began at `opened` (`targets` is
    that target alone), given a public title or updates. `updates` oldest first."""

    id: int
    opened: float
    targets: tuple[str, ...]
    title: Wording | None = None
    target: str | None = None
    updates: tuple[IncidentUpdate, ...] = ()

    @property
    def declared(self) -> bool:
        return self.target is None

    @property
    def status(self) -> str | None:
        """The latest update's status; None before the first update."""
        return self.updates[-1].status if self.updates else None

    @property
    def resolved_at(self) -> float | None:
        """When the latest update resolved it; None while it is not resolved."""
        last = self.updates[-1] if self.updates else None
        return last.at if last is not None and last.status == "resolved" else None


@dataclass(frozen=True, slots=True)
class Announcement:
    """A banner for citizens from `start` until `end` (None: until it is removed)."""

    id: int
    level: str  # one of ANNOUNCEMENT_LEVELS
    text: Wording
    start: float
    end: float | None = None
    created: float = 0.0

    def active(self, now: float) -> bool:
        return self.start <= now and (self.end is None or now < self.end)


@dataclass(frozen=True, slots=True)
class LocationState:
    """One location's view of one target (`monitor.cluster`): its state under the
    target's thresholds there, since when, why, its last result's start (`at`) and
    latency, and whether that location is offline (its own uplink lost)."""

    target: str
    location: str
    state: State
    since: float
    at: float
    reason: str = "ok"
    detail: str = ""
    latency: float | None = None
    offline: bool = False


@dataclass(frozen=True, slots=True)
class LocationSeen:
    """One location as the store last heard of it: when its instance published
    (`seen`), the shortest interval of the targets it probes (`shortest`: it is stale
    after 3 × that without a word) and whether it is offline."""

    location: str
    seen: float
    shortest: float
    offline: bool = False


@dataclass(frozen=True, slots=True)
class LocationChanges:
    """The (target, location) rows published after a change number, by target and
    location, and `newest`: the highest change number the store holds (every
    publication takes a higher one; 0 for none). A reader keeps `newest` and asks for
    the rows after it next time; a `newest` below what it kept means another database
    (restored, recreated): read everything again."""

    states: tuple[LocationState, ...]
    newest: int


@dataclass(frozen=True)
class Subscriber:
    """A citizen's confirmed e-mail subscription (`monitor.subscriptions`): every public
    target when `targets` and `groups` are both empty, else those targets and the targets
    of those groups. `lang` is the page's language when they subscribed: their mails'."""

    id: int
    address: str
    targets: tuple[str, ...]
    groups: tuple[str, ...]
    lang: str
    confirmed: float  # unix time of the confirmation

    def covers(self, target: Target) -> bool:
        if not self.targets and not self.groups:
            return True
        return target.id in self.targets or (bool(target.group) and target.group in self.groups)


@dataclass(frozen=True)
class Outgoing:
    """A mail to queue for a subscriber (`Subscribers.enqueue`); see `Mail`."""

    key: str
    subscriber: int | None
    recipient: str
    message: str


@dataclass(frozen=True)
class Notice:
    """A maintenance window of the configuration as its subscribers were told of it
    (`Subscribers.notices`): `key` names the window and its times
    (`monitor.subscriptions.notices`), the rest is what the mail said."""

    key: str
    start: float
    end: float
    targets: tuple[str, ...]
    groups: tuple[str, ...]
    reason: str
    announced: float  # unix time the mails were queued


@dataclass(frozen=True)
class Mail:
    """One e-mail to one subscriber waiting in the subscriber mail queue: the whole
    message as RFC 5322 text, made when it was queued (its links included)."""

    seq: int
    key: str  # what it is about, e.g. "confirm:<hash>" or "event:web:1800000000:42": queued once
    subscriber: int | None  # None for a confirmation request (not a subscriber yet)
    recipient: str
    message: str
    attempts: int
    next_at: float
