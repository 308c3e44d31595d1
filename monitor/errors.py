"""The exceptions this package raises, in one tree.

    MonitorError
     ├── ConfigError            the configuration is invalid; carries every Problem found
     ├── StoreError             the history store cannot be opened, migrated or written
     ├── OnCallError            an on-call action refused (no such target, no open incident,
     │                          a bad duration): `code` names why, for the chat's and the API's answer
     └── NotifyError            a notifier could not deliver an alert
          ├── PermanentNotifyError   retrying will not help (HTTP 4xx other than 429, bad address)
          └── TransientNotifyError   retry later, after `retry_after` seconds when the peer said so

Probes never raise for a failing target: they return a failed `Result` (see
`monitor.result`). An exception escaping a probe is a programming error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class MonitorError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration, located as precisely as TOML allows."""

    file: str
    path: str  # dotted key path, e.g. "targets.website.interval"
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(MonitorError):
    """The configuration is invalid. `problems` lists every problem, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StoreError(MonitorError):
    """The history store failed (cannot open, migrate or write the database). `reason`
    names the failure shortly ("disk full", "I/O error", "database corrupt", ...) where
    the backend could tell it."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class NotifyError(MonitorError):
    """A notifier could not deliver an alert. The message is English, for logs and the
    outbox. Where its words are ours (not the peer's or the system's), `text` names them
    in the text catalogue with their `params` (`alert.notify_error.connect`, error=...),
    so what a person reads (`monitor notify-test`) is in the configured language."""

    def __init__(self, message: str, *, text: str = "", params: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.text, self.params = text, dict(params or {})


class PermanentNotifyError(NotifyError):
    """Delivery failed in a way retrying cannot fix (4xx other than 429, rejected address)."""


class TransientNotifyError(NotifyError):
    """Delivery failed for now; retry later (after `retry_after` seconds if the peer said)."""

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        text: str = "",
        params: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, text=text, params=params)
        self.retry_after = retry_after


class OnCallError(MonitorError):
    """An acknowledgement, mute or maintenance refused; `code` is one of `no_target`,
    `no_incident`, `bad_duration`, `not_muted` (the chat bot's texts `bot.error.CODE`)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)
