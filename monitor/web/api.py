"""The public JSON API under `/api/v1/`, described by `/api/openapi.json`.

Every answer is built from `Public*` values (`monitor.web.viewmodels`): ids, names, groups,
states, machine reasons, times (ISO 8601, UTC) and figures. A private or unknown target
is a 404 alike. `monitor.web.openapi` describes each answer; the tests validate real
answers against it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.store import StoredResult, Uptime, Wording
from monitor.web import viewmodels
from monitor.web.cache import current_snapshot
from monitor.web.openapi import document
from monitor.web.templating import isotime

MAX_RESULTS = 10_000
MAX_INCIDENTS = 500
# The latest time accepted: any later one cannot be shown as a date in every zone (a
# datetime ends with the year 9999), and a window stored with it would break every page
# that shows it.
LATEST = datetime(9999, 12, 30, tzinfo=UTC).timestamp()


def routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/status", status, methods=["GET"]),
        Route("/api/v1/targets/{id}/results", results, methods=["GET"]),
        Route("/api/v1/incidents", incidents, methods=["GET"]),
        Route("/api/openapi.json", openapi, methods=["GET"]),
    ]


def problem(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


async def status(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    snap = await current_snapshot(runtime, request.app.state)
    watch = snap.watch
    return JSONResponse(
        {
            "title": snap.title,
            "generated_at": isotime(snap.now),
            "connectivity": {"state": snap.uplink.state, "since": _time(snap.uplink.since)},
            "overall": viewmodels.overall([row.status for row in snap.rows]),
            "watch": None
            if watch is None
            else {
                "name": watch.name,
                "start": isotime(watch.start),
                "end": isotime(watch.end),
                "day": watch.day,
                "days": watch.days,
            },
            "targets": [target_json(row) for row in snap.rows],
            "incidents": [incident_json(i, snap.now) for i in snap.incidents if i.end is None],
            "maintenance": [
                {
                    "targets": [_ref(t) for t in m.targets],
                    "start": isotime(m.start),
                    "end": isotime(m.end),
                    "reason": m.reason,
                }
                for m in snap.maintenance
            ],
            "announcements": [
                {"id": a.id, "level": a.level, "text": _wording(a.text), "start": isotime(a.start), "end": _time(a.end)}
                for a in snap.announcements
                if a.active(snap.now)
            ],
        }
    )


def target_json(row: viewmodels.Row) -> dict[str, Any]:
    s = row.status
    return {
        **_ref(s.target),
        "state": s.state.value,
        "since": _time(s.since),
        "last_checked": _time(s.last_checked),
        "reason": s.reason or None,
        "latency": s.latency,
        "uptime": {w: _ratio(u) for w, u in row.uptime.items()},
    }


def incident_json(item: viewmodels.PublicIncident, now: float) -> dict[str, Any]:
    return {
        "id": item.id,
        "declared": item.declared,
        "title": _wording(item.title),
        "status": item.status,
        "target": _ref(item.target),
        "targets": [_ref(t) for t in item.targets],
        "reason": item.reason or None,
        "start": isotime(item.start),
        "end": _time(item.end),
        "ongoing": item.end is None,
        "duration": round(item.duration(now), 3),
        "maintenance": [{"start": isotime(start), "end": _time(end)} for start, end in item.maintenance],
        "maintenance_seconds": round(item.in_maintenance(now), 3),
        "notes": [{"at": isotime(n.at), "text": n.text} for n in item.notes],
        "updates": [{"at": isotime(u.at), "status": u.status, "text": _wording(u.text)} for u in item.updates],
        "handled": item.handled,
    }


def _wording(text: Wording | None) -> dict[str, str | None] | None:
    """A text for citizens: Indonesian, and English or null."""
    return None if text is None else {"id": text.id, "en": text.en or None}


async def results(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    target = viewmodels.public_target(runtime.config, request.path_params["id"])
    if target is None:
        return problem(404, "no such target")
    span = _span(request, default=86400.0)
    if isinstance(span, JSONResponse):
        return span
    since, until = span
    rows = await runtime.store.results(target.id, since, until, limit=MAX_RESULTS + 1)
    return JSONResponse(
        {
            "target": _ref(target),
            "since": isotime(since),
            "until": isotime(until),
            "truncated": len(rows) > MAX_RESULTS,
            "results": [_result(r) for r in rows[:MAX_RESULTS]],
        }
    )


def _result(row: StoredResult) -> dict[str, Any]:
    # Never `detail`: a probe's own words can name hosts and addresses.
    return {
        "at": isotime(row.at),
        "ok": row.ok,
        "degraded": row.degraded,
        "maintenance": row.maintenance,
        "reason": row.reason,
        "duration": round(row.duration, 6),
    }


async def incidents(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    span = _span(request, default=30 * 86400.0)
    if isinstance(span, JSONResponse):
        return span
    since, until = span
    wanted = request.query_params.get("target")
    if wanted is not None:
        found = viewmodels.public_target(runtime.config, wanted)
        if found is None:
            return problem(404, "no such target")
        ids = [found.id]
    else:
        ids = [t.id for t in viewmodels.public_targets(runtime.config)]
    found_incidents = await viewmodels.public_incidents(runtime, ids, since, until, MAX_INCIDENTS)
    now = viewmodels.clock(request.app.state)
    return JSONResponse(
        {
            "since": isotime(since),
            "until": isotime(until),
            "incidents": [incident_json(i, now) for i in found_incidents],
        }
    )


async def openapi(request: Request) -> Response:
    return JSONResponse(document())


def _span(request: Request, default: float) -> tuple[float, float] | JSONResponse:
    """`?since=&until=` as unix times (ISO 8601 or unix seconds); `until` defaults to now
    and `since` to `default` seconds before it."""
    try:
        until = parse_time(request.query_params.get("until"))
        until = viewmodels.clock(request.app.state) if until is None else until
        since = parse_time(request.query_params.get("since"))
        since = until - default if since is None else since
    except ValueError as exc:
        return problem(400, str(exc))
    if since >= until:
        return problem(400, "since must be before until")
    return since, until


def parse_time(text: str | None) -> float | None:
    """ISO 8601 with an offset, or unix seconds, as unix seconds from 1970 to `LATEST`;
    None for nothing; ValueError (with a message for the user) otherwise."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
        except ValueError:
            raise ValueError(f"not a time: {text!r} (ISO 8601 or unix seconds)") from None
        if parsed.tzinfo is None:
            raise ValueError(f"time {text!r} needs a UTC offset, e.g. 2026-06-11T00:00:00+07:00") from None
        value = parsed.timestamp()
    if not math.isfinite(value) or not 0 <= value <= LATEST:
        raise ValueError(f"not a time: {text!r} (between 1970 and 9999)")
    return value


def _ref(target: viewmodels.PublicTarget) -> dict[str, str]:
    return {"id": target.id, "name": target.name, "group": target.group}


def _time(at: float | None) -> str | None:
    return isotime(at) if at else None


def _ratio(uptime: Uptime | None) -> float | None:
    ratio = uptime.ratio if uptime is not None else None
    return None if ratio is None else round(ratio, 6)
