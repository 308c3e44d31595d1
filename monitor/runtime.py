"""The running monitor: configuration, state, scheduler, store and metrics wired together.

`Monitor` is built by the app factory (`monitor.web.create_app`) or by `monitor check`;
nothing here is global, so tests build their own. Every probe result goes through
`record`: the state machine, the store, the metrics, and — for a change of state — the
event listeners (alerting subscribes there). The on-call desk (`oncall`: acknowledgements,
mutes, duty rosters) is built with it, and with alerting the chat bots (`bots`), which
poll only while `is_sender()`.

The schedulers and the probes run on the probe loop (`probing`, a thread of its own:
`monitor.probeloop`, whose docstring is the threading contract); every result comes back
to this loop, where `record` and everything after it run, so a crowd served here cannot
lengthen what probes measure.

The connectivity checks (`[monitor] connectivity`) run on a scheduler of their own and
feed `Connectivity`. While it finds this instance offline, a probe of an `external`
target that did not reach it (`UNREACHED`: a timeout, a refused connection, no name...)
is no verdict: `record` holds the target UNKNOWN (`monitor_offline`) through
`StateMachine.withhold` instead of counting the failure, and when the instance goes
offline the targets that began failing so with the uplink are held at once. A target
DOWN before that stays DOWN (its outage is real); passing probes, failures where the
target answered (HTTP 500), and targets on the monitor's own host are judged as always.

Several instances sharing a store and a location split its targets (`monitor.cluster`):
this one schedules, judges and alerts on the targets it owns only, takes over those of
a member that died (their state and what was said about them read back from the store)
and hands over those a new member takes. Instances of several locations judge their own
probes on `own` and show each target's combination of every location's state
(`monitor.cluster.member`). One rule says who sends, `is_sender()`: the holder of the
sender's lease drains the shared outbox, polls the chat bots, tells the e-mail
subscribers of the configuration's maintenance windows and prunes their sent mail and,
once locations combine, stores the combined events and raises their alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import CollectorRegistry

from monitor.alerting.book import FOLLOW_SECONDS
from monitor.alerting.deadman import PING_SECONDS, STATE_FILE, DeadMan
from monitor.alerting.oncall import OnCall
from monitor.alerting.service import TICK_SECONDS, Alerting, http_client
from monitor.alerting.storage import combined
from monitor.assess import assess
from monitor.cluster import Replicas, instance_id
from monitor.cluster.heartbeats import Pushes
from monitor.cluster.member import Member
from monitor.cluster.renewals import Renewals
from monitor.cluster.view import ReplicaView
from monitor.config import Config, Target
from monitor.config.loader import load_config
from monitor.config.model import Settings, pending_restart
from monitor.config.watch import Source, follow
from monitor.connectivity import Change, Connectivity, Uplink
from monitor.errors import ConfigError, StoreError
from monitor.log import kv
from monitor.metrics.registry import Metrics
from monitor.notifiers.telegrambot.bots import Bots
from monitor.preflight.inside import Announcer
from monitor.probeloop import ProbeLoop
from monitor.probes import PROBES, ProbeContext, heartbeat_book, probe_context
from monitor.result import UNREACHED, Event, Reason, Result, State
from monitor.scheduler import IN_FLIGHT, Scheduler
from monitor.state import StateMachine
from monitor.store import IncidentUpdate, PlannedMaintenance, PostedIncident, Store, StoreHealth
from monitor.subscriptions.service import Subscriptions

log = logging.getLogger(__name__)

Listener = Callable[[Event, Target], None]
# Called after each incident update is stored (`monitor.web.admin.incidents.post_update`).
IncidentListener = Callable[[PostedIncident, IncidentUpdate], Awaitable[None]]
OWN_ERROR_RETRIES = (0.2, 1.0)  # pauses before probing again after the monitor's own error
OWN_ERROR_LOG_SECONDS = 60.0
MAINTENANCE_TICK = 5.0  # seconds between checks of the maintenance windows
REFREEZE_SECONDS = 600.0  # seconds between `freeze_heap` runs while running (see there)
UPLINK_CONCURRENCY = 16  # connectivity checks probed at once
OUTBOX_POLL = 1.0  # seconds between two looks of the sender at the shared outbox
# Seconds between two rounds of the subscriptions' housekeeping (the sender's): sent
# mails pruned, the configuration's maintenance windows looked at again.
SUBSCRIPTIONS_HOUSEKEEPING = 3600.0


@dataclasses.dataclass(frozen=True)
class ReloadStatus:
    """How the last `Monitor.reload()` went (for the admin view): when, whether the new
    configuration was taken, and the problems that made it rejected."""

    at: float
    ok: bool
    problems: tuple[str, ...] = ()


async def run_probe(target: Target, ctx: ProbeContext) -> Result:
    """Probe `target` once, with the timeout enforced and the target's thresholds
    applied. Never raises for a failing target; a probe that overruns its own deadline
    by a second is cut off as a timeout."""
    started = time.time()
    kind = PROBES[target.kind]
    try:
        async with asyncio.timeout(target.timeout + 1.0):
            result = await kind.probe(target, ctx)
    except TimeoutError:
        result = Result(False, Reason.TIMEOUT, f"no answer within {target.timeout:g}s", duration=time.time() - started)
    except MemoryError:
        result = Result(False, Reason.MONITOR_ERROR, "the monitor ran out of memory", duration=time.time() - started)
    except Exception as exc:  # a bug in a probe must not stop the others
        log.exception("probe crashed", extra=kv(target=target.id, kind=target.kind))
        result = Result(False, Reason.ERROR, f"internal error: {type(exc).__name__}", duration=time.time() - started)
    if not result.started:
        result = dataclasses.replace(result, started=started)
    return assess(target, result)


def _subscribing(config: Config) -> bool:
    return config.subscriptions is not None and config.subscriptions.enabled


def freeze_heap() -> None:
    """Take what is alive now (configuration, targets, states: long-lived) out of the
    cyclic garbage collector's walks. With 20,000 targets each full collection walked
    them for 120-240 ms, stalling every probe due meanwhile. Frozen objects are still
    freed by reference counting when a reload drops them. `start` runs it again once
    every target has been probed (its alert track, histogram and rollup exist by then)
    and every `REFREEZE_SECONDS`: each run is one collection, and what it freezes is
    not walked again. Cyclic garbage is collected before each freeze; afterwards frozen
    objects are freed only by reference counting, so a reference cycle among frozen
    objects that later becomes garbage would stay (a last result or an alert track,
    replaced or dropped, is freed as its count falls to zero). What the collection freed
    is then given back to the system (`trim_heap`)."""
    gc.collect()
    gc.freeze()
    trim_heap()


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
    return trim


_MALLOC_TRIM = _malloc_trim()


def trim_heap() -> bool:
    """Give the pages glibc's malloc holds free back to the system (`malloc_trim(0)`, every
    arena); whether it had any. Freed memory stays resident otherwise: in the arena of
    the thread that freed it, for that thread's next allocations only. Called after a
    `freeze_heap` (the start, each reload) and after each `/metrics` (its 50 MB of text
    at 20,000 targets, written in its own thread: `monitor.web.scrape`); a few
    milliseconds each (BENCHMARKS.md). Python's own small objects live in pymalloc's
    arenas, which are not malloc's: this does not touch them. Without glibc, nothing."""
    return bool(_MALLOC_TRIM(0)) if _MALLOC_TRIM is not None else False


