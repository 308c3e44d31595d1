"""`Timelines.segments` on every backend, and the in-memory uptime ratios seeded from it
(`monitor.metrics.uptime`) against the store's own `uptime` on a clock the test moves:
a past run, a gap while the monitor was stopped, maintenance, and this run's events."""

from __future__ import annotations

import pytest

from monitor.metrics.registry import UPTIME_WINDOWS
from monitor.metrics.uptime import UptimeTracker
from monitor.result import Event, State
from tests.history import T0, H
from tests.store.conftest import StoreFactory

D = 24 * H
PAST = [(0.0, State.UNKNOWN, State.UP), (2.0, State.UP, State.DOWN), (3.0, State.DOWN, State.DEGRADED)]
PAST += [(5.0, State.DEGRADED, State.MAINTENANCE), (6.0, State.MAINTENANCE, State.UP)]
LIVE = [(13.0, State.UP, State.DOWN), (13.5, State.DOWN, State.UP), (40.0, State.UP, State.DOWN)]
LIVE += [(41.0, State.DOWN, State.UP)]
READS = [12.5, 13.25, 14.0, 20.0, 35.0, 40.5, 8 * 24.0, 31 * 24.0, 32 * 24.0 + 0.5, 38 * 24.0]


async def test_the_ratios_kept_in_memory_are_the_stores_at_every_moment(backend: StoreFactory) -> None:
    clock = backend.clock
    clock.now = T0
    past = backend.build()
    await past.open()
    for hour, old, new in PAST:
        past.add_event(Event("web", T0 + hour * H, old, new, "ok"))
    clock.now = T0 + 10 * H
    await past.close()  # stopped from 10:00 to 12:00

    clock.now = start = T0 + 12 * H
    store = await backend.open()
    tracker = UptimeTracker(UPTIME_WINDOWS)
    states = {tid: e.new for tid, e in (await store.last_events()).items()}
    tracker.seed(await store.segments(["web", "never"], start - tracker.longest, start), start, states)
    live = iter(LIVE)
    pending = next(live, None)
    for hour in READS:
        while pending is not None and pending[0] <= hour:
            event = Event("web", T0 + pending[0] * H, pending[1], pending[2], "ok")
            store.add_event(event)
            tracker.change(event.target, event.at, event.new)
            pending = next(live, None)
        clock.now = now = T0 + hour * H
        await store.flush()
        ours = dict(tracker.ratios(now).get("web", ()))
        for window, seconds in UPTIME_WINDOWS.items():
            theirs = (await store.uptime(["web"], now - seconds, now))["web"].ratio
            assert ours.get(window) == pytest.approx(theirs, rel=1e-9, abs=1e-12), (hour, window)
        assert "never" not in tracker.ratios(now)


async def test_segments_cover_the_window_with_the_gap_unknown(backend: StoreFactory) -> None:
    clock = backend.clock
    clock.now = T0
    past = backend.build()
    await past.open()
    past.add_event(Event("web", T0, State.UNKNOWN, State.UP, "ok"))
    clock.now = T0 + 10 * H
    await past.close()
    clock.now = T0 + 12 * H
    store = await backend.open()
    found = await store.segments(["web"], T0 - H, T0 + 13 * H)
    spans = [(s.start - T0, s.end - T0, s.state) for s in found["web"]]
    assert spans == [
        (-H, 0.0, State.UNKNOWN),
        (0.0, 10 * H, State.UP),
        (10 * H, 12 * H, State.UNKNOWN),
        (12 * H, 13 * H, State.UP),
    ]
