"""Telegram: the Bot API's `sendMessage`, HTML formatted, without link previews.

Keys: `bot_token`, `chat_id` (required), `api_url` (a self-hosted Bot API server;
default https://api.telegram.org), `message_thread_id` (a forum topic), `timeout`;
two-way: `interactive` (default false: alerts about an outage carry the buttons
Tangani / Bisukan 1 jam / Detail, and the bot answers commands, `monitor.notifiers.telegrambot`),
`allowed_users` (the Telegram user ids that may act, or a group's chat id: everyone in
it; required when interactive),
`poll_timeout` (how long one `getUpdates` long poll waits, default 50s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.config.reader import Table
from monitor.notifiers.base import Alert, NotifierKind, NotifyContext
from monitor.notifiers.http import post
from monitor.notifiers.telegrambot.buttons import BUTTONED, buttons

if TYPE_CHECKING:
    from monitor.config import NotifierConfig

DEFAULT_API = "https://api.telegram.org"


@dataclass(frozen=True)
class TelegramSpec:
    bot_token: str
    chat_id: str
    api_url: str = DEFAULT_API
    message_thread_id: int | None = None
    timeout: float = 10.0
    interactive: bool = False
    allowed_users: tuple[int, ...] = ()
    poll_timeout: float = 50.0


def parse(t: Table) -> TelegramSpec:
    chat = t.raw("chat_id")
    if chat is None:
        t.problem("chat_id", "is required")
    elif isinstance(chat, bool) or not isinstance(chat, str | int):
        t.problem("chat_id", "must be a chat id (a number) or an @channel name")
    spec = TelegramSpec(
        bot_token=t.require_text("bot_token"),
        chat_id=str(chat) if chat is not None else "",
        api_url=t.text("api_url", DEFAULT_API).rstrip("/"),
        message_thread_id=t.integer("message_thread_id"),
        timeout=t.duration("timeout", 10.0, low=0.1),
        interactive=t.boolean("interactive", False),
        allowed_users=t.int_list("allowed_users"),
        poll_timeout=t.duration("poll_timeout", 50.0, low=1.0),
    )
    if spec.interactive and not spec.allowed_users:
        t.problem("allowed_users", "is required with interactive = true: the Telegram user ids that may act")
    return spec


class TelegramNotifier:
    """Sends each alert as one HTML message to one chat."""

    def __init__(self, spec: TelegramSpec, ctx: NotifyContext) -> None:
        self.spec, self.ctx = spec, ctx

    def payload(self, alert: Alert) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chat_id": self.spec.chat_id,
            "text": self.ctx.texts.render("telegram.html.j2", alert),
            "parse_mode": "HTML",
            # Both spellings: `link_preview_options` since Bot API 7.0, the older flag
            # for self-hosted servers that predate it.
            "link_preview_options": {"is_disabled": True},
            "disable_web_page_preview": True,
        }
        if self.spec.message_thread_id is not None:
            body["message_thread_id"] = self.spec.message_thread_id
        if self.spec.interactive and alert.kind in BUTTONED:
            body["reply_markup"] = {"inline_keyboard": [buttons(alert.target, self.ctx.texts.words)]}
        return body

    async def send(self, alert: Alert) -> None:
        url = f"{self.spec.api_url}/bot{self.spec.bot_token}/sendMessage"
        await post(self.ctx.client, url, json=self.payload(alert), timeout=self.spec.timeout)


def build(config: NotifierConfig, ctx: NotifyContext) -> TelegramNotifier:
    return TelegramNotifier(config.spec, ctx)


KIND = NotifierKind("telegram", parse, build, secrets=("bot_token",))
