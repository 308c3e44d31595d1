"""Prometheus metrics on a registry the app owns (DESIGN.md's table).

Per-target series are built at scrape time from the state machine's statuses, so a probe
costs no metric updates beyond one histogram bucket, and a target removed by a reload
disappears from the next scrape by itself.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from monitor import __version__
from monitor.probes import PROBES
from monitor.result import Result, State

if TYPE_CHECKING:
    from monitor.runtime import Monitor

DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
HTTP_PHASES = ("resolve", "connect", "tls", "processing", "transfer")
UPTIME_WINDOWS = ("24h", "7d", "30d")


class _Buckets:
    """A per-target histogram kept as plain counts (cheaper than a labelled Histogram)."""

    __slots__ = ("counts", "sum", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(DURATION_BUCKETS, value)] += 1
        self.total += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip((*DURATION_BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


class Metrics:
    """Owns the monitor's metrics; `observe` is called once per probe result."""

    def __init__(self, monitor: Monitor, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.monitor = monitor
        self.durations: dict[str, _Buckets] = {}
        self.uptime: dict[tuple[str, str], float] = {}  # (target, window) -> ratio
        self.reload_ok = True
        self.notifications_sent: dict[str, int] = {}
        self.notifications_failed: dict[str, int] = {}
        self.notification_queue: dict[str, int] = {}
        self.lag = Histogram(
            "monitor_scheduler_lag_seconds", "How late probes start against their slot.",
            buckets=LAG_BUCKETS, registry=self.registry,
        )
        self.registry.register(_Collector(self))

    def observe(self, target_id: str, result: Result) -> None:
        buckets = self.durations.get(target_id)
        if buckets is None:
            buckets = self.durations[target_id] = _Buckets()
        buckets.observe(result.duration)

    def forget_missing(self, target_ids: set[str]) -> None:
        """Drop the series of targets no longer configured."""
        for tid in [t for t in self.durations if t not in target_ids]:
            del self.durations[tid]
        for key in [k for k in self.uptime if k[0] not in target_ids]:
            del self.uptime[key]

    def notified(self, notifier: str, ok: bool) -> None:
        book = self.notifications_sent if ok else self.notifications_failed
        book[notifier] = book.get(notifier, 0) + 1


class _Collector:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        yield from _probe_families(m)
        yield from _target_families(m)
        yield from _self_families(m)


def _gauge(name: str, doc: str, labels: tuple[str, ...] = ("target",)) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _probe_families(m: Metrics) -> Iterator[Metric]:
    """The blackbox exporter's names, from each target's last result."""
    success = _gauge("probe_success", "Last probe: 1 passed (degraded included), 0 failed.")
    duration = _gauge("probe_duration_seconds", "Last probe's duration in seconds.")
    status = _gauge("probe_http_status_code", "Last HTTP status code (0: none).")
    phases = _gauge("probe_http_duration_seconds", "Last HTTP probe's phase durations.", ("target", "phase"))
    expiry = _gauge("probe_ssl_earliest_cert_expiry", "Unix time of the earliest certificate expiry seen.")
    dns = _gauge("probe_dns_lookup_time_seconds", "Name resolution time of the last probe.")
    extras: dict[str, GaugeMetricFamily] = {}
    for kind in PROBES.values():
        for name, doc in kind.metrics.items():
            extras.setdefault(name, _gauge(name, doc))
    targets = m.monitor.config.targets
    for tid, status_ in m.monitor.states.statuses.items():
        result, target = status_.last, targets.get(tid)
        if result is None or target is None:
            continue
        success.add_metric([tid], 1.0 if result.ok else 0.0)
        duration.add_metric([tid], result.duration)
        if target.kind == "http":
            status.add_metric([tid], float(result.status_code or 0))
            for phase in HTTP_PHASES:
                phases.add_metric([tid, phase], result.phases.get(phase, 0.0))
        if "resolve" in result.phases:
            dns.add_metric([tid], result.phases["resolve"])
        if result.cert_expiry is not None:
            expiry.add_metric([tid], result.cert_expiry)
        for name, value in result.extra.items():
            if name in extras:
                extras[name].add_metric([tid], value)
    yield from (success, duration, status, phases, expiry, dns, *extras.values())


def _target_families(m: Metrics) -> Iterator[Metric]:
    up = _gauge("monitor_target_up", "State after thresholds: 1 UP/DEGRADED, 0 DOWN.")
    state = _gauge("monitor_target_state", "1 for the current state, 0 for the others.", ("target", "state"))
    info = _gauge("monitor_target_info", "Target metadata; always 1.", ("target", "name", "group", "kind"))
    maint = _gauge("monitor_target_maintenance", "1 inside a maintenance window.")
    uptime = _gauge(
        "monitor_target_uptime_ratio", "Uptime from the stored history, maintenance excluded.", ("target", "window")
    )
    probes = CounterMetricFamily("monitor_probes", "Probes run.", labels=["target", "result"])
    hist = HistogramMetricFamily("monitor_probe_duration_seconds", "Probe durations.", labels=["target"])
    statuses = m.monitor.states.statuses
    for tid, target in m.monitor.config.targets.items():
        st = statuses.get(tid)
        if st is None:
            continue
        info.add_metric([tid, target.name, target.group, target.kind], 1.0)
        if st.state is not State.UNKNOWN and st.underlying is not State.UNKNOWN:
            up.add_metric([tid], 1.0 if st.underlying.is_up else 0.0)
        for s in State:
            state.add_metric([tid, s.value], 1.0 if st.state is s else 0.0)
        maint.add_metric([tid], 1.0 if st.maintenance else 0.0)
        probes.add_metric([tid, "success"], float(st.counts[True]))
        probes.add_metric([tid, "failure"], float(st.counts[False]))
        buckets = m.durations.get(tid)
        if buckets is not None:
            hist.add_metric([tid], buckets.cumulative(), buckets.sum)
    for (tid, window), ratio in m.uptime.items():
        uptime.add_metric([tid, window], ratio)
    yield from (up, state, info, maint, uptime, probes, hist)


def _self_families(m: Metrics) -> Iterator[Metric]:
    flight = GaugeMetricFamily("monitor_probes_in_flight", "Probes running now.")
    flight.add_metric([], float(m.monitor.scheduler.in_flight))
    reload_ok = GaugeMetricFamily(
        "monitor_config_last_reload_successful", "1 if the last configuration load succeeded."
    )
    reload_ok.add_metric([], 1.0 if m.reload_ok else 0.0)
    build = GaugeMetricFamily("monitor_build_info", "Build information; always 1.", labels=["version"])
    build.add_metric([__version__], 1.0)
    sent = CounterMetricFamily("monitor_notifications", "Notifications by result.", labels=["notifier", "result"])
    queue = GaugeMetricFamily("monitor_notification_queue", "Undelivered alerts waiting.", labels=["notifier"])
    for name in m.monitor.config.notifiers:
        sent.add_metric([name, "sent"], float(m.notifications_sent.get(name, 0)))
        sent.add_metric([name, "failed"], float(m.notifications_failed.get(name, 0)))
        queue.add_metric([name], float(m.notification_queue.get(name, 0)))
    yield from (flight, reload_ok, build, sent, queue)


def uptime_windows() -> Mapping[str, float]:
    """The windows of `monitor_target_uptime_ratio`, in seconds."""
    return {"24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
