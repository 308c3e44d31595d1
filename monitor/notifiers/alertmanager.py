"""Alertmanager: alerts POSTed to its v2 API (`/api/v2/alerts`), kept alive while firing.

Keys: `url` (Alertmanager's base URL, e.g. http://127.0.0.1:9093; required),
`resend_every` (default "1m": how often a still-open problem is posted again),
`labels` (a table of extra labels, e.g. `{ team = "infra" }`), `headers` (e.g. an
`Authorization` for a proxy in front), `timeout`, `silences` (default false: a mute or
an acknowledgement of a target creates a silence of its alerts here, expired with the
mute; `monitor.alerting.silences`).

Each firing alert carries `endsAt` = now + 4 × `resend_every`, like Prometheus does: the
policy re-posts it every `resend_every` ("refresh" alerts), so it stays active while the
problem lasts, and if the monitor dies Alertmanager resolves it on its own shortly after
(the dead-man's switch reports the monitor's death). A resolution posts `endsAt` = the
recovery time. Alert names: `TargetDown` (critical), `TargetDegraded`, `TargetFlapping`,
`TargetCertificateExpiring` (warning; a certificate's or a domain registration's expiry),
`MonitorTest` (none), about the monitor itself `MonitorStorageFailing` and
`MonitorOffline` (critical; firing for a day at most, or until recovered), and
`MonitorPreflight` (the readiness checklist at a watch's start: warning with a problem,
else none; active for a day); labels `alertname`, `target`, `group` (when set),
`severity`, then `labels`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.config.reader import Table
from monitor.notifiers.base import Alert, NotifierKind, NotifyContext
from monitor.notifiers.http import post, require_url
from monitor.notifiers.texts import iso_utc

if TYPE_CHECKING:
    from monitor.config import NotifierConfig

SEVERITY = {
    "TargetDown": "critical",
    "TargetDegraded": "warning",
    "TargetFlapping": "warning",
    "TargetCertificateExpiring": "warning",
    "MonitorTest": "none",
    "MonitorPreflight": "none",  # "warning" when the checklist found a problem
    "MonitorStorageFailing": "critical",
    "MonitorOffline": "critical",
}
CERT_ALERT_LIFETIME = 86400.0  # a one-off warning: shown for a day
TEST_ALERT_LIFETIME = 300.0


@dataclass(frozen=True)
class AlertmanagerSpec:
    url: str
    resend_every: float = 60.0
    labels: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 10.0
    silences: bool = False


def parse(t: Table) -> AlertmanagerSpec:
    url = require_url(t, "must be Alertmanager's http:// or https:// base URL")
    return AlertmanagerSpec(
        url=url.rstrip("/"),
        resend_every=t.duration("resend_every", 60.0, low=1.0),
        labels=tuple(sorted(t.text_mapping("labels").items())),
        headers=tuple(sorted(t.text_mapping("headers").items())),
        timeout=t.duration("timeout", 10.0, low=0.1),
        silences=t.boolean("silences", False),
    )


def _names(alert: Alert) -> dict[str, bool]:
    """The Alertmanager alerts this alert speaks about, each firing (True) or resolved."""
    if alert.kind == "test":
        return {"MonitorTest": True}
    if alert.kind == "preflight":
        return {"MonitorPreflight": True}
    if alert.kind == "cert":
        return {"TargetCertificateExpiring": True}
    if alert.kind in ("storage_failing", "storage_recovered"):
        return {"MonitorStorageFailing": alert.kind == "storage_failing"}
    if alert.kind in ("connectivity_lost", "connectivity_restored"):
        return {"MonitorOffline": alert.kind == "connectivity_lost"}
    if alert.kind in ("location_stale", "location_back"):
        return {"MonitorLocationStale": alert.kind == "location_stale"}
    names: dict[str, bool] = {}
    stable = alert.kind in ("stable", "flapping")
    for name, state in (("TargetDown", "DOWN"), ("TargetDegraded", "DEGRADED")):
        if stable or state in (alert.old, alert.new):
            names[name] = alert.new == state
    if alert.flapping or stable:
        names["TargetFlapping"] = alert.flapping
    return names


def _severity(name: str, alert: Alert) -> str:
    if name == "MonitorPreflight" and alert.checks is not None and alert.checks[2]:
        return "warning"
    return SEVERITY[name]


class AlertmanagerNotifier:
    """Posts each alert as one or more Alertmanager alerts (see the module docstring)."""

    def __init__(self, spec: AlertmanagerSpec, ctx: NotifyContext, clock: Callable[[], float] = time.time) -> None:
        self.spec, self.ctx, self.clock = spec, ctx, clock

    def payload(self, alert: Alert) -> list[dict[str, Any]]:
        now = self.clock()
        summary = self.ctx.texts.render("title.txt.j2", alert)
        description = self.ctx.texts.render("text.txt.j2", alert)
        out = []
        for name, firing in _names(alert).items():
            labels = {"alertname": name, "target": alert.target, "severity": _severity(name, alert)}
            if alert.group:
                labels["group"] = alert.group
            labels.update(self.spec.labels)
            annotations = {"summary": summary, "description": description}
            if alert.url:
                annotations["status_page_url"] = alert.url
            if alert.admin_url:
                annotations["admin_url"] = alert.admin_url
            item: dict[str, Any] = {
                "labels": labels,
                "annotations": annotations,
                "startsAt": iso_utc(alert.since or alert.at),
                "endsAt": iso_utc(self._ends(alert, name, firing, now)),
            }
            if alert.link:
                item["generatorURL"] = alert.link
            out.append(item)
        return out

    def _ends(self, alert: Alert, name: str, firing: bool, now: float) -> float:
        if not firing:
            return min(alert.at, now)
        if name in ("TargetCertificateExpiring", "MonitorStorageFailing", "MonitorOffline", "MonitorPreflight"):
            return alert.at + CERT_ALERT_LIFETIME  # no refresh follows: a day, or until recovered
        if name == "MonitorTest":
            return now + TEST_ALERT_LIFETIME
        return now + 4 * self.spec.resend_every

    async def send(self, alert: Alert) -> None:
        await post(
            self.ctx.client,
            f"{self.spec.url}/api/v2/alerts",
            json=self.payload(alert),
            headers=dict(self.spec.headers),
            timeout=self.spec.timeout,
        )


def build(config: NotifierConfig, ctx: NotifyContext) -> AlertmanagerNotifier:
    return AlertmanagerNotifier(config.spec, ctx)


KIND = NotifierKind("alertmanager", parse, build, secrets=("headers",))
