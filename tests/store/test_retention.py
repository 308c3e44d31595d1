"""Retention on every backend: raw results expire after `raw_retention`, by `prune` or, in
the running monitor, by the store itself; rollups and events are kept."""

from __future__ import annotations

from monitor.result import Result
from tests.history import END, T0, H, build
from tests.store.conftest import StoreFactory


async def test_it_prunes_raw_results_but_keeps_rollups_and_events(backend: StoreFactory) -> None:
    await build(backend.settings, backend.clock)
    # A reader does no hourly pruning of its own: this test prunes.
    store = await backend.open(observe=False, raw_retention=12 * H)
    assert await store.prune(END) == 2 * 120  # run 1's results of both targets
    assert await store.results("web", T0, END, limit=1) == [(await store.results("web", T0 + 12 * H, END))[0]]
    assert (await store.probe_stats(["web"], T0, END))["web"].count == 264
    assert len(await store.events(None, T0, END)) == 11


async def test_the_running_monitor_deletes_expired_raw_results_every_hour(backend: StoreFactory) -> None:
    clock = backend.clock
    clock.now = T0
    store = await backend.open(raw_retention=H)
    for minute in range(0, 180, 10):
        store.add_result("web", Result(True, duration=0.1, started=T0 + minute * 60))
    await store.flush()
    assert len(await store.results("web", T0, T0 + 3 * H)) == 18
    clock.now = T0 + 3 * H
    await store.flush()
    assert len(await store.results("web", T0, T0 + 3 * H)) == 6  # the last hour
    assert (await store.probe_stats(["web"], T0, T0 + 3 * H))["web"].count == 18
