"""The alert policy: which alert goes to which notifiers, and when.

Driven by incident events (`on_event`) and a periodic `tick` (every ~10 s), it returns
`Outgoing` alerts for the outbox and never does I/O itself; the clock is injectable.

- DOWN (the state machine already applied `failure_threshold`) -> "down"; back UP (or
  DEGRADED) -> "up" with the outage's duration, to the notifiers that heard "down".
  UP -> DEGRADED -> "degraded" for notifiers that list it in `events` (and for those
  hearing "down" when the kind declares `alert_degraded`: a UPS on battery), and "up"
  when clean.
- While down: a "reminder" every notifier's `repeat_every`; once the outage lasts a
  notifier's `escalate_after`, an "escalation" to its `escalate_to` notifiers (who then
  also hear the reminders and the recovery). Receivers with `resend_every` (Alertmanager)
  get a "refresh" of every open problem that often.
- Expiry: one "cert" alert per threshold of the kind's warning days (a certificate's
  `cert_warn_days` 30, 14, 7...; a domain's `warn_days`), saying what expires.
- Nothing while a target is in maintenance, nor for a target whose `depends_on` target is
  DOWN: a dependent's "down" waits a grace period (long enough for its root to be seen
  down) and is dropped when the root is down; the root's alerts list the dependents.
- Links: an alert links to the target's public page, or, for a `public = false` target
  (whose page answers 404: alerts go to staff), to its row on the admin view while that
  is on (`MONITOR_ADMIN_TOKEN` set), else nowhere.
- Duty rosters: a `duty:NAME` route goes to whoever is on duty at the outage's start
  (or the roster's fallback), and climbs the roster's ladder every `escalate_after`
  while unacknowledged ("escalation" alerts; `monitor.alerting.duty`).
- Acknowledged (`acknowledge`): that outage's reminders and escalations stop; the
  recovery is still announced, and the next outage alerts as always.
- Flapping: `flap_changes` state changes within `flap_window` -> one "flapping" alert and
  silence until no change for `flap_window`, then one "stable" alert.
- UNKNOWN (a target held while the monitor itself is offline, `monitor.connectivity`)
  neither ends nor opens anything: an open outage stays open, without reminders or
  escalation until the target is DOWN again, and its "up" comes when it is judged UP.
- Restart: `restore()` resumes each target from its restored state *and* from what was
  last said about it before (the outbox's newest "down"/"up"/"degraded" and
  "flapping"/"stable", `Outbox.latest`): an outage announced as "down" is open again at
  once, to the notifiers that heard it (a recovery one second after the start is
  announced); a target that was flapping stays silent until "stable"; an outage not
  announced yet gets its "down" at the first tick (same id, so the outbox drops it if it
  went out after all); an "up" a crash kept from being queued is returned to queue. A
  target restored in maintenance after an unanswered "down" has that outage open again:
  the window does not end it, so coming out of it still DOWN sends no second "down".
- Maintenance does not end an outage: a target going into maintenance while DOWN keeps
  its open problem (nothing is sent meanwhile), and coming out of it still DOWN sends no
  second "down"; coming out of it UP sends the "up" with the whole outage's duration.
"""

from __future__ import annotations

import heapq
import itertools
import os
import time
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from monitor.alerting.duty import ladder, roster_of
from monitor.assess import days_left, expiring_detail
from monitor.config import Config, NotifierConfig, Target
from monitor.notifiers.base import Alert
from monitor.probes import PROBES, expiry_of
from monitor.result import Event, Result, State

_LIVE = (State.UP, State.DEGRADED, State.DOWN)
ADMIN_TOKEN_ENV = "MONITOR_ADMIN_TOKEN"  # the admin view is on while it is set (monitor.web.admin)
CERT_CHECK_SECONDS = 600.0  # days-left changes slowly; looking every tick is waste
FLAP_CHANGES, FLAP_WINDOW = 5, 900.0  # this many state changes within this many seconds: flapping


@dataclass(frozen=True)
class Outgoing:
    """One alert for these notifiers (names)."""

    alert: Alert
    notifiers: tuple[str, ...]


