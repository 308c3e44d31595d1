"""The notifier seam: what every alert channel provides, and the alert it delivers.

A notifier kind is a `NotifierKind`: the `type` users write in `[notifiers.*]`, a `parse`
function that reads the kind's own keys (through `Table`, which reports every problem)
into a frozen spec stored as `NotifierConfig.spec`, and `build(config, ctx)` which makes
the `Notifier` that delivers. `Notifier.send(alert)` either returns (delivered) or raises
`PermanentNotifyError` (retrying cannot help: the alert is recorded as failed) or
`TransientNotifyError` (the outbox retries later, after `retry_after` when the peer said).

A spec may carry `resend_every: float | None`: such a receiver keeps alert state (e.g.
Alertmanager) and must hear a still-open problem again every so often ("refresh" alerts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from monitor.config.model import EVENT_KINDS
from monitor.config.reader import Table

if TYPE_CHECKING:
    import httpx

    from monitor.config import NotifierConfig
    from monitor.notifiers.texts import Texts

# Further alert kinds: "escalation" (goes to `escalate_to`), "stable" (ends "flapping",
# sent where "flapping" goes), "refresh" (re-post for receivers with `resend_every`),
# "test" (`monitor notify-test`), "storage_failing" and "storage_recovered" (the
# monitor's own storage, to every notifier: `monitor.alerting.storage`),
# "connectivity_lost" and "connectivity_restored" (the monitor's own uplink, to every
# notifier: `monitor.alerting.uplink`), "location_stale" and "location_back" (a location
# of the cluster stopped reporting, or reports again: `monitor.alerting.locations`).
ALERT_KINDS = (
    *EVENT_KINDS,
    "escalation",
    "stable",
    "refresh",
    "test",
    "storage_failing",
    "storage_recovered",
    "connectivity_lost",
    "connectivity_restored",
    "location_stale",
    "location_back",
)


@dataclass(frozen=True)
class Alert:
    """One alert as every notifier receives it; stored in the outbox as JSON.

    `id` is stable for the same alert (retries, restarts), so receivers can deduplicate.
    `since` is when the condition began (the outage's start); `duration` is how long it
    lasted (recovery) or has lasted so far (reminder, escalation). `dependents` names the
    targets that depend on this one and are down with it. `url` is the target's page on
    the public status page, None for a `public = false` target (that page answers 404);
    such a target's alerts carry `admin_url`, its row on the admin view, instead (None
    while the admin view is off). `link` is whichever the message shows. `cert_days` / `cert_expiry`
    are set for expiry warnings ("cert" alerts), and `expiring` says what expires: a
    "certificate", or a "domain" registration. `values` are the gauges of the target's
    last result (`Result.extra`, by metric name): a UPS's battery runtime, for the alert
    to say how long the battery lasts. `old` and `new` are `State` values. Times are unix
    seconds (UTC). A "preflight" alert (a watch period's readiness checklist) carries
    `checks` = (ok, warnings, problems) and its findings as lines in `detail`.
    """

    id: str
    kind: str
    target: str
    name: str
    group: str
    old: str
    new: str
    reason: str
    at: float
    detail: str = ""
    since: float | None = None
    duration: float | None = None
    url: str | None = None
    admin_url: str | None = None
    dependents: tuple[str, ...] = ()
    cert_days: int | None = None
    cert_expiry: float | None = None
    flapping: bool = False  # the target is changing state too often to alert each change
    expiring: str = "certificate"  # what a "cert" alert warns of: "certificate" or "domain"
    values: Mapping[str, float] = field(default_factory=dict)
    checks: tuple[int, int, int] | None = None  # preflight: rows ok, warnings, problems

    @property
    def link(self) -> str | None:
        """Where a person reading the alert looks at the target."""
        return self.url or self.admin_url

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dependents"] = list(self.dependents)
        data["values"] = dict(self.values)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["dependents"] = tuple(known.get("dependents") or ())
        known["values"] = dict(known.get("values") or {})
        if known.get("checks") is not None:
            known["checks"] = tuple(known["checks"])
        return cls(**known)


class Notifier(Protocol):
    """Delivers alerts to one channel. `send` returns when delivered, raises
    `PermanentNotifyError` or `TransientNotifyError` otherwise, and ends within its
    configured timeout."""

    async def send(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class NotifyContext:
    """Shared resources the runtime builds once: one HTTP client, the message texts."""

    client: httpx.AsyncClient
    texts: Texts


ParseFn = Callable[[Table], Any]
BuildFn = Callable[["NotifierConfig", NotifyContext], Notifier]


@dataclass(frozen=True)
class NotifierKind:
    """One alert channel family: `parse(table)` reads its keys (reporting problems) into a
    frozen spec; `build(config, ctx)` makes the `Notifier`. `secrets` names spec fields
    never to be shown."""

    name: str
    parse: ParseFn
    build: BuildFn = field(repr=False)
    secrets: tuple[str, ...] = ()
