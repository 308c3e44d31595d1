"""Telegram's Bot API, mocked with respx: the exact request, and how errors classify."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from monitor.config.reader import Problems, Table
from monitor.errors import PermanentNotifyError, TransientNotifyError
from monitor.notifiers.base import Alert, NotifyContext
from monitor.notifiers.telegram import TelegramNotifier, TelegramSpec, parse

API = "https://api.telegram.org/bot123:SECRET/sendMessage"
TEXT = (
    "<b>🔴 Website &lt;Pemkab&gt; is DOWN</b>\n\n"
    "State: <b>Down</b>\n"
    "Group: Layanan publik\n"
    "Reason: The service did not answer in time (<code>no answer within 10s</code>)\n"
    "Since: 2027-01-15 15:00:00 WIB\n"
    "Also affected (depend on it): CCTV lobi\n"
    '<a href="https://status.example.go.id/targets/web">Details</a>'
)


def notifier(ctx: NotifyContext, **kw: object) -> TelegramNotifier:
    return TelegramNotifier(TelegramSpec(bot_token="123:SECRET", chat_id="-1001", **kw), ctx)  # type: ignore[arg-type]


@respx.mock
async def test_it_sends_html_without_link_previews(ctx: NotifyContext, alert: Alert) -> None:
    route = respx.post(API).mock(return_value=httpx.Response(200, json={"ok": True}))
    await notifier(ctx).send(alert)
    assert json.loads(route.calls.last.request.content) == {
        "chat_id": "-1001",
        "text": TEXT,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "disable_web_page_preview": True,
    }


@respx.mock
async def test_it_uses_a_self_hosted_bot_api_server(ctx: NotifyContext, alert: Alert) -> None:
    route = respx.post("http://10.0.0.5:8081/bot123:SECRET/sendMessage").mock(
        return_value=httpx.Response(200, json={"ok": True})
    )
    await notifier(ctx, api_url="http://10.0.0.5:8081", message_thread_id=7).send(alert)
    assert json.loads(route.calls.last.request.content)["message_thread_id"] == 7


@respx.mock
async def test_it_honours_retry_after_on_429(ctx: NotifyContext, alert: Alert) -> None:
    respx.post(API).mock(
        return_value=httpx.Response(
            429,
            json={
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        )
    )
    with pytest.raises(TransientNotifyError) as caught:
        await notifier(ctx).send(alert)
    assert caught.value.retry_after == 7


@respx.mock
async def test_an_unknown_chat_is_permanent_and_the_token_stays_secret(ctx: NotifyContext, alert: Alert) -> None:
    respx.post(API).mock(
        return_value=httpx.Response(
            400, json={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        )
    )
    with pytest.raises(PermanentNotifyError) as caught:
        await notifier(ctx).send(alert)
    assert "chat not found" in str(caught.value)
    assert "SECRET" not in str(caught.value)


@respx.mock
async def test_a_server_error_or_a_dead_connection_is_transient(ctx: NotifyContext, alert: Alert) -> None:
    respx.post(API).mock(side_effect=[httpx.Response(502, text="Bad Gateway"), httpx.ConnectError("refused")])
    for _ in range(2):
        with pytest.raises(TransientNotifyError):
            await notifier(ctx).send(alert)


def test_its_keys_are_validated() -> None:
    problems = Problems("targets.toml")
    table = Table({"type": "telegram", "bot_token": "x", "chat_id": True}, "notifiers.tg", problems)
    parse(table)
    assert [(p.path, p.message) for p in problems.items] == [
        ("notifiers.tg.chat_id", "must be a chat id (a number) or an @channel name")
    ]
    problems = Problems("targets.toml")
    spec = parse(Table({"bot_token": "x", "chat_id": -100123}, "notifiers.tg", problems))
    assert problems.items == [] and spec.chat_id == "-100123"
