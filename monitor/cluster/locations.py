"""This instance among the locations sharing its store.

Every few seconds (`SYNC_SECONDS`, or the shortest interval when shorter) the runtime
publishes this location's word (`LocationSeen`: the start of its newest result, the
shortest interval it probes at, whether it is offline) and its state of each target it
probed since (`LocationState`), and reads the others' back (`Cluster.update`).

- **Active.** An instance takes part once its location is not the default `local` or
  once the store has heard of another location; a single instance with the default
  location publishes nothing and judges exactly as it always did.
- **Stale.** A location whose newest result is older than `3 ×` its shortest interval
  has stopped reporting (`stale`; the two rounds its word takes to reach the others are
  allowed on top); `changes` says when one goes stale or comes back,
  once each (for the alert and the admin view).
- **Who decides.** The combined state of every target is computed by every instance
  (their pages and metrics agree), but incident events are stored and alerts queued by
  one: the instance of the first location by name among those not stale (`decides`).
  When it stops reporting, the next one takes over after `3 ×` its shortest interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.store.records import LocationSeen, LocationState

DEFAULT = "local"
SYNC_SECONDS = 5.0  # between two rounds at most
MIN_SYNC = 0.2  # between two rounds at least
STALE_AFTER = 3  # shortest intervals without a result


def sync_every(shortest: float) -> float:
    """Seconds between two rounds of a location whose shortest interval is `shortest`."""
    return max(MIN_SYNC, min(SYNC_SECONDS, shortest))


@dataclass(frozen=True, slots=True)
class LocationChange:
    """A location went stale (`stale=True`, `since` its last result) or came back."""

    location: str
    stale: bool
    since: float
    at: float


class Cluster:
    """What this instance knows of the locations sharing its store (no I/O)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.seen: dict[str, LocationSeen] = {}
        self.states: dict[str, dict[str, LocationState]] = {}  # target -> location -> state, others only
        self.stale_since: dict[str, float] = {}  # locations stale now, with their last result
        self._active = location != DEFAULT

    @property
    def active(self) -> bool:
        return self._active

    def update(self, seen: Iterable[LocationSeen], states: Iterable[LocationState]) -> None:
        """The store's latest word of every location (this one's included)."""
        self.seen = {s.location: s for s in seen}
        grouped: dict[str, dict[str, LocationState]] = {}
        for state in states:
            if state.location != self.location:
                grouped.setdefault(state.target, {})[state.location] = state
        self.states = grouped
        if any(name != self.location for name in self.seen):
            self._active = True

    def others(self, target_id: str) -> list[LocationState]:
        return list(self.states.get(target_id, {}).values())

    def is_stale(self, seen: LocationSeen, now: float) -> bool:
        """No result for 3 × its shortest interval, beyond the two rounds its word takes
        to travel (its publication and this instance's read)."""
        return now - seen.seen > STALE_AFTER * seen.shortest + 2 * sync_every(seen.shortest)

    def changes(self, now: float) -> list[LocationChange]:
        """Locations that went stale or came back since the last call."""
        found: list[LocationChange] = []
        for name, seen in self.seen.items():
            if name == self.location:
                continue
            stale = self.is_stale(seen, now)
            if stale and name not in self.stale_since:
                self.stale_since[name] = seen.seen
                found.append(LocationChange(name, True, seen.seen, now))
            elif not stale and name in self.stale_since:
                found.append(LocationChange(name, False, self.stale_since.pop(name), now))
        return found

    def up(self, now: float) -> dict[str, bool]:
        """Every known location (this one always up): reporting or stale."""
        found = {name: not self.is_stale(seen, now) for name, seen in self.seen.items()}
        found[self.location] = True
        return dict(sorted(found.items()))

    def decides(self, now: float) -> bool:
        """Whether this instance stores the combined events and sends the alerts."""
        live = [name for name, up in self.up(now).items() if up]
        return not live or live[0] == self.location


def shortest(intervals: Sequence[float]) -> float:
    return min(intervals, default=30.0)
