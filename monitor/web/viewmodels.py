"""What the public may see, gathered from the configuration, the live states and the store.

This module is the one place that decides what is public. Everything a public page, the
JSON API or a badge shows passes through a `Public*` value built here, and those carry
only a target's id, name and group, its state, its reasons as machine codes (shown in
plain words), times and figures — never a target with `public = false`, never a URL,
host, address, port, user name, token, password or a probe's own detail text (which can
name hosts). Admin views read the runtime directly instead.

Everything is read from the store's rollups and events, never from raw results, so the
page for a thousand targets costs a handful of queries.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from monitor.config import Config, Maintenance, Target
from monitor.connectivity import Connectivity, Uplink
from monitor.result import State
from monitor.state import StateMachine
from monitor.store import (
    Announcement,
    DayUptime,
    Note,
    Period,
    PlannedMaintenance,
    PostedIncident,
    Rollup,
    Store,
    Uptime,
    Wording,
)
from monitor.web import daybars
from monitor.web.graphics import Line, sparkline
from monitor.web.settled import Settled

if TYPE_CHECKING:
    from monitor.runtime import IncidentListener

WINDOWS: Mapping[str, float] = {"24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
RANGES: Mapping[str, float] = {**WINDOWS, "90d": 90 * 86400.0}
BAR_DAYS = 90
RECENT_DAYS = 30
RECENT_LIMIT = 10


class Runtime(Protocol):
    """What the web app reads from the running monitor (`monitor.runtime.Monitor`)."""

    @property
    def config(self) -> Config: ...

    @property
    def states(self) -> StateMachine: ...

    @property
    def store(self) -> Store: ...

    @property
    def connectivity(self) -> Connectivity: ...

    @property
    def incident_listeners(self) -> list[IncidentListener]: ...


@dataclass(frozen=True, slots=True)
class PublicTarget:
    """The only facts about a target that leave the process publicly."""

    id: str
    name: str
    group: str


@dataclass(frozen=True, slots=True)
class PublicStatus:
    """A public target's live state. `reason` is a machine code (`monitor.result.Reason`)."""

    target: PublicTarget
    state: State
    since: float | None
    last_checked: float | None
    reason: str
    latency: float | None  # the last probe's duration, when it passed


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """One step of an incident's timeline as citizens see it (never who wrote it)."""

    at: float
    status: str  # `monitor.store.INCIDENT_STATUSES`
    text: Wording


@dataclass(frozen=True, slots=True)
class PublicIncident:
    """An incident of public targets: an *automatic* one (a DOWN period of `target` that
    maintenance does not end, with the windows inside it: `monitor.store.Period`), with the
    admins' notes written during it, or one *declared* by an operator about `targets`
    (the public ones among those it names; `reason` empty), open until its latest update
    resolves it. Either may have a public `title` and `updates`, newest first. `id` is
    stable: a declared incident's number, or `TARGET.MS` (the target's id and the
    period's start in unix milliseconds) for an automatic one (`incident_id`)."""

    target: PublicTarget
    reason: str
    start: float
    end: float | None
    notes: tuple[Note, ...] = ()
    maintenance: tuple[tuple[float, float | None], ...] = ()
    id: str = ""
    title: Wording | None = None
    updates: tuple[PublicUpdate, ...] = ()  # newest first
    targets: tuple[PublicTarget, ...] = ()
    declared: bool = False

    @property
    def status(self) -> str | None:
        """The latest update's status; None before the first."""
        return self.updates[0].status if self.updates else None

    @property
    def changed(self) -> float:
        """When it last changed: its latest update, its end or its start (a feed's `updated`)."""
        return max([self.start, *(u.at for u in self.updates), *([self.end] if self.end is not None else [])])

    handled: bool = False  # open, and acknowledged: "being handled" (never by whom)

    def duration(self, now: float) -> float:
        return (self.end if self.end is not None else now) - self.start

    def in_maintenance(self, now: float) -> float:
        """Seconds of it in maintenance until `now` (never downtime)."""
        return sum((now if end is None else end) - start for start, end in self.maintenance)

    @property
    def maintenance_now(self) -> float | None:
        """When the window it is in now began; None when it is not in one."""
        return self.maintenance[-1][0] if self.maintenance and self.maintenance[-1][1] is None else None


@dataclass(frozen=True, slots=True)
class PublicMaintenance:
    """A maintenance window touching at least one public target (named, never by id)."""

    targets: tuple[PublicTarget, ...]
    start: float
    end: float
    reason: str


@dataclass(frozen=True, slots=True)
class WatchProgress:
    """An active `[[watch]]` window: "day `day` of `days`" in local calendar days."""

    name: str
    start: float
    end: float
    day: int
    days: int


