"""`GET /admin`: the monitor's own uplink (`[monitor] connectivity`: online or offline
since when, each check's address, last result and failures in a row), every target
(private ones too) with its address (scheme and host only, like every URL on the admin
view: `monitor.web.masking`), state and last error, the latest state changes with the
probes' details, planned maintenance, and alerting: each notifier (settings with secrets
masked, undelivered queue), the alerts that failed for good, the dead-man's switch and
the last configuration reload, the locations of a cluster and each target's state at
each, the on-call desk (who is on duty, acknowledgements, mutes, each target not UP linked
to its page's acknowledge, mute and update forms, each mute's unmute button), the active
announcements with their remove buttons; in the days before a watch period, its readiness
checklist first (`monitor.preflight.inside`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from monitor.config import Target
from monitor.preflight.inside import admin_section
from monitor.state import Status
from monitor.web import alertview, viewmodels
from monitor.web.admin import oncall, subscribers
from monitor.web.admin.layout import render
from monitor.web.locations import summaries, target_locations
from monitor.web.masking import origin, scrub, target_secrets
from monitor.web.templating import language


async def admin_page(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    config, now = runtime.config, viewmodels.clock(request.app.state)
    # A probe's detail may quote its URL or a header: never with a secret in it.
    secrets = {t.id: list(target_secrets(t.url, t.spec)) for t in config.targets.values()}
    found = await runtime.store.events(None, now - 7 * 86400.0, now, limit=100)
    events = [dataclasses.replace(e, detail=scrub(e.detail, secrets.get(e.target, ()))) for e in found]
    planned = await runtime.store.planned_maintenance(now)
    rows = [_row(t, runtime.states.statuses.get(t.id), secrets[t.id]) for t in config.targets.values()]
    names = {t.id: t.name for t in config.targets.values()}
    alerts = alertview.build(request.app.state.monitor)
    context = {
        "now": now,
        "uplink": viewmodels.uplink(runtime),
        "checks": _checks(runtime),
        "rows": rows,
        "events": events,
        "planned": planned,
        "names": names,
        "alerts": alerts,
        "locations": summaries(runtime, now),
        "at_locations": {t.id: target_locations(runtime, t.id) for t in config.targets.values()},
        "oncall": oncall.overview(runtime, now),
        "banners": await runtime.store.announcements(now),
        "subscribers": subscribers.overview(runtime),
    }
    context["preflight"] = await admin_section(request.app.state, runtime, now, language(request, config))
    return render(request, "admin.html.j2", config, lambda t: context)


def _row(target: Target, status: Status | None, secrets: list[str]) -> dict[str, Any]:
    error = None
    if status is not None and status.last is not None and not status.last.ok:
        error = (status.last.reason, scrub(status.last.detail, secrets), status.last.started)
    elif status is not None and status.state in ("DOWN", "DEGRADED"):
        error = (status.reason, scrub(status.detail, secrets), status.since)
    return {"target": target, "address": origin(target.url), "status": status, "error": error}


def _checks(runtime: viewmodels.Runtime) -> list[dict[str, Any]]:
    """Each connectivity check with its address (scheme and host) and what it saw last."""
    states = runtime.connectivity.checks
    out = []
    for check in runtime.config.settings.connectivity:
        state = states.get(check.id)
        last = state.last if state is not None else None
        detail = scrub(last.detail, list(target_secrets(check.url, check.spec))) if last is not None else ""
        out.append(
            {
                "check": check,
                "address": origin(check.url),
                "last": last,
                "detail": detail,
                "failures": state.failures if state is not None else 0,
            }
        )
    return out
