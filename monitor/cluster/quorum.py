"""A target's combined state from its locations' states.

Each location judges a target with the target's thresholds, as one instance would
(`monitor.state`); `combine` then takes the locations that reported within
`3 × interval` and are online, and decides:

- **DOWN** when at least `quorum` of them are DOWN (`None`: "majority", more than half
  of those counted);
- **DEGRADED** when some are DOWN but fewer than `quorum` (reason `locations_failing`,
  the detail naming them), or when none is DOWN and any is DEGRADED (that location's
  reason, the detail naming the degraded locations);
- **UP** otherwise;
- **UNKNOWN** when no location counts (all silent, offline or without a verdict yet):
  reason `no_location_reporting`.

A location whose own state is UNKNOWN (just started, or held by its lost uplink) has no
verdict and does not count. The result is dated by the location changes that made it:
DOWN when the quorum-th location went DOWN, anything else when the last counted
location entered its state (the state machine never dates a change before the previous
one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.result import Reason, State
from monitor.store.records import LocationState

REPORT_WINDOW = 3  # a location counts while its last result is younger than 3 × interval
NO_LOCATION = Reason.NO_LOCATION_REPORTING
LOCATIONS_FAILING = Reason.LOCATIONS_FAILING
_LIVE = (State.UP, State.DEGRADED, State.DOWN)


@dataclass(frozen=True, slots=True)
class Combined:
    """The target's combined state; `locations` are those that saw the failure (DOWN
    or DEGRADED), sorted."""

    state: State
    since: float
    reason: str
    detail: str = ""
    locations: tuple[str, ...] = ()


def counted(states: Sequence[LocationState], interval: float, now: float) -> list[LocationState]:
    """The locations that count: online, with a verdict, reported within the window."""
    oldest = now - REPORT_WINDOW * interval
    return [s for s in states if not s.offline and s.state in _LIVE and s.at >= oldest]


def needed(quorum: int | None, reporting: int) -> int:
    """How many DOWN locations make the target DOWN."""
    return reporting // 2 + 1 if quorum is None else quorum


def combine(states: Sequence[LocationState], quorum: int | None, interval: float, now: float) -> Combined:
    """The combined state of one target (see the module doc)."""
    live = sorted(counted(states, interval, now), key=lambda s: s.location)
    if not live:
        return Combined(State.UNKNOWN, now, NO_LOCATION, "no location reported within 3 × interval")
    down = [s for s in live if s.state is State.DOWN]
    need = needed(quorum, len(live))
    if down and len(down) >= need:
        first = min(down, key=lambda s: s.since)
        when = sorted(s.since for s in down)[need - 1]
        return Combined(State.DOWN, when, first.reason, _seen(down, len(live), first.detail), _names(down))
    latest = max(s.since for s in live)
    if down:
        first = min(down, key=lambda s: s.since)
        detail = _seen(down, len(live), f"{first.reason}: {first.detail}" if first.detail else first.reason)
        return Combined(State.DEGRADED, latest, LOCATIONS_FAILING, detail, _names(down))
    degraded = [s for s in live if s.state is State.DEGRADED]
    if degraded:
        first = degraded[0]
        return Combined(
            State.DEGRADED, latest, first.reason, _seen(degraded, len(live), first.detail), _names(degraded)
        )
    return Combined(State.UP, latest, Reason.OK)


def _names(states: Sequence[LocationState]) -> tuple[str, ...]:
    return tuple(sorted(s.location for s in states))


def _seen(states: Sequence[LocationState], of: int, detail: str) -> str:
    where = ", ".join(_names(states))
    return (
        f"{len(states)} of {of} locations ({where}): {detail}"
        if detail
        else f"{len(states)} of {of} locations ({where})"
    )
