"""No alert lost to storage trouble, none sent twice: alerts the outbox refuses are held in
memory and delivered from there, in order, and recorded as delivered once the disk takes
writes again; the storage itself is announced failing and recovered; `/readyz` says why
it is not ready. The disk fills at the SQLite layer (`tests.diskquota`), so this runs
anywhere; `test_full_filesystem.py` does the same on a real tiny file system."""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from monitor.alerting.dispatcher import Dispatcher
from monitor.alerting.fallback import FallbackOutbox
from monitor.alerting.service import Alerting
from monitor.config import Config
from monitor.notifiers.base import Alert
from monitor.probes import PROBES, ProbeContext, ProbeKind
from monitor.result import Event, Reason, Result, State
from monitor.runtime import Monitor
from monitor.store import DELIVERED
from monitor.store.sqlite.outbox import SQLiteOutbox
from monitor.store.sqlite.store import SQLiteStore
from monitor.web import create_app
from tests.alertkit import receiver, target, webhook_config
from tests.diskquota import Disk, install
from tests.waiting import until


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    return install(monkeypatch)


def rows(db: Path) -> list[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT alert_id, notifier, status FROM outbox ORDER BY seq").fetchall()


def events_of(rec_requests: list) -> list[str]:  # type: ignore[type-arg]
    return [r.json()["event"] for r in rec_requests]


async def test_alerts_the_outbox_refuses_are_delivered_from_memory_in_order_and_recorded_later(
    tmp_path: Path, disk: Disk
) -> None:
    db = tmp_path / "monitor.db"
    with receiver() as rec:
        config = webhook_config(rec.url + "/hook")
        alerting = Alerting(config, outbox=SQLiteOutbox(db), backoff_base=0.01)
        web = config.targets["web"]
        await alerting.start()
        try:
            disk.full = True
            alerting.on_event(Event("web", 1000.0, State.UP, State.DOWN, "timeout"), web)
            await until(lambda: len(rec.accepted()) == 1, what="the down delivered from memory")
            await alerting.tick()  # the outbox failed: the storage is announced as failing
            await until(lambda: len(rec.accepted()) == 2, what="the storage alert")
            alerting.on_event(Event("web", 1100.0, State.DOWN, State.UP, "ok"), web)
            await until(lambda: len(rec.accepted()) == 3, what="the up delivered from memory")
            assert rows(db) == []  # nothing reached the disk
            assert not alerting.outbox.health().ok

            disk.full = False
            await alerting.tick()  # writes what was held, then announces the recovery
            # The receiver has it before the dispatcher records the answer: await both.
            await until(
                lambda: len(rec.accepted()) == 4 and alerting.queue_sizes() == {"hook": 0},
                what="the recovery delivered and recorded",
            )
            await alerting.tick()
            assert alerting.queue_sizes() == {"hook": 0}  # nothing left to send again
        finally:
            await alerting.stop()
    assert events_of(rec.requests) == ["down", "storage_failing", "up", "storage_recovered"]
    failing = rec.requests[1].json()
    assert failing["reason"] == "disk full" and failing["target"]["id"] == "monitor"
    stored = rows(db)
    assert [(alert_id.split(":")[1], status) for alert_id, _, status in stored] == [
        ("down", DELIVERED),
        ("storage_failing", DELIVERED),
        ("up", DELIVERED),
        ("storage_recovered", DELIVERED),
    ]
    again = SQLiteOutbox(db)
    again.open()
    try:  # what was held is remembered like the rest: offered again, it is dropped
        assert again.known(stored[0][0]) == {"hook"}
        assert again.enqueue(down_alert(stored[0][0]), ["hook"]) == []
    finally:
        again.close()


class FillsTheDisk:
    """A notifier whose delivery succeeds just as the disk fills up."""

    def __init__(self, disk: Disk) -> None:
        self.disk, self.sent = disk, []  # type: ignore[var-annotated]

    async def send(self, alert: Alert) -> None:
        self.sent.append(alert.id)
        self.disk.full = True


def down_alert(ident: str = "web:down:1") -> Alert:
    return Alert(
        id=ident, kind="down", target="web", name="Website", group="", old="UP", new="DOWN", reason="x", at=1.0
    )


async def test_a_delivery_the_outbox_cannot_record_is_not_sent_again(tmp_path: Path, disk: Disk) -> None:
    inner = SQLiteOutbox(tmp_path / "monitor.db")
    box = FallbackOutbox(inner)
    box.open()
    notifier = FillsTheDisk(disk)
    worker = Dispatcher(box, {"hook": notifier}, base=0.01)
    box.enqueue(down_alert("web:down:1"), ["hook"])
    box.enqueue(down_alert("web:down:2"), ["hook"])
    await worker.start()
    try:
        worker.wake()
        await until(lambda: notifier.sent == ["web:down:1", "web:down:2"], what="both sent")
        assert box.head("hook") is None  # the worker finds nothing to send again
        assert [s for _, _, s in rows(tmp_path / "monitor.db")] == ["pending", "pending"]
        disk.full = False
        await until(box.sync, what="the outcomes written")
    finally:
        await worker.stop()
        box.close()
    assert [s for _, _, s in rows(tmp_path / "monitor.db")] == [DELIVERED, DELIVERED]


class Switch:
    """A probe kind whose outcome the test flips."""

    def __init__(self) -> None:
        self.ok = True

    async def probe(self, target: object, ctx: ProbeContext) -> Result:
        if self.ok:
            return Result(True, duration=0.001, started=time.time())
        return Result(False, Reason.CONNECTION_REFUSED, "refused", started=time.time())


@pytest.fixture
def switch(monkeypatch: pytest.MonkeyPatch) -> Switch:
    fake = Switch()
    monkeypatch.setitem(PROBES, "fake", ProbeKind("fake", (), lambda t, u: None, fake.probe))
    return fake


def fake_config(url: str, data_dir: Path) -> Config:
    config = webhook_config(url, data_dir=data_dir)
    web = target("web", "Website", ("hook",), interval=0.1, timeout=0.1, failure_threshold=2, success_threshold=2)
    return dataclasses.replace(config, targets={"web": dataclasses.replace(web, kind="fake")})


@pytest.fixture
async def running(
    tmp_path: Path, switch: Switch, disk: Disk
) -> AsyncIterator[tuple[Monitor, httpx.AsyncClient, object]]:
    with receiver() as rec:
        store = SQLiteStore(tmp_path / "monitor.db", flush_interval=0.05)
        monitor = Monitor(fake_config(rec.url + "/hook", tmp_path), store, alerting=True)
        await monitor.start()
        app = create_app(monitor)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitor") as client:
            try:
                yield monitor, client, rec
            finally:
                await monitor.stop()


async def test_an_outage_during_a_full_disk_is_alerted_shown_unready_and_stored_once_space_returns(
    running: tuple[Monitor, httpx.AsyncClient, object], switch: Switch, disk: Disk
) -> None:
    monitor, client, rec = running
    assert monitor.alerting is not None
    assert (await client.get("/readyz")).status_code == 200
    await until(lambda: monitor.states.status("web").state == State.UP, what="web UP")
    disk.full = True
    await until(lambda: not monitor.store.health().ok, what="the history's writes fail")
    switch.ok = False
    await until(lambda: events_of(rec.accepted()) == ["down"], what="the down delivered")  # type: ignore[attr-defined]
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["store_writable"] is False
    assert ready.json()["problems"][0].startswith("store: disk full")
    await monitor.alerting.tick()
    await until(lambda: len(rec.accepted()) == 2, what="the storage alert")  # type: ignore[attr-defined]
    switch.ok = True
    await until(lambda: len(rec.accepted()) == 3, what="the up delivered")  # type: ignore[attr-defined]

    disk.full = False
    await until(lambda: monitor.store.health().ok, what="the history written")
    await monitor.alerting.tick()
    await until(lambda: len(rec.accepted()) == 4, what="the recovery")  # type: ignore[attr-defined]
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()["problems"]) == (200, [])
    assert events_of(rec.accepted()) == ["down", "storage_failing", "up", "storage_recovered"]  # type: ignore[attr-defined]
    down_at = rec.accepted()[0].json()["since"]  # type: ignore[attr-defined]
    found = (await client.get("/api/v1/incidents", params={"since": "2020-01-01T00:00:00Z"})).json()["incidents"]
    assert [(i["target"]["id"], i["start"][:23], i["ongoing"]) for i in found] == [("web", down_at[:23], False)]


async def test_a_stop_while_the_disk_is_full_writes_what_it_can_and_says_what_is_lost(
    tmp_path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    box = FallbackOutbox(SQLiteOutbox(tmp_path / "monitor.db"))
    box.open()
    disk.full = True
    assert box.enqueue(down_alert("web:down:1"), ["hook"]) == ["hook"]  # held
    box.close()
    assert "alerts held in memory are lost at the stop" in caplog.text
    box = FallbackOutbox(SQLiteOutbox(tmp_path / "monitor.db"))
    box.open()
    disk.full = True
    box.enqueue(down_alert("web:down:2"), ["hook"])
    disk.full = False  # space returned just before the stop: written, not lost
    caplog.clear()
    box.close()
    assert "lost" not in caplog.text
    assert rows(tmp_path / "monitor.db") == [("web:down:2", "hook", "pending")]
