"""The status snapshot's settled history: the store's own day bars and hourly rollups,
with only the days and hours that can still change read for each snapshot in between."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import tzinfo
from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.store import DayUptime, Rollup, Store
from monitor.store.registry import open_store
from monitor.web.settled import KEEP_SECONDS, Settled
from tests.history import END, T0, ZONE, H, build

IDS = ["web", "mail"]


class Counting:
    """The real store, with the number of days of each `daily` read written down."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.asked: list[int] = []
        self.hours: list[float] = []

    async def daily(
        self, target_ids: Collection[str] | None, days: int, zone: tzinfo, now: float
    ) -> dict[str, list[DayUptime]]:
        self.asked.append(days)
        return await self.store.daily(target_ids, days, zone, now)

    async def rollups(self, target_ids: Collection[str] | None, start: float, end: float) -> dict[str, list[Rollup]]:
        self.hours.append(end - start)
        return await self.store.rollups(target_ids, start, end)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A day of two targets' history (`tests.history`) in a real SQLite store."""
    settings = Settings(data_dir=tmp_path, store="sqlite")
    clock = await build(settings)
    opened = open_store(settings, observe=False, clock=clock)
    await opened.open()
    yield opened
    await opened.close()


async def test_it_gives_the_stores_bars_while_reading_only_the_last_two_days(store: Store) -> None:
    reader, cache = Counting(store), Settled()
    first = await cache.daily(reader, IDS, 5, ZONE, END - 2 * H)
    later = await cache.daily(reader, IDS, 5, ZONE, END - 2 * H + 60)
    assert reader.asked == [5, 2]
    assert first == await store.daily(IDS, 5, ZONE, END - 2 * H)
    assert later == await store.daily(IDS, 5, ZONE, END - 2 * H + 60)
    assert [d.day.isoformat() for d in later["web"]] == [
        "2018-06-07",
        "2018-06-08",
        "2018-06-09",
        "2018-06-10",
        "2018-06-11",
    ]


async def test_it_reads_every_bar_again_after_a_while_on_a_new_day_and_for_other_targets(store: Store) -> None:
    reader, cache = Counting(store), Settled()
    now = END - 3 * H
    await cache.daily(reader, IDS, 5, ZONE, now)
    await cache.daily(reader, IDS, 5, ZONE, now + KEEP_SECONDS)
    await cache.daily(reader, IDS, 5, ZONE, END + H)  # the next local day
    await cache.daily(reader, ["web"], 5, ZONE, END + H)
    await cache.daily(reader, ["web"], 6, ZONE, END + H)
    assert reader.asked == [5, 5, 5, 5, 6]


async def test_it_reads_everything_when_the_clock_goes_back_or_the_bars_are_few(store: Store) -> None:
    reader, cache = Counting(store), Settled()
    await cache.daily(reader, IDS, 5, ZONE, END - H)
    await cache.daily(reader, IDS, 5, ZONE, END - H - 60)  # a clock set back
    await cache.daily(reader, IDS, 2, ZONE, END - H)
    await cache.daily(reader, IDS, 2, ZONE, END - H + 60)
    assert reader.asked == [5, 5, 2, 2]


async def test_it_gives_the_stores_hours_while_reading_only_this_hour_and_the_last(store: Store) -> None:
    reader, cache = Counting(store), Settled()
    now = T0 + 20 * H + 600  # a day of rollups behind, 20 of them written
    first = await cache.last_day(reader, IDS, now)
    later = await cache.last_day(reader, IDS, now + 60)
    assert first == await store.rollups(IDS, now - 24 * H, now)
    assert later == await store.rollups(IDS, now + 60 - 24 * H, now + 60)
    assert len(later["web"]) >= 18
    assert reader.hours == [24 * H, H + 660]


async def test_it_reads_the_whole_day_of_hours_again_in_a_new_hour_or_after_a_while(store: Store) -> None:
    reader, cache = Counting(store), Settled()
    now = T0 + 20 * H + 600
    await cache.last_day(reader, IDS, now)
    await cache.last_day(reader, IDS, now + KEEP_SECONDS)
    await cache.last_day(reader, IDS, now + H)
    await cache.last_day(reader, ["web"], now + H)
    assert reader.hours == [24 * H] * 4
