"""The alerts about the locations sharing the store (`monitor.cluster`): "location
sampit stopped reporting" once a location has stored no result for 3 × its shortest
interval, and "location sampit reports again" when it is back, to every configured
notifier (whatever its `events`), sent by the deciding instance only. Each has a
stable id (`monitor:location_stale:<location>:<last result>`), so a retry or a restart
never makes a receiver hear one twice.
"""

from __future__ import annotations

from monitor.alerting.storage import TARGET
from monitor.cluster.locations import LocationChange
from monitor.config import Config
from monitor.notifiers.base import Alert
from monitor.result import Reason

STALE, BACK = "location_stale", "location_back"
KINDS = (STALE, BACK)


def location_alert(config: Config, change: LocationChange) -> Alert:
    kind = STALE if change.stale else BACK
    return Alert(
        id=f"{TARGET}:{kind}:{change.location}:{round(change.since)}",
        kind=kind,
        target=TARGET,
        name=change.location,
        group="",
        old="",
        new="",
        reason=Reason.OK,
        detail="",
        at=change.at,
        since=change.since,
        duration=None if change.stale else change.at - change.since,
        url=config.settings.public_url,
    )
