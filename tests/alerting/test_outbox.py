"""The dispatcher on the durable outbox: nothing queued is lost, nothing is sent twice,
a permanent error is recorded and not retried. The outbox's own contract is tested on
every store backend in tests/store/test_outbox.py."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from monitor.alerting import dispatcher
from monitor.alerting.dispatcher import Dispatcher
from monitor.alerting.service import Alerting
from monitor.errors import StoreError, TransientNotifyError
from monitor.notifiers.base import Alert
from monitor.result import Event, State
from monitor.store.sqlite.outbox import SQLiteOutbox
from tests.alertkit import Clock, WatchedOutbox, alert, free_port, receiver, webhook_config
from tests.waiting import until, wait_for

ROOT = Path(__file__).resolve().parents[2]


class Sink:
    """Stands in for the metrics collector's notification numbers."""

    def __init__(self) -> None:
        self.notification_queue: dict[str, int] = {}
        self.outcomes: list[tuple[str, bool]] = []

    def notified(self, notifier: str, ok: bool) -> None:
        self.outcomes.append((notifier, ok))


async def test_a_permanent_error_is_recorded_and_never_retried(tmp_path: Path) -> None:
    with receiver(status=404) as rec:
        sink = Sink()
        box = WatchedOutbox(tmp_path / "m.db")
        alerting = Alerting(webhook_config(rec.url + "/gone"), outbox=box, backoff_base=0.01, metrics=sink)
        await alerting.start()
        try:
            alerting.on_event(
                Event("web", time.time(), State.UP, State.DOWN, "timeout"), alerting.config.targets["web"]
            )
            await until(lambda: alerting.failed() and box.idle("hook"), what="the 404 failed and the worker idle")
            assert box.looks["hook"][-1] is None  # no retry waits for its time
            failed = alerting.failed()
            assert [(e.notifier, e.alert.kind) for e in failed] == [("hook", "down")]
            assert failed[0].error is not None and failed[0].error.startswith("HTTP 404")
            assert len(rec.requests) == 1
            assert sink.outcomes == [("hook", False)]
            assert sink.notification_queue == {"hook": 0}
        finally:
            await alerting.stop()


async def test_the_queue_gauge_counts_what_waits_for_a_notifier_that_is_down(tmp_path: Path) -> None:
    config = webhook_config(f"http://127.0.0.1:{free_port()}/hook")
    sink = Sink()
    alerting = Alerting(config, outbox=SQLiteOutbox(tmp_path / "m.db"), backoff_base=30, metrics=sink)
    await alerting.start()
    try:
        target = config.targets["web"]
        alerting.on_event(Event("web", 1000.0, State.UP, State.DOWN, "timeout"), target)
        alerting.on_event(Event("web", 1100.0, State.DOWN, State.UP, "ok"), target)
        await until(lambda: (alerting.outbox.head("hook") or alert()).attempts >= 1, what="a failed attempt")
        assert sink.notification_queue == {"hook": 2}
        assert sink.outcomes == []
    finally:
        await alerting.stop()


def test_backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after(tmp_path: Path) -> None:
    box = SQLiteOutbox(tmp_path / "m.db")
    box.open()
    low = Dispatcher(box, {}, base=5, cap=600, jitter=0.2, rng=lambda: 0.0)
    high = Dispatcher(box, {}, base=5, cap=600, jitter=0.2, rng=lambda: 1.0)
    assert [low.backoff(n) for n in (1, 2, 3)] == [4.0, 8.0, 16.0]
    assert [high.backoff(n) for n in (1, 2, 3)] == [6.0, 12.0, 24.0]
    assert low.backoff(20) == 480.0
    assert low.backoff(3, retry_after=42) == 42
    box.close()


