"""Two monitors of two locations sharing one store (the in-memory fake): they publish
and read each other's word, show the same combined state, and only the sender (the
holder of the sender's lease: the first to renew) stores the events and tells the
listeners; when its lease lapses the other takes over; two replicas of one location
combine each other's targets and hand them over; a default single instance publishes
nothing and judges as it always did."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from monitor.cluster import LEASE_SECONDS, Replicas, owner
from monitor.config import Config, Settings, Target
from monitor.result import Event, Reason, Result, State
from monitor.runtime import Monitor
from tests.fakestore import MemoryStore

WEB = Target(
    id="web", name="Web", kind="http", url="https://web.example/", spec=None, interval=10.0,
    failure_threshold=1, success_threshold=1,
)  # fmt: skip


def member(tmp_path: Path, store: MemoryStore, location: str, events: list[tuple[str, Event]]) -> Monitor:
    config = Config(tmp_path / "targets.toml", Settings(data_dir=tmp_path, location=location), {"web": WEB})
    monitor = Monitor(config, store)
    monitor.member.began = time.time()  # just started: combining nothing yet
    monitor.subscribe(lambda event, target: events.append((location, event)))
    return monitor


def ok(at: float) -> Result:
    return Result(True, started=at, duration=0.05)


def timeout(at: float) -> Result:
    return Result(False, Reason.TIMEOUT, "no answer within 5s", started=at, duration=5.0)


async def sync(*monitors: Monitor, now: float) -> None:
    for monitor in (*monitors, *monitors):  # twice: each reads what the other wrote
        await monitor.member.sync(now)


async def settle(*monitors: Monitor, now: float) -> None:
    """Let them hear of each other, then end their start's settling window."""
    for monitor in monitors:  # the first takes the sender's lease
        await monitor.replicas.renew()
    await sync(*monitors, now=now)
    assert all(m.states.statuses["web"].state is State.UNKNOWN for m in monitors)  # nothing combined yet
    for monitor in monitors:
        monitor.member.began = now - 100.0
    await sync(*monitors, now=now)


async def test_two_locations_show_one_combined_state_and_only_the_sender_decides(tmp_path: Path) -> None:
    store, events = MemoryStore(), []
    a, b = member(tmp_path, store, "a", events), member(tmp_path, store, "b", events)
    now = time.time()
    a.record(WEB, timeout(now))
    b.record(WEB, ok(now))
    await settle(a, b, now=now)
    for monitor in (a, b):
        status = monitor.states.statuses["web"]
        assert (status.state, status.reason) == (State.DEGRADED, Reason.LOCATIONS_FAILING)
        assert status.detail == "1 of 2 locations (a): timeout: no answer within 5s"
    assert [(who, e.new) for who, e in events] == [("a", State.DEGRADED)]

    b.record(WEB, timeout(now + 10))
    await sync(a, b, now=now + 10)
    assert a.states.statuses["web"].state == b.states.statuses["web"].state == State.DOWN
    down = events[-1]
    assert (down[0], down[1].new, down[1].locations, down[1].reason) == ("a", State.DOWN, ("a", "b"), "timeout")
    assert [e for who, e in events if who == "b"] == []
    assert [e.new for e in store.changes] == [State.DEGRADED, State.DOWN]  # the sender's only
    assert {s.location: s.state for s in store.at_locations.values()} == {"a": State.DOWN, "b": State.DOWN}


