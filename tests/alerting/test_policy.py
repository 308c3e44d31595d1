"""The alert policy, driven by events and a controllable clock (no sleeps)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from monitor.alerting.policy import Outgoing, Policy
from monitor.config import Config, NotifierConfig, Settings, Target
from monitor.notifiers.alertmanager import AlertmanagerSpec
from monitor.notifiers.webhook import WebhookSpec
from monitor.probes.domain import EXPIRY, DomainSpec
from monitor.result import Event, Result, State

UP, DOWN, DEGRADED, MAINT, UNKNOWN = (State.UP, State.DOWN, State.DEGRADED, State.MAINTENANCE, State.UNKNOWN)


def _target(tid: str, name: str, **kw: object) -> Target:
    return Target(
        id=tid,
        name=name,
        kind="http",
        url=None,
        spec=None,
        interval=30.0,
        failure_threshold=3,
        success_threshold=2,
        notify=("oncall", "am", "slow"),
        **kw,
    )  # type: ignore[arg-type]


def build_config() -> Config:
    hook = WebhookSpec(url="http://127.0.0.1:9/hook")
    notifiers = {
        "oncall": NotifierConfig(
            "oncall", "webhook", hook, repeat_every=1800.0, escalate_after=3600.0, escalate_to=("boss",)
        ),
        "boss": NotifierConfig("boss", "webhook", hook),
        "am": NotifierConfig("am", "alertmanager", AlertmanagerSpec(url="http://127.0.0.1:9093", resend_every=60.0)),
        "slow": NotifierConfig("slow", "webhook", hook, events=frozenset({"up", "degraded"})),
    }
    targets = {
        "web": _target("web", "Website", group="Layanan publik", cert_warn_days=(30, 14, 7)),
        "gateway": _target("gateway", "Router Setda"),
        "cam1": _target("cam1", "CCTV lobi", depends_on=("gateway",)),
        "cam2": _target("cam2", "CCTV parkir", depends_on=("gateway",)),
    }
    targets = {tid: replace(t, notify=("oncall", "am")) for tid, t in targets.items()}
    targets["web"] = replace(targets["web"], notify=("oncall", "am", "slow"))
    return Config(
        path=Path("targets.toml"),
        settings=Settings(public_url="https://status.example.go.id"),
        targets=targets,
        notifiers=notifiers,
    )


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config() -> Config:
    return build_config()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def results() -> dict[str, Result]:
    return {}


@pytest.fixture
def policy(config: Config, clock: Clock, results: dict[str, Result]) -> Policy:
    return Policy(config, clock=clock, last_result=results.get, flap_changes=5, flap_window=900)


def change(
    policy: Policy, config: Config, clock: Clock, tid: str, old: State, new: State, reason: str = "timeout"
) -> list[Outgoing]:
    event = Event(tid, clock.now, old, new, reason, "no answer")
    return policy.on_event(event, config.targets[tid])


def kinds(out: list[Outgoing]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(o.alert.kind, o.alert.target, o.notifiers) for o in out]


def advance(policy: Policy, clock: Clock, seconds: float, step: float = 10.0) -> list[Outgoing]:
    """Tick every `step` seconds for `seconds`, like the runtime's job."""
    out: list[Outgoing] = []
    end = clock.now + seconds
    while clock.now < end:
        clock.now = min(end, clock.now + step)
        out += policy.tick()
    return out


def test_it_alerts_down_and_the_recovery_with_the_outage_duration(policy, config, clock):
    out = change(policy, config, clock, "web", UP, DOWN)
    assert kinds(out) == [("down", "web", ("oncall", "am"))]
    down = out[0].alert
    assert down.url == "https://status.example.go.id/targets/web"
    assert (down.old, down.new, down.reason) == ("UP", "DOWN", "timeout")
    assert down.group == "Layanan publik"
    clock.now += 600
    out = change(policy, config, clock, "web", DOWN, UP, "ok")
    assert kinds(out) == [("up", "web", ("am", "oncall"))]
    assert out[0].alert.duration == 600
    assert out[0].alert.since == down.since


