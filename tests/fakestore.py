"""`MemoryStore`: the whole `monitor.store.Store` in memory, for tests that dictate what
the store answers (the web pages, the metrics) rather than what it computes.

Writes are kept as written: `add_result` lands in `raw` (and `last_results`),
`add_event` in `changes` (and `last_events`), notes and planned windows in `notes_` and
`planned`, audit entries in `audit`, incident records (with their updates) in `posted` and
banners in `banners`. Every computed read answers with the records a test put in: `uptimes` (per
target, any window) or `ratios` (per target and window length), `days`, `hourly`
(`rollups` and `series`), `stats` (`probe_stats`) and `periods_` (`periods` and, the DOWN
ones, `incidents`). Set `fail` to make every read raise it; `calls` names the reads made.

The outbox is a real `SQLiteOutbox`: in memory unless `outbox_path` names a file; the
subscriptions likewise a real `SQLiteSubscribers` (`subscribers_path`).
The membership is real too: rows in `members` and one lease (`sender`) on `clock`, so
monitors sharing one `MemoryStore` elect one sender as they would on PostgreSQL.

Whether this matches the protocol is checked by mypy (`make lint`), by the assignment at
the end of this module. Where a test's history can be written through the store's own
API, the real SQLite store on a temporary file is the better choice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from pathlib import Path

from monitor.result import Event, Result, State
from monitor.store import (
    Ack,
    Announcement,
    AuditEntry,
    DayUptime,
    IncidentUpdate,
    LocationChanges,
    LocationSeen,
    LocationState,
    Member,
    Mute,
    Note,
    Period,
    PlannedMaintenance,
    PostedIncident,
    PushedHeartbeat,
    Rollup,
    Store,
    StoredResult,
    StoreHealth,
    Uptime,
    Wording,
    timeline,
)
from monitor.store.sqlite.outbox import SQLiteOutbox
from monitor.store.sqlite.subscribers import SQLiteSubscribers


@dataclass
class MemoryStore:
    """A `Store` answering from the records a test puts in; see the module docstring."""

    uptimes: dict[str, Uptime] = field(default_factory=dict)  # per target, any window
    ratios: dict[tuple[str, float], float | None] = field(default_factory=dict)  # (target, window seconds)
    days: dict[str, list[DayUptime]] = field(default_factory=dict)
    hourly: dict[str, list[Rollup]] = field(default_factory=dict)
    stats: dict[str, Rollup] = field(default_factory=dict)  # per target, any window
    periods_: list[Period] = field(default_factory=list)
    changes: list[Event] = field(default_factory=list)
    raw: list[StoredResult] = field(default_factory=list)
    latest: dict[str, Result] = field(default_factory=dict)
    notes_: list[Note] = field(default_factory=list)
    planned: list[PlannedMaintenance] = field(default_factory=list)
    posted: list[PostedIncident] = field(default_factory=list)
    banners: list[Announcement] = field(default_factory=list)
    acks_: dict[tuple[str, float], Ack] = field(default_factory=dict)
    mutes_: dict[str, Mute] = field(default_factory=dict)
    oncall_changed: int = 0
    offsets: dict[str, int] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)  # oldest first
    seen: dict[str, LocationSeen] = field(default_factory=dict)  # by location
    at_locations: dict[tuple[str, str], LocationState] = field(default_factory=dict)  # (target, location)
    numbers: dict[tuple[str, str], int] = field(default_factory=dict)  # each row's change number
    shared: bool = False  # as a database server's store (several instances may share it)
    members: dict[str, Member] = field(default_factory=dict)  # by instance
    sender: tuple[str, float] | None = None  # the lease: its holder and its expiry
    clock: Callable[[], float] = time.time  # the membership's and the lease's clock
    pushes: list[PushedHeartbeat] = field(default_factory=list)  # shared heartbeats, numbered from 1
    raw_retention: float = 48 * 3600.0
    outbox_path: Path | str = ":memory:"
    subscribers_path: Path | str = ":memory:"
    fail: Exception | None = None
    calls: list[str] = field(default_factory=list)
    opened: bool = False

    # -- lifecycle and writes -------------------------------------------------------

    async def open(self) -> None:
        self.opened = True

    async def close(self) -> None:
        self.opened = False

    def outbox(self, clock: Callable[[], float]) -> SQLiteOutbox:
        return SQLiteOutbox(self.outbox_path, clock=clock)

    def subscribers(self, clock: Callable[[], float]) -> SQLiteSubscribers:
        return SQLiteSubscribers(self.subscribers_path, clock=clock)

    def add_result(self, target_id: str, result: Result, maintenance: bool = False) -> None:
        self.raw.append(
            StoredResult(
                target_id,
                result.started,
                result.ok,
                result.duration,
                result.reason,
                result.degraded,
                maintenance,
                result.status_code,
                result.detail,
            )
        )
        self.latest[target_id] = result

    def add_event(self, event: Event) -> None:
        self.changes.append(event)

    async def flush(self) -> None: ...

    def healthy(self) -> bool:
        return self.opened

    def health(self) -> StoreHealth:
        return StoreHealth()

    def renew(self, member: Member, dead_after: float) -> list[Member]:
        now = self.clock()
        self.members[member.instance] = replace(member, renewed_at=now)
        live = [m for m in self.members.values() if m.location == member.location and m.renewed_at > now - dead_after]
        return sorted(live, key=lambda m: m.instance)

    def lease(self, holder: str, ttl: float) -> bool:
        now = self.clock()
        if self.sender is None or self.sender[0] == holder or self.sender[1] < now:
            self.sender = (holder, now + ttl)
        return self.sender[0] == holder

    def leave(self, instance: str) -> None:
        self.members.pop(instance, None)
        if self.sender is not None and self.sender[0] == instance:
            self.sender = None

    async def add_heartbeat(self, heartbeat: PushedHeartbeat) -> None:
        if self.fail is not None:
            raise self.fail
        self.pushes.append(replace(heartbeat, change=len(self.pushes) + 1))

    async def heartbeats_since(self, after: int, limit: int) -> list[PushedHeartbeat]:
        return [h for h in self.pushes if h.change > after][:limit]

    async def heartbeat_mark(self) -> int:
        return len(self.pushes)

    async def latest_heartbeats(self, target_ids: Collection[str]) -> dict[str, PushedHeartbeat]:
        return {h.target: h for h in self.pushes if h.target in target_ids}

    async def prune_heartbeats(self, before: float) -> int:
        return 0

    def spool(self) -> None:
        return None

    async def prune(self, now: float) -> int:
        kept = [r for r in self.raw if r.at >= now - self.raw_retention]
        gone, self.raw = len(self.raw) - len(kept), kept
        return gone

    async def add_note(self, target_id: str, at: float, text: str, author: str = "") -> Note:
        note = Note(len(self.notes_) + 1, target_id, at, text, author)
        self.notes_.append(note)
        return note

    async def record_audit(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    async def audit_entries(self, limit: int = 200) -> list[AuditEntry]:
        self._read("audit_entries")
        return self.audit[::-1][:limit]

    async def add_maintenance(
        self,
        start: float,
        end: float,
        targets: Sequence[str] = (),
        groups: Sequence[str] = (),
        reason: str = "",
    ) -> PlannedMaintenance:
        window = PlannedMaintenance(len(self.planned) + 1, start, end, tuple(targets), tuple(groups), reason)
        self.planned.append(window)
        return window

    async def add_ack(self, ack: Ack) -> Ack:
        kept = self.acks_.setdefault((ack.target, ack.since), ack)
        self.oncall_changed += kept is ack
        return kept

    async def acks(self, since: float) -> list[Ack]:
        return sorted((a for a in self.acks_.values() if a.since >= since), key=lambda a: (a.since, a.target))

    async def set_mute(self, mute: Mute) -> None:
        self.mutes_[mute.target] = mute
        self.oncall_changed += 1

    async def remove_mute(self, target_id: str) -> Mute | None:
        found = self.mutes_.pop(target_id, None)
        self.oncall_changed += found is not None
        return found

    async def mutes(self) -> list[Mute]:
        return [self.mutes_[t] for t in sorted(self.mutes_)]

    async def oncall_changes(self) -> int:
        return self.oncall_changed

    async def bot_offset(self, bot: str) -> int | None:
        return self.offsets.get(bot)

    async def set_bot_offset(self, bot: str, offset: int) -> None:
        self.offsets[bot] = offset

    async def remove_maintenance(self, window_id: int) -> bool:
        before = len(self.planned)
        self.planned = [p for p in self.planned if p.id != window_id]
        return len(self.planned) < before

    async def declare_incident(self, targets: Sequence[str], title: Wording, at: float) -> PostedIncident:
        incident = PostedIncident(len(self.posted) + 1, at, tuple(targets), title)
        self.posted.append(incident)
        return incident

    async def automatic_incident(self, target: str, opened: float, title: Wording | None = None) -> PostedIncident:
        for i, found in enumerate(self.posted):
            if found.target == target and found.opened == opened:
                if title is not None:
                    self.posted[i] = found = replace(found, title=title)
                return found
        incident = PostedIncident(len(self.posted) + 1, opened, (target,), title, target)
        self.posted.append(incident)
        return incident

    async def add_incident_update(
        self, incident: int, at: float, status: str, text: Wording, author: str = ""
    ) -> IncidentUpdate:
        count = sum(len(p.updates) for p in self.posted)
        update = IncidentUpdate(count + 1, incident, at, status, text, author)
        self.posted = [replace(p, updates=(*p.updates, update)) if p.id == incident else p for p in self.posted]
        return update

    async def add_announcement(
        self, level: str, text: Wording, start: float, end: float | None, created: float
    ) -> Announcement:
        banner = Announcement(max((b.id for b in self.banners), default=0) + 1, level, text, start, end, created)
        self.banners.append(banner)
        return banner

    async def remove_announcement(self, announcement: int) -> bool:
        before = len(self.banners)
        self.banners = [b for b in self.banners if b.id != announcement]
        return len(self.banners) < before

    async def publish_location(self, seen: LocationSeen, states: Sequence[LocationState]) -> None:
        self.seen[seen.location] = seen
        self.at_locations.update(((s.target, s.location), s) for s in states)
        if states:
            change = max(self.numbers.values(), default=0) + 1
            self.numbers.update(((s.target, s.location), change) for s in states)

    # -- reads ----------------------------------------------------------------------

    async def locations_seen(self) -> list[LocationSeen]:
        self._read("locations_seen")
        return [self.seen[name] for name in sorted(self.seen)]

    async def location_changes(self, after: int = 0) -> LocationChanges:
        self._read("location_changes")
        offline = {name for name, seen in self.seen.items() if seen.offline}
        keys = [key for key in sorted(self.at_locations) if self.numbers[key] > after]
        states = tuple(replace(self.at_locations[key], offline=key[1] in offline) for key in keys)
        return LocationChanges(states, max(self.numbers.values(), default=0))

    def _read(self, name: str) -> None:
        self.calls.append(name)
        if self.fail is not None:
            raise self.fail

    async def last_events(self) -> dict[str, Event]:
        self._read("last_events")
        return {e.target: e for e in sorted(self.changes, key=lambda e: e.at)}

    async def last_results(self) -> dict[str, Result]:
        self._read("last_results")
        return dict(self.latest)

    async def uptime(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, Uptime]:
        self._read("uptime")
        found = dict(self.uptimes)
        for (tid, window), ratio in self.ratios.items():
            if window == end - start:
                observed = 0.0 if ratio is None else 1000.0
                found[tid] = Uptime(tid, start, end, observed=observed, down=observed * (1 - (ratio or 0.0)))
        return {tid: found[tid] for tid in _ids(target_ids, found)}

    async def daily(
        self, target_ids: Collection[str] | None, days: int, zone: tzinfo, now: float
    ) -> dict[str, list[DayUptime]]:
        self._read("daily")
        return {tid: self.days[tid][-days:] for tid in _ids(target_ids, self.days)}

    async def periods(
        self,
        target_ids: Collection[str] | None,
        start: float,
        end: float,
        states: Collection[State] | None = None,
    ) -> list[Period]:
        self._read("periods")
        found = [p for p in self._overlapping(target_ids, start, end) if states is None or p.state in states]
        return sorted(found, key=lambda p: (p.start, p.target))

    async def incidents(
        self,
        target_ids: Collection[str] | None,
        start: float,
        end: float,
        limit: int | None = None,
    ) -> list[Period]:
        self._read("incidents")
        found = [p for p in self._overlapping(target_ids, start, end) if p.state == State.DOWN]
        found.sort(key=lambda p: p.start, reverse=True)
        return found[:limit]

    def _overlapping(self, target_ids: Collection[str] | None, start: float, end: float) -> list[Period]:
        return [
            p
            for p in self.periods_
            if (target_ids is None or p.target in target_ids) and p.start < end and (p.end is None or p.end > start)
        ]

    async def events(
        self,
        target_ids: Collection[str] | None,
        start: float,
        end: float,
        limit: int | None = None,
    ) -> list[Event]:
        self._read("events")
        found = [e for e in self.changes if (target_ids is None or e.target in target_ids) and start <= e.at < end]
        found.sort(key=lambda e: e.at, reverse=True)
        return found[:limit]

    async def segments(
        self, target_ids: Collection[str] | None, start: float, end: float
    ) -> dict[str, list[timeline.Segment]]:
        """From `changes`, as if the monitor had run throughout (the store keeps no runs)."""
        self._read("segments")
        by_target: dict[str, list[Event]] = {}
        for event in sorted(self.changes, key=lambda e: e.at):
            by_target.setdefault(event.target, []).append(event)
        found = {}
        for tid in _ids(target_ids, by_target):
            events = by_target.get(tid, [])
            before = [e for e in events if e.at < start]
            inside = [e for e in events if start <= e.at < end]
            found[tid] = timeline.segments(before[-1] if before else None, inside, [(start, end)], start, end)
        return found

    async def results(self, target_id: str, start: float, end: float, limit: int | None = None) -> list[StoredResult]:
        self._read("results")
        return [r for r in self.raw if r.target == target_id and start <= r.at < end][:limit]

    async def series(self, target_id: str, start: float, end: float, points: int = 300) -> list[Rollup]:
        self._read("series")
        return [r for r in self.hourly.get(target_id, []) if start <= r.start < end][:points]

    async def rollups(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, list[Rollup]]:
        self._read("rollups")
        return {tid: [r for r in self.hourly[tid] if start <= r.start < end] for tid in _ids(target_ids, self.hourly)}

    async def probe_stats(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, Rollup]:
        self._read("probe_stats")
        return {tid: self.stats[tid] for tid in _ids(target_ids, self.stats)}

    async def target_ids(self) -> list[str]:
        self._read("target_ids")
        held = [*self.uptimes, *self.days, *self.hourly, *self.stats, *self.latest]
        held += [p.target for p in self.periods_] + [e.target for e in self.changes]
        return sorted(set(held))

    async def notes(self, target_ids: Collection[str] | None, start: float, end: float) -> list[Note]:
        self._read("notes")
        return [n for n in self.notes_ if (target_ids is None or n.target in target_ids) and start <= n.at < end]

    async def planned_maintenance(self, since: float) -> list[PlannedMaintenance]:
        self._read("planned_maintenance")
        return [p for p in self.planned if p.end > since]

    async def posted_incident(self, incident: int) -> PostedIncident | None:
        self._read("posted_incident")
        return next((p for p in self.posted if p.id == incident), None)

    async def posted_incidents(self, since: float) -> list[PostedIncident]:
        self._read("posted_incidents")
        found = [
            p
            for p in self.posted
            if p.opened >= since or any(u.at >= since for u in p.updates) or (p.declared and p.status != "resolved")
        ]
        return sorted(found, key=lambda p: (p.opened, p.id))

    async def announcements(self, since: float) -> list[Announcement]:
        self._read("announcements")
        return sorted((b for b in self.banners if b.end is None or b.end > since), key=lambda b: (b.start, b.id))


def _ids(wanted: Collection[str] | None, held: Collection[str]) -> list[str]:
    """The targets asked for that the test gave records to, in the order asked."""
    return list(held if wanted is None else [tid for tid in wanted if tid in held])


_: type[Store] = MemoryStore  # mypy checks the fake against the whole protocol
