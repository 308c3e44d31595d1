"""The state machine: raw probe results in, a target's state and incident events out.

A target goes DOWN after `failure_threshold` consecutive failures, back UP (or DEGRADED)
after `success_threshold` consecutive successes; UP and DEGRADED swap on the same
thresholds so a jittery latency does not flap. From UNKNOWN the first success counts at
once. Maintenance overlays the state: the target shows MAINTENANCE while its window is
open, and its underlying state keeps being tracked so the end of the window reveals it.
Every change of the shown state is an `Event`. This is the one place state lives.

**When a change happened.** A change is dated by the start of the first probe of the
streak that made it, not by the probe that crossed the threshold: an outage begins at the
first failed probe of its streak (not `failure_threshold` probes later), a recovery at
the first passed probe of the streak that brought the target back, UP -> DEGRADED at the
first degraded probe and DEGRADED -> UP at the first clean one. The events, and so the
availability, the incidents, the report and the alerts' `since` and durations, all use
these times. A change is never dated before the previous shown change (a streak that
began inside a maintenance window starts when the window ended).

`withhold` is the other way in: no verdict for now (the monitor itself is offline, see
`monitor.connectivity`). The target shows UNKNOWN with the reason given, its streaks
start again, and its next `observe` judges it as from UNKNOWN. The caller decides when
(the runtime: a failing probe of an external target while the monitor is offline).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from monitor.config import Target
from monitor.result import Event, Reason, Result, State

_LIVE = (State.UP, State.DEGRADED, State.DOWN)


@dataclass(slots=True)
class Status:
    """One target's live status. Mutated only by `StateMachine`. Slotted, and its probe
    counts a two-item list indexed by `ok` (`counts[True]`: passed), not a dict: one of
    these per target, 100,000 in one process."""

    state: State = State.UNKNOWN  # as shown
    underlying: State = State.UNKNOWN  # ignoring maintenance
    since: float = 0.0
    reason: str = ""
    detail: str = ""
    maintenance: bool = False
    last: Result | None = None
    failures: int = 0  # consecutive failed probes
    successes: int = 0  # consecutive passed probes
    clean: int = 0  # consecutive passed probes that were not degraded
    degraded: int = 0  # consecutive passed probes that were degraded
    counts: list[int] = field(default_factory=lambda: [0, 0])  # [failed, passed]
    # When each streak above began (the start of its first probe): a change is dated so.
    failed_at: float = 0.0
    passed_at: float = 0.0
    clean_at: float = 0.0
    degraded_at: float = 0.0


class StateMachine:
    """Holds every target's `Status`; `observe` and `set_maintenance` return the event
    a change makes, or None."""

    def __init__(self) -> None:
        self.statuses: dict[str, Status] = {}
        # Counts changes of a shown state (and of the set of targets): readers that cache
        # what they show (the status page) know by it when their copy went stale.
        self.version = 0

    def status(self, target_id: str) -> Status:
        status = self.statuses.get(target_id)
        if status is None:
            status = self.statuses[target_id] = Status()
        return status

    def sync(self, target_ids: Iterable[str]) -> None:
        """Keep the statuses of these targets only (after a reload). The dict is replaced,
        not edited, so a reader iterating the old one (a scrape) is never disturbed."""
        old = self.statuses
        self.statuses = {tid: old.get(tid) or Status() for tid in target_ids}
        self.version += 1

    def forget(self, target_id: str) -> None:
        """Start `target_id` afresh, UNKNOWN (another instance probes it now)."""
        if target_id in self.statuses:
            self.statuses[target_id] = Status()
            self.version += 1

    def restore(
        self, target_id: str, state: State, since: float, reason: str = "", entered_from: State = State.UNKNOWN
    ) -> None:
        """Resume from a stored state after a restart: a DOWN target stays DOWN until it
        passes `success_threshold` probes, so a restart never fakes a recovery. A target
        stored in MAINTENANCE stays in it (the windows decide when it ends) with the state
        it went into the window in (`entered_from`) underneath: a DOWN target that is
        still down when the window ends keeps its incident, whenever the restart was."""
        status = self.status(target_id)
        if state == State.MAINTENANCE:
            status.state, status.maintenance = state, True
            status.underlying = entered_from if entered_from in _LIVE else State.UNKNOWN
        else:
            status.state = status.underlying = state
        status.since, status.reason = since, reason
        self.version += 1

    def observe(self, target: Target, result: Result) -> Event | None:
        status = self.status(target.id)
        status.last = result
        status.counts[result.ok] += 1
        _count(status, result)
        new = _next_state(status, target, result)
        old = status.underlying
        if new != old or new == State.UNKNOWN:  # while UNKNOWN: the latest's reason
            status.underlying = new
            status.reason, status.detail = result.reason, result.detail
        if new == old:
            return self._show(target.id, status, result.started or 0.0)
        return self._show(target.id, status, max(_began(status, old, new, result), status.since))

    def withhold(self, target_id: str, at: float, reason: str, result: Result | None = None) -> Event | None:
        """No verdict on the target for now: it shows UNKNOWN with `reason` (MAINTENANCE
        still overlays it) and its consecutive counts start again. `result`, a probe's
        new result, is counted and kept as its last; a failed last result is kept with
        `reason` as its reason (its own goes first in its detail), as that is what the
        target shows until it is judged again."""
        status = self.status(target_id)
        if result is not None:
            status.last = result
            status.counts[result.ok] += 1
        last = status.last
        if last is not None and not last.ok and last.reason != reason:
            status.last = replace(
                last, reason=reason, detail=f"{last.reason}: {last.detail}" if last.detail else last.reason
            )
        status.failures = status.successes = status.clean = status.degraded = 0
        if status.underlying != State.UNKNOWN or status.reason != reason:
            status.underlying = State.UNKNOWN
            status.reason, status.detail = reason, status.last.detail if status.last else ""
        return self._show(target_id, status, at)

    def assign(
        self,
        target_id: str,
        state: State,
        at: float,
        reason: str,
        detail: str = "",
        last: Result | None = None,
        locations: tuple[str, ...] = (),
    ) -> Event | None:
        """Set the state decided elsewhere (`monitor.cluster.quorum`: the locations'
        combined state, each location's thresholds applied there); `last` is kept as the
        last result. MAINTENANCE still overlays it; the change is never dated before the
        previous one."""
        status = self.status(target_id)
        if last is not None:
            status.last = last
        if status.underlying == state and status.reason == reason and status.detail == detail:
            return None
        status.underlying, status.reason, status.detail = state, reason, detail
        event = self._show(target_id, status, max(at, status.since))
        return event if event is None or not locations else replace(event, locations=locations)

    def set_maintenance(self, target_id: str, active: bool, now: float) -> Event | None:
        status = self.status(target_id)
        if status.maintenance == active:
            return None
        status.maintenance = active
        return self._show(target_id, status, now)

    def _show(self, target_id: str, status: Status, now: float) -> Event | None:
        shown = State.MAINTENANCE if status.maintenance else status.underlying
        if shown == status.state:
            return None
        old, status.state, status.since = status.state, shown, now
        self.version += 1
        reason = Reason.MAINTENANCE if shown == State.MAINTENANCE else status.reason
        detail = "" if shown == State.MAINTENANCE else status.detail
        return Event(target_id, now, old, shown, reason, detail)


def _count(status: Status, result: Result) -> None:
    """Extend or restart the streaks with one result."""
    at = result.started or 0.0
    if result.ok:
        if not status.successes:
            status.passed_at = at
        if not result.degraded and not status.clean:
            status.clean_at = at
        if result.degraded and not status.degraded:
            status.degraded_at = at
        status.failures = 0
        status.successes += 1
        status.clean = 0 if result.degraded else status.clean + 1
        status.degraded = status.degraded + 1 if result.degraded else 0
    else:
        if not status.failures:
            status.failed_at = at
        status.failures += 1
        status.successes = status.clean = status.degraded = 0


def _began(status: Status, old: State, new: State, result: Result) -> float:
    """When the change from `old` to `new` began: the first probe of its streak."""
    if new == State.DOWN:
        return status.failed_at
    if old == State.UNKNOWN:
        return result.started or 0.0
    if old == State.DOWN:
        return status.passed_at
    return status.degraded_at if new == State.DEGRADED else status.clean_at


def _next_state(status: Status, target: Target, result: Result) -> State:
    current = status.underlying
    passed = State.DEGRADED if result.degraded else State.UP
    if not result.ok:
        return State.DOWN if status.failures >= target.failure_threshold else current
    if current == State.UNKNOWN:
        return passed
    if current == State.DOWN:
        return passed if status.successes >= target.success_threshold else current
    if current == State.UP and status.degraded >= target.failure_threshold:
        return State.DEGRADED
    if current == State.DEGRADED and status.clean >= target.success_threshold:
        return State.UP
    return current
