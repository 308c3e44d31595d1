"""Prometheus metrics on a registry the app owns (the table in docs/metrics.md).

Per-target series are built at scrape time from the state machine's statuses, so a probe
costs no metric updates beyond one histogram bucket, and a target removed by a reload
disappears from the next scrape by itself. The text is written by `monitor.metrics.exposition`
(several times faster than prometheus-client's objects for thousands of targets); the
registry's collector parses that same text back, so `registry.get_sample_value` and
`generate_latest(registry)` see exactly what `/metrics` serves.

`monitor_target_uptime_ratio` is kept in memory (`monitor.metrics.uptime`): seeded from
the store's history once at start (`seed_uptime`), moved by every event (`changed`),
read at scrape time in O(1) per target. The notification figures are reported by the
alerting outbox through `notified` and `set_queue`.

Cardinality is bounded by the configuration: label values are target ids, names and
groups, notifier names, connectivity check names, and fixed sets (state, phase, window,
result); never a URL, a host or an error message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families

from monitor import __version__
from monitor.cluster.locations import DEFAULT as DEFAULT_LOCATION
from monitor.connectivity import Uplink
from monitor.log import kv
from monitor.metrics.exposition import Writer, declare_blackbox, label
from monitor.metrics.targets import UPTIME, Buckets, write_blackbox, write_targets
from monitor.metrics.uptime import UptimeTracker
from monitor.result import Event, Result

if TYPE_CHECKING:
    from monitor.runtime import Monitor

DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
# The windows of `monitor_target_uptime_ratio`, in seconds.
UPTIME_WINDOWS: Mapping[str, float] = {"24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
UPTIME_RETRY = 60.0  # seconds between tries to read the history, until one succeeds

log = logging.getLogger(__name__)


class Metrics:
    """Owns the monitor's metrics; `observe` is called once per probe result.

    Seams for other parts: the runtime awaits `seed_uptime()` at start (and again while
    it has not succeeded), calls `changed(event)` for every event, and feeds
    `lag.observe(seconds)` from the scheduler; alerting calls
    `notified(notifier, ok)` for each alert's outcome and keeps `notification_queue`
    (notifier -> undelivered) current, directly or through `set_queue`. `render()` writes
    the monitor's own metrics only: other collectors on a registry passed in show through
    the registry (`generate_latest`), not on `/metrics`.
    """

    def __init__(self, monitor: Monitor, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.monitor = monitor
        self.durations: dict[str, Buckets] = {}
        self.tracker = UptimeTracker(UPTIME_WINDOWS)
        self.uptime_seeded = False
        self.clock: Callable[[], float] = time.time
        self.reload_ok = True
        self.notifications_sent: dict[str, int] = {}
        self.notifications_failed: dict[str, int] = {}
        self.notification_queue: dict[str, int] = {}
        self.uptime_retry = UPTIME_RETRY
        self._early: list[Event] | None = None  # events taken while the history is read
        self.lag = Buckets(LAG_BUCKETS)  # how late probes start: `lag.observe(seconds)`
        self.own_errors = 0  # probes the monitor could not run for want of its own resources
        # The constant label set put first on this instance's per-probe series.
        self.labels = location_labels(monitor.cluster.location)
        self.registry.register(_Collector(self))

    def render(self, only: Collection[str] | None = None) -> bytes:
        """The `/metrics` text; with `only`, just those samples (by sample name), and
        the per-target families are not even built unless one of them is asked for."""
        return "".join(self.pieces(only)).encode()

    def pieces(self, only: Collection[str] | None = None) -> Iterator[str]:
        """`render()`'s text in pieces of whole lines, written as they are taken (nothing
        before the first): a response sends them one by one instead of holding the
        whole (~2 KB a target: 200 MB at 100,000)."""
        writer = Writer(only)
        for write, names in _GROUPS:
            if only is None or any(name.startswith(names) for name in only):
                write(self, writer)
        yield from writer.pieces()

    def observe(self, target_id: str, result: Result) -> None:
        buckets = self.durations.get(target_id)
        if buckets is None:
            buckets = self.durations[target_id] = Buckets(DURATION_BUCKETS)
        buckets.observe(result.duration)

    def forget_missing(self, target_ids: set[str]) -> None:
        """Drop the series of targets no longer configured."""
        # New dicts rather than deletions: a scrape may be iterating the old ones.
        self.durations = {t: b for t, b in self.durations.items() if t in target_ids}
        self.tracker.forget_missing(target_ids)

    def notified(self, notifier: str, ok: bool) -> None:
        """Count one alert's outcome through `notifier`: `ok` sent, else failed for good
        (a permanent error; transient ones are retried and show in the queue). Exported
        for configured notifiers only."""
        book = self.notifications_sent if ok else self.notifications_failed
        book[notifier] = book.get(notifier, 0) + 1

    def set_queue(self, notifier: str, waiting: int) -> None:
        """How many alerts wait undelivered for `notifier` in the outbox now."""
        self.notification_queue[notifier] = waiting

    def changed(self, event: Event) -> None:
        """A target's state changed (the event the store takes too)."""
        self.tracker.change(event.target, event.at, event.new)
        if self._early is not None:
            self._early.append(event)

    async def seed_uptime(self, states: Mapping[str, Event] | None = None) -> None:
        """Read each configured target's history over the longest window from the store
        (`states`: the last event of each, when the caller has them). A failing read
        leaves the ratios unpublished; the runtime tries again."""
        if self.uptime_seeded:
            return
        now = self.clock()
        ids = list(self.monitor.config.targets)
        self._early = []
        try:
            segments = await self.monitor.store.segments(ids, now - self.tracker.longest, now)
            if states is None:
                states = await self.monitor.store.last_events()
        except Exception as exc:  # the store's own health shows on /readyz
            log.warning("uptime history read failed", extra=kv(error=type(exc).__name__))
            return
        finally:
            early, self._early = self._early, None
        self.tracker.seed(segments, now, {tid: event.new for tid, event in states.items() if tid in segments})
        for event in early:  # taken while the history was read: the newest state wins
            self.tracker.change(event.target, event.at, event.new)
        self.uptime_seeded = True

    def ratios(self) -> dict[str, tuple[tuple[str, float], ...]]:
        """Each target's (window, ratio) pairs now; none before the history is read."""
        return self.tracker.ratios(self.clock()) if self.uptime_seeded else {}

    def ratios_at(self, now: float) -> Callable[[str, str], str]:
        """One target's `monitor_target_uptime_ratio` lines at `now`, labelled as given."""
        if not self.uptime_seeded:
            return lambda target, labels: ""
        return lambda target, labels: self.tracker.lines(target, now, UPTIME, labels)


