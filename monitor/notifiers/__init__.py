"""Notifier kinds, one module each, in one registry keyed by `type`."""

from __future__ import annotations

from monitor.notifiers import alertmanager, discord, email, slack, telegram, webhook
from monitor.notifiers.base import Alert, Notifier, NotifierKind, NotifyContext

_KINDS: tuple[NotifierKind, ...] = (
    telegram.KIND,
    slack.KIND,
    discord.KIND,
    webhook.KIND,
    email.KIND,
    alertmanager.KIND,
)

NOTIFIERS: dict[str, NotifierKind] = {kind.name: kind for kind in _KINDS}
"""Notifier kinds by `type` in targets.toml."""

__all__ = ["NOTIFIERS", "Alert", "Notifier", "NotifierKind", "NotifyContext"]
