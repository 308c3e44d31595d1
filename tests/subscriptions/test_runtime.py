"""The running monitor's side of the subscriptions, on a clock the test moves: the
configuration's maintenance windows are mailed to the confirmed subscribers they concern
(at the start and at each reload; again when their times change, and when one is called
off before its start; never twice, a restart included), and the hourly housekeeping
forgets the mails sent more than 30 days ago while waiting and failed ones stay.
`targets.toml` is a real file, the store a real SQLite file, the mail a real SMTP server."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from monitor import runtime
from monitor.config.loader import load_config
from monitor.runtime import Monitor
from monitor.store.sqlite.subscribers import SQLiteSubscribers
from monitor.subscriptions.service import KEEP_SENT_SECONDS, Subscriptions
from tests.alertkit import Clock, free_port
from tests.fakestore import MemoryStore
from tests.mailbox import PUBLIC_URL, Mailbox, links, smtp_server
from tests.mailbox import body as crlf_body
from tests.waiting import until

T0 = 1_800_000_000.0  # 15 Jan 2027 08:00 UTC, 15:00 WIB
# Windows ahead of T0, written as targets.toml holds them (local times in Asia/Jakarta).
NIGHT = ("2027-01-16T22:00:00", "2027-01-17T02:00:00")
MOVED = ("2027-01-23T22:00:00", "2027-01-24T03:00:00")


def write(path: Path, smtp: int, *windows: tuple[str, str], reason: str = "Penggantian server") -> None:
    tables = "".join(
        f'\n[[maintenance]]\nstart = {start}\nend = {end}\ngroups = ["Kesehatan"]\ntargets = ["web"]\n'
        f'reason = "{reason}"\n'
        for start, end in windows
    )
    path.write_text(f"""
[monitor]
title = "Status Kotim"
language = "id"
timezone = "Asia/Jakarta"
listen = "127.0.0.1:9"
data_dir = "data"
public_url = "{PUBLIC_URL}"

[subscriptions]
enabled = true
host = "127.0.0.1"
port = {smtp}
security = "none"
from = "status@example.go.id"

[targets.web]
name = "Website"
url = "https://web.example.go.id/"
paused = true

[targets.rs]
name = "Rumah sakit"
group = "Kesehatan"
url = "https://rs.example.go.id/"
paused = true

[targets.dns]
name = "DNS"
group = "Jaringan"
url = "https://dns.example.go.id/"
paused = true
{tables}""")


class Running:
    """Monitors started on the test's files (one at a time), stopped at the end."""

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        self.path, self.db, self.clock = tmp_path / "targets.toml", tmp_path / "monitor.db", clock
        self.started: list[Monitor] = []

    async def start(self) -> Monitor:
        monitor = Monitor(
            load_config(self.path), MemoryStore(subscribers_path=self.db), alerting=True, clock=self.clock
        )
        self.started.append(monitor)
        await monitor.start()
        return monitor

    async def stop(self, monitor: Monitor) -> None:
        self.started.remove(monitor)
        await monitor.stop()

    def subscribe(self, address: str, lang: str, targets: tuple[str, ...] = (), groups: tuple[str, ...] = ()) -> None:
        """A confirmed subscriber, as the confirmation link stores one."""
        book = SQLiteSubscribers(self.db)
        book.open()
        book.confirm(address, targets, groups, lang, self.clock())
        book.close()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    holder = Running(tmp_path, Clock(T0))
    yield holder
    for monitor in holder.started:
        await monitor.stop()


def body(message: EmailMessage) -> str:
    return crlf_body(message).replace("\r\n", "\n")


def service(monitor: Monitor) -> Subscriptions:
    assert monitor.subscriptions is not None
    return monitor.subscriptions


async def settled(monitor: Monitor) -> None:
    """Every mail made and queued, and handed to the server."""
    subs = service(monitor)
    await until(lambda: not subs.busy(), what="the mails made and queued")
    await until(lambda: subs.book.pending() == 0, what="the queue empty")


async def test_a_window_added_by_a_reload_is_mailed_once_to_each_confirmed_subscriber_it_concerns(
    running: Running,
) -> None:
    with smtp_server() as (box, smtp):
        write(running.path, smtp)
        monitor = await running.start()
        running.subscribe("warga@example.go.id", "en")  # every service
        running.subscribe("sehat@example.go.id", "id", groups=("Kesehatan",))
        running.subscribe("jaringan@example.go.id", "id", targets=("dns",))  # not concerned
        service(monitor).request("belum@example.go.id", [], [], "id")  # never confirmed
        await settled(monitor)
        write(running.path, smtp, NIGHT)
        assert monitor.reload()
        await settled(monitor)
        assert monitor.reload()  # the same window again: nothing more
        await settled(monitor)
    (english,) = box.to("warga@example.go.id")
    (indonesian,) = box.to("sehat@example.go.id")
    assert box.to("jaringan@example.go.id") == []
    assert [m["Subject"] for m in box.to("belum@example.go.id")] == ["Konfirmasi langganan: Status Kotim"]
    assert english["Subject"] == "Planned maintenance from 16 Jan 2027 22:00 WIB"
    assert "Planned maintenance from 16 Jan 2027 22:00 WIB to 17 Jan 2027 02:00 WIB for:" in body(english)
    assert "- Website\n- Rumah sakit\n" in body(english) and "Penggantian server" in body(english)
    assert indonesian["Subject"] == "Pemeliharaan terjadwal mulai 16 Jan 2027 22:00 WIB"
    assert "- Rumah sakit\n" in body(indonesian) and "Website" not in body(indonesian)
    for message, lang in ((english, "en"), (indonesian, "id")):
        assert message["Content-Language"] == lang
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith(f"<{PUBLIC_URL}/unsubscribe?lang={lang}&token=")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe[1:-1] in links(message)


