"""Slack: an incoming webhook, the message as an attachment coloured by the alert kind,
holding Block Kit blocks (headline, details in mrkdwn, link).

Keys: `url` (the webhook URL, a secret; required), `timeout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.config.reader import Table
from monitor.notifiers.base import Alert, NotifierKind, NotifyContext
from monitor.notifiers.http import post, require_url
from monitor.notifiers.texts import colour

if TYPE_CHECKING:
    from monitor.config import NotifierConfig


@dataclass(frozen=True)
class SlackSpec:
    url: str
    timeout: float = 10.0


def parse(t: Table) -> SlackSpec:
    url = require_url(t, "must be the webhook's https:// URL")
    return SlackSpec(url=url, timeout=t.duration("timeout", 10.0, low=0.1))


class SlackNotifier:
    """Posts each alert to one Slack incoming webhook."""

    def __init__(self, spec: SlackSpec, ctx: NotifyContext) -> None:
        self.spec, self.ctx = spec, ctx

    def payload(self, alert: Alert) -> dict[str, Any]:
        title = self.ctx.texts.render("title.txt.j2", alert)
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": self.ctx.texts.render("slack.md.j2", alert)[:3000]}},
        ]
        # `text` is the fallback shown in notifications and by clients without blocks.
        return {"text": title, "attachments": [{"color": colour(alert), "blocks": blocks}]}

    async def send(self, alert: Alert) -> None:
        await post(self.ctx.client, self.spec.url, json=self.payload(alert), timeout=self.spec.timeout)


def build(config: NotifierConfig, ctx: NotifyContext) -> SlackNotifier:
    return SlackNotifier(config.spec, ctx)


KIND = NotifierKind("slack", parse, build, secrets=("url",))