def test_it_sends_nothing_for_a_first_up_or_a_degradation_unless_asked(policy, config, clock):
    assert change(policy, config, clock, "web", UNKNOWN, UP) == []
    out = change(policy, config, clock, "web", UP, DEGRADED, "slow")
    assert kinds(out) == [("degraded", "web", ("slow",))]
    out = change(policy, config, clock, "web", DEGRADED, UP, "ok")
    assert kinds(out) == [("up", "web", ("slow",))]


def test_it_sends_nothing_while_a_target_is_in_maintenance(policy, config, clock):
    change(policy, config, clock, "web", UNKNOWN, UP)
    assert change(policy, config, clock, "web", UP, MAINT, "maintenance") == []
    assert advance(policy, clock, 3 * 3600) == []
    # The window ends with the target down: now it is a real outage.
    out = change(policy, config, clock, "web", MAINT, DOWN)
    assert kinds(out) == [("down", "web", ("oncall", "am"))]


def test_it_keeps_an_outage_open_through_maintenance_without_reminding(policy, config, clock):
    change(policy, config, clock, "web", UP, DOWN)
    change(policy, config, clock, "web", DOWN, MAINT, "maintenance")
    assert advance(policy, clock, 2 * 3600) == []
    out = change(policy, config, clock, "web", MAINT, UP, "ok")
    assert [k for k, _, _ in kinds(out)] == ["up"]


def test_a_target_still_down_after_its_maintenance_gets_no_second_down(policy, config, clock):
    down = change(policy, config, clock, "web", UP, DOWN)[0].alert
    clock.now += 600
    assert change(policy, config, clock, "web", DOWN, MAINT, "maintenance") == []
    assert advance(policy, clock, 3600) == []
    assert change(policy, config, clock, "web", MAINT, DOWN) == []  # the same outage, still open
    clock.now += 300
    out = change(policy, config, clock, "web", DOWN, UP, "ok")
    assert [(o.alert.kind, o.alert.id, o.alert.duration) for o in out][:1] == [("up", f"web:up:{round(down.at)}", 4500)]


def test_a_restart_in_maintenance_keeps_the_outage_it_went_in_with(config, clock):
    before = Policy(config, clock=clock)
    down = change(before, config, clock, "web", UP, DOWN)[0]
    clock.now += 600
    change(before, config, clock, "web", DOWN, MAINT, "maintenance")
    clock.now += 600  # the monitor restarts inside the window
    after = Policy(config, clock=clock)
    assert after.restore("web", MAINT, clock.now - 600, said=[down]) == []
    assert advance(after, clock, 3600) == []
    assert change(after, config, clock, "web", MAINT, DOWN) == []
    out = change(after, config, clock, "web", DOWN, UP, "ok")
    assert [(o.alert.kind, o.alert.since) for o in out] == [("up", down.alert.since)]


def test_a_target_held_unknown_while_the_monitor_is_offline_alerts_nothing_of_its_own(policy, config, clock):
    change(policy, config, clock, "gateway", UNKNOWN, UP)
    assert change(policy, config, clock, "gateway", UP, UNKNOWN, "monitor_offline") == []
    assert [o for o in advance(policy, clock, 3600) if o.alert.target == "gateway"] == []
    assert change(policy, config, clock, "gateway", UNKNOWN, UP, "ok") == []  # no recovery of nothing


def test_an_outage_held_unknown_stays_open_without_reminders_and_its_recovery_is_announced(policy, config, clock):
    change(policy, config, clock, "web", UP, DOWN)
    assert change(policy, config, clock, "web", DOWN, UNKNOWN, "monitor_offline") == []
    assert [o.alert.kind for o in advance(policy, clock, 2 * 3600) if o.alert.kind != "refresh"] == []
    out = change(policy, config, clock, "web", UNKNOWN, UP, "ok")
    assert kinds(out) == [("up", "web", ("am", "oncall"))]
    assert out[0].alert.duration == 2 * 3600


