"""The dispatcher: even slots, a fixed grid, no overlap, bounded concurrency, lag."""

from __future__ import annotations

import asyncio
import time

from monitor.config import Target
from monitor.scheduler import EARLY, Scheduler
from tests.waiting import until


def target(tid: str, interval: float = 10.0) -> Target:
    return Target(id=tid, name=tid, kind="http", url=None, spec=None, interval=interval, timeout=1.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A probe runner that records starts (and their monotonic times) and blocks until released."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.times: dict[str, list[float]] = {}
        self.release = asyncio.Event()

    async def __call__(self, t: Target) -> None:
        self.started.append(t.id)
        self.times.setdefault(t.id, []).append(time.monotonic())
        await self.release.wait()


def dues(s: Scheduler) -> dict[str, float]:
    return {tid: entry.due for tid, entry in s._entries.items()}


async def finished(s: Scheduler) -> None:
    """Wait until every probe started has returned."""
    await until(lambda: s.in_flight == 0, what="the probes in flight returning")


def test_it_spreads_targets_evenly_across_their_interval() -> None:
    clock = Clock()
    s = Scheduler(Recorder(), clock=clock)
    s.set_targets([target(f"t{i}") for i in range(4)])
    assert sorted(d - clock.now for d in dues(s).values()) == [0.0, 2.5, 5.0, 7.5]


def test_a_reload_keeps_the_slots_of_kept_targets_and_spreads_new_ones() -> None:
    clock = Clock()
    s = Scheduler(Recorder(), clock=clock)
    s.set_targets([target("a"), target("b")])
    before = dues(s)
    clock.now += 3
    s.set_targets([target("a"), target("b"), target("c"), target("d")])
    after = dues(s)
    assert after["a"] == before["a"] and after["b"] == before["b"]
    assert sorted(after[t] - clock.now for t in ("c", "d")) == [0.0, 5.0]


async def test_it_never_probes_one_target_twice_at_once_and_skips_the_slot() -> None:
    clock, runner = Clock(), Recorder()
    s = Scheduler(runner, clock=clock)
    s.set_targets([target("a")])
    s._dispatch_due()
    await asyncio.sleep(0)
    clock.now += 10  # next slot while the first probe still runs
    s._dispatch_due()
    await asyncio.sleep(0)
    assert runner.started == ["a"] and s.stats.skipped_overlap == 1
    runner.release.set()
    await finished(s)
    clock.now += 10
    s._dispatch_due()
    await asyncio.sleep(0)
    assert runner.started == ["a", "a"]


async def test_slots_stay_on_the_grid_and_missed_slots_are_skipped_not_bunched() -> None:
    clock, runner = Clock(), Recorder()
    runner.release.set()
    s = Scheduler(runner, clock=clock)
    s.set_targets([target("a")])
    start = dues(s)["a"]
    clock.now += 35.5  # the loop was stalled for three and a half intervals
    s._dispatch_due()
    await finished(s)
    assert runner.started == ["a"]
    assert dues(s)["a"] == start + 40


async def test_it_bounds_concurrency_and_starts_waiting_probes_as_others_finish() -> None:
    clock, runner = Clock(), Recorder()
    s = Scheduler(runner, concurrency=2, clock=clock)
    s.set_targets([target(f"t{i}", interval=10) for i in range(4)])
    clock.now += 9.9
    s._dispatch_due()
    await asyncio.sleep(0)
    assert len(runner.started) == 2 and s.in_flight == 2  # two running, two waiting their turn
    runner.release.set()
    await finished(s)
    assert sorted(runner.started) == ["t0", "t1", "t2", "t3"]


async def test_a_waiting_probe_still_starts_when_those_queued_before_it_were_removed() -> None:
    # Two running, three waiting; the first two waiting are removed (a reload, or another
    # instance taking them over): the third must start when the running ones finish.
    clock, runner = Clock(), Recorder()
    s = Scheduler(runner, concurrency=2, clock=clock)
    targets = [target(f"t{i}", interval=10) for i in range(5)]
    s.set_targets(targets)
    clock.now += 9.9
    s._dispatch_due()
    await asyncio.sleep(0)
    assert runner.started == ["t0", "t1"]
    s.set_targets([targets[0], targets[1], targets[4]])
    runner.release.set()
    await until(lambda: "t4" in runner.started, what="t4 started")
    await finished(s)
    assert sorted(runner.started) == ["t0", "t1", "t4"]
    assert s.in_flight == 0


async def test_it_reports_how_late_each_probe_started() -> None:
    clock, runner = Clock(), Recorder()
    runner.release.set()
    lags: list[float] = []
    s = Scheduler(runner, on_lag=lags.append, clock=clock)
    s.set_targets([target("a")])
    clock.now += 0.25
    s._dispatch_due()
    await finished(s)
    assert lags == [0.25]


async def test_the_loop_runs_probes_on_schedule_in_real_time() -> None:
    runner = Recorder()
    runner.release.set()
    s = Scheduler(runner)
    s.set_targets([target("a", interval=0.05), target("b", interval=0.05)])
    slots = dues(s)
    task = asyncio.create_task(s.run())
    await until(lambda: min(runner.started.count("a"), runner.started.count("b")) >= 3, what="three probes each")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert runner.started.count("a") >= 3 and runner.started.count("b") >= 3
    for tid, times in runner.times.items():  # never early: the n-th start is at or after the n-th slot
        assert all(at >= slots[tid] + n * 0.05 - EARLY for n, at in enumerate(times)), (tid, times)