@dataclass(frozen=True, slots=True)
class PublicUplink:
    """What the public may know of the monitor's own uplink: `state` (`off`, `unknown`,
    `online`, `offline`) and since when (for `offline`: since every connectivity check
    failed). Never which checks, nor what they reach."""

    state: str = Uplink.OFF.value
    since: float | None = None

    @property
    def offline(self) -> bool:
        return self.state == Uplink.OFFLINE.value


@dataclass(frozen=True, slots=True)
class Row:
    """One target's line on the status page."""

    status: PublicStatus
    uptime: Mapping[str, Uptime | None]  # by window name (WINDOWS)
    days: tuple[DayUptime | None, ...]  # oldest first; None: a day still to come
    latency: tuple[float | None, ...]  # hourly mean latency over the last 24 h
    levels: str = ""  # each day's level, one letter a day (`monitor.web.daybars.levels`)
    spark: Line | None = None  # `latency` drawn (`monitor.web.graphics.sparkline`)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the status page and `/api/v1/status` show, at `now`."""

    now: float
    title: str
    rows: tuple[Row, ...]
    incidents: tuple[PublicIncident, ...]  # open ones and the recent ones, newest first
    maintenance: tuple[PublicMaintenance, ...]  # current and upcoming, by start
    watch: WatchProgress | None
    states_version: int = 0  # `StateMachine.version` the rows' states were read at
    uplink: PublicUplink = PublicUplink()  # read live, like the states
    # Banners not over yet (all public: a level, texts and times); `active(now)` says
    # which to show.
    announcements: tuple[Announcement, ...] = ()


def public_targets(config: Config) -> list[PublicTarget]:
    return [_public(t) for t in config.targets.values() if t.public]


def public_target(config: Config, target_id: str) -> PublicTarget | None:
    """The target if it exists and is public; None otherwise (the caller answers 404
    either way, so a private target's existence is not revealed)."""
    target = config.targets.get(target_id)
    return _public(target) if target is not None and target.public else None


def _public(target: Target) -> PublicTarget:
    return PublicTarget(target.id, target.name, target.group)


def uplink(runtime: Runtime) -> PublicUplink:
    """The monitor's own uplink as the public may see it (live, from memory)."""
    connectivity = runtime.connectivity
    return PublicUplink(connectivity.state.value, connectivity.since)


def public_status(states: StateMachine, target: PublicTarget) -> PublicStatus:
    status = states.statuses.get(target.id)
    if status is None:
        return PublicStatus(target, State.UNKNOWN, None, None, "", None)
    last = status.last
    reason = status.reason if status.state in (State.DOWN, State.DEGRADED) else ""
    if status.state == State.UNKNOWN and last is not None and not last.ok:
        reason = last.reason  # not confirmed yet, but what the probes see so far is shown
    return PublicStatus(
        target=target,
        state=status.state,
        since=status.since or None,
        last_checked=last.started if last is not None and last.started else None,
        reason=reason,
        latency=last.duration if last is not None and last.ok else None,
    )


def overall(statuses: Sequence[PublicStatus]) -> str:
    """The banner: operational, degraded, partial_outage, major_outage, maintenance,
    checking or unknown. Major: at least half of the checked targets are down. While some
    targets have no result yet and none of the others fails, the banner says so
    ("checking") instead of calling everything normal."""
    states = [s.state for s in statuses if s.state != State.UNKNOWN]
    if not states:
        return "unknown"
    down = states.count(State.DOWN)
    if down:
        return "major_outage" if 2 * down >= len(states) else "partial_outage"
    if State.DEGRADED in states:
        return "degraded"
    if State.MAINTENANCE in states:
        return "maintenance"
    return "checking" if len(states) < len(statuses) else "operational"


def watch_progress(config: Config, now: float) -> WatchProgress | None:
    """The first `[[watch]]` window open at `now`, with its day count."""
    zone = config.settings.zone
    at = datetime.fromtimestamp(now, UTC)
    for watch in config.watches:
        if watch.start <= at < watch.end:
            first = watch.start.astimezone(zone).date()
            last = (watch.end - timedelta(microseconds=1)).astimezone(zone).date()
            today = at.astimezone(zone).date()
            return WatchProgress(
                watch.name,
                watch.start.timestamp(),
                watch.end.timestamp(),
                (today - first).days + 1,
                (last - first).days + 1,
            )
    return None


