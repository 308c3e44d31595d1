"""`MailSender` and `Subscriptions` stop within their deadline whatever they are doing:
woken just before the stop (on Python 3.11 `asyncio.wait_for` swallowed that cancellation
and the stop awaited the worker for ever), or with a fan-out stuck on a locked table."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from monitor.notifiers.email import EmailSpec
from monitor.result import Event, State
from monitor.store import Outgoing
from monitor.store.sqlite.subscribers import SQLiteSubscribers
from monitor.subscriptions.delivery import MailSender
from tests.alertkit import free_port
from tests.subscriptions.conftest import Build
from tests.waiting import until

GUARD = 30.0  # a hang fails the test instead of stalling the suite; no timing is asserted


def spec(port: int) -> EmailSpec:
    return EmailSpec(host="127.0.0.1", sender="status@example.go.id", to=(), port=port, security="none", timeout=5.0)


def waiting_book(tmp_path: Path) -> SQLiteSubscribers:
    """A queue whose one mail waits an hour for its next attempt."""
    book = SQLiteSubscribers(tmp_path / "monitor.db")
    book.open()
    book.enqueue([Outgoing("k1", None, "warga@example.go.id", "Subject: x\n\nx\n")])
    mail = book.next_mail()
    assert mail is not None
    book.retry(mail.seq, time.time() + 3600, "451 try again later")
    return book


async def test_the_sender_stops_when_woken_just_before_the_stop(tmp_path: Path) -> None:
    book = waiting_book(tmp_path)
    for turns in range(5):  # the wake lands 0..4 loop turns before the cancellation
        sender = MailSender(book, spec(free_port()))
        sender.start()
        await asyncio.sleep(0)  # one turn: the worker reads the queue and waits for the retry
        sender.wake()
        for _ in range(turns):
            await asyncio.sleep(0)
        async with asyncio.timeout(GUARD):
            assert await sender.stop()
        assert not sender.running, f"still running after a wake {turns} turns before the stop"
    book.close()


async def test_a_stop_does_not_wait_for_ever_for_a_fan_out_on_a_locked_table(
    tmp_path: Path, subscriptions: Build
) -> None:
    service = subscriptions(free_port())
    service.book.confirm("warga@example.go.id", [], [], "id", time.time())
    service.book.secret()  # read (and kept) before the lock: the loop's connection would wait too
    blocker = sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the file: the fan-out waits
    try:
        web = service.config.targets["web"]
        service.on_event(Event("web", time.time(), State.UP, State.DOWN, "timeout"), web)
        await until(service.fanning, what="the fan-out under way")
        async with asyncio.timeout(GUARD):
            await service.stop(deadline=0.2)
        assert not service.sender.running and not service._tasks
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await until(lambda: not service.fanning(), what="the fan-out's thread done, its connection free to close")
