"""Slack incoming webhooks, mocked with respx: the exact layout and error handling."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
import respx

from monitor.errors import PermanentNotifyError, TransientNotifyError
from monitor.notifiers.base import Alert, NotifyContext
from monitor.notifiers.slack import SlackNotifier, SlackSpec

HOOK = "https://hooks.slack.com/services/T000/B000/XXXX"


def notifier(ctx: NotifyContext) -> SlackNotifier:
    return SlackNotifier(SlackSpec(url=HOOK), ctx)


@respx.mock
async def test_it_posts_a_coloured_attachment_with_blocks(ctx: NotifyContext, alert: Alert) -> None:
    route = respx.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
    await notifier(ctx).send(alert)
    assert json.loads(route.calls.last.request.content) == {
        "text": "🔴 Website <Pemkab> is DOWN",
        "attachments": [
            {
                "color": "#d62728",
                "blocks": [
                    {
                        "type": "header",
                        "text": {"type": "plain_text", "text": "🔴 Website <Pemkab> is DOWN", "emoji": True},
                    },
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": (
                                "*State:* Down\n"
                                "*Group:* Layanan publik\n"
                                "*Reason:* The service did not answer in time (`no answer within 10s`)\n"
                                "*Since:* 2027-01-15 15:00:00 WIB\n"
                                "*Also affected (depend on it):* CCTV lobi\n"
                                "<https://status.example.go.id/targets/web|Details>"
                            ),
                        },
                    },
                ],
            }
        ],
    }


@respx.mock
async def test_a_recovery_is_green_and_says_how_long_it_lasted(ctx: NotifyContext, alert: Alert) -> None:
    route = respx.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
    up = dataclasses.replace(alert, kind="up", old="DOWN", new="UP", reason="ok", duration=3725, dependents=())
    await notifier(ctx).send(up)
    body = json.loads(route.calls.last.request.content)
    assert body["text"] == "✅ Website <Pemkab> is back UP after 1h 2m"
    assert body["attachments"][0]["color"] == "#2ca02c"
    assert "*Outage:* 1h 2m" in body["attachments"][0]["blocks"][1]["text"]["text"]


@respx.mock
async def test_it_honours_the_retry_after_header_on_429(ctx: NotifyContext, alert: Alert) -> None:
    respx.post(HOOK).mock(return_value=httpx.Response(429, headers={"Retry-After": "30"}, text="rate_limited"))
    with pytest.raises(TransientNotifyError) as caught:
        await notifier(ctx).send(alert)
    assert caught.value.retry_after == 30


@respx.mock
async def test_a_deleted_webhook_is_permanent(ctx: NotifyContext, alert: Alert) -> None:
    respx.post(HOOK).mock(return_value=httpx.Response(404, text="no_service"))
    with pytest.raises(PermanentNotifyError, match="HTTP 404: no_service"):
        await notifier(ctx).send(alert)
