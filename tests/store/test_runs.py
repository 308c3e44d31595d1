"""Runs on every backend: each open of a running monitor's store is a run, the time
between two runs is unmonitored, and a closed store opens again."""

from __future__ import annotations

import pytest

from monitor.result import Event, State
from tests.history import T0, H
from tests.store.conftest import StoreFactory


async def test_it_is_healthy_only_while_open(backend: StoreFactory) -> None:
    store = backend.build()
    assert store.healthy() is False  # not open yet
    await store.open()
    try:
        assert store.healthy() is True
    finally:
        await store.close()
    assert store.healthy() is False


async def test_it_opens_again_after_closing_as_a_new_run(backend: StoreFactory) -> None:
    clock = backend.clock
    store = backend.build()
    for hour in (0, 2):
        clock.now = T0 + hour * H
        await store.open()
        store.add_event(Event("web", T0 + hour * H, State.UNKNOWN, State.UP, "ok"))
        clock.now = T0 + (hour + 1) * H
        await store.close()
    reader = await backend.open(observe=False)
    up = (await reader.uptime(["web"], T0, T0 + 3 * H))["web"]
    assert (up.observed, up.unmonitored) == pytest.approx((2 * H, H))
