"""The status snapshot shared by the status page and `/api/v1/status`, kept fresh.

Reading the store for a thousand targets (uptime windows, 90 day bars, hourly latency)
costs far more than rendering, and a crowd refreshing the page during an outage must
not multiply it. So one snapshot serves every request for `SNAPSHOT_SECONDS`; after
that the next request gets the previous one at once while a single background task
reads a new one (stale-while-revalidate). A snapshot older than `STALE_LIMIT` is never
served: that request waits for the new one. The targets' states are never stale: they
are read again from the state machine whenever one has changed since the snapshot.
The settled day bars and hours are kept longer still (`monitor.web.settled`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from monitor.web.settled import Settled
from monitor.web.viewmodels import Runtime, Snapshot, clock, snapshot, with_live_states

log = logging.getLogger(__name__)

SNAPSHOT_SECONDS = 5.0
STALE_LIMIT = 60.0


async def current_snapshot(runtime: Runtime, state: Any) -> Snapshot:
    """The app's snapshot. `state.snapshot_seconds` overrides `SNAPSHOT_SECONDS`; 0 reads
    the store on every call (tests that change states between requests)."""
    now = clock(state)
    ttl = getattr(state, "snapshot_seconds", SNAPSHOT_SECONDS)
    if ttl <= 0:
        return await _refresh(runtime, state, now, cached=False)
    cached: Snapshot | None = getattr(state, "web_snapshot", None)
    if cached is None or not cached.now - ttl <= now < cached.now + STALE_LIMIT:
        # Every request waiting here shares one read; shielded, so a client that goes
        # away does not cancel it for the others.
        return await asyncio.shield(_refreshing(runtime, state, now))
    if now >= cached.now + ttl:
        _refreshing(runtime, state, now)
    live = with_live_states(cached, runtime)
    if live is not cached:
        # Kept, so the rendered page is reused until the next change of state.
        state.web_snapshot = live
    return live


def invalidate(state: Any) -> None:
    """Forget the snapshot after a write it shows (an incident update, a banner): the
    next request reads a new one, and a read under way that began before the write never
    replaces it (the newer snapshot wins)."""
    state.web_snapshot = None
    state.web_refresh = None


def _refreshing(runtime: Runtime, state: Any, now: float) -> asyncio.Task[Snapshot]:
    """The refresh under way, or a new one."""
    task: asyncio.Task[Snapshot] | None = getattr(state, "web_refresh", None)
    if task is None or task.done():
        task = asyncio.create_task(_refresh(runtime, state, now), name="status-snapshot")
        task.add_done_callback(_log_failure)
        state.web_refresh = task
    return task


def _log_failure(task: asyncio.Task[Snapshot]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("status snapshot failed", exc_info=task.exception())


async def _refresh(runtime: Runtime, state: Any, now: float, cached: bool = True) -> Snapshot:
    kept: Settled | None = None
    if cached:  # the settled days and hours kept between snapshots (`monitor.web.settled`)
        kept = getattr(state, "settled", None)
        if kept is None:
            kept = state.settled = Settled()
    fresh = await snapshot(runtime, now, kept)
    current: Snapshot | None = getattr(state, "web_snapshot", None)
    if current is None or current.now <= fresh.now:
        state.web_snapshot = fresh
    return fresh
