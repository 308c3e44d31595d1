"""What operators write for citizens, on every backend: declared incidents, the records
of automatic ones, their updates, and announcements (`monitor.store.Bulletins`)."""

from __future__ import annotations

from monitor.store import Wording
from tests.history import T0, H
from tests.store.conftest import StoreFactory

TITLE = Wording("Layanan KTP daring terganggu", "Online ID card service disrupted")


async def test_it_keeps_a_declared_incident_with_its_updates_oldest_first(backend: StoreFactory) -> None:
    store = await backend.open()
    declared = await store.declare_incident(["web", "mail"], TITLE, T0)
    later = await store.add_incident_update(declared.id, T0 + H, "identified", Wording("Kabel putus"), "budi")
    first = await store.add_incident_update(declared.id, T0, "investigating", Wording("Sedang dicek", "Checking"))
    found = await store.posted_incident(declared.id)
    assert found is not None and found.declared and found.target is None
    assert (found.targets, found.title, found.opened) == (("web", "mail"), TITLE, T0)
    assert found.updates == (first, later)
    assert (later.status, later.text, later.author) == ("identified", Wording("Kabel putus", ""), "budi")
    assert found.status == "identified" and found.resolved_at is None
    assert await store.posted_incident(declared.id + 1000) is None


async def test_an_automatic_incident_gets_one_record_keyed_by_target_and_start(backend: StoreFactory) -> None:
    store = await backend.open()
    opened = T0 + 0.123456
    bare = await store.automatic_incident("web", opened)
    assert (bare.target, bare.targets, bare.title, bare.updates) == ("web", ("web",), None, ())
    await store.add_incident_update(bare.id, T0 + H, "investigating", Wording("Dicek"))
    titled = await store.automatic_incident("web", opened, TITLE)
    assert titled.id == bare.id and titled.title == TITLE and not titled.declared
    assert [u.status for u in titled.updates] == ["investigating"]
    again = await store.automatic_incident("web", opened)
    assert again.title == TITLE  # no title given: the one it has stays
    other = await store.automatic_incident("mail", opened)
    assert other.id != bare.id


async def test_it_lists_what_was_opened_or_updated_since_and_every_declared_one_still_open(
    backend: StoreFactory,
) -> None:
    store = await backend.open()
    old_open = await store.declare_incident(["web"], TITLE, T0 - 40 * 24 * H)
    old_resolved = await store.declare_incident(["web"], TITLE, T0 - 40 * 24 * H)
    await store.add_incident_update(old_resolved.id, T0 - 39 * 24 * H, "resolved", Wording("Pulih"))
    old_updated = await store.automatic_incident("mail", T0 - 40 * 24 * H)
    await store.add_incident_update(old_updated.id, T0 + H, "monitoring", Wording("Dipantau"))
    recent = await store.automatic_incident("web", T0)
    found = await store.posted_incidents(T0 - 24 * H)
    assert [p.id for p in found] == [old_open.id, old_updated.id, recent.id]
    resolved = await store.posted_incident(old_resolved.id)
    assert resolved is not None and resolved.resolved_at == T0 - 39 * 24 * H


async def test_it_keeps_announcements_until_they_end_or_are_removed(backend: StoreFactory) -> None:
    store = await backend.open()
    text = Wording("Layanan tutup selama libur Lebaran", "Closed over the Lebaran holiday")
    ended = await store.add_announcement("info", text, T0 - 2 * H, T0 - H, T0 - 3 * H)
    endless = await store.add_announcement("critical", text, T0 + H, None, T0)
    sooner = await store.add_announcement("warning", Wording("Gangguan listrik"), T0, T0 + 2 * H, T0)
    assert await store.announcements(T0) == [sooner, endless]
    assert await store.announcements(T0 - 3 * H) == [ended, sooner, endless]
    assert (endless.level, endless.text, endless.start, endless.end) == ("critical", text, T0 + H, None)
    assert await store.remove_announcement(sooner.id) is True
    assert await store.remove_announcement(sooner.id) is False
    assert await store.announcements(T0) == [endless]


async def test_what_operators_wrote_survives_a_restart(backend: StoreFactory) -> None:
    store = await backend.open()
    declared = await store.declare_incident(["web"], TITLE, T0)
    update = await store.add_incident_update(declared.id, T0, "investigating", Wording("Dicek"))
    banner = await store.add_announcement("info", Wording("Halo"), T0, None, T0)
    await store.close()
    again = await backend.open()
    found = await again.posted_incident(declared.id)
    assert found is not None and found.updates == (update,)
    assert await again.announcements(T0) == [banner]