def test_an_outage_held_unknown_that_is_down_again_is_the_same_outage(policy, config, clock):
    change(policy, config, clock, "web", UP, DOWN)
    change(policy, config, clock, "web", DOWN, UNKNOWN, "monitor_offline")
    clock.now += 600
    assert change(policy, config, clock, "web", UNKNOWN, DOWN) == []  # no second "down"
    assert [o.alert.kind for o in advance(policy, clock, 1200) if o.alert.kind == "reminder"] == ["reminder"]


def test_it_lists_dependents_in_the_root_alert_instead_of_alerting_each(policy, config, clock):
    for tid in ("gateway", "cam1", "cam2"):
        change(policy, config, clock, tid, UNKNOWN, UP)
    out = change(policy, config, clock, "gateway", UP, DOWN)
    assert kinds(out) == [("down", "gateway", ("oncall", "am"))]
    assert change(policy, config, clock, "cam1", UP, DOWN) == []
    assert change(policy, config, clock, "cam2", UP, DOWN) == []
    later = advance(policy, clock, 1800)
    assert {(k, t) for k, t, _ in kinds(later)} <= {("reminder", "gateway"), ("refresh", "gateway")}
    reminder = next(o.alert for o in later if o.alert.kind == "reminder")
    assert reminder.dependents == ("CCTV lobi", "CCTV parkir")
    # The root recovers and so do its dependents: one recovery, for the root only.
    out = change(policy, config, clock, "gateway", DOWN, UP, "ok")
    out += change(policy, config, clock, "cam1", DOWN, UP, "ok")
    out += change(policy, config, clock, "cam2", DOWN, UP, "ok")
    out += advance(policy, clock, 600)
    assert kinds(out) == [("up", "gateway", ("am", "oncall"))]


def test_it_waits_before_alerting_a_dependent_in_case_its_root_goes_down(policy, config, clock):
    for tid in ("gateway", "cam1"):
        change(policy, config, clock, tid, UNKNOWN, UP)
    # The camera happens to reach its threshold a probe before the gateway does.
    assert change(policy, config, clock, "cam1", UP, DOWN) == []
    clock.now += 30
    out = change(policy, config, clock, "gateway", UP, DOWN)
    out += advance(policy, clock, 1200)
    assert {t for _, t, _ in kinds(out)} == {"gateway"}


def test_it_alerts_a_dependent_that_is_down_on_its_own(policy, config, clock):
    for tid in ("gateway", "cam1"):
        change(policy, config, clock, tid, UNKNOWN, UP)
    assert change(policy, config, clock, "cam1", UP, DOWN) == []
    out = advance(policy, clock, 60)
    assert out == []  # still within the grace: the gateway could be seen down yet
    out = [o for o in advance(policy, clock, 120) if o.alert.kind != "refresh"]
    assert kinds(out) == [("down", "cam1", ("oncall", "am"))]
    assert (out[0].alert.old, out[0].alert.since) == ("UP", clock.now - 180)


def test_it_alerts_a_dependent_still_down_after_its_root_recovered(policy, config, clock):
    for tid in ("gateway", "cam1"):
        change(policy, config, clock, tid, UNKNOWN, UP)
    change(policy, config, clock, "gateway", UP, DOWN)
    change(policy, config, clock, "cam1", UP, DOWN)
    advance(policy, clock, 300)
    change(policy, config, clock, "gateway", DOWN, UP, "ok")
    out = [o for o in advance(policy, clock, 300) if o.alert.target == "cam1" and o.alert.kind != "refresh"]
    assert kinds(out) == [("down", "cam1", ("oncall", "am"))]


def test_it_reports_flapping_once_and_stable_again_once(policy, config, clock):
    change(policy, config, clock, "web", UNKNOWN, UP)
    out: list[Outgoing] = []
    state = UP
    for _ in range(12):  # up and down every two minutes for 24 minutes
        clock.now += 120
        new = DOWN if state == UP else UP
        out += change(policy, config, clock, "web", state, new)
        out += policy.tick()
        state = new
    sent = [k for k, _, _ in kinds(out) if k != "refresh"]
    assert sent == ["down", "up", "down", "up", "flapping"]
    assert state == UP
    out = [o for o in advance(policy, clock, 3600) if o.alert.kind != "refresh"]
    assert [k for k, _, _ in kinds(out)] == ["stable"]
    assert out[0].notifiers == ("am", "oncall")
    assert out[0].alert.new == "UP"