async def test_a_silent_location_goes_stale_once_and_is_told_by_the_next_sender(tmp_path: Path) -> None:
    store, events = MemoryStore(), []
    a, b = member(tmp_path, store, "a", events), member(tmp_path, store, "b", events)
    now = time.time()
    a.record(WEB, ok(now))
    b.record(WEB, ok(now))
    await settle(a, b, now=now)
    assert (a.is_sender(), b.is_sender()) == (True, False)
    later = now + 3 * WEB.interval + 2 * 5.0 + 1  # a published nothing since
    b.record(WEB, ok(later))
    await b.member.sync(later)
    assert [(c.location, c.stale, c.since) for c in b.member.last_changes] == [("a", True, now)]
    assert b.cluster.up(later) == {"a": False, "b": True}
    assert [c.location for c in b.member.untold] == ["a"]  # a still holds the lease: kept
    store.clock = lambda: time.time() + LEASE_SECONDS + 1  # a renewed nothing since
    await b.replicas.renew()
    assert b.is_sender() is True
    await b.member.sync(later + 1)
    assert b.member.last_changes == [] and b.member.untold == []  # told once, by b
    a.record(WEB, ok(later + 2))
    await a.member.sync(later + 2)
    await b.member.sync(later + 2)
    assert [(c.location, c.stale) for c in b.member.last_changes] == [("a", False)]


async def test_a_single_instance_with_the_default_location_publishes_nothing(tmp_path: Path) -> None:
    store, events = MemoryStore(), []
    alone = member(tmp_path, store, "local", events)
    now = time.time()
    alone.member.began = now - 100.0
    alone.record(WEB, timeout(now))
    await alone.member.sync(now)
    assert store.seen == {} and store.at_locations == {}
    assert alone.cluster.active is False
    assert [(who, replace(e, at=0.0)) for who, e in events] == [
        ("local", Event("web", 0.0, State.UNKNOWN, State.DOWN, Reason.TIMEOUT, "no answer within 5s"))
    ]


async def test_replicas_of_one_location_combine_each_others_targets_and_hand_them_over(tmp_path: Path) -> None:
    store, events = MemoryStore(), []
    x, y = member(tmp_path, store, "a", events), member(tmp_path, store, "a", events)
    for monitor, name in ((x, "x"), (y, "y")):
        monitor.replicas = Replicas(store, name, "a")
        monitor.replicas.on_change = monitor._members_changed
    for monitor in (x, y, x):  # x takes the lease; then both see both
        await monitor.replicas.renew()
    prober, other = (x, y) if owner("web", ("x", "y")) == "x" else (y, x)
    assert (prober.owned, other.owned) == ({"web"}, frozenset())
    now = time.time()
    prober.record(WEB, timeout(now))
    await settle(x, y, now=now)
    for monitor in (x, y):  # the one that does not probe it combines the prober's row
        assert monitor.states.statuses["web"].state is State.DOWN
    assert (x.is_sender(), y.is_sender()) == (True, False)
    assert [e.new for e in store.changes] == [State.DOWN]  # stored once, by the sender

    await prober.replicas.leave()  # its target and (if it held it) the lease move
    await other.replicas.renew()
    assert other.owned == {"web"} and other.is_sender()
    assert other.own.statuses["web"].state is State.DOWN  # resumed from the prober's word
    other.record(WEB, timeout(now + 10))
    await other.member.sync(now + 10)
    assert [e.new for e in store.changes] == [State.DOWN]  # still DOWN: no second event


async def test_the_uptime_ratios_follow_the_combined_state_on_every_location(tmp_path: Path) -> None:
    store, events = MemoryStore(), []
    a, b = member(tmp_path, store, "a", events), member(tmp_path, store, "b", events)
    now = time.time()
    clock = [now]
    for monitor in (a, b):
        monitor.metrics.clock = lambda: clock[0]
        await monitor.metrics.seed_uptime()
    a.record(WEB, timeout(now))
    b.record(WEB, timeout(now))
    await settle(a, b, now=now)
    assert [(who, e.new) for who, e in events] == [("a", State.DOWN)]  # only the decider emits
    clock[0] = now + 40
    b.record(WEB, ok(now + 30))
    await sync(a, b, now=now + 30)
    assert a.states.statuses["web"].state == b.states.statuses["web"].state == State.DEGRADED
    ratios = a.metrics.ratios()["web"]
    assert ratios == b.metrics.ratios()["web"]  # b stores nothing, yet its figure moved as a's
    assert [ratio for _window, ratio in ratios] == [0.25] * 3  # 30 s DOWN, then 10 s DEGRADED (up)