@dataclass
class _Problem:
    """An alerted, still open DOWN or DEGRADED condition of one target."""

    state: State
    since: float
    notified: set[str]
    reminded: dict[str, int] = field(default_factory=dict)  # notifier -> last reminder number
    escalated: set[str] = field(default_factory=set)
    climbed: set[tuple[str, int]] = field(default_factory=set)  # (roster, step) of duty ladders
    acked: bool = False  # someone took it: no reminders, no escalation


@dataclass(slots=True)
class _Track:
    """One target's alerting state. One per target (100,000 in one process): slotted,
    its changes a list (an empty deque is 760 bytes; these hold a few times at most)
    and the notifiers told of its flapping a shared empty frozenset until it flaps."""

    state: State = State.UNKNOWN
    since: float = 0.0
    reason: str = ""
    detail: str = ""
    maintenance: bool = False
    changes: list[float] = field(default_factory=list)
    flapping: bool = False
    flap_from: State = State.UNKNOWN
    flap_notified: AbstractSet[str] = frozenset()
    problem: _Problem | None = None
    pending: float | None = None  # a deferred "down" is due then
    pending_from: State = State.UNKNOWN  # the state the deferred "down" left
    cert_sent: tuple[int, int] | None = None  # (expiry, threshold days)
    refreshed: dict[str, float] = field(default_factory=dict)  # notifier -> last refresh
    cert_next: float = 0.0  # when to look at the certificate again


