"""The status snapshot's settled history, kept between snapshots.

Ninety day bars and 24 hourly latency points for every public target are most of what a
status snapshot reads from the store (ninety windows of each target's events swept, 24
hourly rollups with their histograms decoded): at 1,000 targets those two reads were
most of the snapshot, and a crowd on `/` repeats the snapshot every few seconds
(`monitor.web.cache`). Days and hours that have ended do not change while the monitor
runs, so `Settled` reads all of them only now and then and, for every snapshot in
between, only what can still change:

- the day bars of today and yesterday (`RECENT_DAYS`): an incident is dated from its
  streak's first failure, which a threshold of failures later may lie before midnight;
  the rollups of this hour and the one before (the writer flushes each second);
- everything again every `KEEP_SECONDS`, on a new local day or hour, in another zone,
  with other targets or another number of days: so a write that lands later about an
  earlier time (a local spool replayed after a database outage) shows within
  `KEEP_SECONDS`.

The figures are the store's own (`HistoryReader.daily` and `rollups`): the cache only
decides how much of the recent past to ask for.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import datetime, tzinfo
from typing import Protocol

from monitor.store import DayUptime, Rollup

RECENT_DAYS = 2
KEEP_SECONDS = 600.0
HOUR = 3600.0
DAY = 86400.0


class SettledReader(Protocol):
    """The reads the cache makes (`HistoryReader`'s)."""

    async def daily(
        self, target_ids: Collection[str] | None, days: int, zone: tzinfo, now: float
    ) -> dict[str, list[DayUptime]]: ...

    async def rollups(
        self, target_ids: Collection[str] | None, start: float, end: float
    ) -> dict[str, list[Rollup]]: ...


class Settled:
    """The snapshot's day bars and last day's hourly rollups; see the module doc."""

    def __init__(self, keep: float = KEEP_SECONDS) -> None:
        self.keep = keep
        self._days_key: tuple[object, ...] | None = None
        self._days_at = -math.inf
        self._days: dict[str, list[DayUptime]] = {}
        self._hours_key: tuple[object, ...] | None = None
        self._hours_at = -math.inf
        self._hours: dict[str, list[Rollup]] = {}

    def _stale(self, at: float, now: float) -> bool:
        return not 0 <= now - at < self.keep

    async def daily(
        self, store: SettledReader, ids: Sequence[str], days: int, zone: tzinfo, now: float
    ) -> dict[str, list[DayUptime]]:
        """`store.daily(ids, days, zone, now)`, the settled days from the last full read."""
        key = (tuple(ids), days, zone, datetime.fromtimestamp(now, zone).date())
        recent = min(RECENT_DAYS, days)
        if key != self._days_key or self._stale(self._days_at, now) or recent == days:
            self._days = await store.daily(ids, days, zone, now)
            self._days_key, self._days_at = key, now
            return self._days
        fresh = await store.daily(ids, recent, zone, now)
        for tid, bars in self._days.items():
            new = fresh.get(tid)
            if new:  # the snapshot holds tuples made of these lists: replacing in place is safe
                bars[-len(new) :] = new
        return self._days

    async def last_day(self, store: SettledReader, ids: Sequence[str], now: float) -> dict[str, list[Rollup]]:
        """`store.rollups(ids, now - DAY, now)`, the settled hours from the last full read."""
        key = (tuple(ids), now // HOUR)
        if key != self._hours_key or self._stale(self._hours_at, now):
            self._hours = await store.rollups(ids, now - DAY, now)
            self._hours_key, self._hours_at = key, now
            return self._hours
        since = (now // HOUR - 1) * HOUR
        fresh = await store.rollups(ids, since, now)
        self._hours = {
            tid: [*(r for r in self._hours.get(tid, ()) if r.start < since), *fresh.get(tid, ())] for tid in ids
        }
        return self._hours
