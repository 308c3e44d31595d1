"""The running store's health on the admin view's checklist: the real monitor's SQLite
store on a disk that fills at the SQLite layer (`tests.diskquota`), read through the
admin view, and on a damaged file (the store's background check and preflight's
integrity row agree); and that `monitor preflight`, another process, has no such row."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from monitor.preflight.checks import storage_health
from monitor.preflight.facts import Facts, History
from monitor.preflight.inside import inside_checklist, window_of
from monitor.preflight.model import Phrase, Status
from monitor.result import Reason, Result
from monitor.runtime import Monitor
from monitor.store import StoreHealth
from monitor.store.registry import open_store
from monitor.store.sqlite.store import database_path
from tests.alertkit import free_port
from tests.diskquota import install
from tests.preflight.kit import NOW, Clock, build, row, statuses, write_config
from tests.store.test_sqlite_integrity import damage, history
from tests.waiting import until
from tests.web.conftest import make_app

TOKEN = "s3cr3t-admin-token"
CLOSED = free_port()
BODY = (
    f'[targets.api]\nurl = "http://127.0.0.1:{CLOSED}/api"\nnotify = ["hook"]\n'
    f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{CLOSED}/hook"\n'
)


async def test_a_store_failing_its_writes_is_a_problem_on_the_admin_view_and_ok_once_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = install(monkeypatch)  # before the store opens: its connections live on this disk
    config = write_config(tmp_path, BODY)
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    running = Monitor(config, open_store(config.settings), alerting=True)
    await running.start()
    try:
        disk.full = True
        running.store.add_result("api", Result(False, reason=Reason.CONNECTION_REFUSED, started=time.time()))
        await until(lambda: not running.storage_health().ok, what="the store's writes failing")
        app = make_app(running, Clock())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitor") as client:
            response = await client.get("/admin", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert "Penulisan riwayat" in response.text and "disk penuh" in response.text
        window = window_of(config.watches[0])
        failing = row(await inside_checklist(running, window, NOW), "storage_health")
        assert (failing.status, failing.found.key) == (Status.PROBLEM, "preflight.store_health.failing")
        assert failing.found.values["problem"] == Phrase("alert.storage.disk_full")
        assert isinstance(failing.found.values["waiting"], int) and failing.found.values["waiting"] >= 1

        disk.full = False
        await until(lambda: running.storage_health().ok, what="what waited written")
        recovered = await inside_checklist(running, window, NOW)
        assert statuses(recovered, "storage_health") == [(Status.OK, (), "preflight.store_health.ok")]
    finally:
        await running.stop()


async def test_results_dropped_since_the_start_are_a_warning(tmp_path: Path) -> None:
    config = write_config(tmp_path, BODY)
    facts = Facts(
        config=config,
        window=window_of(config.watches[0]),
        now=NOW,
        history=History("here", available=True),
        storage=StoreHealth(dropped=1200),
        inside=True,
    )
    [dropped] = storage_health(facts)
    assert (dropped.status, dropped.found.key, dropped.found.values) == (
        Status.WARNING,
        "preflight.store_health.dropped",
        {"dropped": 1200},
    )


async def test_monitor_preflight_has_no_store_health_row(tmp_path: Path) -> None:
    assert statuses(await build(write_config(tmp_path, BODY)), "storage_health") == []


async def test_a_damaged_database_under_the_running_monitor_fails_its_health_and_its_integrity(tmp_path: Path) -> None:
    config = write_config(tmp_path, BODY)
    db = database_path(config.settings)
    db.parent.mkdir(parents=True, exist_ok=True)
    await history(db, results=5000)
    damage(db)
    running = Monitor(config, open_store(config.settings), alerting=True)
    await running.start()  # as a monitor run whose check at start ran out of its budget
    try:
        await until(lambda: not running.storage_health().ok, what="the background check's finding")
        checklist = await inside_checklist(running, window_of(config.watches[0]), NOW)
    finally:
        await running.stop()
    health = row(checklist, "storage_health")
    assert (health.status, health.found.values["problem"]) == (Status.PROBLEM, Phrase("alert.storage.corrupt"))
    damaged = row(checklist, "integrity")  # the same backend check, run to its end
    assert (damaged.status, damaged.found.key) == (Status.PROBLEM, "preflight.integrity.failed")
