"""Fixtures for the web tests: a configuration built in code, live states, a store, and
the app around them.

The store is the shared `tests.fakestore.MemoryStore`, answering with the records a test
puts in it (the web layer's job is to show them, not to compute them); `day_runtime` has
the real SQLite store with the hand-computed day of `tests/history.py`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from monitor.config import Config, Maintenance, Settings, Target, Watch
from monitor.connectivity import Connectivity
from monitor.result import Event, Result, State
from monitor.state import StateMachine
from monitor.store import DayUptime, Rollup, Uptime
from monitor.store.registry import open_store
from monitor.web import create_app
from tests.fakestore import MemoryStore

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
class FakeRuntime:
    config: Config
    states: StateMachine = field(default_factory=StateMachine)
    store: Any = field(default_factory=MemoryStore)
    clock: Any = None  # pinned time for the app (`make_app(runtime, runtime.clock)`)
    alerting: Any = None  # as `Monitor` without alerting
    deadman: Any = None
    last_reload: Any = None
    connectivity: Connectivity = field(default_factory=Connectivity)  # off: no checks
    incident_listeners: list[Any] = field(default_factory=list)


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
    runtime.states.version += 1  # as the state machine counts a change


def cut_off(runtime: FakeRuntime, since: float, *checks: Target) -> None:
    """Give the runtime these connectivity checks and make every one fail twice from
    `since` (the monitor itself offline); `checks` default to one DNS check."""
    checks = checks or (Target(id="dns-1", name="dns-1", kind="dns", url="dns://192.0.2.53/example.com", spec=None),)
    settings = dataclasses.replace(runtime.config.settings, connectivity=checks)
    runtime.config = dataclasses.replace(runtime.config, settings=settings)
    runtime.connectivity = Connectivity(checks, clock=lambda: since + 20)
    for check in checks:
        for at in (since, since + 15):
            runtime.connectivity.observe(check.id, Result(False, "timeout", "no answer within 5s", started=at))
    assert runtime.connectivity.offline


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
    store: MemoryStore = runtime.store
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
    from tests import history as h

    settings = Settings(data_dir=tmp_path)
    clock = await h.build(settings)
    store = open_store(settings, clock=clock)
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


@pytest.fixture
async def through_maintenance(tmp_path: Path) -> AsyncIterator[FakeRuntime]:
    """The real SQLite store holding "web"'s outage that went into maintenance: DOWN at
    now - 3 h (timeout), in maintenance from now - 2 h to now - 1 h, still DOWN after it,
    back UP at now - 30 min; and "mail" DOWN since now - 2 h, in maintenance since
    now - 1 h (its live state). The app's clock is `through_maintenance.clock`."""
    now = float(int(time.time()))
    hour = 3600.0
    store = open_store(Settings(data_dir=tmp_path), clock=lambda: now)
    await store.open()
    changes = [
        ("web", -4 * hour, State.UNKNOWN, State.UP),
        ("web", -3 * hour, State.UP, State.DOWN),
        ("web", -2 * hour, State.DOWN, State.MAINTENANCE),
        ("web", -1 * hour, State.MAINTENANCE, State.DOWN),
        ("web", -0.5 * hour, State.DOWN, State.UP),
        ("mail", -4 * hour, State.UNKNOWN, State.UP),
        ("mail", -2 * hour, State.UP, State.DOWN),
        ("mail", -1 * hour, State.DOWN, State.MAINTENANCE),
    ]
    for tid, back, old, new in changes:
        reason = {State.DOWN: "timeout", State.MAINTENANCE: "maintenance"}.get(new, "ok")
        store.add_event(Event(tid, now + back, old, new, reason))
    await store.flush()
    config = make_config([target("web", "Website Pemkab"), target("mail", "Server surel", group="Server jaringan")])
    runtime = FakeRuntime(config, store=store, clock=lambda: now)
    set_state(runtime, "web", State.UP, now - 0.5 * hour)
    set_state(runtime, "mail", State.MAINTENANCE, now - hour, "maintenance")
    yield runtime
    await store.close()
