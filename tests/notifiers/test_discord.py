"""Discord webhooks, mocked with respx: the exact embed and error handling."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from monitor.errors import PermanentNotifyError, TransientNotifyError
from monitor.notifiers.base import Alert, NotifyContext
from monitor.notifiers.discord import DiscordNotifier, DiscordSpec

HOOK = "https://discord.com/api/webhooks/123/abc"


def notifier(ctx: NotifyContext) -> DiscordNotifier:
    return DiscordNotifier(DiscordSpec(url=HOOK, username="Monitor Pemkab"), ctx)


@respx.mock
async def test_it_posts_one_embed_without_mentions(ctx: NotifyContext, alert: Alert) -> None:
    route = respx.post(HOOK).mock(return_value=httpx.Response(204))
    await notifier(ctx).send(alert)
    assert json.loads(route.calls.last.request.content) == {
        "username": "Monitor Pemkab",
        "allowed_mentions": {"parse": []},
        "embeds": [
            {
                "title": "🔴 Website <Pemkab> is DOWN",
                "description": (
                    "**State:** Down\n"
                    "**Reason:** The service did not answer in time (`no answer within 10s`)\n"
                    "**Since:** 2027-01-15 15:00:00 WIB\n"
                    "**Also affected (depend on it):** CCTV lobi\n"
                    "[Details](https://status.example.go.id/targets/web)"
                ),
                "color": 0xD62728,
                "timestamp": "2027-01-15T08:00:00.000Z",
                "url": "https://status.example.go.id/targets/web",
                "footer": {"text": "Layanan publik"},
            }
        ],
    }


@respx.mock
async def test_it_honours_retry_after_in_the_body_on_429(ctx: NotifyContext, alert: Alert) -> None:
    respx.post(HOOK).mock(
        return_value=httpx.Response(
            429, json={"message": "You are being rate limited.", "retry_after": 1.5, "global": False}
        )
    )
    with pytest.raises(TransientNotifyError) as caught:
        await notifier(ctx).send(alert)
    assert caught.value.retry_after == 1.5


@respx.mock
async def test_an_invalid_webhook_token_is_permanent(ctx: NotifyContext, alert: Alert) -> None:
    respx.post(HOOK).mock(return_value=httpx.Response(401, json={"message": "Invalid Webhook Token", "code": 50027}))
    with pytest.raises(PermanentNotifyError, match="Invalid Webhook Token"):
        await notifier(ctx).send(alert)
