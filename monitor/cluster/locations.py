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
  one: the sender, the holder of the sender's lease (`monitor.cluster.replicas`,
  `Monitor.is_sender`), whatever its location. When it stops renewing, another instance
  takes the lease over within `LEASE_SECONDS + RENEW_SECONDS`.
- **Replicas.** Several instances of one location each publish the targets they probe;
  a target another replica of this location probes is combined from that replica's row
  (`here`) — or, with the default location alone, shown as it is
  (`monitor.cluster.view`).
- **Only what changed.** Every publication numbers its rows above any number before;
  `Cluster` keeps the newest number it read (`mark`) and the rows themselves, and reads
  only the rows published after `mark`: every row at its start (`mark` 0), and again
  after a round that failed (`reset`: the database may have been restored meanwhile) or
  when the store's newest number is below `mark` (another database). Staleness needs no
  row: it is judged by time, from each location's `LocationSeen` (read whole every
  round, one row per location) and each row's `at`, which age in memory as they would
  in the store; a location's `offline`, read with its `LocationSeen`, is put on every
  row of it held here when it flips.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from monitor.store.records import LocationChanges, LocationSeen, LocationState

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
        self.here: dict[str, LocationState] = {}  # target -> this location's row (its replicas')
        self.stale_since: dict[str, float] = {}  # locations stale now, with their last result
        self.mark = 0  # the newest change number read: the next read asks for those after it
        self._active = location != DEFAULT

    @property
    def active(self) -> bool:
        return self._active

    def reset(self) -> None:
        """Read every row again at the next round (after a failed round or another database)."""
        self.mark = 0

    def update(self, seen: Iterable[LocationSeen], changes: LocationChanges) -> None:
        """The store's latest word: every location's sign of life (this one's included)
        and the rows published after `mark` (every row when `mark` is 0)."""
        before = self.seen
        self.seen = {s.location: s for s in seen}
        if any(name != self.location for name in self.seen):
            self._active = True
        if changes.newest < self.mark:  # another database: what it holds is read whole next
            self.reset()
            return
        if self.mark == 0:
            self.states, self.here = {}, {}
        self._merge(changes.states)
        self.mark = changes.newest
        flipped = {name for name, now in self.seen.items() if name in before and before[name].offline != now.offline}
        if flipped:
            self._mark_offline(flipped)

    def _merge(self, states: Iterable[LocationState]) -> None:
        here, location = self.here, self.location
        for state in states:
            if state.location != location:
                self.states.setdefault(state.target, {})[state.location] = state
            else:
                here[state.target] = state

    def _mark_offline(self, names: set[str]) -> None:
        """A location went offline or came back: the rows of it held here say so."""
        for by_location in self.states.values():
            for name in names & by_location.keys():
                by_location[name] = replace(by_location[name], offline=self.seen[name].offline)

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


def shortest(intervals: Sequence[float]) -> float:
    return min(intervals, default=30.0)
