"""Alerting as the runtime holds it: policy -> outbox -> dispatcher -> notifiers.

The runtime builds one `Alerting(config, outbox=store.outbox(clock), storage=store.health,
metrics=...)`, calls `restore()` for each target it resumed, subscribes `on_event` to state
changes, `await start()`, schedules `tick()` every `TICK_SECONDS`, calls `reload(config)`
after a reload and `await stop()` at the end. The `metrics` sink receives every outcome
(`notified(notifier, ok)`, which feeds `monitor_notifications_total`) and keeps
`notification_queue` (notifier -> pending, for `monitor_notification_queue`) current.
`failed()` lists what could not be delivered, for the admin view; `announce(alert,
notifiers)` queues an alert no state change raised (the readiness checklist at a watch's
start, `monitor.preflight.inside`).

A muted target's alerts (`muted(target_id)`, set by the on-call desk,
`monitor.alerting.oncall`) are dropped before the outbox.

The store's outbox is wrapped in a `FallbackOutbox`: an alert the database cannot take
is held in memory and delivered all the same. Each tick writes what is held once the
database takes writes again and, through `StorageWatch`, tells every notifier when the
storage (`storage()`, the history's health, or the outbox's) starts and stops failing.
The runtime hands it each change of the monitor's own uplink (`on_uplink`: one alert
to every notifier, `monitor.alerting.uplink`) and, at the start, asks what the last run
announced of it (`uplink_announced`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import httpx

from monitor import __version__
from monitor.alerting.dispatcher import Dispatcher
from monitor.alerting.fallback import FallbackOutbox
from monitor.alerting.locations import location_alert
from monitor.alerting.policy import Outgoing, Policy
from monitor.alerting.storage import TARGET, StorageWatch, combined
from monitor.alerting.uplink import KINDS as UPLINK_KINDS
from monitor.alerting.uplink import announced, uplink_alert
from monitor.cluster.locations import LocationChange
from monitor.config import Config, Target
from monitor.connectivity import Change
from monitor.log import kv
from monitor.notifiers import NOTIFIERS
from monitor.notifiers.base import Alert, Notifier, NotifyContext
from monitor.notifiers.texts import Texts
from monitor.result import Event, Result, State
from monitor.store import FAILED, RESUME_KINDS, Entry, Outbox, StoreHealth

log = logging.getLogger("monitor.alerts")

TICK_SECONDS = 10.0  # reminders and refreshes are this precise
PRUNE_SECONDS = 3600.0


def build_notifiers(config: Config, ctx: NotifyContext) -> dict[str, Notifier]:
    """Every configured notifier, built by its kind."""
    return {name: NOTIFIERS[nc.type].build(nc, ctx) for name, nc in config.notifiers.items() if nc.type in NOTIFIERS}


def texts_for(config: Config) -> Texts:
    settings = config.settings
    return Texts(settings.language, settings.timezone, settings.title)


def http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(headers={"User-Agent": f"monitor/{__version__}"}, follow_redirects=False)


class NotificationMetrics(Protocol):
    """Where the notification metrics go (`monitor.metrics.registry.Metrics` is one)."""

    notification_queue: dict[str, int]

    def notified(self, notifier: str, ok: bool) -> None: ...


class Alerting:
    """Owns the policy, the outbox, the dispatcher and the notifiers' HTTP client."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        last_result: Callable[[str], Result | None] = lambda _: None,
        outbox: Outbox,
        storage: Callable[[], StoreHealth] = StoreHealth,
        client: httpx.AsyncClient | None = None,
        metrics: NotificationMetrics | None = None,
        backoff_base: float = 5.0,
        backoff_cap: float = 600.0,
    ) -> None:
        self.config, self.clock, self.metrics = config, clock, metrics
        self.policy = Policy(config, clock=clock, last_result=last_result)
        self.outbox = FallbackOutbox(outbox, clock)
        self.storage, self.watch = storage, StorageWatch()
        self._said: dict[str, list[Outgoing]] | None = None  # what was said before a restart
        self._own_client = client is None
        self.client = client or http_client()
        self.outbox.open()
        self.dispatcher = Dispatcher(
            self.outbox,
            self._notifiers(config),
            clock=clock,
            base=backoff_base,
            cap=backoff_cap,
            on_outcome=self._outcome,
        )
        self._pruned = 0.0
        # A muted target's alerts are dropped before the outbox (`monitor.alerting.mute`);
        # the on-call desk sets this.
        self.muted: Callable[[str], bool] = lambda _: False
        self._publish_queue()

    def _notifiers(self, config: Config) -> dict[str, Notifier]:
        return build_notifiers(config, NotifyContext(self.client, texts_for(config)))

    async def start(self) -> None:
        await self.dispatcher.start()
        self.dispatcher.wake()
        self._said = None
        # Restored outages are the policy's from the first instant: a "down" not sent yet
        # goes now, not at the first tick.
        self._queue(self.policy.tick())

    async def stop(self) -> None:
        await self.dispatcher.stop()
        self.outbox.close()
        if self._own_client:
            await self.client.aclose()

    def restore(self, target_id: str, state: State, since: float) -> None:
        """A target resumed after a restart (call before `start`): the policy resumes from
        its state and from what the outbox says was last sent about it."""
        if self._said is None:
            self._said = self._said_before()
        self._queue(self.policy.restore(target_id, state, since, self._said.get(target_id, [])))

    def _said_before(self) -> dict[str, list[Outgoing]]:
        """Per target, the last alerts of `RESUME_KINDS` queued, each with its notifiers."""
        said: dict[str, list[Outgoing]] = {}
        for target, queued in self.outbox.latest(RESUME_KINDS).items():
            alerts: dict[str, Outgoing] = {}
            for alert, notifier in queued:  # oldest first
                known = alerts.pop(alert.id, Outgoing(alert, ()))
                alerts[alert.id] = Outgoing(known.alert, (*known.notifiers, notifier))
            said[target] = list(alerts.values())
        return said

    def uplink_announced(self) -> float | None:
        """The start of an uplink outage the last run announced and never restored."""
        said = [alert for alert, _ in self.outbox.latest(UPLINK_KINDS).get(TARGET, [])]
        return announced(sorted(said, key=lambda a: a.at))

    def on_uplink(self, change: Change) -> None:
        """The monitor went offline or came back: tell every notifier."""
        self._queue([Outgoing(uplink_alert(self.config, change), tuple(self.config.notifiers))])

    def on_location(self, change: LocationChange) -> None:
        """A location stopped reporting or reports again: tell every notifier."""
        self._queue([Outgoing(location_alert(self.config, change), tuple(self.config.notifiers))])

    def on_event(self, event: Event, target: Target) -> None:
        """The state-change listener: decide, and queue durably before returning."""
        self._queue(self.policy.on_event(event, target))

    async def tick(self) -> None:
        """The periodic job (every `TICK_SECONDS`)."""
        if self.outbox.held or not self.outbox.health().ok:
            self.outbox.sync(force=True)
            self.dispatcher.wake()  # what was held may be in the outbox now
        self._queue(self.policy.tick())
        self._check_storage()
        self._publish_queue()
        now = self.clock()
        if now - self._pruned >= PRUNE_SECONDS:
            self._pruned = now
            self.outbox.prune()

    def reload(self, config: Config) -> None:
        self.config = config
        self.policy.update(config)
        self.dispatcher.update(self._notifiers(config))
        self._publish_queue()

    def announce(self, alert: Alert, notifiers: Sequence[str]) -> list[str]:
        """Queue an alert that no state change raised (the preflight result at a watch's
        start) for these notifiers; return those it was new to (the outbox drops an id
        it has queued before)."""
        names = tuple(n for n in notifiers if n in self.config.notifiers)
        return self._queue([Outgoing(alert, names)] if names else [])

    def failed(self, limit: int = 100) -> list[Entry]:
        """Alerts that could not be delivered (permanent errors), newest first."""
        return self.outbox.entries(FAILED, limit)

    def queue_sizes(self) -> dict[str, int]:
        return self.outbox.queue_sizes(self.config.notifiers)

    def _queue(self, outgoing: list[Outgoing]) -> list[str]:
        """Queue each alert durably; return the notifiers each was new to."""
        queued: list[str] = []
        for item in outgoing:
            if self.muted(item.alert.target):
                log.info("alert muted", extra=kv(alert=item.alert.id, kind=item.alert.kind, target=item.alert.target))
                continue
            added = self.outbox.enqueue(item.alert, item.notifiers)
            if added:
                log.info(
                    "alert queued",
                    extra=kv(
                        alert=item.alert.id, kind=item.alert.kind, target=item.alert.target, notifiers=",".join(added)
                    ),
                )
                self.dispatcher.wake(added)
                queued += added
        if outgoing:
            self._publish_queue()
        return queued

    def _check_storage(self) -> None:
        health = combined(self.storage(), self.outbox.health())
        alert = self.watch.check(health, self.config, self.clock())
        if alert is not None:
            log.log(
                logging.WARNING if health.ok else logging.ERROR,
                "storage recovered" if health.ok else "storage failing",
                extra=kv(reason=health.reason or "ok", waiting=health.waiting),
            )
            self._queue([Outgoing(alert, tuple(self.config.notifiers))])

    def _outcome(self, notifier: str, ok: bool) -> None:
        if self.metrics is not None:
            self.metrics.notified(notifier, ok)
        self._publish_queue()

    def _publish_queue(self) -> None:
        if self.metrics is not None:
            sizes = self.queue_sizes()
            self.metrics.notification_queue.clear()
            self.metrics.notification_queue.update(sizes)
