"""The combined state of a target from its locations' states, case by case."""

from __future__ import annotations

import pytest

from monitor.cluster.quorum import Combined, combine
from monitor.result import State
from monitor.store.records import LocationState

NOW = 1_000_000.0
INTERVAL = 30.0


def at(location: str, state: State, since: float = NOW - 100, age: float = 5.0, **extra: object) -> LocationState:
    reason = {State.DOWN: "timeout", State.DEGRADED: "slow"}.get(state, "ok")
    return LocationState("web", location, state, since, NOW - age, reason, "", None, **extra)  # type: ignore[arg-type]


UP, DEG, DOWN, UNK = State.UP, State.DEGRADED, State.DOWN, State.UNKNOWN

CASES = [
    # (states, quorum, expected state, expected locations)
    ([at("a", UP), at("b", UP), at("c", UP)], None, UP, ()),
    ([at("a", DOWN), at("b", UP), at("c", UP)], None, DEG, ("a",)),
    ([at("a", DOWN), at("b", DOWN), at("c", UP)], None, DOWN, ("a", "b")),
    ([at("a", DOWN), at("b", DOWN), at("c", DOWN)], None, DOWN, ("a", "b", "c")),
    ([at("a", DOWN), at("b", UP)], None, DEG, ("a",)),  # majority of 2 is both
    ([at("a", DOWN), at("b", DOWN)], None, DOWN, ("a", "b")),
    ([at("a", DOWN), at("b", UP)], 1, DOWN, ("a",)),
    ([at("a", DOWN), at("b", DOWN), at("c", UP)], 3, DEG, ("a", "b")),
    ([at("a", DEG), at("b", UP), at("c", UP)], None, DEG, ("a",)),
    ([at("a", DOWN), at("b", DEG), at("c", UP)], None, DEG, ("a",)),
    # a silent location (last result older than 3 x interval) is not counted
    ([at("a", DOWN), at("b", UP, age=3 * INTERVAL + 1)], None, DOWN, ("a",)),
    # an offline location is not counted
    ([at("a", DOWN, offline=True), at("b", UP), at("c", UP)], None, UP, ()),
    ([at("a", DOWN, offline=True), at("b", DOWN), at("c", UP)], None, DEG, ("b",)),
    # a location without a verdict is not counted
    ([at("a", UNK), at("b", DOWN)], None, DOWN, ("b",)),
    # every location silent, offline or without a verdict: UNKNOWN
    ([at("a", DOWN, age=3 * INTERVAL + 1), at("b", UP, offline=True), at("c", UNK)], None, UNK, ()),
    ([], None, UNK, ()),
]


@pytest.mark.parametrize(("states", "quorum", "state", "locations"), CASES)
def test_it_combines_the_locations_that_report(
    states: list[LocationState], quorum: int | None, state: State, locations: tuple[str, ...]
) -> None:
    combined = combine(states, quorum, INTERVAL, NOW)
    assert (combined.state, combined.locations) == (state, locations)


def test_it_names_the_failing_locations_in_the_reason_when_fewer_than_the_quorum_fail() -> None:
    combined = combine([at("sampit", DOWN), at("jakarta", UP), at("palangka", UP)], None, INTERVAL, NOW)
    assert combined.reason == "locations_failing"
    assert combined.detail == "1 of 3 locations (sampit): timeout"


def test_it_keeps_the_failures_reason_when_down() -> None:
    combined = combine([at("a", DOWN), at("b", DOWN), at("c", UP)], None, INTERVAL, NOW)
    assert (combined.reason, combined.detail) == ("timeout", "2 of 3 locations (a, b)")


def test_it_dates_down_when_the_quorum_was_reached() -> None:
    states = [at("a", DOWN, since=NOW - 90), at("b", DOWN, since=NOW - 30), at("c", DOWN, since=NOW - 60)]
    assert combine(states, None, INTERVAL, NOW).since == NOW - 60  # the second of three
    assert combine(states, 1, INTERVAL, NOW).since == NOW - 90


def test_it_says_no_location_reports_when_all_are_silent() -> None:
    assert combine([at("a", UP, age=100)], None, INTERVAL, NOW) == Combined(
        UNK, NOW, "no_location_reporting", "no location reported within 3 × interval"
    )