def probed(config: Config) -> list[Target]:
    """The targets the scheduler probes: all but the paused ones (`paused = true`)."""
    return [t for t in config.targets.values() if not t.paused]


class Monitor:
    """One monitor instance. `start()`/`stop()` bracket its life; `reload()` swaps the
    configuration (an invalid one is logged and the running one stays)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        registry: CollectorRegistry | None = None,
        ctx: ProbeContext | None = None,
        concurrency: int = IN_FLIGHT,
        alerting: bool = False,
        prepare: Callable[[Config], Config] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        # What the listeners, the store and the data folder were set up with: a reload
        # cannot change them (`pending_restart`).
        self.started_settings: Settings = config.settings
        self._prepare = prepare or (lambda loaded: loaded)
        self.store = store
        self.states = StateMachine()
        self.states.sync(config.targets)
        # This location's own judgement once several locations share the store (else
        # `states` is it): `monitor.cluster.member`.
        self.own = StateMachine()
        self.member = Member(self)
        self.cluster = self.member.cluster
        # Replicas of the default location on a shared store show each other's targets.
        self.view = ReplicaView(self)
        self.heartbeats = heartbeat_book()
        self.pushes = Pushes(self)  # heartbeats shared with the other replicas
        self.ctx = ctx or probe_context(self.heartbeats)
        self.metrics = Metrics(self, registry)
        # The schedulers, the probes and `ctx` live on the probe loop once started:
        # reached through `probing.call`/`run`, results back through `probing.deliver`.
        self.probing = ProbeLoop()
        self.scheduler = Scheduler(self._probe_and_record, concurrency=concurrency, on_lag=self._lagged)
        self.connectivity = Connectivity(config.settings.connectivity)
        self.uplink = Scheduler(self._check_uplink, concurrency=UPLINK_CONCURRENCY)
        self.registry = self.metrics.registry
        self.listeners: list[Listener] = []
        self.incident_listeners: list[IncidentListener] = []
        self.last_own_error = -OWN_ERROR_LOG_SECONDS  # monotonic time of the monitor's own last probe error
        self.started_at = time.time()
        self.last_reload: ReloadStatus | None = None  # None: the start's configuration
        self.ready = False
        self._tasks: list[asyncio.Task[None]] = []
        self._housekeeping: AsyncIOScheduler | None = None
        self._planned: list[PlannedMaintenance] = []  # planned through the admin API
        # This instance among the replicas of its location, and the sender's lease; alone
        # (and not the sender) until `start` joins.
        self.replicas = Replicas(store, f"unstarted-{id(self):x}", config.settings.location)
        self.renewals: Renewals | None = None  # the membership's own thread, once started
        self.owned: frozenset[str] = self._owned_ids()  # the targets probed here
        self._taking_over: set[asyncio.Task[None]] = set()
        # Alerting (policy, outbox, notifiers) and the dead-man's switch: `monitor run` only.
        self.alerting = (
            Alerting(
                config,
                outbox=store.outbox(time.time),
                storage=store.health,
                sending=self.is_sender,
                spool=store.spool(),
                metrics=self.metrics,
                last_result=self._last_result,
            )
            if alerting
            else None
        )
        self.deadman = (
            DeadMan(
                lambda: self.config.settings.heartbeat_url,
                self.healthy,
                state_file=lambda: self.config.settings.data_dir / STATE_FILE,
            )
            if alerting
            else None
        )
        # The readiness checklist's result, once at each watch period's start.
        self.announcer = Announcer(self, self.alerting) if self.alerting is not None else None
        if self.alerting is not None:
            self.subscribe(self.alerting.on_event)
        # On call: acknowledgements, mutes (the admin API and the chat), the chat bots.
        self._own_client: httpx.AsyncClient | None = None
        if self.alerting is not None:
            client = self.alerting.client
        else:
            client = self._own_client = http_client()
        self.oncall = OnCall(
            config, store, self.states, client, self.alerting, decides=self.decides, sending=self.is_sender
        )
        self.bots = Bots(client, store, self.oncall, self.is_sender) if self.alerting is not None else None
        # Citizens' e-mail subscriptions (`[subscriptions] enabled`): `monitor run` only.
        # `clock`: the subscriptions' (their mails' times, the retention of sent ones,
        # which maintenance is still ahead).
        self.subscriptions = Subscriptions(config, store, clock) if alerting and _subscribing(config) else None
        if self.subscriptions is not None:
            self.subscribe(self.subscriptions.on_event)
            self.on_incident_update(self.subscriptions.on_incident_update)

    def is_sender(self) -> bool:
        """Whether this instance sends: it drains the shared outbox, polls the chat bots
        and, once several locations combine their states, stores the combined events and
        raises their alerts. One rule: it holds the sender's lease (`Replicas.sender`;
        on a store of one instance, always once started)."""
        return self.replicas.sender

    def decides(self, target_id: str) -> bool:
        """Whether this instance decides the target's alerts: the replica that probes
        it, or, once several locations combine their states, the sender."""
        return self.is_sender() if self.cluster.active else target_id in self.owned

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(event, target)` for every change of state."""
        self.listeners.append(listener)

    def on_incident_update(self, listener: IncidentListener) -> None:
        """Await `listener(incident, update)` after every incident update is stored."""
        self.incident_listeners.append(listener)

    async def start(self, watch_config: bool = False) -> None:
        await self.store.open()
        settings = self.config.settings
        self.replicas = Replicas(self.store, instance_id(settings.data_dir), settings.location)
        self.replicas.on_change, self.replicas.on_sender = self._members_changed, self._sender_changed
        await self.replicas.renew()  # the live members decide the targets probed here
        # Renewed from now on by its own thread, whatever the rest of the start takes.
        self.renewals = Renewals(self.replicas, asyncio.get_running_loop())
        self.renewals.start()
        self.owned = self._owned_ids()
        results = await self.store.last_results()
        self.heartbeats.restore(results)
        await self.pushes.start()  # after the results: a newer shared heartbeat wins
        last_events = await self.store.last_events()
        # Combined states are every instance's to show: all of them resume; alone, the
        # targets this replica probes.
        self._resume(self.config.targets if self.cluster.active else self.owned, last_events, results)
        if self.alerting is not None:
            self.connectivity.resume(self.alerting.uplink_announced())
            await self.alerting.start()
        await self.oncall.load()
        if self.bots is not None:
            self.bots.sync(self.config)
        await self.metrics.seed_uptime(last_events)  # before the first event
        self._start_subscriptions()
        self._announce_maintenance()
        await self._read_planned()  # before the first look: a restored window must not end
        self._apply_maintenance()
        self._hold_paused()
        await self.probing.start()
        self._schedule()
        self.probing.spawn(self.scheduler.run(), name="scheduler")
        self.renewals.tell()  # a change of members moves targets from here on
        self._tasks.append(asyncio.create_task(self.member.run(), name="locations"))
        self._tasks.append(asyncio.create_task(self.pushes.run(), name="heartbeats"))
        self.probing.call(self.uplink.set_targets, self.config.settings.connectivity)
        self.probing.spawn(self.uplink.run(), name="connectivity")
        if watch_config:
            self._tasks.append(asyncio.create_task(self._watch_config(), name="config-watch"))
        self._housekeeping = AsyncIOScheduler(timezone=UTC)
        self._housekeeping.add_job(self._apply_maintenance_job, "interval", seconds=MAINTENANCE_TICK)
        self._housekeeping.add_job(self.metrics.seed_uptime, "interval", seconds=self.metrics.uptime_retry)
        if self.alerting is not None:
            self._housekeeping.add_job(self.alerting.tick, "interval", seconds=TICK_SECONDS)
            self._housekeeping.add_job(self._poll_outbox, "interval", seconds=OUTBOX_POLL)
        self._housekeeping.add_job(self.oncall.tick, "interval", seconds=TICK_SECONDS)
        if self.store.shared:  # what other instances acknowledged or muted (alone, every change is made here)
            self._housekeeping.add_job(self.oncall.follow, "interval", seconds=FOLLOW_SECONDS)
        if self.subscriptions is not None:
            self._housekeeping.add_job(self._subscriptions_housekeeping, "interval", seconds=SUBSCRIPTIONS_HOUSEKEEPING)
        if self.deadman is not None:
            self._housekeeping.add_job(self.deadman.tick, "interval", seconds=PING_SECONDS)
        if self.announcer is not None:
            self._housekeeping.add_job(
                self.announcer.tick, "interval", seconds=self.announcer.every, next_run_time=datetime.now(UTC)
            )
        longest = max((t.interval for t in self.config.targets.values()), default=0.0)
        first = datetime.now(UTC) + timedelta(seconds=min(longest + 5.0, REFREEZE_SECONDS))
        self._housekeeping.add_job(freeze_heap, "interval", seconds=REFREEZE_SECONDS, next_run_time=first)
        self._housekeeping.start()
        freeze_heap()
        self.ready = True
        log.info(
            "monitor started",
            extra=kv(
                targets=len(self.config.targets),
                owned=len(self.owned),
                instance=self.replicas.instance,
                members=len(self.replicas.members),
                sender=self.replicas.sender,
            ),
        )

    async def stop(self) -> None:
        self.ready = False
        if self._housekeeping is not None:
            self._housekeeping.shutdown(wait=False)
        # Probes in flight cancelled, the probe context closed on its loop, the results
        # handed back meanwhile recorded: all before the store closes.
        await self.probing.stop(self.ctx.aclose)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for task in list(self._taking_over):
            task.cancel()
        if self.bots is not None:
            await self.bots.stop()
        if self.alerting is not None:
            await self.alerting.stop()
        if self._own_client is not None:
            await self._own_client.aclose()
        # The others take this one's targets and lease at once.
        if self.renewals is not None:
            await self.renewals.stop()
            self.renewals = None
        else:
            await self.replicas.leave()
        if self.subscriptions is not None:
            await self.subscriptions.stop()
        if self.deadman is not None:
            await self.deadman.aclose()
        await self.store.close()
        log.info("monitor stopped")

    def _start_subscriptions(self) -> None:
        if self.subscriptions is None:
            return
        try:
            self.subscriptions.open()
        except StoreError as exc:  # probing goes on; citizens' mail waits for a restart
            log.error("subscriptions unavailable: cannot open their tables", extra=kv(error=str(exc)))
            self.listeners.remove(self.subscriptions.on_event)
            self.subscriptions = None
            return
        self.subscriptions.start()

    def _announce_maintenance(self) -> None:
        """The sender tells the subscribers of the configuration's maintenance windows
        (those not told of, changed or cancelled: `monitor.subscriptions.notices`)."""
        if self.subscriptions is not None and self.is_sender():
            self.subscriptions.on_configuration(self.config.maintenance)

    async def _subscriptions_housekeeping(self) -> None:
        """Hourly, the sender's: forget the subscriber mails sent long ago and look at the
        maintenance windows again (one ends, a failed look is retried). A coroutine, so
        APScheduler runs it on the loop, whose thread the subscriptions' connection is
        used from (a plain function would run in its worker thread)."""
        if self.subscriptions is None or not self.is_sender():
            return
        try:
            pruned = self.subscriptions.prune()
        except StoreError as exc:
            log.error("pruning the subscriber mail failed", extra=kv(error=str(exc)))
        else:
            if pruned:
                log.info("subscriber mail pruned", extra=kv(mails=pruned))
        self._announce_maintenance()

    # -- several instances (`monitor.cluster`) ----------------------------------------

    def _owned_ids(self) -> frozenset[str]:
        return frozenset(t.id for t in self._probed(self.config) if self.replicas.owns(t.id))

    def _owned_targets(self) -> list[Target]:
        return [t for t in self.config.targets.values() if t.id in self.owned]

    def _resume(self, target_ids: Collection[str], events: Mapping[str, Event], results: Mapping[str, Result]) -> None:
        """Resume these targets from the store: their state, and the alert policy's."""
        for tid in target_ids:
            event = events.get(tid)
            if event is not None and tid in self.config.targets:
                # In maintenance, the reason of what lies underneath is the last result's.
                last = results.get(tid) if event.new == State.MAINTENANCE else None
                reason = event.reason if last is None else last.reason
                self.states.restore(tid, event.new, event.at, reason, entered_from=event.old)
        if self.alerting is not None:
            statuses = self.states.statuses
            self.alerting.resume(
                {tid: (statuses[tid].state, statuses[tid].since) for tid in target_ids if tid in statuses}
            )

    def _members_changed(self, members: tuple[str, ...]) -> None:
        """The live members changed: hand over the targets another member owns now and
        take over (from the store's last word on them) those that are this one's. Once
        several locations combine their states, only this location's own judgement
        moves: the combined state and its alerts are every instance's and the sender's."""
        before, self.owned = self.owned, self._owned_ids()
        gained, lost = self.owned - before, before - self.owned
        if self.cluster.active:
            for tid in lost:
                self.own.forget(tid)
            for tid in gained:
                self.member.adopt(tid)
            log.warning(
                "targets moved",
                extra=kv(members=len(members), owned=len(self.owned), taken=len(gained), handed=len(lost)),
            )
            self._schedule()
            return
        for tid in lost:
            self.states.forget(tid)
        if self.view.on:
            self.view.handed(lost)
        if self.alerting is not None:
            self.alerting.forget(lost)
        log.warning(
            "targets moved", extra=kv(members=len(members), owned=len(self.owned), taken=len(gained), handed=len(lost))
        )
        if not gained:
            self._schedule()
            return
        task = asyncio.get_running_loop().create_task(self._take_over(gained), name="take-over")
        self._taking_over.add(task)
        task.add_done_callback(self._taking_over.discard)

    async def _take_over(self, gained: frozenset[str]) -> None:
        try:
            events, results = await self.store.last_events(), await self.store.last_results()
        except Exception as exc:  # probed all the same, from a fresh state
            log.error("cannot read the state of the targets taken over", extra=kv(error=str(exc)))
            events, results = {}, {}
        self.heartbeats.restore({tid: r for tid, r in results.items() if tid in gained})
        await self.pushes.catch_up(gained)  # what the former owner had not judged yet
        self._resume([tid for tid in gained if tid in self.owned], events, results)
        self.oncall.apply()  # their acknowledged outages stay quiet here too
        self._schedule()

    def _sender_changed(self, sender: bool) -> None:
        if sender and self.alerting is not None:
            self.alerting.dispatcher.wake()
        if sender and self.ready:
            self._announce_maintenance()

    async def _poll_outbox(self) -> None:
        """The sender looks at the shared outbox every `OUTBOX_POLL`: other instances
        queue alerts there without waking its dispatcher."""
        if self.alerting is not None and self.replicas.sender:
            self.alerting.dispatcher.wake()

    def _last_result(self, target_id: str) -> Result | None:
        status = self.states.statuses.get(target_id)
        return status.last if status else None

    def healthy(self) -> bool:
        """Probing runs, and on time (used by /readyz and the dead-man's switch)."""
        return self.ready and self.probing.alive and self.scheduler.healthy()

    def storage_health(self) -> StoreHealth:
        """Whether the history and the outbox take writes (for /readyz and the metrics)."""
        history = self.store.health()
        if self.alerting is None:
            return history
        return combined(history, self.alerting.outbox.health())

    async def probe_now(self, target: Target) -> Result:
        """Probe `target` once, now, on the probe loop (the admin UI's "probe now", `/probe`)."""
        return await self.probing.run(run_probe(target, self.ctx))

    def _schedule(self) -> None:
        """Hand the targets probed here to the scheduler, on the probe loop."""
        self.probing.call(self.scheduler.set_targets, self._owned_targets())

    def _lagged(self, lag: float) -> None:
        # On the probe loop: the histogram is the main loop's, read by every scrape.
        self.probing.deliver(self.metrics.lag.observe, lag)

    async def _probe_and_record(self, target: Target) -> None:
        """On the probe loop: probe, retry the monitor's own errors, hand the result over."""
        result = await run_probe(target, self.ctx)
        for pause in OWN_ERROR_RETRIES:
            if result.reason != Reason.MONITOR_ERROR:
                break
            self.probing.deliver(self._own_error, target, result)
            await asyncio.sleep(pause)
            result = await run_probe(target, self.ctx)
        if result.reason == Reason.MONITOR_ERROR:
            self.probing.deliver(self._own_error, target, result)  # no verdict on the target: its state stays
        else:
            self.probing.deliver(self._take_result, target, result)

    def _take_result(self, target: Target, result: Result) -> None:
        if self.config.targets.get(target.id) is target:  # not removed/replaced meanwhile
            self.record(target, result)

    def _own_error(self, target: Target, result: Result) -> None:
        """The monitor, not the target, failed (out of descriptors or memory): counted,
        shown by `/readyz`, logged once a minute at most."""
        now = time.monotonic()
        self.metrics.own_errors += 1
        if now - self.last_own_error >= OWN_ERROR_LOG_SECONDS:
            log.error("probing failed for want of resources", extra=kv(target=target.id, detail=result.detail))
        self.last_own_error = now

    def probing_possible(self) -> bool:
        """No probe failed for want of the monitor's own resources in the last minute."""
        return time.monotonic() - self.last_own_error >= OWN_ERROR_LOG_SECONDS

    async def record_heartbeat(self, target: Target, result: Result) -> None:
        """A passive target's job reported in (`monitor.web.push`): alone, keep it as its
        last heartbeat and judge it now; among replicas, store it for the target's owner
        to judge (`monitor.cluster.heartbeats`; `StoreError` when it was not stored)."""
        if self.pushes.shared:
            await self.pushes.send(target, result)
            return
        self.judge_heartbeat(target, result)

    def judge_heartbeat(self, target: Target, result: Result) -> None:
        """Keep `result` as the target's last heartbeat and judge it."""
        self.heartbeats.record(target.id, result)
        self.record(target, assess(target, result))

    def record(self, target: Target, result: Result) -> None:
        """Feed one result to the state machine, store, metrics and listeners. A failure
        the monitor's own lost uplink may explain is no verdict (see the module doc):
        the target is held UNKNOWN, and the result kept as `monitor_offline`."""
        judge = self.judge
        if self._cut_off(target, result):
            event = judge.withhold(target.id, result.started or time.time(), Reason.MONITOR_OFFLINE, result)
            result = judge.statuses[target.id].last or result
        else:
            event = judge.observe(target, result)
        self.store.add_result(target.id, result, self.states.status(target.id).maintenance)
        self.metrics.observe(target.id, result)
        if judge is self.own:
            self.member.recorded(target, result.started)
            return
        if self.view.on:
            self.view.recorded(target.id, result.started)
        if event is not None:
            self._emit(event, target)

    def _cut_off(self, target: Target, result: Result) -> bool:
        if result.ok or result.reason not in UNREACHED or not target.external:
            return False
        if not self.connectivity.cut_off(result.started or time.time()):
            return False
        return self.judge.status(target.id).underlying is not State.DOWN  # a DOWN one stays DOWN

    async def _check_uplink(self, check: Target) -> None:
        """On the probe loop: probe a connectivity check, hand its result over."""
        self.probing.deliver(self._checked, check, await run_probe(check, self.ctx))

    def _checked(self, check: Target, result: Result) -> None:
        if any(c is check for c in self.config.settings.connectivity):  # not replaced meanwhile
            self.record_check(check, result)

    def record_check(self, check: Target, result: Result) -> None:
        """Feed one connectivity check's result to `connectivity`; when the instance goes
        offline or comes back, hold the targets that failed with it and tell alerting."""
        if result.reason == Reason.MONITOR_ERROR:
            return  # the monitor's own resources, not the uplink: no verdict either
        change = self.connectivity.observe(check.id, result)
        if change is not None:
            self._uplink_changed(change)

    def _uplink_changed(self, change: Change) -> None:
        if change.state is Uplink.OFFLINE:
            held = self._hold_failing(change.since, change.at)
            log.warning(
                "the monitor is offline: every connectivity check fails",
                extra=kv(since=datetime.fromtimestamp(change.since, UTC).isoformat(), held=held),
            )
        else:
            log.warning("connectivity restored", extra=kv(offline_seconds=round(change.duration, 1)))
        if self.alerting is not None:
            self.alerting.on_uplink(change)

    def _hold_failing(self, since: float, now: float) -> int:
        """The instance just went offline: hold the external targets whose probes have
        not reached them since its uplink went (`since`), but for those already DOWN
        before. Returns how many are held."""
        held, judge = 0, self.judge
        for target in self._owned_targets():
            status = judge.statuses.get(target.id)
            last = status.last if status is not None else None
            if status is None or last is None or not target.external:
                continue
            if last.reason not in UNREACHED or last.started < since:
                continue
            if status.underlying is State.DOWN and (status.maintenance or status.since < since):
                continue  # DOWN before the uplink went: a real outage
            held += 1
            event = judge.withhold(target.id, now, Reason.MONITOR_OFFLINE)
            if judge is self.own:
                self.member.combine(target, now)
                continue
            if self.view.on:
                self.view.recorded(target.id, now)
            if event is not None:
                self._emit(event, target)
        return held

    def emit(self, event: Event, target: Target) -> None:
        """Store a change of the shown state and tell the listeners."""
        self._emit(event, target)

    def _hold_paused(self) -> None:
        """A paused target gives no verdict: UNKNOWN with the reason `paused` until it is
        resumed and probed again (its last state would otherwise stay shown for ever).
        No instance probes it, so every one shows it held; the sender alone stores the
        change and alerts on it."""
        now = time.time()
        for target in self.config.targets.values():
            status = self.states.statuses.get(target.id)
            if target.paused and (status is None or status.reason != Reason.PAUSED):
                event = self.states.withhold(target.id, now, Reason.PAUSED)
                if event is not None and self.is_sender():
                    self._emit(event, target)

    def _emit(self, event: Event, target: Target) -> None:
        self.store.add_event(event)
        self.metrics.changed(event)
        level = logging.WARNING if event.new is State.DOWN else logging.INFO
        log.log(
            level,
            "state changed",
            extra=kv(target=target.id, old=event.old, new=event.new, reason=event.reason, detail=event.detail),
        )
        for listener in self.listeners:
            try:
                listener(event, target)
            except Exception:
                log.exception("event listener failed", extra=kv(target=target.id))

    async def _apply_maintenance_job(self) -> None:
        await self._read_planned()
        self._apply_maintenance()

    async def _read_planned(self) -> None:
        try:
            self._planned = await self.store.planned_maintenance(time.time())
        except Exception:  # keep the windows known so far; the next tick tries again
            log.exception("reading planned maintenance failed")

    def _apply_maintenance(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        if not (self.config.maintenance or self._planned or any(s.maintenance for s in self.states.statuses.values())):
            return  # nothing to start or end: a walk of every target stalled the loop 30 ms at 20,000
        at = datetime.fromtimestamp(now, UTC)
        # The combined states (several locations) and the replicas' view are every
        # instance's to show; alone, a replica's own targets. The events are the sender's
        # (combined) or the prober's.
        combined = self.cluster.active
        shown = self.config.targets.values() if combined or self.view.on else self._owned_targets()
        for target in shown:
            active = self.config.maintenance_for(target, at) is not None or any(
                w.start <= now < w.end and w.covers(target) for w in self._planned
            )
            event = self.states.set_maintenance(target.id, active, now)
            if event is not None and (self.is_sender() if combined else target.id in self.owned):
                self._emit(event, target)
            elif event is not None and not combined:  # the replicas' view: the prober stores it
                self.metrics.changed(event)

    def reload(self, path: Path | None = None) -> bool:
        """Load the configuration again; keep the running one if the new one is invalid
        or cannot be loaded at all (whatever the file holds, the reload never raises)."""
        path = path or self.config.path
        try:
            config = self._prepare(load_config(path))
        except ConfigError as exc:
            return self._rejected([str(p) for p in exc.problems])
        except Exception as exc:  # a bug while reading it must not take the monitor down
            log.exception("loading the configuration failed", extra=kv(path=str(path)))
            return self._rejected([f"{path}: cannot load the configuration: internal error ({type(exc).__name__})"])
        for key in pending_restart(self.config.settings, config.settings):
            log.warning("a change of this setting takes effect at the next start", extra=kv(setting=key))
        if _subscribing(config) != _subscribing(self.config):
            log.warning("a change of this setting takes effect at the next start", extra=kv(setting="subscriptions"))
        self.apply(config)
        self.metrics.reload_ok = True
        self.last_reload = ReloadStatus(time.time(), True)
        log.info("configuration reloaded", extra=kv(targets=len(config.targets)))
        return True

    def _rejected(self, problems: list[str]) -> bool:
        self.metrics.reload_ok = False
        self.last_reload = ReloadStatus(time.time(), False, tuple(problems))
        for problem in problems:
            log.error("configuration rejected; the running one stays", extra=kv(problem=problem))
        return False

    def apply(self, config: Config) -> None:
        """Swap in a validated configuration."""
        self.config = config
        self.states.sync(config.targets)
        self.connectivity.update(config.settings.connectivity)
        self.probing.call(self.uplink.set_targets, config.settings.connectivity)
        self.heartbeats.retain(config.targets)
        if self.alerting is not None:
            self.alerting.reload(config)
        self.oncall.update(config)
        if self.bots is not None and self.ready:
            self.bots.sync(config)
        if self.subscriptions is not None and _subscribing(config):
            self.subscriptions.reload(config)
            if self.ready:
                self._announce_maintenance()
        self.metrics.forget_missing(set(config.targets))
        before, self.owned = self.owned, self._owned_ids()
        if self.alerting is not None and not self.cluster.active:  # combined: the sender's alerts
            self.alerting.forget(before - self.owned)
        self._apply_maintenance()
        self.own.sync(config.targets)
        self._hold_paused()
        self._schedule()
        freeze_heap()

    def _probed(self, config: Config) -> list[Target]:
        """The targets this instance probes: those not paused whose `locations` include its own."""
        return [t for t in probed(config) if t.probed_at(self.cluster.location)]

    @property
    def judge(self) -> StateMachine:
        """The state machine this instance's own results are judged on."""
        return self.own if self.cluster.active else self.states

    def take_part(self) -> None:
        """Another location shares the store: from now on this instance's own results are
        judged on `own` (resuming from what it showed) and `states` shows the combination."""
        self.own.sync(self.config.targets)
        for tid, status in self.states.statuses.items():
            self.own.restore(tid, status.underlying, status.since, status.reason)
            self.own.status(tid).last = status.last
        log.info("another location shares the store: combining states", extra=kv(location=self.cluster.location))

    async def _watch_config(self) -> None:
        # The path as given, never its resolved form: a ConfigMap's link moves on.
        path = self.config.path
        await follow(path, Source.of(path, self.config.digest or None), self.reload)