class Policy:
    """Decides alerts from events and time; see the module docstring."""

    def __init__(
        self,
        config: Config,
        clock: Callable[[], float] = time.time,
        last_result: Callable[[str], Result | None] = lambda _: None,
        flap_changes: int = FLAP_CHANGES,
        flap_window: float = FLAP_WINDOW,
        admin_view: Callable[[], bool] = lambda: bool(os.environ.get(ADMIN_TOKEN_ENV)),
    ) -> None:
        self.clock, self.last_result, self.admin_view = clock, last_result, admin_view
        self.flap_changes, self.flap_window = flap_changes, flap_window
        self.tracks: dict[str, _Track] = {}
        # What `tick` walks instead of every track: the targets with an open problem, a
        # deferred "down" or flapping (`_busy`), and a heap of when each certificate is
        # next due. `_order` keeps the tick's alerts in the order of the tracks.
        self._busy: set[str] = set()
        self._certs: list[tuple[float, str]] = []
        self._order: dict[str, int] = {}
        self._sequence = itertools.count()
        self.update(config)

    def update(self, config: Config) -> None:
        """Take a reloaded configuration; forget removed targets."""
        self.config = config
        # Each duty ladder worked out once per (roster, outage start): a tick walks every
        # open outage, and a roster's next shift is a search.
        self._ladders: dict[tuple[str, float], list[tuple[str, ...]]] = {}
        self.dependents: dict[str, list[str]] = {}  # roots only: most targets have no dependents
        for target in config.targets.values():
            for root in target.depends_on:
                self.dependents.setdefault(root, []).append(target.id)
        for tid in [t for t in self.tracks if t not in config.targets]:
            del self.tracks[tid]
            self._busy.discard(tid)
            del self._order[tid]
        # A reload may add or drop warning days: schedule every track's again.
        self._certs = [(track.cert_next, tid) for tid, track in self.tracks.items() if self._warns(tid)]
        heapq.heapify(self._certs)

    def forget(self, target_ids: Iterable[str]) -> None:
        """These targets are another instance's now (`monitor.cluster`): no reminder,
        escalation or refresh of theirs is this one's to send."""
        for tid in target_ids:
            if self.tracks.pop(tid, None) is not None:
                self._busy.discard(tid)
                self._order.pop(tid, None)

    def _track(self, tid: str) -> _Track:
        track = self.tracks.get(tid)
        if track is None:
            track = self.tracks[tid] = _Track()
            self._order[tid] = next(self._sequence)
            if self._warns(tid):
                heapq.heappush(self._certs, (track.cert_next, tid))
        return track

    def _warns(self, tid: str) -> bool:
        target = self.config.targets.get(tid)
        return bool(target and self._warn_days(target))

    @staticmethod
    def _warn_days(target: Target) -> tuple[int, ...]:
        return expiry_of(target.kind).warn_days(target) if target.spec is not None else target.cert_warn_days

    def _mark(self, tid: str) -> None:
        """Keep `_busy` current after `tid`'s track changed."""
        track = self.tracks.get(tid)
        if track is not None and (track.problem is not None or track.flapping or track.pending is not None):
            self._busy.add(tid)
        else:
            self._busy.discard(tid)

    def restore(self, target_id: str, state: State, since: float, said: Sequence[Outgoing] = ()) -> list[Outgoing]:
        """Resume after a restart from the state machine's restored state and `said`, the
        last alerts queued about the target before (oldest first); see the module doc.
        Returns what a crash kept from being queued."""
        track = self._track(target_id)
        track.state, track.since = state, since
        track.maintenance = state == State.MAINTENANCE
        told = [o for o in said if o.alert.kind in ("down", "up", "degraded")]
        flap = [o for o in said if o.alert.kind in ("flapping", "stable")]
        if flap and flap[-1].alert.kind == "flapping":
            self._resume_flapping(track, flap[-1], since)
        last = told[-1] if told else None
        out: list[Outgoing] = []
        if last is not None and last.alert.kind == "down" and last.alert.since is not None:
            same = round(last.alert.since) == round(since)
            # After an unanswered "down", the outage announced is still open, and its
            # recovery will be announced: in maintenance (the target went into the window
            # down, and a window does not end an outage) and UNKNOWN (held while the
            # monitor was offline).
            held = state in (State.MAINTENANCE, State.UNKNOWN)
            if (state == State.DOWN and same) or track.flapping or held:
                self._resume_down(target_id, track, last.alert.since, last.notifiers)
            elif state in (State.UP, State.DEGRADED) and last.alert.since < since:
                out += self._lost_recovery(target_id, track, last, since)
        if state == State.DOWN and track.problem is None and not track.flapping:
            track.pending = since
        elif state == State.DEGRADED and track.problem is None:
            track.problem = _Problem(state, since, set(self._wanting(target_id, "degraded")))
        self._mark(target_id)
        return out

    def _resume_flapping(self, track: _Track, said: Outgoing, since: float) -> None:
        track.flapping = True
        track.flap_from = State(said.alert.old) if said.alert.old in State.__members__ else State.UNKNOWN
        track.flap_notified = set(said.notifiers)
        track.changes = [since]  # "stable" once no change for `flap_window` after the last one
        track.refreshed.update(dict.fromkeys(said.notifiers, self.clock()))

    def _resume_down(self, tid: str, track: _Track, since: float, notified: Iterable[str]) -> None:
        """The announced outage open again, as `_open_down` left it."""
        now = max(self.clock(), since)
        problem = _Problem(State.DOWN, since, {n for n in notified if n in self.config.notifiers})
        for name in problem.notified:
            problem.reminded[name] = max(0, self._reminder_number(name, since, now) - 1)
        track.problem = problem
        track.refreshed = dict.fromkeys(problem.notified, now)

    def _lost_recovery(self, tid: str, track: _Track, down: Outgoing, at: float) -> list[Outgoing]:
        """The target came back before the crash, but its "up" was never queued."""
        target = self.config.targets.get(tid)
        if target is None or down.alert.since is None:
            return []
        began = down.alert.since
        names = [n for n in down.notifiers if "up" in self._events(n)]
        alert = self._alert(target, track, "up", at, began, old=State.DOWN, duration=at - began)
        return self._out(alert, names)

    def on_event(self, event: Event, target: Target) -> list[Outgoing]:
        out = self._on_event(event, target)
        self._mark(target.id)
        return out

    def _on_event(self, event: Event, target: Target) -> list[Outgoing]:
        track = self._track(target.id)
        track.state, track.since = event.new, event.at
        track.reason, track.detail = event.reason, event.detail
        if event.new != State.DOWN:
            track.pending = None
        if event.new == State.MAINTENANCE:
            track.maintenance = True
            return []
        track.maintenance = False
        if event.old in _LIVE and event.new in _LIVE:
            track.changes.append(event.at)
            while track.changes and track.changes[0] < event.at - self.flap_window:
                del track.changes[0]
            if not track.flapping and len(track.changes) >= self.flap_changes:
                return self._flapping(target, track, event)
        if track.flapping:
            return []
        return self._transition(target, track, event.old, event.at)

    def tick(self) -> list[Outgoing]:
        """Reminders, escalations, refreshes, deferred downs, flapping's end, certificates."""
        now = self.clock()
        out: list[Outgoing] = []
        busy, popped = set(self._busy), self._pop_certificates(now)
        for tid in sorted(busy | popped, key=lambda tid: self._order.get(tid, -1)):
            track, target = self.tracks.get(tid), self.config.targets.get(tid)
            if track is None or target is None:
                continue
            out += self._tick_one(target, track, now)
            self._mark(tid)
            if tid in popped and self._warn_days(target):
                # Not looked at (maintenance, a root down): again at the next tick.
                heapq.heappush(self._certs, (max(track.cert_next, now), tid))
        return out

    def _pop_certificates(self, now: float) -> set[str]:
        """The targets whose certificate is due; `tick` schedules them again."""
        due: set[str] = set()
        while self._certs and self._certs[0][0] <= now:
            due.add(heapq.heappop(self._certs)[1])
        return due

    def _tick_one(self, target: Target, track: _Track, now: float) -> list[Outgoing]:
        quiet = track.problem is None and not track.flapping and track.pending is None
        if quiet and (not self._warn_days(target) or now < track.cert_next):
            return []
        out: list[Outgoing] = []
        last_change = track.changes[-1] if track.changes else 0.0
        if track.flapping and now - last_change >= self.flap_window:
            out += self._stable(target, track, now)
        out += self._refresh(target, track, now)
        if track.maintenance or self._root_down(target):
            track.pending = None
            return out
        if track.pending is not None and now >= track.pending:
            track.pending = None
            if track.state == State.DOWN and track.problem is None and not track.flapping:
                out += self._open_down(target, track, track.since, track.pending_from)
        problem = track.problem
        down = problem and problem.state == State.DOWN and track.state == State.DOWN and not track.flapping
        if problem and down and not problem.acked:
            out += self._escalate(target, track, problem, now)
            out += self._climb(target, track, problem, now)
            out += self._remind(target, track, problem, now)
        return out + self._certificate(target, track, now)

    # -- transitions ----------------------------------------------------------------

    def _transition(self, target: Target, track: _Track, old: State, at: float) -> list[Outgoing]:
        if track.state == State.UNKNOWN:
            return []  # the monitor lost sight of it (offline): an open problem stays open
        out: list[Outgoing] = []
        problem = track.problem
        if problem and problem.state != track.state:
            track.problem = None
            if track.state in (State.UP, State.DEGRADED):
                # Recovery: only to those who heard of the problem.
                names = [n for n in sorted(problem.notified) if "up" in self._events(n)]
                alert = self._alert(
                    target, track, "up", at, problem.since, old=problem.state, duration=at - problem.since
                )
                out += self._out(alert, names)
            if problem.state == State.DOWN:
                out += self._release_dependents(target, at)
        if track.state == State.DOWN and track.problem is None:
            if self._root_down(target):
                return out
            if target.depends_on:
                # From now, not from the outage's start: the grace is how long the root
                # may still need to be seen down from when this one was.
                track.pending, track.pending_from = max(self.clock(), at) + self._grace(target), old
                return out
            out += self._open_down(target, track, at, old)
        elif track.state == State.DEGRADED and track.problem is None and old != State.UNKNOWN:
            names = self._wanting(target.id, "degraded")
            track.problem = _Problem(State.DEGRADED, at, set(names))
            track.refreshed = dict.fromkeys(names, at)
            out += self._out(self._alert(target, track, "degraded", at, at, old=old), names)
        return out

    def _open_down(self, target: Target, track: _Track, since: float, old: State) -> list[Outgoing]:
        names = self._wanting(target.id, "down", since)
        now = max(self.clock(), since)
        problem = _Problem(State.DOWN, since, set(names))
        for name in names:
            # One less than due: after a restart the current reminder is offered again
            # and the outbox drops it if it went out before.
            problem.reminded[name] = max(0, self._reminder_number(name, since, now) - 1)
        track.problem = problem
        track.refreshed = dict.fromkeys(names, now)
        alert = self._alert(target, track, "down", since, since, old=old)
        return self._out(alert, names)

    def _release_dependents(self, root: Target, at: float) -> list[Outgoing]:
        """A root is back: its dependents still down get their own "down" after a grace."""
        for tid in self.dependents.get(root.id, []):
            track, target = self.tracks.get(tid), self.config.targets.get(tid)
            if track and target and track.state == State.DOWN and track.problem is None:
                track.pending = max(self.clock(), at) + self._grace(target)
                self._busy.add(tid)
        return []

    # -- timed alerts ---------------------------------------------------------------

    def _remind(self, target: Target, track: _Track, problem: _Problem, now: float) -> list[Outgoing]:
        due: dict[tuple[float, int], list[str]] = {}
        for name in sorted(problem.notified):
            config = self.config.notifiers.get(name)
            if config is None or not config.repeat_every or "reminder" not in config.events:
                continue
            number = self._reminder_number(name, problem.since, now)
            if number > problem.reminded.get(name, 0):
                problem.reminded[name] = number
                due.setdefault((config.repeat_every, number), []).append(name)
        out: list[Outgoing] = []
        for (every, number), names in due.items():
            alert = self._alert(
                target,
                track,
                "reminder",
                now,
                problem.since,
                old=State.DOWN,
                duration=now - problem.since,
                key=f"{every:g}:{number}",
            )
            out += self._out(alert, names)
        return out

    def _escalate(self, target: Target, track: _Track, problem: _Problem, now: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        for name in sorted(problem.notified):
            config = self.config.notifiers.get(name)
            if config is None or config.escalate_after is None or name in problem.escalated:
                continue
            if now - problem.since < config.escalate_after:
                continue
            problem.escalated.add(name)
            names = [n for n in config.escalate_to if n in self.config.notifiers and n not in problem.notified]
            problem.notified.update(names)
            for other in names:
                problem.reminded[other] = self._reminder_number(other, problem.since, now)
                track.refreshed[other] = now
            alert = self._alert(
                target, track, "escalation", now, problem.since, old=State.DOWN, duration=now - problem.since, key=name
            )
            out += self._out(alert, names)
        return out

    def _climb(self, target: Target, track: _Track, problem: _Problem, now: float) -> list[Outgoing]:
        """The next steps of each duty roster's ladder that came due (see
        `monitor.alerting.duty`). Offered again after a restart: same ids, and the
        outbox drops what it queued before."""
        out: list[Outgoing] = []
        for roster in filter(None, map(roster_of, target.notify)):
            spec = self.config.rosters.get(roster)
            if spec is None:
                continue
            for step, names in enumerate(self._ladder(roster, problem.since)):
                if step == 0 or (roster, step) in problem.climbed or now < problem.since + step * spec.escalate_after:
                    continue
                problem.climbed.add((roster, step))
                fresh = [n for n in names if n in self.config.notifiers]
                problem.notified.update(fresh)
                for name in fresh:
                    problem.reminded[name] = self._reminder_number(name, problem.since, now)
                    track.refreshed[name] = now
                key = f"duty:{roster}:{step}"
                alert = self._alert(
                    target,
                    track,
                    "escalation",
                    now,
                    problem.since,
                    old=State.DOWN,
                    duration=now - problem.since,
                    key=key,
                )
                out += self._out(alert, fresh)
        return out

    def _ladder(self, roster: str, since: float) -> list[tuple[str, ...]]:
        key = (roster, since)
        found = self._ladders.get(key)
        if found is None:
            if len(self._ladders) > 10_000:  # outages long over; they are cheap to work out again
                self._ladders.clear()
            found = self._ladders[key] = ladder(self.config, roster, since)
        return found

    def acknowledge(self, tid: str, since: float | None = None) -> float | None:
        """Someone took the target's open outage (the one that began at `since`, when
        given): no more reminders or escalations for it. Its start, None if there is none."""
        track = self.tracks.get(tid)
        problem = track.problem if track is not None else None
        if problem is None or problem.state != State.DOWN:
            return None
        if since is not None and round(since) != round(problem.since):
            return None
        problem.acked = True
        return problem.since

    def follows(self, tid: str) -> bool:
        """Whether this policy holds the target's track (it was resumed here, or an
        event of it came here): else another instance decides its alerts."""
        return tid in self.tracks

    def open_since(self, tid: str) -> float | None:
        """The start of the target's open outage, if it has one."""
        track = self.tracks.get(tid)
        problem = track.problem if track is not None else None
        return problem.since if problem is not None and problem.state == State.DOWN else None

    def _refresh(self, target: Target, track: _Track, now: float) -> list[Outgoing]:
        problem = track.problem
        if problem is None and not track.flapping:
            return []
        since = problem.since if problem else (track.changes[0] if track.changes else now)
        names = []
        for name in sorted((problem.notified if problem else set()) | track.flap_notified):
            every = self._resend_every(name)
            if every and now - track.refreshed.setdefault(name, now) >= every:
                track.refreshed[name] = now
                names.append(name)
        if not names or track.maintenance:
            return []
        alert = self._alert(
            target, track, "refresh", now, since, old=track.state, duration=now - since, key=f"{now:.0f}"
        )
        return self._out(alert, names)

    def _certificate(self, target: Target, track: _Track, now: float) -> list[Outgoing]:
        warn_days = self._warn_days(target)
        if not warn_days or now < track.cert_next:
            return []
        track.cert_next = now + CERT_CHECK_SECONDS
        result = self.last_result(target.id)
        expiry = expiry_of(target.kind)
        at = expiry.at(result) if result is not None else None
        if at is None:
            return []
        days = days_left(at, now)  # the count the result's detail gives too
        crossed = [d for d in warn_days if days <= d]
        if at <= now or not crossed:
            return []  # an expired certificate or domain makes the target DOWN; that alert says it
        rounded, threshold = round(at), min(crossed)
        sent = track.cert_sent
        if sent is not None and sent[0] == rounded and sent[1] <= threshold:
            return []
        track.cert_sent = (rounded, threshold)
        alert = self._alert(target, track, "cert", now, None, old=track.state, key=f"{rounded}:{threshold}")
        alert = replace(
            alert,
            reason=expiry.expiring,
            detail=expiring_detail(expiry, days),
            cert_days=days,
            cert_expiry=at,
            expiring=expiry.subject,
        )
        return self._out(alert, self._wanting(target.id, "cert"))

    # -- flapping -------------------------------------------------------------------

    def _flapping(self, target: Target, track: _Track, event: Event) -> list[Outgoing]:
        track.flapping, track.flap_from = True, event.old
        if self._root_down(target):
            return []
        names = self._wanting(target.id, "flapping")
        track.flap_notified = set(names)
        track.refreshed.update(dict.fromkeys(names, event.at))
        alert = self._alert(target, track, "flapping", event.at, track.changes[0], old=event.old)
        return self._out(alert, names)

    def _stable(self, target: Target, track: _Track, now: float) -> list[Outgoing]:
        track.flapping = False
        began = track.changes[0] if track.changes else now
        alert = self._alert(target, track, "stable", now, began, old=track.flap_from)
        out = self._out(alert, sorted(track.flap_notified))
        track.flap_notified, track.changes = frozenset(), []
        # Settle the open problem with the state the target came to rest in.
        return out + self._transition(target, track, track.flap_from, track.since)

    # -- helpers --------------------------------------------------------------------

    def _alert(
        self,
        target: Target,
        track: _Track,
        kind: str,
        at: float,
        since: float | None,
        *,
        old: State,
        duration: float | None = None,
        key: str = "",
    ) -> Alert:
        # Stable ids: the same alert offered again (a retry, a restart) has the same id.
        start = since if since is not None else at
        origin = "" if kind in ("cert", "refresh") else f":{round(start)}"
        ident = f"{target.id}:{kind}{origin}" + (f":{key}" if key else "")
        last = self.last_result(target.id)
        return Alert(
            id=ident,
            kind=kind,
            target=target.id,
            name=target.name,
            group=target.group,
            old=str(old),
            new=str(track.state),
            reason=track.reason,
            detail=track.detail,
            at=at,
            since=since,
            duration=duration,
            url=self._page(target),
            admin_url=None if target.public else self._admin_row(target),
            dependents=tuple(self._down_dependents(target.id)),
            flapping=track.flapping,
            values=dict(last.extra) if last is not None else {},
        )

    def _page(self, target: Target) -> str | None:
        """The target's public page; none for a private target (its page answers 404)."""
        public_url = self.config.settings.public_url
        return f"{public_url}/targets/{quote(target.id)}" if public_url and target.public else None

    def _admin_row(self, target: Target) -> str | None:
        """The target's row on the admin view, while the admin view is on."""
        public_url = self.config.settings.public_url
        return f"{public_url}/admin#target-{quote(target.id)}" if public_url and self.admin_view() else None

    def _out(self, alert: Alert, names: Iterable[str]) -> list[Outgoing]:
        names = tuple(n for n in names if n in self.config.notifiers)
        return [Outgoing(alert, names)] if names else []

    def _events(self, name: str) -> frozenset[str]:
        config: NotifierConfig | None = self.config.notifiers.get(name)
        return config.events if config else frozenset()

    def _wanting(self, tid: str, kind: str, at: float | None = None) -> list[str]:
        """The notifiers wanting this kind of alert about the target; a duty roster's
        route is whoever is on duty at `at` (default now)."""
        target = self.config.targets.get(tid)
        if target is None:
            return []
        probe_kind = PROBES.get(target.kind)
        urgent = kind == "degraded" and probe_kind is not None and probe_kind.alert_degraded
        kinds = {kind, "down"} if urgent else {kind}
        moment = self.clock() if at is None else at
        names: list[str] = []
        for name in target.notify:
            roster = roster_of(name)
            steps = self._ladder(roster, moment) if roster is not None else [(name,)]
            names += [n for n in (steps[0] if steps else ()) if n not in names]
        return [n for n in names if kinds & self._events(n)]

    def _resend_every(self, name: str) -> float | None:
        config = self.config.notifiers.get(name)
        every = getattr(config.spec, "resend_every", None) if config else None
        return float(every) if isinstance(every, int | float) else None

    def _reminder_number(self, name: str, since: float, now: float) -> int:
        config = self.config.notifiers.get(name)
        every = config.repeat_every if config else None
        return int((now - since) // every) if every else 0

    def _root_down(self, target: Target) -> bool:
        return any(self._track(root).state == State.DOWN for root in target.depends_on)

    def _down_dependents(self, tid: str, seen: set[str] | None = None) -> list[str]:
        """Names of the targets that depend on `tid` (directly or not) and are down."""
        seen = set() if seen is None else seen
        names: list[str] = []
        for dep in self.dependents.get(tid, []):
            track, target = self.tracks.get(dep), self.config.targets.get(dep)
            if dep in seen or track is None or target is None or track.state != State.DOWN:
                continue
            seen.add(dep)
            names += [target.name, *self._down_dependents(dep, seen)]
        return names

    def _grace(self, target: Target) -> float:
        """How long a dependent's "down" waits: its root may need up to its failure
        threshold (plus one interval) to be seen down, and after a root's recovery the
        dependent needs its success threshold to come back."""
        roots = [self.config.targets[r] for r in target.depends_on if r in self.config.targets]
        seen_down = max((r.interval * (r.failure_threshold + 1) for r in roots), default=0.0)
        return max(seen_down, target.interval * (target.success_threshold + 1))
