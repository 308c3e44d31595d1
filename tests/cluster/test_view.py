"""Replicas of the default location on a shared store (the in-memory fake, shared as a
PostgreSQL one is): each shows every target's state, the targets it probes as it judged
them and the others as their prober published them; each change is stored and told
once, by its prober; a handed-over target shows its last word at once; the per-probe
series stay the prober's own; a store of one instance publishes nothing."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from monitor.cluster import Replicas, owner
from monitor.config import Config, Settings, Target
from monitor.result import Event, Reason, Result, State
from monitor.runtime import Monitor
from tests.fakestore import MemoryStore

NAMES = ("x", "y")


def target(tid: str) -> Target:
    return Target(
        id=tid, name=tid.upper(), kind="http", url=f"https://{tid}.example/", spec=None, interval=10.0,
        failure_threshold=1, success_threshold=1,
    )  # fmt: skip


# Two targets of each replica (rendezvous is deterministic: found once, not guessed);
# MOVING goes from x to a third replica z when it joins.
IDS = [f"t{n}" for n in range(100)]
MOVING = next(tid for tid in IDS if owner(tid, NAMES) == "x" and owner(tid, (*NAMES, "z")) == "z")
X = [MOVING, next(tid for tid in IDS if owner(tid, NAMES) == owner(tid, (*NAMES, "z")) == "x")]
Y = [tid for tid in IDS if owner(tid, NAMES) == "y"][:2]
TARGETS = {tid: target(tid) for tid in X + Y}


def replica(tmp_path: Path, store: MemoryStore, name: str, events: list[tuple[str, Event]]) -> Monitor:
    folder = tmp_path / name
    folder.mkdir()
    config = Config(folder / "targets.toml", Settings(data_dir=folder), dict(TARGETS))
    monitor = Monitor(config, store)
    monitor.replicas = Replicas(store, name)
    monitor.replicas.on_change = monitor._members_changed
    monitor.subscribe(lambda event, target: events.append((name, event)))
    return monitor


async def joined(*monitors: Monitor) -> None:
    for monitor in (*monitors, monitors[0]):  # the first takes the lease; then all see all
        await monitor.replicas.renew()


def ok(at: float) -> Result:
    return Result(True, started=at, duration=0.05)


def timeout(at: float) -> Result:
    return Result(False, Reason.TIMEOUT, "no answer within 5s", started=at, duration=5.0)


async def sync(*monitors: Monitor, now: float) -> None:
    for monitor in (*monitors, *monitors):  # twice: each reads what the other wrote
        await monitor.member.sync(now)


def shown(monitor: Monitor) -> dict[str, State]:
    return {tid: status.state for tid, status in monitor.states.statuses.items()}


async def test_each_replica_shows_every_targets_state_and_each_change_is_told_once(tmp_path: Path) -> None:
    store, events = MemoryStore(shared=True), list[tuple[str, Event]]()
    x, y = replica(tmp_path, store, "x", events), replica(tmp_path, store, "y", events)
    await joined(x, y)
    assert (x.owned, y.owned) == (frozenset(X), frozenset(Y))
    now = time.time()
    for monitor, own in ((x, X), (y, Y)):
        for tid in own:
            monitor.record(TARGETS[tid], ok(now))
    await sync(x, y, now=now)
    assert shown(x) == shown(y) == dict.fromkeys(X + Y, State.UP)
    assert x.cluster.active is False  # one location: shown, not combined

    y.record(TARGETS[Y[0]], timeout(now + 10))  # y is not the sender: its own target fails
    await sync(x, y, now=now + 10)
    assert x.states.statuses[Y[0]].state is y.states.statuses[Y[0]].state is State.DOWN
    assert x.states.statuses[Y[0]].reason == Reason.TIMEOUT
    downs = [(who, e.target, e.new) for who, e in events if e.new is State.DOWN]
    assert downs == [("y", Y[0], State.DOWN)]  # told by its prober only
    assert [(e.target, e.new) for e in store.changes if e.new is State.DOWN] == [(Y[0], State.DOWN)]


async def test_a_replica_shows_the_probers_last_check_but_exports_only_its_own_probes(tmp_path: Path) -> None:
    store, events = MemoryStore(shared=True), list[tuple[str, Event]]()
    x, y = replica(tmp_path, store, "x", events), replica(tmp_path, store, "y", events)
    await joined(x, y)
    now = time.time()
    y.record(TARGETS[Y[0]], ok(now))
    await sync(x, y, now=now)
    last = x.states.statuses[Y[0]].last
    assert last is not None and (last.started, last.duration) == (now, 0.05)
    text = x.metrics.render().decode()
    assert f'monitor_target_state{{state="UP",target="{Y[0]}"}} 1.0' in text
    assert f'probe_success{{target="{Y[0]}"}}' not in text  # y's probe, y's series
    assert f'probe_success{{target="{Y[0]}"}} 1.0' in y.metrics.render().decode()


async def test_a_handed_over_target_shows_its_last_word_until_the_new_prober_speaks(tmp_path: Path) -> None:
    store, events = MemoryStore(shared=True), list[tuple[str, Event]]()
    x, y = replica(tmp_path, store, "x", events), replica(tmp_path, store, "y", events)
    await joined(x, y)
    now = time.time()
    for tid in X:
        x.record(TARGETS[tid], timeout(now))
    await sync(x, y, now=now)
    store.members["z"] = replace(store.members["x"], instance="z")  # a third replica joins
    await x.replicas.renew()
    assert MOVING not in x.owned and X[1] in x.owned
    status = x.states.statuses[MOVING]
    assert (status.state, status.reason) == (State.DOWN, Reason.TIMEOUT)  # x's own last word
    assert [e.target for _, e in events if e.new is State.DOWN] == X  # no new event for the move


async def test_a_store_of_one_instance_publishes_nothing_and_shows_only_its_own(tmp_path: Path) -> None:
    store, events = MemoryStore(), list[tuple[str, Event]]()  # not shared, as SQLite
    x, y = replica(tmp_path, store, "x", events), replica(tmp_path, store, "y", events)
    await joined(x, y)
    now = time.time()
    x.record(TARGETS[X[0]], ok(now))
    await sync(x, y, now=now)
    assert store.seen == {} and store.at_locations == {}
    assert y.states.statuses[X[0]].state is State.UNKNOWN
    assert "location_changes" not in store.calls
