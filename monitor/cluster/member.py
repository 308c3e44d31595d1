"""The runtime's side of several locations: publish this location's word, read the
others', combine each target's state and act on stale locations.

`Member` is built by `monitor.runtime.Monitor`. While its `Cluster` is not active (a
single instance with the default location) it does nothing but look, every sync, for
another location in the store. Once active, the monitor judges its own probes on a
state machine of its own (`Monitor.own`: this location's thresholds) and the shown
state (`Monitor.states`: what the page, the API, the metrics and the alerts use) is the
combination of every location's (`monitor.cluster.quorum.combine`), recomputed after
each own result and after each sync. Only the sender (`Monitor.is_sender`: the holder of
the sender's lease, `monitor.cluster.replicas`) stores the combined events and hands
them to the listeners (alerting), and tells of stale locations; a change seen while
another instance sends is kept (`untold`) and told once this one sends (the alerts'
ids are stable, so one told twice reaches a receiver once). A target another replica
of this location probes is combined with that replica's published state. For the first
`3 ×` the shortest interval (and two rounds) after its start an instance combines
nothing: the others' word may not have reached it yet, and alone it would decide on its
own results.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from monitor.cluster.locations import STALE_AFTER, SYNC_SECONDS, Cluster, LocationChange, shortest, sync_every
from monitor.cluster.quorum import combine
from monitor.config import Target
from monitor.connectivity import Uplink
from monitor.log import kv
from monitor.store.records import LocationSeen, LocationState

if TYPE_CHECKING:
    from monitor.runtime import Monitor

log = logging.getLogger("monitor.cluster")
UNTOLD = 100  # stale locations' changes kept for when this instance sends, at most


class Member:
    """This instance's part in the cluster; see the module doc."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.cluster = Cluster(monitor.config.settings.location)
        self.changed: set[str] = set()  # targets probed since the last publication
        self.newest = 0.0  # the start of the newest own result
        self.last_changes: list[LocationChange] = []
        self.untold: list[LocationChange] = []  # seen while another instance sends
        self.began = time.time()

    @property
    def location(self) -> str:
        return self.cluster.location

    def every(self) -> float:
        if not self.cluster.active and not self.monitor.view.on:  # only looking for another location: no hurry
            return SYNC_SECONDS
        probed = [t.interval for t in self.monitor.config.targets.values() if t.probed_at(self.location)]
        return sync_every(shortest(probed))

    def recorded(self, target: Target, started: float) -> None:
        """An own result was judged (on `Monitor.own`): combine the target again."""
        self.changed.add(target.id)
        self.newest = max(self.newest, started)
        self.combine(target, time.time())

    def own_state(self, target_id: str) -> LocationState | None:
        """This location's state of the target: this instance's judgement where it
        probes it, else the row another replica of this location published."""
        if target_id not in self.monitor.owned:
            return self.cluster.here.get(target_id)
        status = self.monitor.judge.statuses.get(target_id)
        if status is None or status.last is None:
            return None
        last = status.last
        return LocationState(
            target_id,
            self.location,
            status.underlying,
            status.since,
            last.started,
            status.reason,
            status.detail,
            last.duration if last.ok else None,
            self.monitor.connectivity.state is Uplink.OFFLINE,
        )

    def adopt(self, target_id: str) -> None:
        """A target this instance probes now, taken over from another replica of its
        location: its own judgement resumes from the state that replica published."""
        row = self.cluster.here.get(target_id)
        if row is not None:
            self.monitor.own.restore(target_id, row.state, row.since, row.reason)

    def settling(self, now: float) -> bool:
        """Just started: the other locations' word may not have arrived yet, so nothing
        is combined (what the store last said stays shown) for as long as a location
        may be silent before it counts as stale."""
        window = shortest([t.interval for t in self.monitor.config.targets.values()])
        return now - self.began < STALE_AFTER * window + 2 * sync_every(window)

    def combine(self, target: Target, now: float) -> None:
        if self.settling(now):
            return
        own = self.own_state(target.id)
        states = self.cluster.others(target.id) + ([own] if own is not None else [])
        result = combine(states, target.quorum, target.interval, now)
        own_status = self.monitor.own.statuses.get(target.id)
        last = own_status.last if own_status is not None else None
        event = self.monitor.states.assign(
            target.id, result.state, result.since, result.reason, result.detail, last, result.locations
        )
        if event is None:
            return
        if self.monitor.is_sender():
            self.monitor.emit(event, target)
        else:  # the decider stores it; the uptime ratios kept in memory here move as its do
            self.monitor.metrics.changed(event)
            log.info("combined state changed", extra=kv(target=target.id, new=event.new, decided_by="another"))

    async def run(self) -> None:
        self.began = time.time()  # once the store is open and probing begins
        while True:
            try:
                await self.sync(time.time())
            except Exception:  # the next round tries again; the store's health shows on /readyz
                log.exception("exchanging states with the other locations failed")
                self.cluster.reset()  # every row again: the database may have been restored
            await asyncio.sleep(self.every())

    async def sync(self, now: float) -> None:
        """One round: publish (once active, or as a replica of the default location on a
        shared store: `monitor.view`), read what changed, act on stale locations,
        combine (or, as such a replica, show the others' targets)."""
        monitor = self.monitor
        if self.cluster.active or monitor.view.on:
            probed = [t.interval for t in monitor.config.targets.values() if t.probed_at(self.location)]
            ids, self.changed = self.changed, set()
            states = [s for s in (self.own_state(tid) for tid in ids if tid in monitor.owned) if s is not None]
            seen = LocationSeen(
                self.location,
                self.newest or self.began,
                shortest(probed),
                monitor.connectivity.state is Uplink.OFFLINE,
            )
            await monitor.store.publish_location(seen, states)
        found = await monitor.store.locations_seen()
        another = any(s.location != self.location for s in found)
        if not self.cluster.active and not another and not monitor.view.on:
            return
        if not self.cluster.active and another:
            monitor.take_part()
        changes = await monitor.store.location_changes(self.cluster.mark)
        self.cluster.update(found, changes)
        if not self.cluster.active:
            monitor.view.show(changes.states)
            return
        self.last_changes = self.cluster.changes(now)
        for change in self.last_changes:
            log.warning(
                "location stopped reporting" if change.stale else "location reporting again",
                extra=kv(location=change.location, since=round(change.since)),
            )
        self.untold = (self.untold + self.last_changes)[-UNTOLD:]
        if monitor.is_sender():
            alerting = monitor.alerting
            if alerting is not None:
                for change in self.untold:
                    alerting.on_location(change)
            self.untold = []
        for target in monitor.config.targets.values():
            self.combine(target, now)
