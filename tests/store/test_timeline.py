"""Availability maths on arbitrary timelines: the parts of a window always add up."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.result import Event, State
from monitor.store.timeline import covered, incidents, uptimes

STATES = [State.UP, State.DEGRADED, State.DOWN, State.MAINTENANCE]

events = st.lists(st.tuples(st.floats(0, 1000, allow_nan=False), st.sampled_from(STATES)), max_size=20).map(
    lambda pairs: [Event("t", at, State.UNKNOWN, new, "r") for at, new in sorted(pairs)]
)
runs = st.lists(st.tuples(st.floats(-100, 1100), st.floats(0, 500)), max_size=5).map(
    lambda pairs: [(a, a + length) for a, length in pairs]
)
cuts = st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(events, runs, cuts)
def test_the_parts_of_every_window_add_up_to_its_length(
    timeline: list[Event], spans: list[tuple[float, float]], points: list[float]
) -> None:
    bounds = sorted({0.0, 1000.0, *points})
    windows = list(itertools.pairwise(bounds))
    found = uptimes("t", None, timeline, covered(spans, 0, 1000), windows)
    whole = uptimes("t", None, timeline, covered(spans, 0, 1000), [(0.0, 1000.0)])[0]
    for up, (a, b) in zip(found, windows, strict=True):
        assert up.observed + up.maintenance + up.unmonitored == pytest.approx(b - a, abs=1e-6)
        assert 0 <= up.down <= up.observed + 1e-9
    assert sum(u.down for u in found) == pytest.approx(whole.down, abs=1e-6)
    assert sum(u.incidents for u in found) == whole.incidents


def test_a_state_carried_into_the_window_counts_from_its_start() -> None:
    before = Event("t", -50.0, State.UP, State.DOWN, "timeout")
    (up,) = uptimes("t", before, [Event("t", 30.0, State.DOWN, State.UP, "ok")], [(-100.0, 200.0)], [(0.0, 100.0)])
    assert (up.observed, up.down, up.incidents) == (100.0, 30.0, 0)


def test_overlapping_runs_are_merged_and_clipped() -> None:
    assert covered([(5, 20), (0, 10), (30, 40), (35, 50)], 2, 45) == [(2, 20), (30, 45)]


def chained(pairs: list[tuple[float, State]]) -> list[Event]:
    """Events whose `old` is the state before them, as the state machine makes them."""
    out: list[Event] = []
    for at, new in sorted(pairs):
        old = out[-1].new if out else State.UNKNOWN
        if new != old:
            out.append(Event("t", at, old, new, "r"))
    return out


# The events lie inside the window [0, 1000): `incidents` counts every incident of the
# chain, `uptimes` those that begin inside the window.
@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1000, allow_nan=False, exclude_max=True), st.sampled_from(STATES)), max_size=20
    ).map(chained),
    runs,
)
def test_the_incidents_hold_all_the_downtime_and_only_maintenance_between_their_parts(
    timeline: list[Event], spans: list[tuple[float, float]]
) -> None:
    ran = covered(spans, 0, 1000)
    whole = uptimes("t", None, timeline, ran, [(0.0, 1000.0)])[0]
    found = incidents(timeline)
    assert len(found) == whole.incidents
    parts = [(p.start, 1000.0 if p.end is None else p.end) for p in found]
    assert sum(uptimes("t", None, timeline, ran, [w])[0].down for w in parts) == pytest.approx(whole.down, abs=1e-6)
    for period, (a, b) in zip(found, parts, strict=True):
        inside = uptimes("t", None, timeline, ran, [(a, b)])[0]
        # Every moment of an incident is DOWN, maintenance or unmonitored; never up.
        assert inside.observed - inside.down == pytest.approx(0.0, abs=1e-6)
        assert period.in_maintenance(1000.0) >= inside.maintenance - 1e-6
        always = uptimes("t", None, timeline, [(0.0, 1000.0)], [(a, b)])[0]  # a run covering it all
        assert period.in_maintenance(1000.0) == pytest.approx(always.maintenance, abs=1e-6)
