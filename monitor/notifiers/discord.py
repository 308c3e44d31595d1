"""Discord: an incoming webhook with one embed coloured by the alert kind.

Keys: `url` (the webhook URL, a secret; required), `username` (the name the message is
posted under), `timeout`. Mentions are disabled: an alert never pings @everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.config.reader import Table
from monitor.notifiers.base import Alert, NotifierKind, NotifyContext
from monitor.notifiers.http import post, require_url
from monitor.notifiers.texts import colour, iso_utc

if TYPE_CHECKING:
    from monitor.config import NotifierConfig


@dataclass(frozen=True)
class DiscordSpec:
    url: str
    username: str | None = None
    timeout: float = 10.0


def parse(t: Table) -> DiscordSpec:
    url = require_url(t, "must be the webhook's https:// URL")
    return DiscordSpec(url=url, username=t.text("username"), timeout=t.duration("timeout", 10.0, low=0.1))


class DiscordNotifier:
    """Posts each alert as one embed to one Discord webhook."""

    def __init__(self, spec: DiscordSpec, ctx: NotifyContext) -> None:
        self.spec, self.ctx = spec, ctx

    def payload(self, alert: Alert) -> dict[str, Any]:
        embed: dict[str, Any] = {
            "title": self.ctx.texts.render("title.txt.j2", alert)[:256],
            "description": self.ctx.texts.render("discord.md.j2", alert)[:4096],
            "color": int(colour(alert).lstrip("#"), 16),
            "timestamp": iso_utc(alert.at),
        }
        if alert.link:
            embed["url"] = alert.link
        if alert.group:
            embed["footer"] = {"text": alert.group}
        body: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
        if self.spec.username:
            body["username"] = self.spec.username
        return body

    async def send(self, alert: Alert) -> None:
        await post(self.ctx.client, self.spec.url, json=self.payload(alert), timeout=self.spec.timeout)


def build(config: NotifierConfig, ctx: NotifyContext) -> DiscordNotifier:
    return DiscordNotifier(config.spec, ctx)


KIND = NotifierKind("discord", parse, build, secrets=("url",))
