"""Incidents on every backend: a DOWN period that maintenance does not end. A target that
goes into maintenance DOWN and comes out of it still DOWN has one incident, with the
window inside it; the window's time is maintenance, never downtime."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from monitor.result import Event, State
from monitor.store import Store
from tests.history import T0
from tests.store.conftest import StoreFactory

M = 60.0
UP, DOWN, MAINT = State.UP, State.DOWN, State.MAINTENANCE


async def written(backend: StoreFactory, changes: Sequence[tuple[float, State, State]], until: float) -> Store:
    """A reader on one run from T0 to T0 + `until` minutes holding "web"'s `changes`
    (minutes after T0, old, new)."""
    writer = await backend.open()
    for minute, old, new in changes:
        reason = "maintenance" if new == MAINT else "timeout" if new == DOWN else "ok"
        writer.add_event(Event("web", T0 + minute * M, old, new, reason))
    backend.clock.now = T0 + until * M
    await writer.flush()
    await writer.close()
    return await backend.open(observe=False)


THROUGH = [(0, State.UNKNOWN, UP), (10, UP, DOWN), (20, DOWN, MAINT), (30, MAINT, DOWN), (40, DOWN, UP)]


async def test_a_target_still_down_after_its_maintenance_has_one_incident_with_the_window_inside(
    backend: StoreFactory,
) -> None:
    store = await written(backend, THROUGH, 60)
    (incident,) = await store.incidents(None, T0, T0 + 60 * M)
    assert (incident.start, incident.end, incident.reason) == (T0 + 10 * M, T0 + 40 * M, "timeout")
    assert incident.maintenance == ((T0 + 20 * M, T0 + 30 * M),)
    assert incident.in_maintenance(T0 + 60 * M) == 10 * M
    uptime = (await store.uptime(["web"], T0, T0 + 60 * M))["web"]
    assert (uptime.down, uptime.maintenance, uptime.incidents) == (20 * M, 10 * M, 1)


async def test_an_incident_is_found_from_a_window_inside_its_maintenance_with_its_real_start(
    backend: StoreFactory,
) -> None:
    store = await written(backend, THROUGH, 60)
    for start, end in ((T0 + 25 * M, T0 + 26 * M), (T0 + 35 * M, T0 + 36 * M)):
        assert [(p.start, p.end) for p in await store.incidents(["web"], start, end)] == [(T0 + 10 * M, T0 + 40 * M)]
    later = (await store.uptime(["web"], T0 + 25 * M, T0 + 60 * M))["web"]
    assert later.incidents == 0  # it began before this window


async def test_a_down_target_in_maintenance_now_has_an_ongoing_incident(backend: StoreFactory) -> None:
    store = await written(backend, THROUGH[:3], 30)
    (incident,) = await store.incidents(None, T0, T0 + 30 * M)
    assert (incident.start, incident.end) == (T0 + 10 * M, None)
    assert incident.maintenance == ((T0 + 20 * M, None),)
    assert incident.in_maintenance(T0 + 30 * M) == 10 * M


async def test_a_target_that_comes_out_of_maintenance_up_ends_its_incident_with_the_window(
    backend: StoreFactory,
) -> None:
    store = await written(backend, [*THROUGH[:3], (30, MAINT, UP)], 60)
    (incident,) = await store.incidents(None, T0, T0 + 60 * M)
    assert (incident.start, incident.end, incident.maintenance) == (
        T0 + 10 * M,
        T0 + 30 * M,
        ((T0 + 20 * M, T0 + 30 * M),),
    )


async def test_a_target_that_went_into_maintenance_up_and_came_out_down_has_a_new_incident(
    backend: StoreFactory,
) -> None:
    changes = [
        (0, State.UNKNOWN, UP),
        (10, UP, DOWN),
        (15, DOWN, UP),
        (20, UP, MAINT),
        (30, MAINT, DOWN),
        (40, DOWN, UP),
    ]
    store = await written(backend, changes, 60)
    found = await store.incidents(None, T0, T0 + 60 * M)
    assert [(p.start, p.end, p.maintenance) for p in found] == [
        (T0 + 30 * M, T0 + 40 * M, ()),
        (T0 + 10 * M, T0 + 15 * M, ()),
    ]
    assert await store.incidents(None, T0, T0 + 60 * M, limit=1) == found[:1]
    assert (await store.uptime(["web"], T0, T0 + 60 * M))["web"].incidents == 2


async def test_several_windows_inside_one_incident_are_all_listed(backend: StoreFactory) -> None:
    changes = [*THROUGH[:4], (35, DOWN, MAINT), (45, MAINT, DOWN), (50, DOWN, UP)]
    store = await written(backend, changes, 60)
    (incident,) = await store.incidents(None, T0 + 47 * M, T0 + 60 * M)
    assert (incident.start, incident.end) == (T0 + 10 * M, T0 + 50 * M)
    assert incident.maintenance == ((T0 + 20 * M, T0 + 30 * M), (T0 + 35 * M, T0 + 45 * M))
    assert incident.in_maintenance(T0 + 60 * M) == pytest.approx(20 * M)
