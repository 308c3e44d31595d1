"""The membership contract on every backend: a member renewing its row is among the live
members it reads back, holds the sender's lease when nobody else does, and leaves."""

from __future__ import annotations

from monitor.store import Member
from tests.store.conftest import StoreFactory


async def test_a_member_renewing_is_among_the_live_members(backend: StoreFactory) -> None:
    store = await backend.open()
    live = store.renew(Member("a", "local", 1.0), dead_after=10.0)
    assert [(m.instance, m.location, m.started) for m in live] == [("a", "local", 1.0)]
    assert live[0].renewed_at > 0


async def test_a_lone_member_holds_the_lease_and_keeps_it(backend: StoreFactory) -> None:
    store = await backend.open()
    store.renew(Member("a"), dead_after=10.0)
    assert store.lease("a", ttl=15.0)
    assert store.lease("a", ttl=15.0)


async def test_a_member_that_left_takes_its_lease_again_when_it_comes_back(backend: StoreFactory) -> None:
    store = await backend.open()
    assert store.lease("a", ttl=15.0)
    store.leave("a")
    assert store.lease("a", ttl=15.0)
