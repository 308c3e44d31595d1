"""Push heartbeats among replicas on a shared store (the in-memory fake, shared as a
PostgreSQL one is): a push to the replica that does not own its target is stored, not
judged there, and judged once by the owner at its next read (by number, from its last);
alone, a replica judges a push in memory at once and stores none; a target taken over
gets the newest stored heartbeat its former owner had not judged."""

from __future__ import annotations

import time
from pathlib import Path

from monitor.cluster import Replicas, owner
from monitor.config import Config, Settings, Target
from monitor.probes.push import PushSpec, heartbeat
from monitor.result import Reason, State
from monitor.runtime import Monitor
from tests.fakestore import MemoryStore

NAMES = ("x", "y")
IDS = [f"job{n}" for n in range(100)]
JOB = next(tid for tid in IDS if owner(tid, NAMES) == "x")  # x judges it, y does not


def job(tid: str) -> Target:
    spec = PushSpec(period=3600.0, grace=60.0, token="t" * 20)
    return Target(id=tid, name=tid, kind="push", url="", spec=spec, interval=60.0, failure_threshold=1)


def replica(tmp_path: Path, store: MemoryStore, name: str) -> Monitor:
    folder = tmp_path / name
    folder.mkdir()
    monitor = Monitor(Config(folder / "targets.toml", Settings(data_dir=folder), {JOB: job(JOB)}), store)
    monitor.replicas = Replicas(store, name)
    monitor.replicas.on_change = monitor._members_changed
    return monitor


async def pair(tmp_path: Path) -> tuple[MemoryStore, Monitor, Monitor]:
    store = MemoryStore(shared=True)
    x, y = replica(tmp_path, store, "x"), replica(tmp_path, store, "y")
    for monitor in (x, y, x):  # then both see both
        await monitor.replicas.renew()
    for monitor in (x, y):
        await monitor.pushes.start()
    return store, x, y


async def test_a_push_to_the_replica_that_does_not_own_it_is_judged_by_the_owner_once(tmp_path: Path) -> None:
    store, x, y = await pair(tmp_path)
    await y.record_heartbeat(x.config.targets[JOB], heartbeat(time.time(), down=True, msg="backup failed"))
    assert [(h.target, h.down, h.received_by) for h in store.pushes] == [(JOB, True, "y")]
    assert y.states.status(JOB).state != State.DOWN  # not its to judge
    assert await y.pushes.read() == 0
    assert await x.pushes.read() == 1
    status = x.states.status(JOB)
    assert status.state == State.DOWN and status.reason == Reason.REPORTED_DOWN
    assert await x.pushes.read() == 0  # read from its last number: judged once


async def test_a_replica_alone_judges_a_push_in_memory_and_stores_none(tmp_path: Path) -> None:
    store = MemoryStore(shared=True)
    x = replica(tmp_path, store, "x")
    await x.replicas.renew()
    await x.record_heartbeat(x.config.targets[JOB], heartbeat(time.time(), down=True))
    assert store.pushes == [] and x.states.status(JOB).state == State.DOWN


async def test_a_target_taken_over_gets_the_heartbeat_its_former_owner_had_not_judged(tmp_path: Path) -> None:
    store, x, y = await pair(tmp_path)
    arrived = time.time()
    await y.record_heartbeat(x.config.targets[JOB], heartbeat(arrived, msg="nightly backup"))
    store.leave("x")  # x died before its next read; y takes JOB over
    await y.replicas.renew()
    for task in list(y._taking_over):  # the take-over catches JOB up too
        await task
    await y.pushes.read()  # read while x still owned it in y's view, or after: either way it is y's now
    await y.pushes.catch_up([JOB])
    last = y.heartbeats.last(JOB)
    assert last is not None and last.started == arrived and last.detail == "nightly backup"
