"""`Connectivity`: when the monitor itself is offline, on a clock the test moves. Each
result carries the time its probe started, as a real probe's does."""

from __future__ import annotations

import pytest

from monitor.config import Target
from monitor.connectivity import Change, Connectivity, Uplink, own_host
from monitor.result import Reason, Result
from tests.alertkit import Clock

T0 = 1_800_000_000.0


def check(name: str) -> Target:
    return Target(id=name, name=name, kind="dns", url=f"dns://192.0.2.1/{name}.example", spec=None, interval=15.0)


def passed(at: float) -> Result:
    return Result(True, started=at, duration=0.01)


def failed(at: float, reason: str = Reason.TIMEOUT) -> Result:
    return Result(False, reason, "no answer within 5s", started=at, duration=5.0)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def uplink(clock: Clock) -> Connectivity:
    connectivity = Connectivity([check("dns"), check("web")], clock=clock)
    connectivity.observe("dns", passed(T0))
    connectivity.observe("web", passed(T0))
    return connectivity


def round_of(uplink: Connectivity, clock: Clock, at: float) -> list[Change]:
    """Both checks fail, probed at `at`; the clock is at their answers."""
    clock.now = at + 5.0
    changes = [uplink.observe("dns", failed(at)), uplink.observe("web", failed(at + 1.0, Reason.CONNECTION_REFUSED))]
    return [c for c in changes if c is not None]


def test_it_is_online_once_a_check_passed(uplink: Connectivity) -> None:
    assert uplink.state is Uplink.ONLINE and not uplink.offline
    assert not uplink.cut_off(T0)


def test_one_failed_round_flips_nothing(uplink: Connectivity, clock: Clock) -> None:
    assert round_of(uplink, clock, T0 + 15) == []
    assert uplink.state is Uplink.ONLINE and not uplink.cut_off(T0 + 15)


def test_it_is_offline_when_every_check_failed_twice_since_the_last_began_failing(
    uplink: Connectivity, clock: Clock
) -> None:
    round_of(uplink, clock, T0 + 15)
    [change] = round_of(uplink, clock, T0 + 30)
    assert change.state is Uplink.OFFLINE
    assert (change.since, change.at) == (T0 + 16, T0 + 35)  # "web" began failing last, at T0+16
    assert [(c.name, c.failures, c.last.reason if c.last else "") for c in change.checks] == [
        ("dns", 2, Reason.TIMEOUT),
        ("web", 2, Reason.CONNECTION_REFUSED),
    ]
    assert uplink.offline and uplink.since == T0 + 16 and uplink.cut_off(T0 + 40)
    assert round_of(uplink, clock, T0 + 45) == []  # said once


def test_one_check_that_passes_keeps_it_online(uplink: Connectivity, clock: Clock) -> None:
    for n in range(1, 10):
        clock.now = T0 + 15 * n
        assert uplink.observe("dns", failed(clock.now)) is None
        assert uplink.observe("web", passed(clock.now)) is None
    assert uplink.state is Uplink.ONLINE and uplink.checks["dns"].failures == 9


def test_a_pass_between_two_failures_starts_the_count_again(uplink: Connectivity, clock: Clock) -> None:
    round_of(uplink, clock, T0 + 15)
    uplink.observe("web", passed(T0 + 25))
    round_of(uplink, clock, T0 + 30)
    assert uplink.state is Uplink.ONLINE
    [change] = round_of(uplink, clock, T0 + 45)
    assert change.since == T0 + 31  # the streak "web" began after its pass


def test_the_first_pass_ends_the_outage_with_its_length(uplink: Connectivity, clock: Clock) -> None:
    round_of(uplink, clock, T0 + 15)
    round_of(uplink, clock, T0 + 30)
    clock.now = T0 + 616.0
    change = uplink.observe("web", passed(T0 + 615.0))
    assert change is not None and change.state is Uplink.ONLINE
    assert (change.since, change.at, change.duration) == (T0 + 16, T0 + 616, 600.0)
    assert uplink.state is Uplink.ONLINE and uplink.since == T0 + 616
    assert uplink.observe("dns", passed(T0 + 616.0)) is None  # said once


def test_a_probe_started_before_the_return_is_still_cut_off(uplink: Connectivity, clock: Clock) -> None:
    round_of(uplink, clock, T0 + 15)
    round_of(uplink, clock, T0 + 30)
    clock.now = T0 + 100.5
    uplink.observe("web", passed(T0 + 100.0))
    assert uplink.cut_off(T0 + 99.0)  # it may have timed out for want of the uplink
    assert not uplink.cut_off(T0 + 100.0)


def test_at_the_start_it_is_unknown_and_a_first_pass_is_no_news(clock: Clock) -> None:
    uplink = Connectivity([check("dns")], clock=clock)
    assert uplink.state is Uplink.UNKNOWN and uplink.since is None
    assert uplink.observe("dns", failed(T0)) is None
    assert uplink.state is Uplink.UNKNOWN and not uplink.cut_off(T0)
    assert uplink.observe("dns", passed(T0 + 15)) is None
    assert uplink.state is Uplink.ONLINE


def test_it_may_start_offline(clock: Clock) -> None:
    uplink = Connectivity([check("dns")], clock=clock)
    uplink.observe("dns", failed(T0))
    change = uplink.observe("dns", failed(T0 + 15))
    assert change is not None and change.state is Uplink.OFFLINE and change.since == T0


def test_without_checks_it_is_off_and_never_offline(clock: Clock) -> None:
    uplink = Connectivity(clock=clock)
    assert uplink.state is Uplink.OFF and not uplink.cut_off(T0)
    assert uplink.observe("dns", failed(T0)) is None  # not a check of this configuration


def test_a_reload_keeps_what_the_kept_checks_saw_and_without_checks_it_is_off(
    uplink: Connectivity, clock: Clock
) -> None:
    round_of(uplink, clock, T0 + 15)
    uplink.update([check("web"), check("ntp")])
    assert list(uplink.checks) == ["web", "ntp"] and uplink.checks["web"].failures == 1
    assert uplink.checks["ntp"].last is None
    uplink.update([])
    assert uplink.state is Uplink.OFF and not uplink.offline
    uplink.update([check("dns")])
    assert uplink.state is Uplink.UNKNOWN


def test_an_outage_a_previous_run_announced_goes_on(clock: Clock) -> None:
    uplink = Connectivity([check("dns")], clock=clock)
    uplink.resume(T0 - 600)
    uplink.observe("dns", failed(T0))
    change = uplink.observe("dns", failed(T0 + 15))
    assert change is not None and change.since == T0 - 600  # the same outage: the same alert


def test_an_outage_a_previous_run_announced_ends_at_the_first_pass(clock: Clock) -> None:
    uplink = Connectivity([check("dns")], clock=clock)
    uplink.resume(T0 - 600)
    clock.now = T0 + 1
    change = uplink.observe("dns", passed(T0))
    assert change is not None and change.state is Uplink.ONLINE
    assert (change.since, change.duration) == (T0 - 600, 601.0)


@pytest.mark.parametrize(
    ("host", "own"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("status.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.5", True),  # the listen address
        ("10.0.0.6", False),
        ("www.kotimkab.go.id", False),
        ("0.0.0.0", False),
        (None, False),
    ],
)
def test_the_monitors_own_host_is_loopback_localhost_or_its_listen_address(host: str | None, own: bool) -> None:
    assert own_host(host, ["10.0.0.5:8080", "0.0.0.0:8081"]) is own
