"""The uptime ratios kept in memory (`monitor.metrics.uptime`) against the store's maths
(`monitor.store.timeline.uptimes`) over random histories: runs with gaps before this
one, flapping, maintenance, and reads at random moments while events keep coming."""

from __future__ import annotations

import random

import pytest

from monitor.metrics.registry import UPTIME_WINDOWS
from monitor.metrics.uptime import UptimeTracker
from monitor.result import Event, State
from monitor.store import timeline

D = 86400.0
STATES = (State.UP, State.DEGRADED, State.DOWN, State.MAINTENANCE, State.UNKNOWN)


def history(rng: random.Random, start: float, end: float) -> list[Event]:
    events, at, state = [], start, State.UNKNOWN
    while True:
        at += rng.expovariate(1 / rng.choice((600.0, 6 * 3600.0, 3 * D)))
        if at >= end:
            return events
        new = rng.choice([s for s in STATES if s is not state])
        events.append(Event("t", at, state, new, "ok"))
        state = new


@pytest.mark.parametrize("seed", range(12))
def test_the_ratios_are_the_store_s_for_any_history(seed: int) -> None:
    rng = random.Random(seed)
    t0 = 1_800_000_000.0
    begin = t0 - 45 * D
    runs, at = [], begin
    while at < t0:  # past runs with gaps, the last ending before this one starts
        stop = min(at + rng.uniform(0.2, 12) * D, t0 - 60)
        runs.append((at, stop))
        at = stop + rng.uniform(60, 2 * D)
    events = history(rng, begin, t0 + 40 * D)
    past = [e for e in events if e.at < t0]
    tracker = UptimeTracker(UPTIME_WINDOWS)
    start = t0 - tracker.longest
    before = [e for e in past if e.at < start]
    inside = [e for e in past if e.at >= start]
    segs = timeline.segments(before[-1] if before else None, inside, timeline.covered(runs, start, t0), start, t0)
    tracker.seed({"t": segs}, t0, {"t": past[-1].new} if past else {})
    live = [e for e in events if e.at >= t0]
    for now in sorted(rng.uniform(t0, t0 + 40 * D) for _ in range(15)):
        while live and live[0].at <= now:
            event = live.pop(0)
            tracker.change("t", event.at, event.new)
        ours = dict(tracker.ratios(now).get("t", ()))
        for window, seconds in UPTIME_WINDOWS.items():
            a = now - seconds
            old = [e for e in events if e.at < a]
            within = [e for e in events if a <= e.at < now]
            (theirs,) = timeline.uptimes("t", old[-1] if old else None, within, [*runs, (t0, now)], [(a, now)])
            expected = None if theirs.ratio is None else pytest.approx(theirs.ratio, rel=1e-9, abs=1e-12)
            assert ours.get(window) == expected, (now - t0, window)
