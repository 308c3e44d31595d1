"""Fixtures for the web tests: a configuration built in code, live states, an in-memory
store answering the read side of `monitor.store.Store`, and the app around them.

The store is a stand-in for the SQLite store that answers with the records a test puts
in it (the web layer's job is to show them, not to compute them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from monitor.config import Config, Maintenance, Settings, Target, Watch
from monitor.result import Event, Result, State
from monitor.state import StateMachine
from monitor.store import (
    DayUptime,
    Note,
    Period,
    PlannedMaintenance,
    Rollup,
    StoredResult,
    Uptime,
)
from monitor.web import create_app

DAY = 86400.0


def target(tid: str, name: str | None = None, group: str = "Layanan publik", **kw: Any) -> Target:
    kw.setdefault("kind", "http")
    kw.setdefault("url", f"https://{tid}.example.go.id/")
    return Target(id=tid, name=name or tid.title(), spec=kw.pop("spec", None), group=group, **kw)


def make_config(
    targets: Sequence[Target],
    *,
    language: str = "en",
    timezone: str = "Asia/Jakarta",
    title: str = "Status Layanan",
    watches: Sequence[Watch] = (),
    maintenance: Sequence[Maintenance] = (),
) -> Config:
    settings = Settings(title=title, language=language, timezone=timezone)
    return Config(
        path=Path("targets.toml"),
        settings=settings,
        targets={t.id: t for t in targets},
        watches=tuple(watches),
        maintenance=tuple(maintenance),
    )


@dataclass
class FakeStore:
    """The read side of the store, answering from what the test put in."""

    uptimes: dict[str, Uptime] = field(default_factory=dict)  # per target, any window
    days: dict[str, list[DayUptime]] = field(default_factory=dict)
    hourly: dict[str, list[Rollup]] = field(default_factory=dict)
    down: list[Period] = field(default_factory=list)
    changes: list[Event] = field(default_factory=list)
    raw: list[StoredResult] = field(default_factory=list)
    notes_: list[Note] = field(default_factory=list)
    planned: list[PlannedMaintenance] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def _ids(self, ids: Collection[str] | None, have: Collection[str]) -> list[str]:
        return list(have if ids is None else [i for i in ids if i in have])

    async def uptime(self, ids: Collection[str] | None, start: float, end: float) -> dict[str, Uptime]:
        self.calls.append("uptime")
        return {i: self.uptimes[i] for i in self._ids(ids, self.uptimes)}

    async def daily(
        self, ids: Collection[str] | None, days: int, zone: tzinfo, now: float
    ) -> dict[str, list[DayUptime]]:
        self.calls.append("daily")
        return {i: self.days[i][-days:] for i in self._ids(ids, self.days)}

    async def rollups(self, ids: Collection[str] | None, start: float, end: float) -> dict[str, list[Rollup]]:
        self.calls.append("rollups")
        return {i: [r for r in self.hourly[i] if start <= r.start < end] for i in self._ids(ids, self.hourly)}

    async def series(self, tid: str, start: float, end: float, points: int = 300) -> list[Rollup]:
        return [r for r in self.hourly.get(tid, []) if start <= r.start < end][:points]

    async def incidents(
        self, ids: Collection[str] | None, start: float, end: float, limit: int | None = None
    ) -> list[Period]:
        found = [
            p
            for p in self.down
            if (ids is None or p.target in ids) and p.start < end and (p.end is None or p.end > start)
        ]
        found.sort(key=lambda p: p.start, reverse=True)
        return found[:limit]

    async def events(
        self, ids: Collection[str] | None, start: float, end: float, limit: int | None = None
    ) -> list[Event]:
        found = [e for e in self.changes if (ids is None or e.target in ids) and start <= e.at < end]
        found.sort(key=lambda e: e.at, reverse=True)
        return found[:limit]

    async def results(self, tid: str, start: float, end: float, limit: int | None = None) -> list[StoredResult]:
        return [r for r in self.raw if r.target == tid and start <= r.at < end][:limit]

    async def notes(self, ids: Collection[str] | None, start: float, end: float) -> list[Note]:
        return [n for n in self.notes_ if (ids is None or n.target in ids) and start <= n.at < end]

    async def add_note(self, tid: str, at: float, text: str, author: str = "") -> Note:
        note = Note(len(self.notes_) + 1, tid, at, text, author)
        self.notes_.append(note)
        return note

    async def planned_maintenance(self, since: float) -> list[PlannedMaintenance]:
        return [p for p in self.planned if p.end > since]

    async def add_maintenance(
        self,
        start: float,
        end: float,
        targets: Sequence[str] = (),
        groups: Sequence[str] = (),
        reason: str = "",
    ) -> PlannedMaintenance:
        window = PlannedMaintenance(len(self.planned) + 1, start, end, tuple(targets), tuple(groups), reason)
        self.planned.append(window)
        return window

    async def remove_maintenance(self, window_id: int) -> bool:
        before = len(self.planned)
        self.planned = [p for p in self.planned if p.id != window_id]
        return len(self.planned) < before


@dataclass
class FakeRuntime:
    config: Config
    states: StateMachine = field(default_factory=StateMachine)
    store: Any = field(default_factory=FakeStore)
    clock: Any = None  # pinned time for the app (`make_app(runtime, runtime.clock)`)
    alerting: Any = None  # as `Monitor` without alerting
    deadman: Any = None
    last_reload: Any = None


def make_app(runtime: Any, clock: Any = None, snapshot_seconds: float = 0) -> Starlette:
    """The real app factory around a runtime; by default no snapshot cache (tests change
    states between requests); `clock` pins the time."""
    app = create_app(runtime)
    app.state.snapshot_seconds = snapshot_seconds
    if clock is not None:
        app.state.clock = clock
    return app


class AppClient(httpx.AsyncClient):
    """An HTTP client calling `app` in process."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        self.app = app