def test_flapping_that_settles_down_reopens_the_outage(policy, config, clock):
    change(policy, config, clock, "web", UNKNOWN, UP)
    state = UP
    for _ in range(5):
        clock.now += 60
        new = DOWN if state == UP else UP
        change(policy, config, clock, "web", state, new)
        state = new
    assert state == DOWN
    out = [o for o in advance(policy, clock, 3600) if o.alert.kind != "refresh"]
    assert [k for k, _, _ in kinds(out)][:1] == ["stable"]
    assert out[0].alert.new == "DOWN"
    # The outage alerted before the flapping is still open: reminders resume.
    assert "reminder" in [k for k, _, _ in kinds(out)]


def test_it_reminds_every_repeat_every_while_down(policy, config, clock):
    change(policy, config, clock, "web", UP, DOWN)
    out = [o for o in advance(policy, clock, 95 * 60) if o.alert.kind == "reminder"]
    assert [o.notifiers for o in out] == [("oncall",), ("oncall",), ("oncall",)]
    assert [round(o.alert.duration or 0) // 60 for o in out] == [30, 60, 90]
    assert len({o.alert.id for o in out}) == 3


def test_it_escalates_after_escalate_after_to_escalate_to(policy, config, clock):
    start = clock.now
    change(policy, config, clock, "web", UP, DOWN)
    out = advance(policy, clock, 3590)
    assert "escalation" not in [k for k, _, _ in kinds(out)]
    out = advance(policy, clock, 3 * 3600)
    escalations = [o for o in out if o.alert.kind == "escalation"]
    assert [(o.notifiers, o.alert.since) for o in escalations] == [(("boss",), start)]
    # Whoever was escalated to also hears the recovery.
    out = change(policy, config, clock, "web", DOWN, UP, "ok")
    assert kinds(out) == [("up", "web", ("am", "boss", "oncall"))]


def test_it_refreshes_firing_alerts_for_alertmanager_only(policy, config, clock):
    change(policy, config, clock, "web", UP, DOWN)
    out = [o for o in advance(policy, clock, 300) if o.alert.kind == "refresh"]
    assert len(out) == 5
    assert all(o.notifiers == ("am",) and o.alert.new == "DOWN" for o in out)
    change(policy, config, clock, "web", DOWN, UP, "ok")
    assert [o for o in advance(policy, clock, 300) if o.alert.kind == "refresh"] == []


def test_it_warns_once_per_certificate_threshold_day(policy, config, clock, results):
    change(policy, config, clock, "web", UNKNOWN, UP)
    expiry = clock.now + 40 * 86400
    results["web"] = Result(ok=True, cert_expiry=expiry)
    out: list[Outgoing] = []
    for _ in range(40):  # forty days, ticking every hour
        out += advance(policy, clock, 86400, step=3600)
    certs = [o.alert for o in out if o.alert.kind == "cert"]
    assert [a.cert_days for a in certs] == [30, 14, 7]
    assert {o.notifiers for o in out if o.alert.kind == "cert"} == {("oncall", "am")}


def test_a_renewed_certificate_starts_its_warnings_afresh(policy, config, clock, results):
    change(policy, config, clock, "web", UNKNOWN, UP)
    results["web"] = Result(ok=True, cert_expiry=clock.now + 10 * 86400)
    assert [o.alert.cert_days for o in policy.tick()] == [10]
    results["web"] = Result(ok=True, cert_expiry=clock.now + 90 * 86400)
    assert advance(policy, clock, 86400, step=3600) == []


def test_a_domain_warns_once_per_warning_day_saying_it_is_the_domain(clock):
    spec = DomainSpec("kotimkab.go.id", "https://rdap.pandi.id/rdap/", warn_days=(30, 7))
    domain = replace(_target("dom", "Domain kotimkab.go.id"), kind="domain", spec=spec, notify=("oncall",))
    config = replace(build_config(), targets={"dom": domain})
    results = {"dom": Result(ok=True, extra={EXPIRY: clock.now + 40 * 86400})}
    policy = Policy(config, clock=clock, last_result=results.get)
    change(policy, config, clock, "dom", UNKNOWN, UP)
    out: list[Outgoing] = []
    for _ in range(40):  # forty days, ticking every hour
        out += advance(policy, clock, 86400, step=3600)
    warnings = [o.alert for o in out if o.alert.kind == "cert"]
    assert [(a.cert_days, a.expiring) for a in warnings] == [(30, "domain"), (7, "domain")]
    assert warnings[0].cert_expiry == results["dom"].extra[EXPIRY]


def test_a_restart_neither_repeats_down_nor_fakes_a_recovery(config, clock):
    before = Policy(config, clock=clock)
    change(before, config, clock, "web", UNKNOWN, UP)
    down = change(before, config, clock, "web", UP, DOWN)[0].alert
    since = clock.now
    clock.now += 100  # the monitor dies and comes back
    after = Policy(config, clock=clock)
    after.restore("web", DOWN, since)
    after.restore("gateway", UP, since - 5000)
    offered = [o for o in after.tick() if o.alert.kind == "down"]
    # The same alert (same id) is offered again: the outbox drops it as already sent.
    assert [(o.alert.id, o.notifiers) for o in offered] == [(down.id, ("oncall", "am"))]
    clock.now += 1200
    out = change(after, config, clock, "web", DOWN, UP, "ok")
    assert kinds(out) == [("up", "web", ("am", "oncall"))]
    assert out[0].alert.duration == 1300


def test_a_restart_while_an_announced_outage_is_held_unknown_keeps_it_open(config, clock):
    before = Policy(config, clock=clock)
    down = change(before, config, clock, "web", UP, DOWN)
    since = clock.now
    clock.now += 300
    change(before, config, clock, "web", DOWN, UNKNOWN, "monitor_offline")
    clock.now += 100  # the monitor restarts while offline
    after = Policy(config, clock=clock)
    assert after.restore("web", UNKNOWN, clock.now - 100, down) == []
    assert [o for o in after.tick() if o.alert.kind in ("down", "reminder")] == []
    clock.now += 600
    out = change(after, config, clock, "web", UNKNOWN, UP, "ok")
    assert [(k, o.alert.duration) for (k, _, _), o in zip(kinds(out), out, strict=True)] == [("up", 1000.0)]
    assert out[0].alert.since == since


def test_a_restart_resumes_reminders_and_escalation_where_they_were(config, clock):
    since = clock.now
    clock.now += 2 * 3600 + 60
    policy = Policy(config, clock=clock)
    policy.restore("web", DOWN, since)
    out = [o for o in policy.tick() if o.alert.kind != "refresh"]
    assert sorted(k for k, _, _ in kinds(out)) == ["down", "escalation", "reminder"]
    reminder = next(o.alert for o in out if o.alert.kind == "reminder")
    assert reminder.id == f"web:reminder:{round(since)}:1800:4"
    assert [o.alert.kind for o in advance(policy, clock, 600) if o.alert.kind != "refresh"] == []


def test_a_ups_on_battery_is_news_for_whoever_hears_down_with_its_battery_figures(
    policy: Policy, config: Config, clock: Clock, results: dict[str, Result]
) -> None:
    ups = replace(config.targets["gateway"], id="ups", name="UPS ruang server", kind="ups")
    config.targets["ups"] = ups
    policy.update(config)
    change(policy, config, clock, "ups", UNKNOWN, UP, "ok")
    results["ups"] = Result(True, "on_battery", degraded=True, extra={"probe_ups_battery_runtime_seconds": 1500.0})
    out = change(policy, config, clock, "ups", UP, DEGRADED, "on_battery")
    # oncall and am hear "down" but list no "degraded": the power is out, they hear it.
    assert kinds(out) == [("degraded", "ups", ("oncall", "am"))]
    assert out[0].alert.values == {"probe_ups_battery_runtime_seconds": 1500.0}
    out = change(policy, config, clock, "ups", DEGRADED, UP, "ok")
    assert kinds(out) == [("up", "ups", ("am", "oncall"))]
