"""The alerts about the monitor's own uplink: "the monitor lost its connection" once
every `[monitor] connectivity` check fails (`monitor.connectivity`), and "connection
restored after 12m" at the first check that passes again, to every configured notifier
(whatever its `events`: nobody chose to miss it).

Which notifiers still work without the uplink the monitor cannot know (an e-mail relay
or a webhook in the office does; Telegram or Slack does not), so both alerts go to all
of them through the outbox as usual: a notifier that needs the lost uplink fails
transiently and is retried with backoff, and hears "lost" then "restored", in order, once
it is back. Both alerts have stable ids (`monitor:connectivity_lost:<start>`), so a
retry or a restart never makes a receiver hear one twice.

After a restart `announced(said)` reads the outage the last run announced and never
restored, from what the outbox last said (`Outbox.latest(KINDS)`): `Connectivity.resume`
then carries it on (the same outage, the same alert) or ends it with "restored".
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.alerting.storage import TARGET
from monitor.config import Config
from monitor.connectivity import Change, CheckState, Uplink
from monitor.notifiers.base import Alert
from monitor.result import Reason

LOST, RESTORED = "connectivity_lost", "connectivity_restored"
KINDS = (LOST, RESTORED)


def uplink_alert(config: Config, change: Change) -> Alert:
    """The alert a `Change` makes: "lost" for OFFLINE, "restored" for ONLINE."""
    lost = change.state is Uplink.OFFLINE
    kind = LOST if lost else RESTORED
    return Alert(
        id=f"{TARGET}:{kind}:{round(change.since)}",
        kind=kind,
        target=TARGET,
        name=config.settings.title,
        group="",
        old="",
        new="",
        reason=Reason.MONITOR_OFFLINE if lost else Reason.OK,
        detail=failures(change.checks) if lost else "",
        at=change.at,
        since=change.since,
        duration=None if lost else change.duration,
        url=config.settings.public_url,
    )


def failures(checks: Iterable[CheckState]) -> str:
    """What each check saw last, for the people on call: "dns-1: timeout, web-2: ..."."""
    return ", ".join(f"{c.name}: {c.last.reason}" for c in checks if c.last is not None and not c.last.ok)


def announced(said: Iterable[Alert]) -> float | None:
    """The start of the outage last announced as lost and never restored, if any;
    `said` the uplink alerts the outbox last queued, oldest first."""
    last = None
    for alert in said:
        if alert.kind in KINDS:
            last = alert
    if last is None or last.kind != LOST or last.since is None:
        return None
    return last.since
