"""`Replicas` on a membership the test controls: the live members decide the targets
owned, a change is reported once, the sender lapses on its own clock before its lease
can expire in the store, and a store that fails keeps the last members seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from monitor.cluster import Replicas, instance_id, owner
from monitor.errors import StoreError
from monitor.store import Member
from tests.history import Clock


@dataclass
class Rows:
    """The membership as a store would answer it; `failing` makes every call fail."""

    live: list[str] = field(default_factory=list)
    holder: str | None = None
    failing: bool = False
    left: list[str] = field(default_factory=list)

    def renew(self, member: Member, dead_after: float) -> list[Member]:
        if self.failing:
            raise StoreError("cannot renew", "database unreachable")
        return [Member(i, member.location) for i in sorted({*self.live, member.instance})]

    def lease(self, holder: str, ttl: float) -> bool:
        if self.failing:
            raise StoreError("cannot lease", "database unreachable")
        self.holder = self.holder or holder
        return self.holder == holder

    def leave(self, instance: str) -> None:
        self.left.append(instance)


async def test_it_owns_the_targets_rendezvous_gives_it_among_the_live_members() -> None:
    rows = Rows(live=["b"])
    cluster = Replicas(rows, "a")
    changes: list[tuple[str, ...]] = []
    cluster.on_change = changes.append
    await cluster.renew()
    assert changes == [("a", "b")]
    targets = [f"t{n}" for n in range(50)]
    assert [t for t in targets if cluster.owns(t)] == [t for t in targets if owner(t, ["a", "b"]) == "a"]
    await cluster.renew()
    assert changes == [("a", "b")]  # no change, no call
    rows.live = []
    await cluster.renew()
    assert changes[-1] == ("a",) and all(cluster.owns(t) for t in targets)


async def test_the_sender_stops_sending_before_its_lease_can_expire_in_the_store() -> None:
    clock = Clock(1000.0)
    rows = Rows()
    cluster = Replicas(rows, "a", renew_every=5.0, lease_seconds=15.0, clock=clock)
    told: list[bool] = []
    cluster.on_sender = told.append
    await cluster.renew()
    assert cluster.sender and told == [True]
    rows.failing = True
    clock.now += 5.0
    await cluster.renew()
    assert cluster.sender  # one renewal missed: 5 s of the lease's 15 used
    clock.now += 5.0
    await cluster.renew()
    assert not cluster.sender and told == [True, False]  # 10 s: stopped, 5 s before the store frees it
    assert cluster.failure == "database unreachable"
    assert cluster.members == ("a",)


async def test_a_member_that_is_not_the_holder_does_not_send() -> None:
    rows = Rows(live=["b"], holder="b")
    cluster = Replicas(rows, "a")
    await cluster.renew()
    assert not cluster.sender


async def test_a_failing_store_keeps_the_last_members_seen() -> None:
    rows = Rows(live=["b"])
    cluster = Replicas(rows, "a")
    await cluster.renew()
    rows.failing = True
    await cluster.renew()
    assert cluster.members == ("a", "b")


async def test_leaving_gives_the_row_and_the_lease_up() -> None:
    rows = Rows()
    cluster = Replicas(rows, "a")
    await cluster.renew()
    await cluster.leave()
    assert rows.left == ["a"] and not cluster.sender


def test_the_instance_id_is_kept_across_restarts_in_the_data_folder(tmp_path: Path) -> None:
    first = instance_id(tmp_path)
    assert instance_id(tmp_path) == first
    assert instance_id(tmp_path / "missing") != instance_id(tmp_path / "missing")
