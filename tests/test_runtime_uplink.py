"""The runtime while the monitor itself is offline, on a clock the test moves: a failing
probe of an external target is no verdict (held UNKNOWN, `monitor_offline`), the
monitor's own targets and passing probes are judged as always, a target DOWN before
stays DOWN, and one alert goes out each way. Results are fed as probes return them."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Config, NotifierConfig, Settings, Target
from monitor.connectivity import Connectivity, Uplink
from monitor.notifiers.webhook import WebhookSpec
from monitor.result import Reason, Result, State
from monitor.runtime import Monitor
from tests.alertkit import Clock
from tests.fakestore import MemoryStore

T0 = 1_800_000_000.0
CHECK = Target(id="dns-1", name="dns-1", kind="dns", url="dns://192.0.2.53/example.com", spec=None, interval=15.0)


def target(tid: str, external: bool = True, failure_threshold: int = 2) -> Target:
    return Target(
        id=tid,
        name=tid.title(),
        kind="http",
        url=f"https://{tid}.example/",
        spec=None,
        interval=10.0,
        failure_threshold=failure_threshold,
        success_threshold=1,
        notify=("hook",),
        external=external,
    )


def ok(at: float) -> Result:
    return Result(True, started=at, duration=0.05)


def timeout(at: float) -> Result:
    return Result(False, Reason.TIMEOUT, "no answer within 5s", started=at, duration=5.0)


class Offline:
    """A monitor with targets `web` and `api` (external), `self` (its own health) and one
    connectivity check, with alerting to a webhook nobody sends to (the outbox shows
    what would go)."""

    def __init__(self, tmp_path: Path) -> None:
        self.clock = Clock(T0)
        targets = {t.id: t for t in (target("web"), target("api"), target("self", external=False))}
        hook = NotifierConfig("hook", "webhook", WebhookSpec(url="http://127.0.0.1:9/hook"))
        settings = Settings(title="Status Pemkab", data_dir=tmp_path, connectivity=(CHECK,))
        config = Config(tmp_path / "targets.toml", settings, targets, {"hook": hook})
        self.store = MemoryStore()
        self.monitor = Monitor(config, self.store, alerting=True)
        self.monitor.connectivity = Connectivity(settings.connectivity, clock=self.clock)
        self.targets = targets

    def feed(self, tid: str, result: Result) -> None:
        self.monitor.record(self.targets[tid], result)

    def check(self, result: Result) -> None:
        self.clock.now = result.started + 0.5
        self.monitor.record_check(CHECK, result)

    def state(self, tid: str) -> tuple[State, str]:
        status = self.monitor.states.statuses[tid]
        return status.state, status.reason

    def alerts(self) -> list[tuple[str, str]]:
        assert self.monitor.alerting is not None
        return [(e.alert.kind, e.alert.target) for e in reversed(self.monitor.alerting.outbox.entries())]

    def go_offline(self, at: float) -> None:
        self.check(timeout(at))
        self.check(timeout(at + 15))
        assert self.monitor.connectivity.state is Uplink.OFFLINE


@pytest.fixture
def off(tmp_path: Path) -> Offline:
    world = Offline(tmp_path)
    world.check(ok(T0))
    for tid in ("web", "api", "self"):
        world.feed(tid, ok(T0))
    return world


def test_a_failing_external_target_is_held_unknown_not_down_and_nothing_is_alerted_for_it(off: Offline) -> None:
    off.go_offline(T0 + 15)
    for n in range(5):
        off.feed("web", timeout(T0 + 40 + 10 * n))
    assert off.state("web") == (State.UNKNOWN, Reason.MONITOR_OFFLINE)
    assert off.monitor.states.statuses["web"].failures == 0  # nothing counted toward the threshold
    assert off.store.raw[-1].reason == Reason.MONITOR_OFFLINE  # kept as what it was: no verdict
    assert off.store.raw[-1].detail == "timeout: no answer within 5s"
    assert [(e.target, e.old, e.new, e.reason) for e in off.store.changes[-1:]] == [
        ("web", State.UP, State.UNKNOWN, Reason.MONITOR_OFFLINE)
    ]
    assert off.alerts() == [("connectivity_lost", "monitor")]


def test_the_monitors_own_targets_and_passing_ones_are_judged_as_always(off: Offline) -> None:
    off.go_offline(T0 + 15)
    off.feed("self", timeout(T0 + 40))
    off.feed("self", timeout(T0 + 50))
    off.feed("api", ok(T0 + 40))
    assert off.state("self") == (State.DOWN, Reason.TIMEOUT)
    assert off.state("api") == (State.UP, Reason.OK)
    assert ("down", "self") in off.alerts()


def test_a_target_that_answers_wrongly_was_reached_and_is_judged_as_always(off: Offline) -> None:
    off.feed("web", Result(False, Reason.STATUS_MISMATCH, "expected 2xx, got 500", started=T0 + 16))
    off.go_offline(T0 + 15)
    assert off.state("web") == (State.UP, Reason.OK)  # not held at the moment the monitor knows
    off.feed("web", Result(False, Reason.STATUS_MISMATCH, "expected 2xx, got 500", started=T0 + 40))
    assert off.state("web") == (State.DOWN, Reason.STATUS_MISMATCH)
    assert ("down", "web") in off.alerts()


def test_a_target_down_before_the_uplink_went_stays_down(off: Offline) -> None:
    off.feed("api", timeout(T0 + 1))
    off.feed("api", timeout(T0 + 11))
    assert off.state("api") == (State.DOWN, Reason.TIMEOUT)
    off.go_offline(T0 + 15)
    off.feed("api", timeout(T0 + 41))
    assert off.state("api") == (State.DOWN, Reason.TIMEOUT)
    assert off.alerts() == [("down", "api"), ("connectivity_lost", "monitor")]


def test_a_target_that_turned_down_with_the_uplink_is_held_when_the_monitor_knows(off: Offline) -> None:
    off.feed("web", timeout(T0 + 16))  # the uplink went at T0+15, the target's threshold is short
    off.feed("web", timeout(T0 + 26))
    assert off.state("web") == (State.DOWN, Reason.TIMEOUT)
    off.feed("api", timeout(T0 + 17))  # one failure so far, with the uplink
    off.go_offline(T0 + 15)
    assert off.state("web") == (State.UNKNOWN, Reason.MONITOR_OFFLINE)
    assert off.state("api") == (State.UNKNOWN, Reason.MONITOR_OFFLINE)
    assert off.monitor.states.statuses["web"].last.reason == Reason.MONITOR_OFFLINE  # type: ignore[union-attr]
    assert off.state("self") == (State.UP, Reason.OK)
    # Its "down" went before the monitor knew; its recovery is announced when it is back.
    off.check(ok(T0 + 300))
    off.feed("web", ok(T0 + 301))
    assert off.state("web") == (State.UP, Reason.OK)
    assert off.alerts() == [
        ("down", "web"),
        ("connectivity_lost", "monitor"),
        ("connectivity_restored", "monitor"),
        ("up", "web"),
    ]


def test_back_online_a_held_target_is_judged_by_its_next_results(off: Offline) -> None:
    off.go_offline(T0 + 15)
    off.feed("web", timeout(T0 + 40))
    off.feed("api", timeout(T0 + 40))
    off.check(ok(T0 + 300))
    assert off.monitor.connectivity.state is Uplink.ONLINE
    off.feed("web", ok(T0 + 301))
    assert off.state("web") == (State.UP, Reason.OK)  # from UNKNOWN the first success counts
    off.feed("api", timeout(T0 + 302))
    assert off.state("api") == (State.UNKNOWN, Reason.TIMEOUT)  # counting from nothing
    off.feed("api", timeout(T0 + 312))
    assert off.state("api") == (State.DOWN, Reason.TIMEOUT)
    assert off.alerts() == [("connectivity_lost", "monitor"), ("connectivity_restored", "monitor"), ("down", "api")]


def test_a_probe_that_began_before_the_return_is_still_no_verdict(off: Offline) -> None:
    off.go_offline(T0 + 15)
    off.check(ok(T0 + 300))
    off.feed("web", timeout(T0 + 298))  # it timed out after the uplink came back
    assert off.state("web") == (State.UNKNOWN, Reason.MONITOR_OFFLINE)


def test_the_alerts_say_when_and_how_long(off: Offline) -> None:
    off.go_offline(T0 + 15)
    off.check(ok(T0 + 615))
    assert off.monitor.alerting is not None
    lost, restored = (e.alert for e in reversed(off.monitor.alerting.outbox.entries()))
    assert (lost.id, lost.since, lost.reason, lost.detail) == (
        f"monitor:connectivity_lost:{round(T0 + 15)}",
        T0 + 15,
        Reason.MONITOR_OFFLINE,
        "dns-1: timeout",
    )
    assert (restored.kind, restored.since, restored.duration) == ("connectivity_restored", T0 + 15, 600.5)
    assert [name for name, _ in off.monitor.alerting.outbox.latest(["connectivity_lost"]).get("monitor", [])] != []


def test_the_monitors_own_failure_to_probe_a_check_is_no_verdict_on_the_uplink(off: Offline) -> None:
    own = Result(False, Reason.MONITOR_ERROR, "Too many open files", started=T0 + 15)
    off.check(own)
    off.check(own)
    assert off.monitor.connectivity.state is Uplink.ONLINE
    assert off.monitor.connectivity.checks["dns-1"].failures == 0
