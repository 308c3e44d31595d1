"""The templated per-target families (`monitor.metrics.targets`) against the general
paths: prometheus-client's own metric objects fed the same values, and the blackbox
samples as `/probe` writes them (`exposition.add_blackbox`). Compared parsed, sample by
sample, so a line order or a float spelling cannot hide a wrong value."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import Settings, Target
from monitor.metrics.exposition import Writer, add_blackbox, declare_blackbox, label
from monitor.metrics.registry import DURATION_BUCKETS
from monitor.metrics.targets import CHUNK, write_blackbox
from monitor.probes import PROBES, ProbeKind
from monitor.result import Event, Reason, Result, State
from monitor.runtime import Monitor
from tests.fakestore import MemoryStore
from tests.metrics.test_registry import GATE, GAUGED, OK_HTTP, REFUSED, WEB, config

ODD = Target(id='o"d\\d', name='Server "A" \\ lantai 2\nbaru', kind="http", url=None, spec=None, group='Gedung "B"')
IDLE = Target(id="idle", name="Never probed", kind="tcp", url=None, spec=None)
COUNTED = ProbeKind(
    name="counted",
    schemes=(),
    parse=lambda table, url: None,
    probe=GAUGED.probe,
    metrics=MappingProxyType({"probe_counted_packets": "Packets seen.", "probe_counted_loss": "Loss by hop."}),
)
HOPS = Target(id="hops", name="Hops", kind="counted", url=None, spec=None)
FAMILIES = (
    "monitor_target_up",
    "monitor_target_state",
    "monitor_target_info",
    "monitor_target_maintenance",
    "monitor_target_uptime_ratio",
    "monitor_probes",  # the counter's family name, without _total
    "monitor_probe_duration_seconds",
)

Samples = set[tuple[str, frozenset[tuple[str, str]], str]]


def parsed(text: str, families: tuple[str, ...] | None = None) -> Samples:
    return {
        (s.name, frozenset(s.labels.items()), repr(s.value))  # repr: NaN equals NaN
        for family in text_string_to_metric_families(text)
        if families is None or family.name in families
        for s in family.samples
    }


def reference(monitor: Monitor, durations: dict[str, list[float]]) -> str:
    """The per-target families written by prometheus-client's objects from the same state."""
    registry = CollectorRegistry()
    up = Gauge("monitor_target_up", "", ["target"], registry=registry)
    state = Gauge("monitor_target_state", "", ["state", "target"], registry=registry)
    info = Gauge("monitor_target_info", "", ["group", "kind", "name", "target"], registry=registry)
    maint = Gauge("monitor_target_maintenance", "", ["target"], registry=registry)
    uptime = Gauge("monitor_target_uptime_ratio", "", ["target", "window"], registry=registry)
    probes = Counter("monitor_probes", "", ["result", "target"], registry=registry)
    hist = Histogram("monitor_probe_duration_seconds", "", ["target"], buckets=DURATION_BUCKETS, registry=registry)
    for tid, target in monitor.config.targets.items():
        st = monitor.states.statuses.get(tid)
        if st is None:
            continue
        info.labels(target.group, target.kind, target.name, tid).set(1)
        if st.state is not State.UNKNOWN and st.underlying is not State.UNKNOWN:
            up.labels(tid).set(1 if st.underlying.is_up else 0)
        for s in State:
            state.labels(s.value, tid).set(1 if st.state is s else 0)
        maint.labels(tid).set(1 if st.maintenance else 0)
        probes.labels("success", tid).inc(st.counts[True])
        probes.labels("failure", tid).inc(st.counts[False])
        for seconds in durations.get(tid, []):
            hist.labels(tid).observe(seconds)
    for tid, pairs in monitor.metrics.ratios().items():
        for window, ratio in pairs:
            uptime.labels(tid, window).set(ratio)
    return generate_latest(registry).decode()


@pytest.fixture
def monitor(monkeypatch: pytest.MonkeyPatch) -> Monitor:
    monkeypatch.setitem(PROBES, "counted", COUNTED)
    return Monitor(config(WEB, GATE, ODD, IDLE, HOPS), MemoryStore())


def test_the_per_target_families_are_what_prometheus_client_writes_for_the_same_values(monitor: Monitor) -> None:
    durations: dict[str, list[float]] = {}

    def record(target: Target, result: Result) -> None:
        monitor.record(target, result)
        durations.setdefault(target.id, []).append(result.duration)

    for seconds in (0.003, 0.01, 0.0101, 0.7, 12.0, 0.12):
        record(WEB, Result(True, duration=seconds, started=1.0, status_code=200))
    record(GATE, REFUSED)
    record(ODD, OK_HTTP)
    record(HOPS, Result(True, duration=0.2, started=1.0, extra={"probe_counted_packets": 3.0}))
    monitor.states.statuses["hops"].maintenance = True
    monitor.metrics.uptime_seeded = True
    monitor.metrics.clock = lambda: 3 * 86400.0
    monitor.metrics.changed(Event("web", 0.0, State.UNKNOWN, State.UP, "ok"))
    monitor.metrics.changed(Event("web", 86400.0, State.UP, State.DOWN, "timeout"))
    monitor.metrics.changed(Event("web", 86400.0 + 600, State.DOWN, State.UP, "ok"))

    ours = parsed(monitor.metrics.render().decode(), FAMILIES)
    theirs = parsed(reference(monitor, durations), FAMILIES)
    created = {s for s in theirs if s[0].endswith("_created")}  # prometheus-client's own extra
    assert ours == theirs - created
    assert any(s[0] == "monitor_probe_duration_seconds_bucket" and s[2] == "6.0" for s in ours)


