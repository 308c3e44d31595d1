"""The inline buttons on an alert message: Tangani (acknowledge), Bisukan 1 jam (mute for
an hour), Detail. Each button's callback data names its action and the target:
`ack:web`; a target id too long for Telegram's 64 bytes is sent as a hash of it
(`ack#3f2a...`) and found again among the configured targets."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from monitor.texts import Words

BUTTONED = ("down", "reminder", "escalation")  # alert kinds about an open outage
ACTIONS = ("ack", "mute", "detail")
MUTE_SECONDS = 3600.0  # the button mutes for an hour
LIMIT = 64  # bytes of callback data Telegram keeps


def _digest(target_id: str) -> str:
    return hashlib.sha256(target_id.encode()).hexdigest()[:16]


def data(action: str, target_id: str) -> str:
    plain = f"{action}:{target_id}"
    return plain if len(plain.encode()) <= LIMIT else f"{action}#{_digest(target_id)}"


def parse(value: str, target_ids: Iterable[str]) -> tuple[str, str] | None:
    """(action, target id) of a button's callback data; None for one we did not make."""
    for sep in (":", "#"):
        action, found, rest = value.partition(sep)
        if found and action in ACTIONS:
            if sep == ":":
                return action, rest
            return next(((action, t) for t in target_ids if _digest(t) == rest), None)
    return None


def buttons(target_id: str, words: Words) -> list[dict[str, Any]]:
    """One row of the three buttons, in the configured language."""
    return [
        {"text": words("bot.button.ack"), "callback_data": data("ack", target_id)},
        {"text": words("bot.button.mute"), "callback_data": data("mute", target_id)},
        {"text": words("bot.button.detail"), "callback_data": data("detail", target_id)},
    ]