async def test_a_restart_does_not_mail_again_a_change_is_mailed_as_one_and_a_removal_as_a_cancellation(
    running: Running,
) -> None:
    with smtp_server() as (box, smtp):
        write(running.path, smtp, NIGHT)
        running.subscribe("warga@example.go.id", "en", targets=("rs",))
        first = await running.start()  # the start's configuration is announced too
        await settled(first)
        await running.stop(first)
        again = await running.start()
        await settled(again)
        assert await service(again).announce_maintenance(again.config.maintenance) == 0
        assert len(box.to("warga@example.go.id")) == 1
        write(running.path, smtp, MOVED, reason="Penggantian server dan switch")
        assert again.reload()
        await until(lambda: len(box.to("warga@example.go.id")) == 2, what="the change")
        write(running.path, smtp)
        assert again.reload()
        await until(lambda: len(box.to("warga@example.go.id")) == 3, what="the cancellation")
        await settled(again)
    announced, changed, cancelled = box.to("warga@example.go.id")
    assert announced["Subject"] == "Planned maintenance from 16 Jan 2027 22:00 WIB"
    assert changed["Subject"] == "Planned maintenance rescheduled: from 23 Jan 2027 22:00 WIB"
    assert (
        "The planned maintenance we told you of for 16 Jan 2027 22:00 WIB to 17 Jan 2027 02:00 WIB "
        "now runs from 23 Jan 2027 22:00 WIB to 24 Jan 2027 03:00 WIB for:\n- Rumah sakit\n"
    ) in body(changed)
    assert "Penggantian server dan switch" in body(changed)
    assert cancelled["Subject"] == "Planned maintenance cancelled: 23 Jan 2027 22:00 WIB"
    assert "The planned maintenance from 23 Jan 2027 22:00 WIB to 24 Jan 2027 03:00 WIB is cancelled" in body(cancelled)
    for message in (changed, cancelled):
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert service(again).book.notices() == []


class Refusing(Mailbox):
    """A server that has no mailbox `hilang@`: 550, a permanent refusal."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("hilang@"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def statuses(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT recipient, status FROM subscriber_mail").fetchall()
    conn.close()
    return dict(rows)


def tried(subs: Subscriptions) -> bool:
    mail = subs.book.next_mail()
    return mail is not None and mail.attempts > 0


async def test_the_housekeeping_forgets_mail_sent_over_30_days_ago_and_keeps_the_undelivered(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "SUBSCRIPTIONS_HOUSEKEEPING", 0.05)
    port = free_port()
    write(running.path, port)
    monitor = await running.start()
    subs = service(monitor)
    subs.sender.base = 3600.0  # a mail that failed once waits an hour of the test's clock
    box = Refusing()
    with smtp_server(port, box):
        subs.request("warga@example.go.id", [], [], "en")
        subs.request("hilang@example.go.id", [], [], "en")
        await until(lambda: subs.book.pending() == 0, what="one mail sent, one refused")
    subs.request("nanti@example.go.id", [], [], "en")  # the server is gone: it waits
    await until(lambda: statuses(running.db).get("nanti@example.go.id") == "pending", what="the mail queued")
    await until(lambda: tried(subs), what="the waiting mail tried once")
    assert statuses(running.db) == {
        "warga@example.go.id": "sent",
        "hilang@example.go.id": "failed",
        "nanti@example.go.id": "pending",
    }
    running.clock.now = T0 + KEEP_SENT_SECONDS + 1
    await until(lambda: "warga@example.go.id" not in statuses(running.db), what="the sent mail forgotten")
    assert statuses(running.db) == {"hilang@example.go.id": "failed", "nanti@example.go.id": "pending"}


async def test_only_the_sender_mails_maintenance_and_a_new_sender_mails_what_it_finds_untold(
    tmp_path: Path,
) -> None:
    clock = Clock(T0)
    store = MemoryStore(subscribers_path=tmp_path / "monitor.db")  # one store, two instances
    with smtp_server() as (box, smtp):
        paths = [tmp_path / name / "targets.toml" for name in ("a", "b")]
        for path in paths:
            path.parent.mkdir()
            write(path, smtp)  # each its own data_dir: two instance ids
        first = Monitor(load_config(paths[0]), store, alerting=True, clock=clock)
        second = Monitor(load_config(paths[1]), store, alerting=True, clock=clock)
        started = [first, second]
        try:
            for monitor in started:
                await monitor.start()
            assert first.is_sender() and not second.is_sender()
            service(second).book.confirm("warga@example.go.id", [], [], "en", clock())
            write(paths[1], smtp, NIGHT)
            assert second.reload()
            assert not service(second).busy() and service(second).book.notices() == []
            started.remove(first)
            await first.stop()  # its lease goes: the other takes it at its next renewal
            await until(lambda: second.is_sender(), timeout=20, what="the second instance sending")
            await until(lambda: box.to("warga@example.go.id"), what="the window mailed by the new sender")
            await settled(second)
        finally:
            for monitor in started:
                await monitor.stop()
    (mail,) = box.to("warga@example.go.id")
    assert mail["Subject"] == "Planned maintenance from 16 Jan 2027 22:00 WIB"