def test_the_blackbox_families_are_what_the_general_path_writes(monitor: Monitor) -> None:
    results = {
        WEB: OK_HTTP,
        GATE: REFUSED,
        ODD: Result(False, Reason.TIMEOUT, duration=float("inf"), started=1.0, cert_expiry=float("nan")),
        HOPS: Result(True, duration=0.2, extra={"probe_counted_packets": 3.0, 'probe_counted_loss{hop="2"}': 0.5}),
    }
    general = Writer()
    declare_blackbox(general)
    for target, result in results.items():
        monitor.record(target, result)
        add_blackbox(general, f'target="{label(target.id)}"', target, result)
    fast = Writer()
    declare_blackbox(fast)
    write_blackbox(fast, monitor.config.targets, monitor.states.statuses)
    assert parsed(fast.text()) == parsed(general.text())
    assert fast.text() == general.text()  # the same lines in the same order, too


def test_a_scrape_longer_than_a_chunk_keeps_each_family_together() -> None:
    targets = [Target(id=f"t{i}", name=f"T {i}", kind="http", url=None, spec=None) for i in range(CHUNK + 7)]
    monitor = Monitor(config(*targets), MemoryStore())
    for target in targets:
        monitor.record(target, OK_HTTP)
    text = monitor.metrics.render().decode()
    helps = [line.split()[2] for line in text.splitlines() if line.startswith("# HELP")]
    assert len(helps) == len(set(helps))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert len(families["monitor_target_info"].samples) == CHUNK + 7
    assert len(families["probe_success"].samples) == CHUNK + 7


def test_picking_samples_by_name_gives_the_lines_of_the_whole_text(monitor: Monitor) -> None:
    monitor.record(WEB, OK_HTTP)
    monitor.record(GATE, REFUSED)
    monitor.metrics.lag.observe(0.004)
    wanted = ["monitor_probe_duration_seconds_bucket", "probe_http_status_code", "monitor_scheduler_lag_seconds_sum"]
    whole = [line for line in monitor.metrics.render().decode().splitlines() if not line.startswith("#")]
    picked = [line for line in monitor.metrics.render(wanted).decode().splitlines() if not line.startswith("#")]
    assert picked == [line for line in whole if line.split("{")[0].split(" ")[0] in wanted]
    assert len(picked) == 2 * 11 + 1 + 1


def test_a_location_labels_the_own_probes_series_only_and_in_sorted_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PROBES, "counted", COUNTED)
    located = replace(config(WEB, HOPS), settings=Settings(location="sampit"))
    monitor = Monitor(located, MemoryStore())
    assert monitor.metrics.labels == 'location="sampit",'
    hops = Result(True, duration=0.2, extra={"probe_counted_packets": 3.0, 'probe_counted_loss{hop="2"}': 0.5})
    monitor.record(WEB, OK_HTTP)
    monitor.record(HOPS, hops)
    lines = set(monitor.metrics.render().decode().splitlines())
    # This location's own probes: the label before `target` (and after a sample's own labels).
    assert 'probe_success{location="sampit",target="web"} 1.0' in lines
    assert 'probe_counted_loss{hop="2",location="sampit",target="hops"} 0.5' in lines
    assert 'monitor_probes_total{location="sampit",result="success",target="web"} 1.0' in lines
    assert 'monitor_probe_duration_seconds_bucket{le="+Inf",location="sampit",target="web"} 1.0' in lines
    # The combined state (nothing combined yet: UNKNOWN) carries no location.
    assert 'monitor_target_state{state="UNKNOWN",target="web"} 1.0' in lines
    assert 'monitor_target_maintenance{target="web"} 0.0' in lines
    state_lines = [line for line in lines if line.startswith("monitor_target_")]
    assert state_lines and not any("location=" in line for line in state_lines)
    # The blackbox families are the general path's, given the same prefix.
    general = Writer()
    declare_blackbox(general)
    for target, result in ((WEB, OK_HTTP), (HOPS, hops)):
        add_blackbox(general, f'location="sampit",target="{label(target.id)}"', target, result)
    fast = Writer()
    declare_blackbox(fast)
    write_blackbox(fast, monitor.config.targets, monitor.judge.statuses, monitor.metrics.labels)
    assert fast.text() == general.text()


def test_the_default_location_adds_no_label(monitor: Monitor) -> None:
    assert monitor.metrics.labels == ""
    monitor.record(WEB, OK_HTTP)
    assert "location=" not in monitor.metrics.render().decode()
