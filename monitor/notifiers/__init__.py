"""Notifier kinds, one module each, in one registry keyed by `type`."""

from __future__ import annotations

from monitor.notifiers.base import NotifierKind

_KINDS: tuple[NotifierKind, ...] = ()

NOTIFIERS: dict[str, NotifierKind] = {kind.name: kind for kind in _KINDS}
"""Notifier kinds by `type` in targets.toml."""

__all__ = ["NOTIFIERS", "NotifierKind"]
