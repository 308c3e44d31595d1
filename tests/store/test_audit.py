"""The audit log on every backend: appended, read newest first, kept across a restart."""

from __future__ import annotations

from monitor.store import AuditEntry
from tests.history import T0, H
from tests.store.conftest import StoreFactory


async def test_it_lists_entries_newest_first_and_keeps_them_across_a_restart(backend: StoreFactory) -> None:
    store = await backend.open()
    edit = AuditEntry(T0, "budi", "target.edit", "website", "-interval = 30s\n+interval = 1m")
    ack = AuditEntry(T0 + H, "token", "target.ack", "website", "kabel putus, teknisi berangkat")
    mute = AuditEntry(T0 + 2 * H, "siti", "target.mute", "cctv-pasar", "until 2026-12-02T03:00:00Z")
    for entry in (edit, ack, mute):
        await store.record_audit(entry)
    assert await store.audit_entries() == [mute, ack, edit]
    assert await store.audit_entries(limit=2) == [mute, ack]
    await store.close()
    again = await backend.open(observe=False)
    assert await again.audit_entries() == [mute, ack, edit]


async def test_an_empty_log_is_an_empty_list(backend: StoreFactory) -> None:
    store = await backend.open()
    assert await store.audit_entries() == []
