"""The alert about the storage itself: "storage failing: disk full", later "storage
recovered", to every configured notifier (whatever its `events`: nobody chose to miss it).

The alerting service asks `StorageWatch.check` at each tick with the history's and the
outbox's `StoreHealth`. The alert goes through the outbox like any other, so while the
disk refuses writes it is held in memory and delivered from there
(`monitor.alerting.fallback`); it is recorded as delivered once the disk is back.
"""

from __future__ import annotations

from monitor.config import Config
from monitor.notifiers.base import Alert
from monitor.store import StoreHealth

FAILING, RECOVERED = "storage_failing", "storage_recovered"
TARGET = "monitor"  # the alert's `target`: the monitor itself


def combined(history: StoreHealth, outbox: StoreHealth) -> StoreHealth:
    """One health for both: failing when either is, with the first failure's reason."""
    failing = [h for h in (history, outbox) if not h.ok]
    if not failing:
        return StoreHealth(dropped=history.dropped)
    first = min(failing, key=lambda h: h.since if h.since is not None else float("inf"))
    return StoreHealth(
        False, first.reason, first.since, sum(h.waiting for h in failing), history.dropped + outbox.dropped
    )


class StorageWatch:
    """Turns the storage's health into at most one "failing" and one "recovered" alert
    per failure."""

    def __init__(self) -> None:
        self.failing: StoreHealth | None = None  # the failure announced

    def check(self, health: StoreHealth, config: Config, now: float) -> Alert | None:
        if not health.ok and self.failing is None:
            self.failing = health
            since = health.since if health.since is not None else now
            return self._alert(config, FAILING, now, since, health)
        if health.ok and self.failing is not None:
            failing, self.failing = self.failing, None
            since = failing.since if failing.since is not None else now
            return self._alert(config, RECOVERED, now, since, health, duration=now - since)
        return None

    def _alert(
        self, config: Config, kind: str, now: float, since: float, health: StoreHealth, duration: float | None = None
    ) -> Alert:
        failing = kind == FAILING
        return Alert(
            id=f"{TARGET}:{kind}:{round(since)}",
            kind=kind,
            target=TARGET,
            name=config.settings.title,
            group="",
            old="",
            new="",
            reason=health.reason if failing else "ok",
            detail=health.describe().partition(", ")[2] if failing else "",
            at=now,
            since=since,
            duration=duration,
            url=config.settings.public_url,
        )