async def snapshot(runtime: Runtime, now: float, bars: Settled | None = None) -> Snapshot:
    """Gather the status page: a few batched store reads for every public target (the
    settled day bars and hours from `bars` when given: `monitor.web.settled`)."""
    config, store = runtime.config, runtime.store
    version = runtime.states.version
    targets = public_targets(config)
    ids = [t.id for t in targets]
    uptimes = {w: await store.uptime(ids, now - span, now) for w, span in WINDOWS.items()}
    watch = watch_progress(config, now)
    daily = await _days(runtime, ids, watch, now, bars)
    hourly = await (bars.last_day(store, ids, now) if bars else store.rollups(ids, now - 86400.0, now))
    rows = []
    for t in targets:
        days = daily.get(t.id, ())
        latency = _hourly_latency(hourly.get(t.id, []), now)
        rows.append(
            Row(
                status=public_status(runtime.states, t),
                uptime={w: uptimes[w].get(t.id) for w in WINDOWS},
                days=days,
                latency=latency,
                # Worked out once here, for every language's render of this snapshot.
                levels=daybars.levels(days),
                spark=sparkline(latency),
            )
        )
    return Snapshot(
        now=now,
        title=config.settings.title,
        rows=tuple(rows),
        incidents=tuple(await public_incidents(runtime, ids, now - RECENT_DAYS * 86400.0, now)),
        maintenance=tuple(await public_maintenance(runtime, now)),
        watch=watch,
        states_version=version,
        uplink=uplink(runtime),
        announcements=tuple(await store.announcements(now)),
    )


async def _days(
    runtime: Runtime, ids: list[str], watch: WatchProgress | None, now: float, cache: Settled | None = None
) -> dict[str, tuple[DayUptime | None, ...]]:
    """The day bars of these targets: BAR_DAYS days, or every day of an open watch (the
    days still to come as None)."""
    store, zone, count = runtime.store, runtime.config.settings.zone, watch.day if watch else BAR_DAYS
    daily = await (cache.daily(store, ids, count, zone, now) if cache else store.daily(ids, count, zone, now))
    pad: tuple[None, ...] = (None,) * (watch.days - watch.day) if watch else ()
    return {tid: (*daily.get(tid, ()), *pad) for tid in ids}


@dataclass(frozen=True, slots=True)
class TargetDays:
    """A target's day bars for its page: what the status page shows for it."""

    days: tuple[DayUptime | None, ...]
    watch: WatchProgress | None


async def target_days(runtime: Runtime, target: PublicTarget, now: float) -> TargetDays:
    watch = watch_progress(runtime.config, now)
    found = await _days(runtime, [target.id], watch, now)
    return TargetDays(found[target.id], watch)


def with_live_states(snap: Snapshot, runtime: Runtime) -> Snapshot:
    """The snapshot with every row's state read again from the state machine: states live
    in memory and cost nothing to read, so a page never shows a state that has changed
    since its (expensive) store figures were read. So is the monitor's own uplink."""
    live = uplink(runtime)
    if snap.states_version == runtime.states.version:
        return snap if live == snap.uplink else replace(snap, uplink=live)
    version = runtime.states.version
    rows = tuple(replace(row, status=public_status(runtime.states, row.status.target)) for row in snap.rows)
    incidents = tuple(_handled(runtime, snap.incidents))
    return replace(snap, rows=rows, incidents=incidents, states_version=version, uplink=live)


def clock(state: Any) -> float:
    """The time now: `state.clock()` when the app has one (tests pin it), else the
    system's."""
    fn = getattr(state, "clock", None)
    return float(fn()) if fn is not None else time.time()


