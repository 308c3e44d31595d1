"""The metric set of docs/metrics.md on the monitor's own registry: per-target series follow
the configuration, uptime comes from the store, self-metrics are real, and promtool
finds nothing to lint."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from types import MappingProxyType

import pytest
from prometheus_client import generate_latest

from monitor.config import Config, NotifierConfig, Settings, Target
from monitor.metrics.exposition import probe_text
from monitor.probes import PROBES, ProbeContext, ProbeKind, Sample
from monitor.result import Event, Reason, Result, State
from monitor.runtime import Monitor
from tests.fakestore import MemoryStore
from tests.integration import need
from tests.waiting import until

WEB = Target(
    id="web",
    name="Website Pemkab",
    kind="http",
    url="https://www.example.go.id/",
    spec=None,
    group="Layanan publik",
    failure_threshold=1,
    success_threshold=1,
)
GATE = Target(
    id="gateway",
    name="Router",
    kind="icmp",
    url="icmp://10.10.0.1",
    spec=None,
    group="Server jaringan",
    failure_threshold=1,
    success_threshold=1,
)
OK_HTTP = Result(
    True,
    duration=0.12,
    started=1.0,
    status_code=200,
    cert_expiry=1_900_000_000.0,
    phases={"resolve": 0.001, "connect": 0.01, "tls": 0.03, "processing": 0.05, "transfer": 0.029},
)
REFUSED = Result(False, Reason.CONNECTION_REFUSED, "connection refused by 10.10.0.1:443", duration=0.002, started=1.0)


def config(*targets: Target, notifiers: tuple[str, ...] = ()) -> Config:
    return Config(
        path=Path("targets.toml"),
        settings=Settings(),
        targets={t.id: t for t in targets},
        notifiers={n: NotifierConfig(n, "webhook", None) for n in notifiers},
    )


def sample(monitor: Monitor, metric: str, /, **labels: str) -> float | None:
    return monitor.registry.get_sample_value(metric, labels)


def series_of(monitor: Monitor, target: str) -> list[str]:
    return [s.name for family in monitor.registry.collect() for s in family.samples if s.labels.get("target") == target]


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def monitor(store: MemoryStore) -> Monitor:
    return Monitor(config(WEB, GATE, notifiers=("oncall", "helpdesk")), store)


def test_a_probed_target_reports_the_blackbox_names_and_its_state(monitor: Monitor) -> None:
    monitor.record(WEB, OK_HTTP)
    assert sample(monitor, "probe_success", target="web") == 1.0
    assert sample(monitor, "probe_duration_seconds", target="web") == 0.12
    assert sample(monitor, "probe_http_status_code", target="web") == 200.0
    assert sample(monitor, "probe_http_duration_seconds", target="web", phase="tls") == 0.03
    assert sample(monitor, "probe_dns_lookup_time_seconds", target="web") == 0.001
    assert sample(monitor, "probe_ssl_earliest_cert_expiry", target="web") == 1_900_000_000.0
    assert sample(monitor, "monitor_target_up", target="web") == 1.0
    assert sample(monitor, "monitor_target_state", target="web", state="UP") == 1.0
    assert sample(monitor, "monitor_target_state", target="web", state="DOWN") == 0.0
    assert sample(monitor, "monitor_probes_total", target="web", result="success") == 1.0
    assert sample(monitor, "monitor_probe_duration_seconds_bucket", target="web", le="0.25") == 1.0
    assert sample(monitor, "monitor_probe_duration_seconds_bucket", target="web", le="0.1") == 0.0
    assert (
        sample(monitor, "monitor_target_info", target="web", name="Website Pemkab", group="Layanan publik", kind="http")
        == 1.0
    )


def test_a_failed_target_goes_down_and_has_no_http_series_for_other_kinds(monitor: Monitor) -> None:
    monitor.record(GATE, REFUSED)
    assert sample(monitor, "probe_success", target="gateway") == 0.0
    assert sample(monitor, "monitor_target_up", target="gateway") == 0.0
    assert sample(monitor, "monitor_target_state", target="gateway", state="DOWN") == 1.0
    assert sample(monitor, "monitor_probes_total", target="gateway", result="failure") == 1.0
    assert sample(monitor, "probe_http_status_code", target="gateway") is None


def test_an_unprobed_target_is_unknown_without_probe_results(monitor: Monitor) -> None:
    assert sample(monitor, "monitor_target_state", target="web", state="UNKNOWN") == 1.0
    assert (
        sample(monitor, "monitor_target_info", target="web", name="Website Pemkab", group="Layanan publik", kind="http")
        == 1.0
    )
    assert sample(monitor, "probe_success", target="web") is None
    assert sample(monitor, "monitor_target_up", target="web") is None


def test_a_target_removed_by_a_reload_disappears_from_every_series(monitor: Monitor, store: MemoryStore) -> None:
    monitor.record(WEB, OK_HTTP)
    monitor.record(GATE, REFUSED)
    monitor.metrics.uptime_seeded = True
    monitor.metrics.changed(Event("gateway", 0.0, State.UNKNOWN, State.UP, "ok"))
    assert "probe_success" in series_of(monitor, "gateway")
    monitor.apply(config(WEB, notifiers=("oncall",)))
    assert series_of(monitor, "gateway") == []
    assert sample(monitor, "probe_success", target="web") == 1.0
    assert sample(monitor, "monitor_notification_queue", notifier="helpdesk") is None


async def test_uptime_ratios_are_seeded_from_the_store_and_follow_each_event(
    monitor: Monitor, store: MemoryStore
) -> None:
    now = [2_000_000_000.0]
    monitor.metrics.clock = lambda: now[0]
    store.changes = [
        Event("web", now[0] - 10 * 3600, State.UNKNOWN, State.UP, "ok"),
        Event("web", now[0] - 3600, State.UP, State.DOWN, "timeout"),
    ]
    await monitor.metrics.seed_uptime()
    # 9 h up and 1 h down in every window
    assert sample(monitor, "monitor_target_uptime_ratio", target="web", window="24h") == pytest.approx(0.9)
    assert sample(monitor, "monitor_target_uptime_ratio", target="web", window="30d") == pytest.approx(0.9)
    # nothing observed yet: no series rather than a made-up ratio
    assert sample(monitor, "monitor_target_uptime_ratio", target="gateway", window="24h") is None
    monitor.record(GATE, Result(True, duration=0.01, started=now[0]))  # the first result: UP from now
    now[0] += 60
    assert sample(monitor, "monitor_target_uptime_ratio", target="gateway", window="7d") == 1.0
    assert sample(monitor, "monitor_target_uptime_ratio", target="web", window="24h") == pytest.approx(
        9 / (10 + 1 / 60)
    )


async def test_no_uptime_is_published_until_the_history_could_be_read(monitor: Monitor, store: MemoryStore) -> None:
    store.fail = OSError("disk gone")
    await monitor.metrics.seed_uptime()
    monitor.record(WEB, OK_HTTP)
    assert sample(monitor, "monitor_target_uptime_ratio", target="web", window="24h") is None
    store.fail = None
    monitor.metrics.clock = lambda: OK_HTTP.started + 30
    await monitor.metrics.seed_uptime()
    assert sample(monitor, "monitor_target_uptime_ratio", target="web", window="24h") == 1.0


def test_notifications_are_counted_for_each_configured_notifier(monitor: Monitor) -> None:
    assert sample(monitor, "monitor_notifications_total", notifier="oncall", result="sent") == 0.0
    monitor.metrics.notified("oncall", ok=True)
    monitor.metrics.notified("oncall", ok=False)
    monitor.metrics.notified("oncall", ok=False)
    monitor.metrics.set_queue("oncall", 4)
    assert sample(monitor, "monitor_notifications_total", notifier="oncall", result="sent") == 1.0
    assert sample(monitor, "monitor_notifications_total", notifier="oncall", result="failed") == 2.0
    assert sample(monitor, "monitor_notification_queue", notifier="oncall") == 4.0
    assert sample(monitor, "monitor_notification_queue", notifier="helpdesk") == 0.0


def test_a_rejected_reload_clears_the_reload_gauge_and_keeps_the_targets(monitor: Monitor, tmp_path: Path) -> None:
    assert sample(monitor, "monitor_config_last_reload_successful") == 1.0
    bad = tmp_path / "targets.toml"
    bad.write_text("[targets.web]\nurl = 3\n")
    assert monitor.reload(bad) is False
    assert sample(monitor, "monitor_config_last_reload_successful") == 0.0
    assert sample(monitor, "monitor_target_state", target="web", state="UNKNOWN") == 1.0


def test_build_info_names_the_version(monitor: Monitor) -> None:
    from monitor import __version__

    assert sample(monitor, "monitor_build_info", version=__version__) == 1.0


async def _instant(target: Target, ctx: ProbeContext) -> Result:
    await asyncio.sleep(0.05)
    return Result(True, duration=0.05, extra={"probe_fake_packets": 3.0, "probe_undeclared": 1.0})


def _code(target: Target, result: Result) -> tuple[Sample, ...]:
    return (("probe_gauged_code", 'attempt="first"', float(result.status_code or 0)),)


FAKE = ProbeKind(
    name="fake",
    schemes=(),
    parse=lambda table, url: None,
    probe=_instant,
    metrics=MappingProxyType({"probe_fake_packets": "Packets the fake probe saw."}),
)


GAUGED = ProbeKind(
    name="gauged",
    schemes=(),
    parse=lambda table, url: None,
    probe=_instant,
    gauges=MappingProxyType({"probe_gauged_code": "Code of the last gauged probe."}),
    samples=_code,
)


def test_a_kind_s_declared_gauges_are_written_for_each_of_its_results_only(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PROBES, "gauged", GAUGED)
    gauged = Target(id="g", name="Gauged", kind="gauged", url=None, spec=None, failure_threshold=1)
    monitor = Monitor(config(gauged, GATE), store)  # type: ignore[arg-type]
    monitor.record(gauged, Result(False, Reason.TIMEOUT, duration=1.0))
    monitor.record(GATE, Result(True, status_code=7))
    assert sample(monitor, "probe_gauged_code", target="g", attempt="first") == 0.0
    assert sample(monitor, "probe_gauged_code", target="gateway", attempt="first") is None
    text = probe_text(gauged, Result(True, status_code=7))
    assert "# HELP probe_gauged_code Code of the last gauged probe.\n" in text
    assert 'probe_gauged_code{attempt="first"} 7.0\n' in text


async def test_running_probes_feed_lag_in_flight_and_kind_gauges(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PROBES, "fake", FAKE)
    fake = Target(id="f", name="Fake", kind="fake", url=None, spec=None, interval=0.2)
    monitor = Monitor(config(fake), store)
    await monitor.start()
    try:
        await until(lambda: sample(monitor, "monitor_probes_in_flight") == 1.0, 5, what="a probe in flight", every=0.01)
        await until(
            lambda: sample(monitor, "monitor_probes_total", target="f", result="success"), 5, what="a probe counted"
        )
    finally:
        await monitor.stop()
    assert (sample(monitor, "monitor_scheduler_lag_seconds_count") or 0) >= 1
    assert sample(monitor, "probe_fake_packets", target="f") == 3.0
    assert sample(monitor, "probe_undeclared", target="f") is None


def test_no_label_carries_a_url_host_or_error_detail(monitor: Monitor) -> None:
    monitor.record(WEB, OK_HTTP)
    monitor.record(GATE, REFUSED)
    text = generate_latest(monitor.registry).decode()
    for secret in ("example.go.id", "10.10.0.1", "refused by", "https://"):
        assert secret not in text


@pytest.mark.integration
def test_promtool_finds_nothing_to_lint(monitor: Monitor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    promtool = need("promtool", "prometheus")
    monkeypatch.setitem(PROBES, "fake", FAKE)
    monitor.record(WEB, OK_HTTP)
    monitor.record(GATE, REFUSED)
    monitor.metrics.uptime_seeded = True
    monitor.metrics.changed(Event("web", 0.0, State.UNKNOWN, State.UP, "ok"))
    monitor.metrics.lag.observe(0.003)
    done = subprocess.run(
        [promtool, "check", "metrics"],
        input=generate_latest(monitor.registry),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_the_metrics_page_lists_every_metric(monitor: Monitor) -> None:
    section = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    names = {family.name for family in monitor.registry.collect()}
    names |= {name for kind in PROBES.values() for name in kind.metrics}
    missing = sorted(name for name in names if f"`{name}`" not in section and f"`{name}_total`" not in section)
    assert missing == []


def test_names_and_groups_with_quotes_and_backslashes_survive_the_text_format(
    store: MemoryStore,
) -> None:
    odd = Target(id="odd", name='Server "A" \\ lantai 2\nbaru', kind="http", url=None, spec=None, group='Gedung "B"')
    monitor = Monitor(config(odd), store)
    assert (
        sample(
            monitor,
            "monitor_target_info",
            target="odd",
            name='Server "A" \\ lantai 2\nbaru',
            group='Gedung "B"',
            kind="http",
        )
        == 1.0
    )


async def test_metrics_route_serves_the_text_and_picks_samples_by_name(monitor: Monitor) -> None:
    import httpx

    from monitor.web import create_app

    monitor.record(WEB, OK_HTTP)
    monitor.metrics.lag.observe(0.002)
    transport = httpx.ASGITransport(app=create_app(monitor))
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as client:
        whole = await client.get("/metrics")
        light = await client.get(
            "/metrics?name[]=monitor_scheduler_lag_seconds_count&name[]=monitor_scheduler_lag_seconds_bucket"
        )
    assert whole.status_code == 200
    assert whole.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'probe_success{target="web"} 1.0' in whole.text
    assert whole.text == monitor.metrics.render().decode()
    lines = [line for line in light.text.splitlines() if not line.startswith("#")]
    assert "monitor_scheduler_lag_seconds_count 1.0" in lines
    assert len(lines) == 1 + 11  # the count and 11 buckets
    assert "target=" not in light.text


def test_the_text_is_what_prometheus_client_would_write(monitor: Monitor) -> None:
    monitor.record(WEB, OK_HTTP)
    monitor.record(GATE, REFUSED)
    monitor.metrics.uptime_seeded = True
    monitor.metrics.changed(Event("web", 0.0, State.UNKNOWN, State.UP, "ok"))
    monitor.metrics.lag.observe(0.003)
    monitor.metrics.notified("oncall", ok=False)

    def lines(text: bytes) -> list[tuple[str, float] | str]:
        return [
            line if line.startswith("#") else (line.rsplit(" ", 1)[0], float(line.rsplit(" ", 1)[1]))
            for line in text.decode().splitlines()
        ]

    # generate_latest re-writes, with prometheus-client's writer, what the registry parsed
    assert lines(monitor.metrics.render()) == lines(generate_latest(monitor.registry))


def test_the_monitors_own_uplink_is_exported_once_known(store: MemoryStore) -> None:
    checks = tuple(
        Target(id=name, name=name, kind="dns", url=f"dns://192.0.2.53/{name}.example", spec=None)
        for name in ("dns-1", "web-2")
    )
    monitor = Monitor(Config(Path("targets.toml"), Settings(connectivity=checks), {"web": WEB}), store)
    assert sample(monitor, "monitor_connectivity_up") is None  # nothing decided yet
    monitor.record_check(checks[0], Result(True, started=90.0))
    assert sample(monitor, "monitor_connectivity_up") == 1.0
    assert sample(monitor, "monitor_connectivity_check_success", check="dns-1") == 1.0
    assert sample(monitor, "monitor_connectivity_check_success", check="web-2") is None  # not probed yet
    for at in (100.0, 115.0):
        for check in checks:
            monitor.record_check(check, Result(False, Reason.TIMEOUT, "no answer", started=at))
    assert monitor.connectivity.offline
    assert sample(monitor, "monitor_connectivity_up") == 0.0
    assert sample(monitor, "monitor_connectivity_check_success", check="web-2") == 0.0
    text = monitor.metrics.render().decode()
    assert "192.0.2.53" not in text  # a check is named, never its address


def test_without_connectivity_checks_no_uplink_sample_is_written(monitor: Monitor) -> None:
    text = monitor.metrics.render().decode()
    assert "# TYPE monitor_connectivity_up gauge" in text
    assert "\nmonitor_connectivity_up " not in text and "monitor_connectivity_check_success{" not in text
