"""On-call records on every backend: acknowledgements per incident (the first one
kept), mutes per target, the count of their changes that the instances sharing a store
follow, and a chat bot's update offset, each kept across a restart of the store."""

from __future__ import annotations

from monitor.store import Ack, Mute
from tests.history import T0, H
from tests.store.conftest import StoreFactory


async def test_it_keeps_one_acknowledgement_per_incident_across_a_restart(backend: StoreFactory) -> None:
    store = await backend.open()
    first = Ack("web", T0, T0 + 60, "budi", "OTW ke ruang server", (("am", "abc-1"),))
    assert await store.add_ack(first) == first
    await store.add_ack(Ack("mail", T0 + H, T0 + H + 5, "sari"))
    again = Ack("web", T0, T0 + 120, "sari", "diambil alih")
    assert await store.add_ack(again) == first  # the same incident: the first one stays
    await store.close()
    reopened = await backend.open()
    assert await reopened.acks(T0) == [first, Ack("mail", T0 + H, T0 + H + 5, "sari")]
    assert await reopened.acks(T0 + 1) == [Ack("mail", T0 + H, T0 + H + 5, "sari")]
    assert (await reopened.acks(T0))[0].silences == (("am", "abc-1"),)


async def test_it_keeps_a_mute_per_target_until_removed(backend: StoreFactory) -> None:
    store = await backend.open()
    await store.set_mute(Mute("cctv", T0, T0 + H, "budi", (("am", "s-1"),)))
    await store.set_mute(Mute("web", T0, T0 + 2 * H, "token"))
    longer = Mute("cctv", T0 + 10, T0 + 3 * H, "sari")
    await store.set_mute(longer)
    assert await store.mutes() == [longer, Mute("web", T0, T0 + 2 * H, "token")]
    assert await store.remove_mute("cctv") == longer
    assert await store.remove_mute("cctv") is None
    await store.close()
    assert await (await backend.open()).mutes() == [Mute("web", T0, T0 + 2 * H, "token")]


async def test_each_change_of_an_acknowledgement_or_a_mute_moves_the_change_count(backend: StoreFactory) -> None:
    store = await backend.open()
    counts = [await store.oncall_changes()]
    await store.add_ack(Ack("web", T0, T0 + 60, "budi"))
    counts.append(await store.oncall_changes())
    await store.add_ack(Ack("web", T0, T0 + 90, "sari"))  # kept nothing: the first stays
    counts.append(await store.oncall_changes())
    await store.set_mute(Mute("web", T0, T0 + H, "budi"))
    counts.append(await store.oncall_changes())
    await store.remove_mute("web")
    counts.append(await store.oncall_changes())
    await store.remove_mute("web")  # nothing to remove: nothing changed
    await store.set_bot_offset("123", 4)  # not an on-call record people follow
    counts.append(await store.oncall_changes())
    a, b, c, d, e, f = counts
    assert a < b == c < d < e == f
    await store.close()
    assert await (await backend.open()).oncall_changes() == f  # a restart keeps counting from there


async def test_a_second_store_on_the_same_database_sees_the_count_move(backend: StoreFactory) -> None:
    one, other = await backend.open(), await backend.open(observe=False)
    before = await other.oncall_changes()
    await one.set_mute(Mute("cctv", T0, T0 + H, "budi"))
    assert await other.oncall_changes() > before
    assert await other.mutes() == [Mute("cctv", T0, T0 + H, "budi")]


async def test_it_keeps_each_bots_update_offset(backend: StoreFactory) -> None:
    store = await backend.open()
    assert await store.bot_offset("123") is None
    await store.set_bot_offset("123", 41)
    await store.set_bot_offset("123", 42)
    await store.set_bot_offset("456", 7)
    await store.close()
    reopened = await backend.open()
    assert (await reopened.bot_offset("123"), await reopened.bot_offset("456")) == (42, 7)
