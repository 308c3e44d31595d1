"""What an update asks, and the answer: commands in a message, and the alert buttons.

Commands: `/status`, `/ack ID [note]`, `/mute ID 2h`, `/unmute ID`,
`/maintenance ID 1h reason`, `/help` (and `/start`); `/ack@botname` works in groups.
Buttons: acknowledge, mute for an hour, details (`monitor.notifiers.telegrambot.buttons`).
Only the Telegram users in `allowed_users` (or anyone in a chat listed there by its id)
may act: anyone else gets a polite refusal
naming their user id (for an admin to add), and the attempt is logged. Every action
goes through the on-call desk (`Desk`, `monitor.alerting.oncall.OnCall`), the same
functions the admin API calls. A button's answer edits the alert message to say who
took it and when (`editMessageText`); a command is answered by a reply, and a command
sent as a reply to the alert message edits that message the same way.

Answers are in the person's Telegram language when it is Indonesian or English, else in
`[monitor] language`; times in `[monitor] timezone`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Protocol

from monitor.alerting.mute import mute_seconds
from monitor.alerting.oncall import Overview
from monitor.config import Config
from monitor.errors import OnCallError, StoreError
from monitor.log import kv
from monitor.notifiers.telegrambot import buttons
from monitor.notifiers.telegrambot.api import BotApi
from monitor.resources import templates_dir
from monitor.store import Ack, Mute, PlannedMaintenance
from monitor.texts import LANGUAGES, Catalog, Words, load_catalog

log = logging.getLogger("monitor.telegram")

STATUS_ROWS = 30  # targets listed by /status at most: a message holds 4,096 characters
USAGE = {
    "ack": "/ack ID [note]",
    "mute": "/mute ID 2h",
    "unmute": "/unmute ID",
    "maintenance": "/maintenance ID 1h reason",
}


class Desk(Protocol):
    """The on-call actions (`monitor.alerting.oncall.OnCall`)."""

    config: Config

    async def acknowledge(self, target_id: str, who: str, note: str = "", via: str = "api") -> Ack: ...

    async def mute(self, target_id: str, seconds: float, who: str, via: str = "api") -> Mute: ...

    async def unmute(self, target_id: str, who: str, via: str = "api") -> Mute: ...

    async def maintenance(
        self, target_id: str, seconds: float, reason: str, who: str, via: str = "api"
    ) -> PlannedMaintenance: ...

    def overview(self, now: float | None = None) -> Overview: ...


class Handler:
    """Answers one bot's updates; `allowed` are the user ids that may act."""

    def __init__(self, api: BotApi, desk: Desk, allowed: Collection[int], catalog: Catalog | None = None) -> None:
        self.api, self.desk, self.allowed = api, desk, frozenset(allowed)
        self.catalog = catalog or load_catalog(templates_dir())

    def _words(self, sender: dict[str, Any]) -> Words:
        code = str(sender.get("language_code") or "")[:2]
        return self.catalog.words(code if code in LANGUAGES else self.desk.config.settings.language)

    def _time(self, unix: float) -> str:
        zone = self.desk.config.settings.zone
        return datetime.fromtimestamp(unix, UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")

    async def handle(self, update: dict[str, Any]) -> None:
        if isinstance(update.get("callback_query"), dict):
            await self._button(update["callback_query"])
        elif isinstance(update.get("message"), dict):
            await self._message(update["message"])

    def _may_act(self, sender: dict[str, Any], what: str, chat: object = None) -> bool:
        """A user listed, or anyone in a chat listed (a group's id, negative)."""
        user = sender.get("id")
        if any(isinstance(who, int) and who in self.allowed for who in (user, chat)):
            return True
        log.warning("telegram user refused", extra=kv(user=user, username=sender.get("username", ""), asked=what))
        return False

    # -- buttons --------------------------------------------------------------------

    async def _button(self, query: dict[str, Any]) -> None:
        sender = query.get("from") or {}
        words, query_id = self._words(sender), str(query.get("id", ""))
        parsed = buttons.parse(str(query.get("data", "")), self.desk.config.targets)
        if parsed is None:
            await self.api.answer_callback(query_id, words("bot.unknown"))
            return
        action, target_id = parsed
        chat = ((query.get("message") or {}).get("chat") or {}).get("id")
        if not self._may_act(sender, f"button {action} {target_id}", chat):
            await self.api.answer_callback(query_id, words("bot.refused", user=sender.get("id")), alert=True)
            return
        if action == "detail":
            await self.api.answer_callback(query_id, self._detail(words, target_id), alert=True)
            return
        try:
            line = await self._act(words, action, target_id, _name(sender))
        except OnCallError as exc:
            await self.api.answer_callback(query_id, _error(words, exc, target_id), alert=True)
            return
        await self.api.answer_callback(query_id, line)
        message = query.get("message") or {}
        chat, message_id = (message.get("chat") or {}).get("id"), message.get("message_id")
        if chat is not None and isinstance(message_id, int):
            await self.api.edit_message(chat, message_id, f"{message.get('text', '')}\n\n{line}".strip())

    async def _act(self, words: Words, action: str, target_id: str, who: str) -> str:
        try:
            if action == "ack":
                ack = await self.desk.acknowledge(target_id, who, via="telegram")
                return words("bot.acked", who=ack.who, at=self._time(ack.at))
            mute = await self.desk.mute(target_id, buttons.MUTE_SECONDS, who, via="telegram")
        except StoreError as exc:
            log.error("telegram action not saved", extra=kv(target=target_id, error=str(exc)))
            raise OnCallError("failed", str(exc)) from exc
        name = self.desk.config.targets[target_id].name
        return words("bot.muted", name=name, who=mute.who, until=self._time(mute.until))

    def _detail(self, words: Words, target_id: str) -> str:
        target = self.desk.config.targets.get(target_id)
        if target is None:
            return words("bot.error.no_target", id=target_id)
        row = next((r for r in self.desk.overview().rows if r.target.id == target_id), None)
        if row is None:
            return f"{target.name}: {words.state('UP')}"
        reason = words.reason(row.reason) if row.reason else ""
        return words(
            "bot.detail", name=target.name, state=words.state(row.state), since=self._time(row.since), reason=reason
        )

    # -- commands -------------------------------------------------------------------

    async def _message(self, message: dict[str, Any]) -> None:
        text = str(message.get("text") or "").strip()
        if not text.startswith("/"):
            return  # the chat's own conversation
        sender, chat = message.get("from") or {}, (message.get("chat") or {}).get("id")
        words = self._words(sender)
        command, *args = text.split()
        name = command[1:].split("@")[0].lower()
        line: str | None = None  # what an acknowledgement or a mute adds to its alert message
        if name in ("help", "start"):
            answer = words("bot.help")
        elif name not in ("status", *USAGE):
            answer = words("bot.unknown")
        elif not self._may_act(sender, text[:100], chat):
            answer = words("bot.refused", user=sender.get("id"))
        else:
            answer, line = await self._command(words, name, args, _name(sender))
        if chat is None:
            return
        await self.api.send_message(chat, answer, message.get("message_id"))
        replied = message.get("reply_to_message") or {}
        if line and isinstance(replied.get("message_id"), int):  # a reply to the alert message
            await self.api.edit_message(chat, replied["message_id"], f"{replied.get('text', '')}\n\n{line}".strip())

    async def _command(self, words: Words, name: str, args: list[str], who: str) -> tuple[str, str | None]:
        """The answer, and the line for the alert message the command replied to."""
        if name == "status":
            return self._status(words), None
        need = 1 if name in ("ack", "unmute") else 2
        if len(args) < need:
            return words("bot.usage", usage=USAGE[name]), None
        target_id = args[0]
        try:
            return await self._run(words, name, target_id, args[1:], who)
        except OnCallError as exc:
            return _error(words, exc, target_id, args[1] if len(args) > 1 else ""), None
        except StoreError as exc:
            log.error("telegram action not saved", extra=kv(target=target_id, error=str(exc)))
            return words("bot.error.failed"), None

    async def _run(self, words: Words, name: str, target_id: str, rest: list[str], who: str) -> tuple[str, str | None]:
        if name == "ack":
            ack = await self.desk.acknowledge(target_id, who, " ".join(rest), via="telegram")
            line = words("bot.acked", who=ack.who, at=self._time(ack.at))
            answer = f"{self.desk.config.targets[target_id].name}: {line}"
            return answer + (f"\n{words('bot.note', note=ack.note)}" if ack.note else ""), line
        shown = self.desk.config.targets[target_id].name if target_id in self.desk.config.targets else target_id
        if name == "unmute":
            await self.desk.unmute(target_id, who, via="telegram")
            return words("bot.unmuted", name=shown), None
        seconds = mute_seconds(rest[0])
        if name == "mute":
            mute = await self.desk.mute(target_id, seconds, who, via="telegram")
            muted = words("bot.muted", name=shown, who=who, until=self._time(mute.until))
            return muted, muted
        window = await self.desk.maintenance(target_id, seconds, " ".join(rest[1:]), who, via="telegram")
        return words("bot.maintenance", name=shown, until=self._time(window.end)), None

    def _status(self, words: Words) -> str:
        view = self.desk.overview()
        lines = []
        for row in view.rows[:STATUS_ROWS]:
            line = words(
                "bot.status.row",
                state=words.state(row.state),
                name=row.target.name,
                id=row.target.id,
                since=self._time(row.since),
            )
            marks = []
            if row.ack is not None:
                marks.append(words("bot.status.handled", who=row.ack.who))
            if row.mute is not None:
                marks.append(words("bot.status.muted", until=self._time(row.mute.until)))
            lines.append(line + (f" — {', '.join(marks)}" if marks else ""))
        if len(view.rows) > STATUS_ROWS:
            lines.append(words("bot.status.more", count=len(view.rows) - STATUS_ROWS))
        if not lines:
            lines.append(words("bot.status.all_up"))
        for board in view.boards:
            now = ", ".join(board.now) or words("bot.status.nobody", fallback=board.fallback)
            line = words("bot.status.duty", roster=board.roster, now=now)
            if board.next and board.next_at is not None:
                line += "; " + words("bot.status.next", next=", ".join(board.next), at=self._time(board.next_at))
            lines.append(line)
        return "\n".join(lines)


def _name(sender: dict[str, Any]) -> str:
    """How a person is named in answers and records: their name, else @username, else id."""
    full = " ".join(str(sender.get(k) or "") for k in ("first_name", "last_name")).strip()
    return full or (f"@{sender['username']}" if sender.get("username") else str(sender.get("id", "?")))


def _error(words: Words, exc: OnCallError, target_id: str, text: str = "") -> str:
    if exc.code == "no_target":
        return words("bot.error.no_target", id=target_id)
    if exc.code == "no_incident":
        return words("bot.error.no_incident", id=target_id)
    if exc.code == "bad_duration":
        return words("bot.error.bad_duration", text=text)
    if exc.code == "not_muted":
        return words("bot.error.not_muted", id=target_id)
    return words("bot.error.failed")