CHILD = textwrap.dedent("""
    import asyncio, sys, time
    from pathlib import Path
    from monitor.alerting.service import Alerting
    from monitor.store.sqlite.outbox import SQLiteOutbox
    from monitor.result import Event, State
    from tests.alertkit import webhook_config
    from tests.waiting import until

    mode, db, url = sys.argv[1:4]

    async def main():
        config = webhook_config(url)
        alerting = Alerting(config, outbox=SQLiteOutbox(Path(db)), backoff_base=0.05, backoff_cap=0.2)
        await alerting.start()
        if mode == "enqueue":
            event = Event("web", 1_800_000_000.0, State.UP, State.DOWN, "timeout", "no answer")
            alerting.on_event(event, config.targets["web"])
            print("queued", flush=True)
            await asyncio.sleep(3600)
        await until(lambda: not alerting.queue_sizes()["hook"], 30, what="the outbox drained")
        print("drained", flush=True)
        await alerting.stop()

    asyncio.run(main())
""")


def _child(mode: str, db: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, str(db), url], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )


def attempts(db: Path) -> int:
    """The most attempts any alert in the outbox at `db` has had (read by another process)."""
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        (most,) = conn.execute("SELECT COALESCE(MAX(attempts), 0) FROM outbox").fetchone()
    return int(most)


def test_an_alert_queued_before_a_kill_9_arrives_after_the_restart(tmp_path: Path) -> None:
    db, port = tmp_path / "monitor.db", free_port()
    url = f"http://127.0.0.1:{port}/hook"  # nothing listens yet: the receiver is down
    first = _child("enqueue", db, url)
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "queued"
        wait_for(lambda: attempts(db) >= 2, what="the child trying and failing twice")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert first.stdout is not None
        first.stdout.close()
    assert first.returncode == -signal.SIGKILL
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT status, attempts > 0 FROM outbox").fetchall()
    assert rows == [("pending", 1)]
    with receiver(port=port) as rec:
        second = _child("drain", db, url)
        try:
            out, _ = second.communicate(timeout=30)
        finally:
            second.kill()
        assert out.strip() == "drained"
        assert len(rec.requests) == 1
        payload = rec.requests[0].json()
        assert (payload["id"], payload["event"], payload["target"]["id"]) == ("web:down:1800000000", "down", "web")


class Limited:
    """A notifier whose peer answers 429 "retry after 42 s" once, then accepts."""

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, alert: Alert) -> None:
        self.calls += 1
        if self.calls == 1:
            raise TransientNotifyError("HTTP 429: Too Many Requests", retry_after=42)


async def test_the_dispatcher_waits_as_long_as_a_429_asks(tmp_path: Path) -> None:
    clock = Clock()
    box = SQLiteOutbox(tmp_path / "m.db", clock=clock)
    box.open()
    limited = Limited()
    dispatcher = Dispatcher(box, {"tg": limited}, clock=clock, base=0.01)
    await dispatcher.start()
    try:
        box.enqueue(alert(), ["tg"])
        dispatcher.wake(["tg"])
        await until(lambda: limited.calls == 1 and (box.head("tg") or alert()).attempts == 1, what="the 429 recorded")
        head = box.head("tg")
        assert head is not None and head.next_at == clock.now + 42
        assert head.error == "HTTP 429: Too Many Requests"
        clock.now += 42
        dispatcher.wake(["tg"])
        await until(lambda: box.head("tg") is None, what="the retry delivered")
        assert limited.calls == 2
        assert dispatcher.counts == {("tg", "sent"): 1}
    finally:
        await dispatcher.stop()
        box.close()


class Recorder:
    """A notifier that delivers by remembering."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, alert: Alert) -> None:
        self.sent.append(alert.id)


async def test_a_worker_outlives_a_database_error_and_delivers_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher, "STORE_RETRY_SECONDS", 0.05)
    box = WatchedOutbox(tmp_path / "m.db")
    box.open()
    box.enqueue(alert(), ["hook"])
    notifier = Recorder()
    worker = Dispatcher(box, {"hook": notifier})
    other = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    other.execute("ALTER TABLE outbox RENAME TO outbox_away")  # every read of it now fails
    with pytest.raises(StoreError):
        box.head("hook")
    await worker.start()
    try:
        met = box.errors["hook"]
        await until(lambda: box.errors["hook"] >= met + 2, what="the worker meeting the error twice")
        other.execute("ALTER TABLE outbox_away RENAME TO outbox")
        await until(lambda: notifier.sent == ["web:down:1"], what="the alert delivered")
    finally:
        await worker.stop()
        other.close()
        box.close()
