"""What the admin view shows of alerting (`GET /admin`, `GET /admin/api/alerts`).

Each configured notifier with its settings (secrets masked, see `monitor.web.masking`),
its undelivered queue and how many of its alerts failed for good; those failed alerts
with their error and time (`Alerting.failed()`, newest first, including those of
notifiers removed since); the dead-man's switch (`DeadMan`); and how the last
configuration reload went. In a process without alerting (only `monitor run` has it)
the notifiers are still listed, with no queue.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from monitor.config.reader import format_duration
from monitor.notifiers import NOTIFIERS
from monitor.web.masking import origin, scrub, secret_values, settings
from monitor.web.templating import isotime

if TYPE_CHECKING:
    from monitor.alerting.deadman import DeadMan
    from monitor.alerting.service import Alerting
    from monitor.config import Config, NotifierConfig
    from monitor.runtime import ReloadStatus
    from monitor.store import Entry

FAILED_SHOWN = 100


class AlertingRuntime(Protocol):
    """What this view reads from the running monitor (`monitor.runtime.Monitor`)."""

    @property
    def config(self) -> Config: ...

    @property
    def alerting(self) -> Alerting | None: ...

    @property
    def deadman(self) -> DeadMan | None: ...

    @property
    def last_reload(self) -> ReloadStatus | None: ...


@dataclass(frozen=True)
class NotifierRow:
    """One configured notifier; `queue` is None when alerting is off."""

    name: str
    type: str
    settings: list[tuple[str, str]]
    queue: int | None
    failed: int


@dataclass(frozen=True)
class FailedAlert:
    """An alert a notifier could not deliver and will not retry."""

    notifier: str
    alert: str  # the alert's id
    kind: str
    target: str
    at: float  # when the alert was raised
    failed_at: float | None
    attempts: int
    error: str


@dataclass(frozen=True)
class DeadManRow:
    """The dead-man's switch: `url` shows only the scheme and host (the path is the secret)."""

    url: str
    last_success: float | None
    last_ping: float | None
    last_ok: bool | None
    last_error: str | None
    withheld: int


@dataclass(frozen=True)
class AlertsView:
    enabled: bool
    notifiers: list[NotifierRow]
    failed: list[FailedAlert]
    deadman: DeadManRow | None
    reload: ReloadStatus | None


def build(runtime: AlertingRuntime) -> AlertsView:
    config, alerting = runtime.config, runtime.alerting
    secrets = _secrets(config)
    failed = [_failed(e, secrets) for e in alerting.failed(FAILED_SHOWN)] if alerting else []
    queues = alerting.queue_sizes() if alerting else {}
    rows = []
    for name, nc in config.notifiers.items():
        kind = NOTIFIERS.get(nc.type)
        shown = [*settings(nc.spec, kind.secrets if kind else ()), *_policy(nc)]
        count = sum(1 for f in failed if f.notifier == name)
        rows.append(NotifierRow(name, nc.type, shown, queues.get(name, 0) if alerting else None, count))
    reload = runtime.last_reload
    if reload is not None:  # a problem may quote a URL (or, from a bug, anything)
        reload = dataclasses.replace(reload, problems=tuple(scrub(p, secrets) for p in reload.problems))
    return AlertsView(alerting is not None, rows, failed, _deadman(runtime.deadman, config, secrets), reload)


def to_json(view: AlertsView) -> dict[str, Any]:
    """The view as `GET /admin/api/alerts` answers it: times in ISO 8601 (UTC)."""
    data = dataclasses.asdict(view)
    for row in data["notifiers"]:
        row["settings"] = dict(row["settings"])
    for item in data["failed"]:
        _iso(item, "at", "failed_at")
    if data["deadman"] is not None:
        _iso(data["deadman"], "last_success", "last_ping")
    if data["reload"] is not None:
        _iso(data["reload"], "at")
        data["reload"]["problems"] = list(data["reload"]["problems"])
    return data


def _policy(nc: NotifierConfig) -> list[tuple[str, str]]:
    """The alert policy keys of `[notifiers.NAME]`, as the user wrote them."""
    shown = [("events", ", ".join(sorted(nc.events)))]
    for key in ("repeat_every", "escalate_after"):
        if getattr(nc, key) is not None:
            shown.append((key, format_duration(getattr(nc, key))))
    if nc.escalate_to:
        shown.append(("escalate_to", ", ".join(nc.escalate_to)))
    return shown


def _secrets(config: Config) -> set[str]:
    found: set[str] = set()
    for nc in config.notifiers.values():
        kind = NOTIFIERS.get(nc.type)
        found.update(secret_values(nc.spec, kind.secrets if kind else ()))
    if config.settings.heartbeat_url:
        found.add(config.settings.heartbeat_url)
    return found


def _failed(entry: Entry, secrets: set[str]) -> FailedAlert:
    alert = entry.alert
    return FailedAlert(
        entry.notifier,
        alert.id,
        alert.kind,
        alert.target,
        alert.at,
        entry.done_at,
        entry.attempts,
        scrub(entry.error, secrets),
    )


def _deadman(deadman: DeadMan | None, config: Config, secrets: set[str]) -> DeadManRow | None:
    url = config.settings.heartbeat_url
    if deadman is None or not url:
        return None
    error = scrub(deadman.last_error, secrets) or None
    return DeadManRow(origin(url), deadman.last_success, deadman.last_ping, deadman.last_ok, error, deadman.skipped)


def _iso(data: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if data[key] is not None:
            data[key] = isotime(data[key])