@pytest.fixture
async def client_for() -> AsyncIterator[Any]:
    clients: list[AppClient] = []

    def make(runtime: Any, clock: Any = None, snapshot_seconds: float = 0) -> AppClient:
        client = AppClient(make_app(runtime, clock, snapshot_seconds))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def set_state(
    runtime: FakeRuntime,
    tid: str,
    state: State,
    since: float,
    reason: str = "",
    detail: str = "",
    last: Result | None = None,
) -> None:
    status = runtime.states.status(tid)
    status.state = status.underlying = state
    status.since, status.reason, status.detail = since, reason, detail
    status.last = last


def history(
    runtime: FakeRuntime,
    tid: str,
    now: float,
    *,
    ratio: float = 1.0,
    days: int = 90,
    down_day: int | None = None,
    down_seconds: float = 0.0,
) -> None:
    """Give a target uptime figures, `days` day bars (one with downtime) and 24 hourly rollups.
    The bars are local days of the configuration's zone, as the real store's are."""
    store: FakeStore = runtime.store
    observed = 30 * DAY
    store.uptimes[tid] = Uptime(tid, now - observed, now, observed=observed, down=observed * (1 - ratio))
    today = datetime.fromtimestamp(now, runtime.config.settings.zone).date()
    bars = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        down = down_seconds if back == down_day else 0.0
        bars.append(DayUptime(day, Uptime(tid, 0.0, DAY, observed=DAY, down=down)))
    store.days[tid] = bars
    store.hourly[tid] = [
        Rollup(
            tid,
            now - (24 - h) * 3600 + 1,
            now - (23 - h) * 3600,
            count=120,
            latency_count=120,
            latency_sum=120 * (0.1 + h / 100),
            latency_min=0.05,
            latency_max=0.3 + h / 50,
        )
        for h in range(24)
    ]


@pytest.fixture
async def day_runtime(tmp_path: Path) -> AsyncIterator[FakeRuntime]:
    """The hand-computed day of tests/history.py in the real SQLite store, with the live
    states it ends in; the app's clock is `day_runtime.clock` (the end of that day)."""
    from monitor.store.sqlite.store import SQLiteStore
    from tests import history as h

    clock = await h.build(tmp_path / "monitor.db")
    store = SQLiteStore(tmp_path / "monitor.db", clock=clock)
    await store.open()
    config = make_config([target("web", "Website Pemkab"), target("mail", "Server surel", group="Server jaringan")])
    runtime = FakeRuntime(config, store=store)
    set_state(runtime, "web", State.UP, h.T0 + 13 * h.H, last=Result(True, duration=0.1, started=h.END - 300))
    set_state(
        runtime,
        "mail",
        State.DOWN,
        h.T0 + 22 * h.H,
        "dns_error",
        "NXDOMAIN",
        Result(False, "dns_error", "NXDOMAIN", 0.05, h.END - 300),
    )
    runtime.clock = clock
    yield runtime
    await store.close()