def _hourly_latency(rollups: list[Rollup], now: float) -> tuple[float | None, ...]:
    """24 points, one per hour ending now, from the hourly rollups."""
    points: list[float | None] = [None] * 24
    for rollup in rollups:
        slot = 23 - int((now - rollup.start) // 3600)
        if 0 <= slot < 24:
            points[slot] = rollup.latency_mean
    return tuple(points)


async def public_incidents(
    runtime: Runtime, ids: Collection[str], start: float, end: float, limit: int = RECENT_LIMIT
) -> list[PublicIncident]:
    """Incidents of these (public) targets: every open one, and the latest `limit` others
    that overlap the window, newest first; automatic ones with their notes, and each with
    what operators posted about it. Never the probe's detail, nor private targets."""
    store, config = runtime.store, runtime.config
    found = await store.incidents(ids, start, end, limit=limit)
    found += [p for p in await store.incidents(ids, end - 1.0, end) if p.end is None]
    unique = {(p.target, p.start): p for p in found}
    notes = await store.notes(ids, start, end) if unique else []
    posted = await store.posted_incidents(min([start, *(p.start for p in unique.values())]))
    records = {(p.target, _ms(p.opened)): p for p in posted if not p.declared}
    incidents = []
    for period in unique.values():
        target = public_target(config, period.target)
        if target is not None:
            incidents.append(_incident(target, period, notes, records.get((period.target, _ms(period.start)))))
    wanted = set(ids)
    for record in posted:
        # Every public target it names, when it names one of these.
        shown = tuple(t for t in (public_target(config, tid) for tid in record.targets) if t)
        ended = record.resolved_at
        about = any(t.id in wanted for t in shown)
        if record.declared and about and record.opened <= end and (ended is None or ended >= start):
            incidents.append(_declared(record, shown))
    incidents.sort(key=lambda i: i.start, reverse=True)
    ongoing = [i for i in incidents if i.end is None]
    return _handled(
        runtime, sorted([*ongoing, *[i for i in incidents if i.end is not None][:limit]], key=lambda i: -i.start)
    )


def _handled(runtime: Runtime, incidents: Sequence[PublicIncident]) -> list[PublicIncident]:
    """Open automatic incidents someone acknowledged marked as being handled (a declared
    one is handled by its updates), read live from the on-call desk
    (`monitor.alerting.oncall`) when the runtime has one."""
    desk = getattr(runtime, "oncall", None)
    return [
        replace(i, handled=i.end is None and not i.declared and desk is not None and desk.handled(i.target.id))
        for i in incidents
    ]


def incident_id(target: str, start: float) -> str:
    """The public id of `target`'s automatic incident that began at `start`."""
    return f"{target}.{_ms(start)}"


def _ms(at: float) -> int:
    return round(at * 1000)


def _incident(target: PublicTarget, period: Period, notes: list[Note], record: PostedIncident | None) -> PublicIncident:
    stop = period.end if period.end is not None else float("inf")
    # The author is an admin's user name: never public.
    mine = tuple(replace(n, author="") for n in notes if n.target == target.id and period.start <= n.at <= stop)
    return PublicIncident(
        target,
        period.reason,
        period.start,
        period.end,
        mine,
        period.maintenance,
        id=incident_id(target.id, period.start),
        title=record.title if record is not None else None,
        updates=_updates(record),
        targets=(target,),
    )


def _declared(record: PostedIncident, targets: tuple[PublicTarget, ...]) -> PublicIncident:
    return PublicIncident(
        targets[0],
        "",
        record.opened,
        record.resolved_at,
        id=str(record.id),
        title=record.title,
        updates=_updates(record),
        targets=targets,
        declared=True,
    )


def _updates(record: PostedIncident | None) -> tuple[PublicUpdate, ...]:
    if record is None:
        return ()
    return tuple(PublicUpdate(u.at, u.status, u.text) for u in reversed(record.updates))


async def public_maintenance(runtime: Runtime, now: float) -> list[PublicMaintenance]:
    """Current and upcoming maintenance (configured and planned at runtime) that covers
    a public target, by start."""
    config = runtime.config
    windows: list[tuple[float, float, str, tuple[Target, ...]]] = []
    for window in config.maintenance:
        windows.append(
            (
                window.start.timestamp(),
                window.end.timestamp(),
                window.reason,
                _covered(config, window),
            )
        )
    for planned in await runtime.store.planned_maintenance(now):
        windows.append((planned.start, planned.end, planned.reason, _covered(config, planned)))
    shown = []
    for start, end, reason, covered in sorted(windows, key=lambda w: w[0]):
        names = tuple(_public(t) for t in covered if t.public)
        if end > now and names:
            shown.append(PublicMaintenance(names, start, end, reason))
    return shown


def _covered(config: Config, window: Maintenance | PlannedMaintenance) -> tuple[Target, ...]:
    return tuple(t for t in config.targets.values() if window.covers(t))


@dataclass(frozen=True, slots=True)
class PublicChange:
    """One change of a public target's state (an incident event without its detail)."""

    at: float
    old: State
    new: State
    reason: str


@dataclass(frozen=True, slots=True)
class TargetDetail:
    """A public target's page and `/api/v1/targets/{id}/...`: one range of its history."""

    status: PublicStatus
    start: float
    end: float
    uptime: Uptime | None
    series: tuple[Rollup, ...]
    changes: tuple[PublicChange, ...]  # newest first
    incidents: tuple[PublicIncident, ...]  # newest first


async def target_detail(
    runtime: Runtime, target: PublicTarget, start: float, end: float, points: int = 200
) -> TargetDetail:
    """A public target's history over `[start, end)` from the rollups and events."""
    store, ids = runtime.store, [target.id]
    uptime = (await store.uptime(ids, start, end)).get(target.id)
    events = await store.events(ids, start, end, limit=500)
    return TargetDetail(
        status=public_status(runtime.states, target),
        start=start,
        end=end,
        uptime=uptime,
        series=tuple(await store.series(target.id, start, end, points)),
        changes=tuple(PublicChange(e.at, e.old, e.new, e.reason) for e in events),
        incidents=tuple(await public_incidents(runtime, ids, start, end, limit=100)),
    )
