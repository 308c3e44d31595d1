"""What the locations sharing a store tell each other, on every backend: each
location's sign of life and its state of each target, replaced by the next word; the
locations that saw a change kept with its event; results kept with their location."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import replace

import psycopg

from monitor.result import Event, Result, State
from monitor.store import LocationSeen, LocationState
from tests.history import END, T0
from tests.store.conftest import StoreFactory


async def test_it_keeps_each_locations_word_and_replaces_it_with_the_next(backend: StoreFactory) -> None:
    store = await backend.open()
    down = LocationState("web", "sampit", State.DOWN, T0, T0 + 20, "timeout", "no answer within 5s", None)
    await store.publish_location(LocationSeen("sampit", T0 + 20, 10.0), [down])
    up = LocationState("web", "jakarta", State.UP, T0 - 60, T0 + 25, "ok", "", 0.042)
    await store.publish_location(LocationSeen("jakarta", T0 + 25, 30.0, offline=True), [up])
    assert await store.locations_seen() == [
        LocationSeen("jakarta", T0 + 25, 30.0, offline=True),
        LocationSeen("sampit", T0 + 20, 10.0),
    ]
    assert (await store.location_changes()).states == (replace(up, offline=True), down)

    back = replace(down, state=State.UP, since=T0 + 30, at=T0 + 30, reason="ok", detail="", latency=0.1)
    await store.publish_location(LocationSeen("sampit", T0 + 30, 10.0), [back])
    assert (await store.location_changes()).states == (replace(up, offline=True), back)
    assert (await store.locations_seen())[1] == LocationSeen("sampit", T0 + 30, 10.0)


async def test_it_reads_an_upsert_once_and_an_unchanged_row_never_again(backend: StoreFactory) -> None:
    store = await backend.open()
    web = LocationState("web", "sampit", State.UP, T0, T0 + 10, "ok", "", 0.02)
    api = LocationState("api", "sampit", State.UP, T0, T0 + 10, "ok", "", 0.03)
    await store.publish_location(LocationSeen("sampit", T0 + 10, 10.0), [web, api])
    first = await store.location_changes(0)
    assert first.states == (api, web) and first.newest > 0

    down = replace(web, state=State.DOWN, since=T0 + 20, at=T0 + 20, reason="timeout", latency=None)
    await store.publish_location(LocationSeen("sampit", T0 + 20, 10.0), [down])
    second = await store.location_changes(first.newest)
    assert second.states == (down,) and second.newest > first.newest

    await store.publish_location(LocationSeen("sampit", T0 + 30, 10.0), [])  # a word, no row
    third = await store.location_changes(second.newest)
    assert third.states == () and third.newest == second.newest


async def test_it_reads_every_row_again_from_zero(backend: StoreFactory) -> None:
    store = await backend.open()
    web = LocationState("web", "sampit", State.UP, T0, T0 + 10, "ok", "", 0.02)
    api = LocationState("api", "jakarta", State.DEGRADED, T0, T0 + 10, "slow", "1.2 s", 1.2)
    await store.publish_location(LocationSeen("sampit", T0 + 10, 10.0), [web])
    await store.publish_location(LocationSeen("jakarta", T0 + 10, 10.0), [api])
    newest = (await store.location_changes(0)).newest
    assert (await store.location_changes(newest)).states == ()
    again = await store.location_changes(0)
    assert again.states == (api, web) and again.newest == newest


async def test_it_numbers_each_publication_above_every_earlier_one(backend: StoreFactory) -> None:
    store = await backend.open()
    marks: list[int] = []
    for n in range(3):
        row = LocationState("web", "sampit", State.UP, T0, T0 + n, "ok", "", 0.01 * (n + 1))
        await store.publish_location(LocationSeen("sampit", T0 + n, 10.0), [row])
        marks.append((await store.location_changes(marks[-1] if marks else 0)).newest)
    assert marks == sorted(set(marks))


async def test_it_keeps_the_locations_that_saw_a_change_with_its_event(backend: StoreFactory) -> None:
    store = await backend.open()
    event = Event("web", T0, State.UP, State.DOWN, "timeout", "2 of 3 locations", ("jakarta", "sampit"))
    store.add_event(event)
    store.add_event(Event("web", T0 + 60, State.DOWN, State.UP, "ok"))
    await store.flush()
    assert await store.events(["web"], T0, END) == [Event("web", T0 + 60, State.DOWN, State.UP, "ok"), event]
    assert (await store.last_events())["web"].locations == ()


async def test_it_stores_results_with_its_location_and_reads_them_back(backend: StoreFactory) -> None:
    backend.settings = replace(backend.settings, location="sampit")
    store = await backend.open()
    store.add_result("web", Result(False, "timeout", "no answer", 5.0, T0))
    await store.flush()
    assert [r.at for r in await store.results("web", T0, END)] == [T0]
    assert stored_locations(backend) == ["sampit"]


def stored_locations(backend: StoreFactory) -> list[str]:
    """The location of every raw result, read with the backend's own client."""
    if backend.settings.store == "sqlite":
        with contextlib.closing(sqlite3.connect(backend.settings.data_dir / "monitor.db")) as db:
            return [name for (name,) in db.execute("SELECT location FROM results")]
    with psycopg.connect(backend.settings.store) as conn:
        rows = conn.execute("SELECT l.name FROM results r JOIN locations l ON l.key = r.location").fetchall()
        return [str(name) for (name,) in rows]