class _Collector:
    """The registry's view: the `/metrics` text parsed back (slow, for tests and tools)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from text_string_to_metric_families(self.metrics.render().decode())


def _probe_families(m: Metrics, writer: Writer) -> None:
    """The blackbox exporter's names, from each target's last result."""
    declare_blackbox(writer)
    write_blackbox(writer, m.monitor.config.targets, m.monitor.view.probed_here(m.monitor.judge.statuses), m.labels)


def location_labels(location: str) -> str:
    """The `location` label of this instance's own probes (`Metrics.labels`): only once a
    location is set (a constant per instance, the start's: a reload does not move an
    instance; a single instance's series stay as they were)."""
    return "" if location == DEFAULT_LOCATION else f'location="{label(location)}",'


def _target_families(m: Metrics, writer: Writer) -> None:
    # Label names in sorted order, as prometheus-client writes them (`target` is last
    # except before `window`), so text-matching readers see the same lines.
    return write_targets(
        writer,
        m.monitor.config.targets,
        m.monitor.states.statuses,
        m.durations,
        m.ratios_at(m.clock()),
        m.labels,
        m.monitor.judge.statuses,
    )


def _self_families(m: Metrics, writer: Writer) -> None:
    lag = "monitor_scheduler_lag_seconds"
    writer.family(lag, "histogram", "How late probes start against their slot, in seconds.")
    writer.extend(lag, m.lag.text(lag, ""))
    flight = "monitor_probes_in_flight"
    writer.family(flight, "gauge", "Probes running now.")
    writer.add(flight, "", m.monitor.scheduler.in_flight)
    own = "monitor_probe_errors_total"
    writer.family(own, "counter", "Probes the monitor could not run for want of its own resources (no verdict).")
    writer.add(own, "", m.own_errors)
    reload_ok = "monitor_config_last_reload_successful"
    writer.family(reload_ok, "gauge", "1 if the last configuration load succeeded.")
    writer.add(reload_ok, "", 1.0 if m.reload_ok else 0.0)
    build = "monitor_build_info"
    writer.family(build, "gauge", "Build information; always 1.")
    writer.add(build, f'version="{label(__version__)}"', 1.0)
    sent = "monitor_notifications_total"
    writer.family(sent, "counter", "Alerts sent, or failed for good (permanent error).")
    queue = "monitor_notification_queue"
    writer.family(queue, "gauge", "Undelivered alerts waiting in the outbox.")
    for name in m.monitor.config.notifiers:
        n = f'notifier="{label(name)}"'
        writer.add(sent, f'{n},result="sent"', m.notifications_sent.get(name, 0))
        writer.add(sent, f'{n},result="failed"', m.notifications_failed.get(name, 0))
        writer.add(queue, n, m.notification_queue.get(name, 0))


def _uplink_families(m: Metrics, writer: Writer) -> None:
    """The monitor's own uplink (`[monitor] connectivity`): written once it is known."""
    connectivity = m.monitor.connectivity
    up = "monitor_connectivity_up"
    writer.family(up, "gauge", "1 while this instance is online, 0 while every connectivity check fails.")
    if connectivity.state in (Uplink.ONLINE, Uplink.OFFLINE):
        writer.add(up, "", 0.0 if connectivity.offline else 1.0)
    check = "monitor_connectivity_check_success"
    writer.family(check, "gauge", "Last result of each connectivity check: 1 passed, 0 failed.")
    for state in tuple(connectivity.checks.values()):
        if state.last is not None:
            writer.add(check, f'check="{label(state.name)}"', 1.0 if state.last.ok else 0.0)


def _location_families(m: Metrics, writer: Writer) -> None:
    """The locations sharing the store (`monitor.cluster`): written once this instance
    takes part."""
    up = "monitor_location_up"
    writer.family(up, "gauge", "1 while a location reports, 0 once it is stale (no result for 3 x its interval).")
    cluster = m.monitor.cluster
    if cluster.active:
        for name, reporting in cluster.up(time.time()).items():
            writer.add(up, f'location="{label(name)}"', 1.0 if reporting else 0.0)


def _store_families(m: Metrics, writer: Writer) -> None:
    health = m.monitor.storage_health()
    writable = "monitor_store_writable"
    writer.family(writable, "gauge", "1 while the store (history and outbox) takes writes.")
    writer.add(writable, "", 1.0 if health.ok else 0.0)
    backlog = "monitor_store_backlog_items"
    writer.family(backlog, "gauge", "Results, events and alerts kept in memory until the store takes them.")
    writer.add(backlog, "", health.waiting)
    dropped = "monitor_store_dropped_results_total"
    writer.family(dropped, "counter", "Raw results dropped because the memory kept for a failing store was full.")
    writer.add(dropped, "", health.dropped)


# Each family group with the prefixes of the sample names it writes.
_GROUPS: tuple[tuple[Callable[[Metrics, Writer], None], tuple[str, ...]], ...] = (
    (_probe_families, ("probe_",)),
    (_target_families, ("monitor_target_", "monitor_probes_total", "monitor_probe_duration")),
    (
        _self_families,
        (
            "monitor_scheduler_",
            "monitor_probes_in_flight",
            "monitor_probe_errors",
            "monitor_config_",
            "monitor_build_",
            "monitor_notification",
        ),
    ),
    (_store_families, ("monitor_store_",)),
    (_uplink_families, ("monitor_connectivity_",)),
    (_location_families, ("monitor_location_",)),
)
