"""The two-way Telegram bot against a local fake Bot API server (`tests.notifiers.botapi`):
buttons on alert messages, long polling with the offset kept across a restart, buttons
and commands from allowed and other users, the alert message edited, failures backed off."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.alerting.oncall import OnCall
from monitor.alerting.service import Alerting
from monitor.config import Config
from monitor.config.loader import load_config
from monitor.notifiers.base import Alert, NotifyContext
from monitor.notifiers.telegram import TelegramNotifier
from monitor.notifiers.telegrambot.api import BotApi
from monitor.notifiers.telegrambot.bots import interactive
from monitor.notifiers.telegrambot.buttons import data, parse
from monitor.notifiers.telegrambot.commands import Handler
from monitor.notifiers.telegrambot.poller import Poller
from monitor.notifiers.texts import Texts
from monitor.result import Event, State
from monitor.state import StateMachine
from monitor.store import Store
from monitor.store.sqlite.store import SQLiteStore
from tests.alertkit import Clock, free_port
from tests.notifiers.botapi import TOKEN, FakeBotApi, bot_api

AT = 1_800_000_000.0  # 2027-01-15 15:00 WIB
BUDI = {"id": 111, "is_bot": False, "first_name": "Budi", "last_name": "Santoso", "language_code": "id"}
STRANGER = {"id": 999, "is_bot": False, "first_name": "Tamu", "language_code": "en"}
CHAT = {"id": -1001, "type": "group"}


def toml(api_url: str) -> str:
    return f"""
[monitor]
language = "id"
timezone = "Asia/Jakarta"

[notifiers.tg]
type = "telegram"
bot_token = "{TOKEN}"
chat_id = -1001
api_url = "{api_url}"
interactive = true
allowed_users = [111]
poll_timeout = "1s"
repeat_every = "30m"

