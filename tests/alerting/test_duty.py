"""Duty rosters and acknowledgements in the alert policy, on a controllable clock: a
`duty:NAME` route follows the shift, climbs to the next on duty and then the fallback
while nobody acknowledges, and an acknowledgement quiets only its own incident."""

from __future__ import annotations

from pathlib import Path

from monitor.alerting.duty import boards, ladder, next_on_duty, on_duty
from monitor.alerting.policy import Outgoing, Policy
from tests.alerting.oncallkit import AT, MIN, down, duty_config, up, web
from tests.alertkit import Clock


def said(out: list[Outgoing]) -> list[tuple[str, tuple[str, ...]]]:
    return [(o.alert.kind, o.notifiers) for o in out]


def test_a_duty_route_goes_to_whoever_is_on_duty_across_a_shift_change(tmp_path: Path) -> None:
    config, clock = duty_config(tmp_path), Clock(AT)
    policy = Policy(config, clock=clock)
    assert said(policy.on_event(down(AT), web(config))) == [("down", ("budi",))]
    clock.now = AT + 10 * MIN
    assert said(policy.on_event(up(clock.now), web(config))) == [("up", ("budi",))]
    clock.now = AT + 75 * MIN  # 16:15 WIB: Sari's shift
    assert said(policy.on_event(down(clock.now), web(config))) == [("down", ("sari",))]


def test_unacknowledged_it_climbs_to_the_next_on_duty_then_the_fallback(tmp_path: Path) -> None:
    config, clock = duty_config(tmp_path), Clock(AT)
    policy = Policy(config, clock=clock)
    policy.on_event(down(AT), web(config))
    clock.now = AT + 14 * MIN
    assert said(policy.tick()) == []
    clock.now = AT + 15 * MIN
    (escalation,) = policy.tick()
    assert (escalation.alert.kind, escalation.notifiers) == ("escalation", ("sari",))
    assert escalation.alert.id == f"web:escalation:{AT:.0f}:duty:piket:1"
    clock.now = AT + 30 * MIN
    kinds = said(policy.tick())
    assert ("escalation", ("kantor",)) in kinds
    assert ("reminder", ("budi", "sari")) in kinds  # the first reminder, to each who heard
    clock.now = AT + 40 * MIN
    assert said(policy.on_event(up(clock.now), web(config))) == [("up", ("budi", "kantor", "sari"))]


def test_an_acknowledgement_stops_reminders_and_escalation_for_that_incident_only(tmp_path: Path) -> None:
    config, clock = duty_config(tmp_path), Clock(AT)
    policy = Policy(config, clock=clock)
    policy.on_event(down(AT), web(config))
    clock.now = AT + 5 * MIN
    assert policy.acknowledge("web") == AT
    for minutes in (15, 30, 60, 120):
        clock.now = AT + minutes * MIN
        assert said(policy.tick()) == []
    assert said(policy.on_event(up(clock.now), web(config))) == [("up", ("budi",))]  # still told
    clock.now = AT + 130 * MIN  # the next incident (17:10 WIB: Sari's shift) alerts again
    again = AT + 130 * MIN
    assert said(policy.on_event(down(again), web(config))) == [("down", ("sari",))]
    assert policy.acknowledge("web", since=AT) is None  # the old incident's ack is not this one's
    clock.now = again + 30 * MIN
    assert ("reminder", ("sari",)) in said(policy.tick())


def test_an_alert_that_finds_nobody_on_duty_goes_to_the_fallback(tmp_path: Path) -> None:
    config = duty_config(tmp_path)
    late = AT + 2 * 86400.0  # after the last shift
    policy = Policy(config, clock=Clock(late))
    assert said(policy.on_event(down(late), web(config))) == [("down", ("kantor",))]
    assert ladder(config, "piket", late) == [("kantor",)]


def test_it_tells_who_is_on_duty_now_and_next(tmp_path: Path) -> None:
    config = duty_config(tmp_path)
    assert on_duty(config, "piket", AT) == ("budi",)
    assert next_on_duty(config, "piket", AT) == (("sari",), AT + 3600.0)
    (board,) = boards(config, AT)
    assert (board.now, board.next, board.next_at, board.fallback) == (("budi",), ("sari",), AT + 3600.0, "kantor")


def test_weekly_shifts_are_read_in_the_configured_time_zone(tmp_path: Path) -> None:
    extra = """
[rosters.kantor-jam]
fallback = "kantor"

[[duty]]
roster = "kantor-jam"
who = "budi"
weekly = ["mon-fri 08:00-16:00"]

[[duty]]
roster = "kantor-jam"
who = "sari"
weekly = ["mon-fri 16:00-08:00", "sat 00:00-24:00", "sun 00:00-24:00"]
"""
    config = duty_config(tmp_path, extra)
    assert on_duty(config, "kantor-jam", AT) == ("budi",)  # a Friday, 15:00 WIB
    assert on_duty(config, "kantor-jam", AT - 7 * 3600.0) == ("budi",)  # 08:00 WIB: 01:00 UTC, Sari's in UTC
    assert on_duty(config, "kantor-jam", AT + 3600.0) == ("sari",)  # 16:00 WIB
    assert on_duty(config, "kantor-jam", AT - 8 * 3600.0) == ("sari",)  # 07:00 WIB Friday
    assert next_on_duty(config, "kantor-jam", AT + 3600.0) == (("budi",), AT + 3600.0 + 64 * 3600.0)  # Monday 08:00
