"""`monitor notify-test`: one test message per notifier, what happened, the exit code."""

from __future__ import annotations

import io
import json

import httpx
import respx

from monitor.alerting.notifytest import run_notify_test
from monitor.config import NotifierConfig
from monitor.notifiers.email import EmailSpec
from monitor.notifiers.slack import SlackSpec
from monitor.notifiers.telegram import TelegramSpec
from monitor.notifiers.webhook import WebhookSpec
from tests.alertkit import config_with, free_port
from tests.live import silent_server

TG = "https://api.telegram.org/bot1:T/sendMessage"
SLACK = "https://hooks.slack.com/services/T/B/X"


def config(language: str = "en"):  # type: ignore[no-untyped-def]
    return config_with(
        {
            "oncall": NotifierConfig("oncall", "telegram", TelegramSpec(bot_token="1:T", chat_id="5")),
            "team": NotifierConfig("team", "slack", SlackSpec(url=SLACK)),
        },
        language=language,
    )


@respx.mock
async def test_it_reports_each_notifier_and_fails_if_any_failed() -> None:
    tg = respx.post(TG).mock(return_value=httpx.Response(200, json={"ok": True}))
    respx.post(SLACK).mock(return_value=httpx.Response(404, text="no_service"))
    out = io.StringIO()
    assert await run_notify_test(config(), [], out=out) == 1
    assert out.getvalue().splitlines() == [
        "oncall (telegram): delivered",
        "team (slack): failed: HTTP 404: no_service",
    ]
    text = json.loads(tg.calls.last.request.content)["text"]
    assert text.startswith("<b>🧪 Test message from Status Pemkab</b>")
    assert "This is a test message from the monitor; nothing needs to be done." in text


@respx.mock
async def test_it_exits_0_when_the_chosen_notifiers_delivered() -> None:
    respx.post(TG).mock(return_value=httpx.Response(200, json={"ok": True}))
    slack = respx.post(SLACK).mock(return_value=httpx.Response(200, text="ok"))
    out = io.StringIO()
    assert await run_notify_test(config("id"), ["oncall"], out=out) == 0
    assert out.getvalue() == "oncall (telegram): terkirim\n"
    assert not slack.called


async def test_an_unknown_notifier_name_is_a_failure() -> None:
    out = io.StringIO()
    assert await run_notify_test(config(), ["pager"], out=out) == 1
    assert out.getvalue() == "pager: failed: no notifier with this name\n"


def failing_config(language: str, closed: int, silent: int):  # type: ignore[no-untyped-def]
    return config_with(
        {
            "hook": NotifierConfig("hook", "webhook", WebhookSpec(url=f"http://127.0.0.1:{closed}/hook", timeout=2.0)),
            "slow": NotifierConfig("slow", "slack", SlackSpec(url=f"http://127.0.0.1:{silent}/x", timeout=0.3)),
            "mail": NotifierConfig(
                "mail",
                "email",
                EmailSpec("127.0.0.1", "m@example.go.id", ("a@example.go.id",), closed, "none", timeout=2.0),
            ),
        },
        language=language,
    )


async def test_every_line_is_in_the_configured_language_the_errors_too() -> None:
    closed = free_port()
    with silent_server() as silent:
        out = io.StringIO()
        assert await run_notify_test(failing_config("id", closed, silent), [], out=out) == 1
        english = io.StringIO()
        assert await run_notify_test(failing_config("en", closed, silent), [], out=english) == 1
    hook, slow, mail = out.getvalue().splitlines()
    assert hook.startswith("hook (webhook): gagal: tidak dapat tersambung: ConnectError: ")
    assert slow == "slow (slack): gagal: tidak ada jawaban dalam 0.3 detik"
    assert mail.startswith(f"mail (email): gagal: tidak dapat menghubungi 127.0.0.1:{closed}: ")
    for ours in (": failed:", "cannot connect", "cannot reach", "timed out", "delivered"):  # the system's stay
        assert ours not in out.getvalue()
    hook, slow, mail = english.getvalue().splitlines()
    assert hook.startswith("hook (webhook): failed: cannot connect: ConnectError: ")
    assert slow == "slow (slack): failed: timed out after 0.3s"
    assert mail.startswith(f"mail (email): failed: cannot reach 127.0.0.1:{closed}: ")