[targets.web]
name = "Website"
url = "http://127.0.0.1:9/"
notify = ["tg"]
"""


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with bot_api() as server:
        yield server


@dataclass
class Bot:
    config: Config
    store: Store
    alerting: Alerting
    oncall: OnCall
    api: BotApi
    clock: Clock

    def poller(self, **kw: Any) -> Poller:
        handler = Handler(self.api, self.oncall, {111})
        return Poller(self.api, self.store, handler.handle, wait=1.0, **kw)

    def down(self) -> None:
        event = Event("web", AT, State.UP, State.DOWN, "timeout", "no answer within 10s")
        self.store.add_event(event)
        self.oncall.states.restore("web", State.DOWN, AT, "timeout", entered_from=State.UP)
        self.alerting.on_event(event, self.config.targets["web"])


@pytest.fixture
async def bot(fake: FakeBotApi, tmp_path: Path) -> AsyncIterator[Bot]:
    path = tmp_path / "targets.toml"
    path.write_text(toml(fake.url), encoding="utf-8")
    config, clock = load_config(path, env={}), Clock(AT)
    store = SQLiteStore.for_settings(config.settings)
    await store.open()
    async with httpx.AsyncClient() as client:
        alerting = Alerting(config, outbox=store.outbox(clock), clock=clock, client=client)
        states = StateMachine()
        states.sync(config.targets)
        oncall = OnCall(config, store, states, client, alerting, clock=clock)
        yield Bot(config, store, alerting, oncall, BotApi(client, fake.url, TOKEN), clock)
        await alerting.stop()
    await store.close()


def button(user: dict[str, Any], value: str, text: str = "🔴 Website tidak dapat diakses") -> dict[str, Any]:
    message = {"message_id": 42, "chat": CHAT, "text": text}
    return {"callback_query": {"id": "cb-1", "from": user, "message": message, "data": value}}


def command(user: dict[str, Any], text: str) -> dict[str, Any]:
    return {"message": {"message_id": 7, "from": user, "chat": CHAT, "text": text}}


async def test_alert_messages_about_an_outage_carry_the_three_buttons(fake: FakeBotApi, bot: Bot) -> None:
    async with httpx.AsyncClient() as client:
        notifier = TelegramNotifier(bot.config.notifiers["tg"].spec, NotifyContext(client, Texts("id", "Asia/Jakarta")))
        down = Alert(
            id="web:down:1",
            kind="down",
            target="web",
            name="Website",
            group="",
            old="UP",
            new="DOWN",
            reason="timeout",
            at=AT,
            since=AT,
        )
        await notifier.send(down)
        await notifier.send(Alert(**{**down.to_dict(), "id": "web:up:1", "kind": "up", "new": "UP"}))
    first, recovered = fake.payloads("sendMessage")
    assert first["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Tangani", "callback_data": "ack:web"},
                {"text": "Bisukan 1 jam", "callback_data": "mute:web"},
                {"text": "Detail", "callback_data": "detail:web"},
            ]
        ]
    }
    assert "reply_markup" not in recovered  # nothing to answer on a recovery


def test_a_long_target_id_fits_telegrams_64_bytes_as_a_hash() -> None:
    long_id = "ups-" + "x" * 60
    value = data("ack", long_id)
    assert len(value.encode()) <= 64 and value.startswith("ack#")
    assert parse(value, ["web", long_id]) == ("ack", long_id)
    assert parse("ack:web", ["web"]) == ("ack", "web") and parse("rm -rf", ["web"]) is None


async def test_it_long_polls_with_the_offset_and_keeps_it_across_a_restart(fake: FakeBotApi, bot: Bot) -> None:
    fake.push(command(BUDI, "/help"))
    fake.push(command(STRANGER, "/help"))
    assert await bot.poller().poll_once() == 0.0
    assert "offset" not in fake.payloads("getUpdates")[0]  # the first ever: from the start
    assert fake.payloads("getUpdates")[0]["timeout"] == 1
    helps = [p["text"] for p in fake.payloads("sendMessage")]
    assert helps[0].startswith("Perintah:") and helps[1].startswith("Commands:")  # each in their language
    assert await bot.store.bot_offset("123456") == 3
    await bot.store.close()
    bot.store = SQLiteStore.for_settings(bot.config.settings)  # the restart
    await bot.store.open()
    fake.push(command(BUDI, "/help"))
    await bot.poller().poll_once()
    assert fake.payloads("getUpdates")[-1]["offset"] == 3
    assert len(fake.payloads("sendMessage")) == 3  # the two before were not answered again
    assert await bot.store.bot_offset("123456") == 4


async def test_a_button_from_an_allowed_user_acknowledges_and_edits_the_alert_message(
    fake: FakeBotApi, bot: Bot
) -> None:
    bot.down()
    bot.clock.now = AT + 300
    fake.push(button(BUDI, "ack:web"))
    await bot.poller().poll_once()
    assert bot.oncall.handled("web") and bot.oncall.ack_of("web").who == "Budi Santoso"  # type: ignore[union-attr]
    (answer,) = fake.payloads("answerCallbackQuery")
    assert answer["callback_query_id"] == "cb-1" and answer["text"].startswith("✅ Ditangani oleh Budi Santoso")
    (edit,) = fake.payloads("editMessageText")
    assert edit == {
        "chat_id": -1001,
        "message_id": 42,
        "text": "🔴 Website tidak dapat diakses\n\n✅ Ditangani oleh Budi Santoso pada 2027-01-15 15:05 WIB",
        "reply_markup": {"inline_keyboard": []},
    }


async def test_the_mute_button_mutes_for_an_hour_and_detail_tells_the_state(fake: FakeBotApi, bot: Bot) -> None:
    bot.down()
    fake.push(button(BUDI, "mute:web"))
    fake.push(button(BUDI, "detail:web"))
    await bot.poller().poll_once()
    mute = bot.oncall.mutes.active("web", AT)
    assert mute is not None and mute.until == AT + 3600.0
    muted, detail = fake.payloads("answerCallbackQuery")
    assert muted["text"] == "🔕 Website dibisukan oleh Budi Santoso sampai 2027-01-15 16:00 WIB"
    assert detail["show_alert"] is True and detail["text"].startswith("Website: Gangguan sejak 2027-01-15 15:00 WIB.")
    (edit,) = fake.payloads("editMessageText")  # the mute's, not the detail's
    assert edit["text"].endswith("sampai 2027-01-15 16:00 WIB")


async def test_anyone_else_is_refused_politely_and_logged(
    fake: FakeBotApi, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.down()
    fake.push(button(STRANGER, "ack:web"))
    fake.push(command(STRANGER, "/mute web 2h"))
    with caplog.at_level(logging.WARNING, logger="monitor.telegram"):
        await bot.poller().poll_once()
    assert not bot.oncall.handled("web") and bot.oncall.mutes.active("web", AT) is None
    (answer,) = fake.payloads("answerCallbackQuery")
    assert answer["show_alert"] is True and "your Telegram id: 999" in answer["text"]
    (reply,) = fake.payloads("sendMessage")
    assert reply["text"].startswith("Sorry, you are not allowed") and reply["reply_parameters"]["message_id"] == 7
    assert fake.payloads("editMessageText") == []
    refused = [r for r in caplog.records if r.getMessage() == "telegram user refused"]
    assert [getattr(r, "kv_fields", {}).get("user") for r in refused] == [999, 999]


async def test_commands_act_and_answer_in_the_persons_language(fake: FakeBotApi, bot: Bot) -> None:
    bot.down()
    for text in (
        "/status",
        "/ack@pemkab_bot web sudah di jalan",
        "/status",
        "/mute web 2h",
        "/unmute web",
        "/maintenance web 1h ganti UPS",
        "/mute web sebentar",
        "/ack",
        "/ack nope",
        "/reboot web",
    ):
        fake.push(command(BUDI, text))
    await bot.poller().poll_once()
    replies = [p["text"] for p in fake.payloads("sendMessage")]
    assert replies == [
        "Gangguan: Website (web) sejak 2027-01-15 15:00 WIB",
        "Website: ✅ Ditangani oleh Budi Santoso pada 2027-01-15 15:00 WIB\nCatatan: sudah di jalan",
        "Gangguan: Website (web) sejak 2027-01-15 15:00 WIB — ditangani Budi Santoso",
        "🔕 Website dibisukan oleh Budi Santoso sampai 2027-01-15 17:00 WIB",
        "🔔 Website tidak lagi dibisukan",
        "🛠 Website dalam pemeliharaan sampai 2027-01-15 16:00 WIB",
        "Durasi tidak dikenal: sebentar. Contoh: 30m, 1h, 2h.",
        "Tulis: /ack ID [note]",
        "Tidak ada target nope.",
        "Perintah tidak dikenal. Ketik /help.",
    ]
    (window,) = await bot.store.planned_maintenance(AT)
    assert (window.targets, window.reason, window.end) == (("web",), "ganti UPS", AT + 3600.0)
    assert (await bot.store.acks(AT))[0].note == "sudah di jalan"
    audit = [(e.who, e.action, e.subject) for e in reversed(await bot.store.audit_entries())]
    assert audit == [
        ("Budi Santoso", "incident.ack", "web"),
        ("Budi Santoso", "mute.add", "web"),
        ("Budi Santoso", "mute.remove", "web"),
        ("Budi Santoso", "maintenance.add", str(window.id)),
    ]


async def test_polling_failures_back_off_are_logged_and_never_raise(
    fake: FakeBotApi, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail = [
        (409, {"ok": False, "error_code": 409, "description": "Conflict: terminated by other getUpdates request"}),
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
        (429, {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 7}}),
        (502, {"ok": False}),
    ]
    poller = bot.poller(base=1.0, cap=300.0)
    with caplog.at_level(logging.WARNING, logger="monitor.telegram"):
        delays = [await poller.poll_once() for _ in range(4)]
    assert delays == [1.0, 2.0, 7.0, 8.0]
    failed = [str(getattr(r, "kv_fields", "")) for r in caplog.records if r.getMessage() == "telegram polling failed"]
    assert len(failed) == 4 and "409" in failed[0] and TOKEN not in "".join(failed)
    fake.push(command(BUDI, "/help"))
    assert await poller.poll_once() == 0.0 and poller.failures == 0
    nobody = Poller(
        BotApi(bot.api.client, f"http://127.0.0.1:{free_port()}", TOKEN),
        bot.store,
        Handler(bot.api, bot.oncall, {111}).handle,
        wait=1.0,
    )
    assert await nobody.poll_once() == 1.0  # Telegram unreachable: backed off too


async def test_a_command_replying_to_the_alert_message_edits_it_too(fake: FakeBotApi, bot: Bot) -> None:
    bot.down()
    update = command(BUDI, "/ack web")
    update["message"]["reply_to_message"] = {"message_id": 55, "chat": CHAT, "text": "🔴 Website tidak dapat diakses"}
    fake.push(update)
    await bot.poller().poll_once()
    (edit,) = fake.payloads("editMessageText")
    assert (edit["message_id"], edit["text"]) == (
        55,
        "🔴 Website tidak dapat diakses\n\n✅ Ditangani oleh Budi Santoso pada 2027-01-15 15:00 WIB",
    )


async def test_an_update_that_cannot_be_handled_is_logged_and_skipped(
    fake: FakeBotApi, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(update: dict[str, Any]) -> None:
        raise RuntimeError("a bug")

    fake.push(command(BUDI, "/status"))
    poller = Poller(bot.api, bot.store, broken, wait=1.0)
    assert await poller.poll_once() == 0.0
    assert await bot.store.bot_offset("123456") == 2  # not asked for again
    assert any(r.getMessage() == "telegram update not handled" for r in caplog.records)


async def test_status_lists_thirty_targets_at_most(fake: FakeBotApi, bot: Bot, tmp_path: Path) -> None:
    extra = "".join(f'\n[targets.t{i}]\nurl = "http://127.0.0.1:9/{i}"\n' for i in range(35))
    path = tmp_path / "many.toml"
    path.write_text(toml(fake.url) + extra, encoding="utf-8")
    bot.oncall.update(load_config(path, env={}))
    bot.oncall.states.sync(bot.oncall.config.targets)
    for tid in bot.oncall.config.targets:
        bot.oncall.states.restore(tid, State.DOWN, AT, "timeout", entered_from=State.UP)
    fake.push(command(BUDI, "/status"))
    await bot.poller().poll_once()
    (reply,) = fake.payloads("sendMessage")
    lines = reply["text"].splitlines()
    assert len(lines) == 31 and lines[-1] == "… dan 6 lainnya (lihat halaman admin)"


async def test_a_group_listed_in_allowed_users_lets_everyone_in_it_act(fake: FakeBotApi, bot: Bot) -> None:
    bot.down()
    fake.push(button(STRANGER, "ack:web"))
    handler = Handler(bot.api, bot.oncall, {111, -1001})
    await Poller(bot.api, bot.store, handler.handle, wait=1.0).poll_once()
    assert bot.oncall.ack_of("web") is not None and bot.oncall.ack_of("web").who == "Tamu"  # type: ignore[union-attr]


def test_notifiers_sharing_a_token_share_one_bot(fake: FakeBotApi, tmp_path: Path) -> None:
    second = f"""
[notifiers.tg-kantor]
type = "telegram"
bot_token = "{TOKEN}"
chat_id = -1002
api_url = "{fake.url}"
interactive = true
allowed_users = [222]
poll_timeout = "30s"

[notifiers.tg-lain]
type = "telegram"
bot_token = "999:other"
chat_id = 5
"""
    path = tmp_path / "targets.toml"
    path.write_text(toml(fake.url) + second, encoding="utf-8")
    assert interactive(load_config(path, env={})) == {(fake.url, TOKEN): (1.0, frozenset({111, 222}))}
