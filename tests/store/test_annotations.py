"""Annotations on every backend: admins' notes and maintenance planned at runtime."""

from __future__ import annotations

from tests.history import END, T0, H
from tests.store.conftest import StoreFactory


async def test_it_keeps_notes_and_planned_maintenance(backend: StoreFactory) -> None:
    store = await backend.open()
    note = await store.add_note("web", T0, "Kabel putus", "admin")
    assert await store.notes(["web"], T0, END) == [note]
    window = await store.add_maintenance(T0, T0 + H, ["web"], [], "Pembaruan")
    assert await store.planned_maintenance(T0) == [window]
    assert await store.remove_maintenance(window.id) is True
    assert await store.planned_maintenance(T0) == []


async def test_it_lists_notes_oldest_first_by_target_and_window(backend: StoreFactory) -> None:
    store = await backend.open()
    late = await store.add_note("web", T0 + 2 * H, "Sudah normal")
    early = await store.add_note("web", T0 + H, "Teknisi berangkat", "budi")
    other = await store.add_note("mail", T0 + 1.5 * H, "Antrean surel penuh")
    assert await store.notes(["web"], T0, END) == [early, late]
    assert await store.notes(None, T0 + H, T0 + 2 * H) == [early, other]  # `[start, end)`
    assert (early.target, early.at, early.text, early.author) == ("web", T0 + H, "Teknisi berangkat", "budi")
    assert len({early.id, late.id, other.id}) == 3


async def test_it_lists_windows_not_yet_over_by_start_and_removes_one_once(backend: StoreFactory) -> None:
    store = await backend.open()
    later = await store.add_maintenance(T0 + 3 * H, T0 + 4 * H, ["mail"], reason="Ganti UPS")
    past = await store.add_maintenance(T0 - 2 * H, T0 - H, groups=["CCTV"])
    sooner = await store.add_maintenance(T0 + H, T0 + 2 * H, groups=["Server jaringan"])
    assert await store.planned_maintenance(T0) == [sooner, later]
    assert (later.targets, later.groups, later.reason) == (("mail",), (), "Ganti UPS")
    assert await store.planned_maintenance(T0 - 3 * H) == [past, sooner, later]
    assert await store.remove_maintenance(past.id) is True
    assert await store.remove_maintenance(past.id) is False
    assert await store.planned_maintenance(T0 - 3 * H) == [sooner, later]
