"""The checklist on the admin view during the days before a watch period: read-only,
from the running monitor's own store and dead-man's switch, in both languages."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.alerting.deadman import DeadMan
from monitor.config import Config
from monitor.result import Event, Result, State
from monitor.store.registry import open_store
from tests.alertkit import free_port, receiver
from tests.preflight.kit import DAY, NOW, START, WATCH, Clock, local, write_config
from tests.web.conftest import FakeRuntime, make_app

TOKEN = "s3cr3t-admin-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CLOSED = free_port()


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)


@pytest.fixture
async def client_for() -> AsyncIterator[Any]:
    """`client_for(runtime, clock)`: the real app around the runtime, its time pinned."""
    clients: list[httpx.AsyncClient] = []

    def make(runtime: Any, clock: Clock) -> httpx.AsyncClient:
        app = make_app(runtime, clock)
        clients.append(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver"))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


def config_in(folder: Path, language: str = "id") -> Config:
    body = (
        f'[targets.web]\nurl = "https://127.0.0.1:{CLOSED}/"\nnotify = ["hook"]\n'
        f'[targets.api]\nurl = "http://127.0.0.1:{CLOSED}/api"\nnotify = ["hook"]\n'
        f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{CLOSED}/hook"\n'
    )
    return write_config(folder, body, language=language)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[FakeRuntime]:
    """The running monitor's parts: its real store with a week of history (api down now,
    web's certificate expiring in the middle of the period) and its dead-man's switch."""
    config = config_in(tmp_path)
    clock = Clock(NOW - 8 * DAY)
    store = open_store(config.settings, clock=clock)
    await store.open()
    for tid in ("web", "api"):
        store.add_event(Event(tid, NOW - 8 * DAY, State.UNKNOWN, State.UP, "ok"))
    store.add_event(Event("api", NOW - 600, State.UP, State.DOWN, "timeout", "no answer"))
    store.add_result("web", Result(True, started=NOW - 60, cert_expiry=START + 2 * DAY))
    await store.flush()
    clock.now = NOW
    runtime = FakeRuntime(config, store=store)
    yield runtime
    await store.close()


async def test_in_the_days_before_a_watch_the_admin_view_shows_its_checklist(client_for, running) -> None:
    response = await client_for(running, Clock()).get("/admin", headers=BEARER)
    assert response.status_code == 200
    html = response.text
    assert f"Kesiapan masa pemantauan: {WATCH}" in html
    assert f"{WATCH} dimulai {local(START):%Y-%m-%d %H:%M}" in html
    assert "2 masalah" in html  # api down, web's certificate
    assert "Sedang gangguan sejak" in html and "Sertifikat kedaluwarsa" in html
    assert html.index('id="preflight"') < html.index("<h2>Admin: semua layanan")  # first on the page
    english = (await client_for(running, Clock()).get("/admin?lang=en", headers=BEARER)).text
    assert "Readiness for the watch period" in english and "problems: 2" in english


async def test_the_admin_checklist_is_kept_a_few_minutes(client_for, running) -> None:
    clock = Clock()
    client = client_for(running, clock)
    await client.get("/admin", headers=BEARER)
    reads = running.store  # the real store: count its reads by wrapping one
    seen: list[str] = []
    original = reads.last_results

    async def counted() -> dict[str, Result]:
        seen.append("last_results")
        return await original()

    reads.last_results = counted
    await client.get("/admin", headers=BEARER)
    assert seen == []  # kept
    clock.now = NOW + 301
    await client.get("/admin", headers=BEARER)
    assert seen == ["last_results"]  # read again after ADMIN_REFRESH


async def test_outside_the_days_before_a_watch_there_is_no_checklist(client_for, running) -> None:
    for now in (START - 8 * DAY, START + 60):  # too early; already begun
        html = (await client_for(running, Clock(now)).get("/admin", headers=BEARER)).text
        assert 'id="preflight"' not in html and "Admin: semua layanan" in html


async def test_the_switch_of_the_running_monitor_is_judged_from_memory(client_for, running: Any) -> None:
    with receiver(status=503) as rec:
        url = rec.url + "/ping/5b1f-secret"
        running.config = dataclasses.replace(
            running.config, settings=dataclasses.replace(running.config.settings, heartbeat_url=url)
        )
        running.deadman = DeadMan(lambda: url, lambda: True, clock=Clock(NOW - 60))
        await running.deadman.tick()
        await running.deadman.aclose()
    html = (await client_for(running, Clock()).get("/admin?lang=en", headers=BEARER)).text
    assert "The last ping" in html and "HTTP 503 Service Unavailable" in html
    assert "5b1f-secret" not in html
