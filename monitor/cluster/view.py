"""`ReplicaView`: every target's state on every replica of the default location.

With the default location (`local`) alone on a shared store (PostgreSQL), each replica
judges, stores and alerts on the targets it probes exactly as a single instance does,
and also publishes their states through the store's `Locations`, as a location does
(`monitor.cluster.member`). The targets the other replicas probe it shows as their
prober published them: `show` copies each published row onto `Monitor.states` (the
status page, the API, `monitor_target_*`, the admin view) without an event of its own —
nothing stored, no listener told: the prober stored that change and alerts on it — and
moves only the uptime ratios kept in memory. The row's last result (its start, latency
and reason) is kept as the target's last here, for the page's last check and latency;
the per-probe series (`probe_*`, `monitor_probes_total`,
`monitor_probe_duration_seconds`) stay the prober's own (`probed_here`). While the view is on (`on`), the
maintenance windows overlay every target here too (the published state is the one
beneath them); their events are still the prober's.

**Why the prober decides the alerts, not the sender** (as locations do): the prober
stores a change the moment it judges the result that made it, before the alert is
queued, and whoever takes a target over resumes from that stored event and what the
outbox last said about it (`Monitor._take_over`). The sender would learn of a change
only from the published row, a round or two later; a change published while the sender
is dying (its lease runs up to 15-20 s before another takes it) would be seen by the
others, which do not send, and told by none — or, taken over, by two. With the prober
deciding, each change is decided once, by the one instance that judged it, and a
single instance on PostgreSQL alerts exactly as it does on SQLite.

A store of one instance (SQLite) is never shared: nothing is published or shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from monitor.result import Result
from monitor.state import Status
from monitor.store.records import LocationState

if TYPE_CHECKING:
    from monitor.runtime import Monitor


class ReplicaView:
    """The default location's replicas showing each other's targets; see the module doc."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    @property
    def on(self) -> bool:
        """A shared store, and no other location: the replicas publish and show."""
        return self.monitor.store.shared and not self.monitor.cluster.active

    def probed_here(self, statuses: Mapping[str, Status]) -> Mapping[str, Status]:
        """Of `statuses`, those of the targets this instance probes while the view is on
        (the others' last results are the prober's to export), else all of them."""
        if not self.on:
            return statuses
        owned = self.monitor.owned
        return {tid: status for tid, status in statuses.items() if tid in owned}

    def recorded(self, target_id: str, started: float) -> None:
        """This replica judged one of its own targets: published at the next round."""
        member = self.monitor.member
        member.changed.add(target_id)
        member.newest = max(member.newest, started)

    def show(self, rows: Iterable[LocationState]) -> int:
        """Show these published rows of this location's targets another replica probes;
        return how many changed what this instance shows."""
        monitor = self.monitor
        location, owned, targets = monitor.cluster.location, monitor.owned, monitor.config.targets
        shown = 0
        for row in rows:
            target = targets.get(row.target)
            if row.location != location or target is None or target.paused or row.target in owned:
                continue  # not this location's, gone, held as paused here, or judged here
            event = monitor.states.assign(row.target, row.state, row.since, row.reason, row.detail, _last(row))
            if event is not None:
                monitor.metrics.changed(event)
                shown += 1
        return shown

    def handed(self, target_ids: Iterable[str]) -> None:
        """Targets another replica probes now: shown from the last row published of them
        (this replica's own, until the new prober publishes)."""
        here = self.monitor.cluster.here
        self.show(here[tid] for tid in target_ids if tid in here)


def _last(row: LocationState) -> Result:
    """The prober's last result as its row tells it (a latency only when it passed)."""
    failed = row.latency is None
    return Result(not failed, row.reason, row.detail if failed else "", row.latency or 0.0, row.at)
