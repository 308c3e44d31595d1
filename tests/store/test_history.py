"""The history's reads on every backend, against the hand-computed day of
`tests/history.py`: availability, day bars, periods and incidents, the state to resume
from, rollups, probe counts and latency series."""

from __future__ import annotations

from datetime import UTC

import pytest

from monitor.result import State
from monitor.store import Store
from tests.history import END, T0, ZONE, H, build
from tests.store.conftest import StoreFactory


@pytest.fixture
async def store(backend: StoreFactory) -> Store:
    """A reader on the day, written by two runs; its clock is at the end of the day."""
    await build(backend.settings, backend.clock)
    return await backend.open(observe=False)


async def test_it_computes_time_based_availability_excluding_maintenance_and_the_restart(store: Store) -> None:
    ups = await store.uptime(None, T0, END)
    web, mail = ups["web"], ups["mail"]
    assert web.observed == pytest.approx(21 * H)
    assert web.down == pytest.approx(3 * H)
    assert web.maintenance == pytest.approx(1 * H)
    assert web.unmonitored == pytest.approx(2 * H)
    assert web.percent == pytest.approx(100 * 18 / 21)
    assert web.incidents == 2
    assert mail.observed == pytest.approx(22 * H)
    assert mail.down == pytest.approx(2 * H)
    assert mail.degraded == pytest.approx(1 * H)
    assert mail.ratio == pytest.approx(20 / 22)
    assert mail.incidents == 1


async def test_it_answers_any_window_and_counts_time_outside_every_run_as_unmonitored(store: Store) -> None:
    week = (await store.uptime(["web"], END - 7 * 24 * H, END))["web"]
    assert week.observed == pytest.approx(21 * H)  # the six days before: no run
    assert week.unmonitored == pytest.approx(6 * 24 * H + 2 * H)
    part = (await store.uptime(["web"], T0 + 8 * H, T0 + 14 * H))["web"]
    assert (part.observed, part.down, part.unmonitored) == pytest.approx((4 * H, 2 * H, 2 * H))
    assert part.incidents == 1
    unknown = (await store.uptime(["nothing"], T0, END))["nothing"]
    assert unknown.ratio is None and unknown.unmonitored == pytest.approx(24 * H)


async def test_it_splits_downtime_into_local_days(store: Store) -> None:
    days = (await store.daily(["web"], 2, ZONE, END - 1))["web"]
    assert [d.day.isoformat() for d in days] == ["2018-06-10", "2018-06-11"]
    assert days[1].uptime.down == pytest.approx(3 * H)
    assert days[1].uptime.start == T0
    assert days[0].uptime.observed == 0
    utc = (await store.daily(["web"], 2, UTC, END - 1))["web"]
    # 2018-06-10 UTC ends at 07:00 Jakarta: down 02-03, maintenance 05-06.
    assert utc[0].day.isoformat() == "2018-06-10"
    assert (utc[0].uptime.observed, utc[0].uptime.down) == pytest.approx((6 * H, 1 * H))
    assert utc[1].uptime.down == pytest.approx(2 * H)


async def test_it_lists_incidents_newest_first_with_their_real_durations(store: Store) -> None:
    incidents = await store.incidents(None, T0, END)
    assert [(p.target, (p.start - T0) / H) for p in incidents] == [("mail", 22), ("web", 9), ("web", 2)]
    assert incidents[0].end is None
    assert await store.incidents(None, T0, END, limit=2) == incidents[:2]
    assert incidents[1].duration(END) == pytest.approx(4 * H)
    assert incidents[1].reason == "connection_refused"
    maintenance = await store.periods(["web"], T0, END, {State.MAINTENANCE})
    assert [(p.start, p.end) for p in maintenance] == [(T0 + 5 * H, T0 + 6 * H)]
    # A window inside the second outage still finds it, with its real start.
    inside = await store.incidents(["web"], T0 + 10 * H, T0 + 11 * H)
    assert [p.start for p in inside] == [T0 + 9 * H]


async def test_it_resumes_from_the_last_event_and_result(store: Store) -> None:
    last = await store.last_events()
    assert last["web"].new == State.UP and last["mail"].new == State.DOWN
    results = await store.last_results()
    assert results["mail"].reason == "dns_error"
    assert results["mail"].started == END - 300


async def test_it_rolls_up_probe_counts_and_latency_per_hour(store: Store) -> None:
    stats = await store.probe_stats(["web", "mail"], T0, END)
    web = stats["web"]
    assert (web.count, web.failures, web.maintenance, web.latency_count) == (264, 36, 12, 216)
    assert web.latency_mean == pytest.approx((18 * 1.0 + 198 * 0.1) / 216)
    assert (web.latency_min, web.latency_max) == (0.1, 1.0)
    assert web.quantile(0.5) == pytest.approx(0.1, rel=0.1)
    assert web.quantile(0.95) == pytest.approx(1.0, rel=0.1)
    mail = stats["mail"]
    assert (mail.count, mail.failures, mail.degraded) == (264, 24, 12)
    assert mail.quantile(0.5) == pytest.approx(0.2, rel=0.1)
    hours = (await store.rollups(["web"], T0, END))["web"]
    assert len(hours) == 22  # two hours without a run
    assert hours[0].start == T0 and hours[0].count == 12


async def test_it_downsamples_series_from_raw_or_from_rollups(store: Store, backend: StoreFactory) -> None:
    raw = await store.series("mail", T0 + 12 * H, END, points=12)
    assert len(raw) == 12 and sum(p.count for p in raw) == 144
    assert raw[8].degraded == 12  # 20:00-21:00
    backend.clock.now = END + 30 * 24 * H  # now the raw window has passed: use rollups
    hourly = await store.series("mail", T0, END, points=6)
    assert [p.end - p.start for p in hourly] == [4 * H] * 6
    assert sum(p.count for p in hourly) == 264


async def test_it_lists_its_targets_events_newest_first_and_raw_results_oldest_first(store: Store) -> None:
    assert sorted(await store.target_ids()) == ["mail", "web"]
    events = await store.events(None, T0, END)
    assert len(events) == 11
    assert (events[0].target, events[0].at, events[0].new) == ("mail", T0 + 22 * H, State.DOWN)
    assert await store.events(None, T0, END, limit=3) == events[:3]
    # `[start, end)`: the event at 05:00 is outside.
    window = await store.events(["web"], T0 + 2 * H, T0 + 5 * H)
    assert [(e.at, e.new, e.reason) for e in window] == [
        (T0 + 3 * H, State.UP, "ok"),
        (T0 + 2 * H, State.DOWN, "timeout"),
    ]
    down = await store.results("web", T0 + 2 * H, T0 + 3 * H)
    assert [r.at for r in down] == [T0 + 2 * H + i * 300 for i in range(12)]
    assert {(r.ok, r.reason, r.duration) for r in down} == {(False, "timeout", 10.0)}
    assert all(r.maintenance for r in await store.results("web", T0 + 5 * H, T0 + 6 * H))
    slow = await store.results("mail", T0 + 20 * H, T0 + 21 * H, limit=2)
    assert [(r.at, r.degraded, r.duration) for r in slow] == [(T0 + 20 * H, True, 3.5), (T0 + 20 * H + 300, True, 3.5)]
