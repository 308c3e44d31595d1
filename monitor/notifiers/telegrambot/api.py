"""The Bot API calls the chat bot makes, each a POST of JSON to `{api_url}/bot{token}/{method}`
through the notifiers' one POST (`monitor.notifiers.http.post`: 4xx permanent, 429 with
its wait, 5xx and network errors transient; messages never quote the token)."""

from __future__ import annotations

from typing import Any

import httpx

from monitor.errors import TransientNotifyError
from monitor.notifiers.http import post

LONG_POLL_MARGIN = 10.0  # seconds the HTTP request may outlast the long poll


class BotApi:
    """One bot (token) on one Bot API server."""

    def __init__(self, client: httpx.AsyncClient, api_url: str, token: str, timeout: float = 10.0) -> None:
        self.client, self.base, self.timeout = client, f"{api_url}/bot{token}", timeout
        self.bot_id = token.partition(":")[0]  # the public half: names the bot's offset

    async def call(self, method: str, payload: dict[str, Any], timeout: float | None = None) -> Any:
        response = await post(self.client, f"{self.base}/{method}", json=payload, timeout=timeout or self.timeout)
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientNotifyError(f"{method}: the answer is not JSON") from exc
        if not isinstance(body, dict) or not body.get("ok"):
            raise TransientNotifyError(f"{method}: the answer is not ok")
        return body.get("result")

    async def get_updates(self, offset: int | None, wait: float) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"timeout": int(wait), "allowed_updates": ["message", "callback_query"]}
        if offset is not None:
            payload["offset"] = offset
        result = await self.call("getUpdates", payload, timeout=wait + LONG_POLL_MARGIN)
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def answer_callback(self, callback_id: str, text: str, alert: bool = False) -> None:
        await self.call(
            "answerCallbackQuery", {"callback_query_id": callback_id, "text": text[:200], "show_alert": alert}
        )

    async def edit_message(self, chat_id: int | str, message_id: int, text: str) -> None:
        """Replace the message's text (and drop its buttons: it has been answered)."""
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "reply_markup": {"inline_keyboard": []},
        }
        await self.call("editMessageText", payload)

    async def send_message(self, chat_id: int | str, text: str, reply_to: int | None = None) -> None:
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if reply_to is not None:
            payload["reply_parameters"] = {"message_id": reply_to, "allow_sending_without_reply": True}
        await self.call("sendMessage", payload)
