"""The admin view (`GET /admin`) and the admin write API (`/admin/api/...`).

Off (404 everywhere) unless `MONITOR_ADMIN_TOKEN` is set. The token is compared in
constant time. The page accepts `Authorization: Bearer TOKEN`, or HTTP Basic with the
token as the password so a browser can open it; the write API accepts only Bearer, which
a browser never attaches on its own, so another site cannot forge a write (CSRF).

A client that sent `FAILURES` wrong credentials within `FAILURE_WINDOW` seconds is
answered 429 with Retry-After, its credentials not compared, until it has waited
(`monitor.web.ratelimit`); a request without credentials (a browser's first, before it
asks for the password) is no failure. A body over `MAX_BODY` bytes is refused (413)
before it is read (`monitor.web.bodies`).

Routes:
- `GET /admin`: the monitor's own uplink (`[monitor] connectivity`: online or offline
  since when, each check's address, last result and failures in a row), every target
  (private ones too) with its address (scheme and host only, like every URL on the
  admin view: `monitor.web.masking`), state and last error,
  the latest state changes with the probes' details, planned maintenance, and alerting:
  each notifier (settings with secrets masked, undelivered queue), the alerts that
  failed for good, the dead-man's switch and the last configuration reload; in the days
  before a watch period, its readiness checklist first (`monitor.preflight.inside`).
- `GET /admin/api/alerts`: the alerting part as JSON (`monitor.web.alertview`).
- `GET|POST /admin/api/maintenance`, `DELETE /admin/api/maintenance/{id}`: maintenance
  windows planned at runtime (`{"start", "end", "targets"|"groups", "reason"}`).
- on call (`monitor.web.adminoncall`): `POST /admin/api/targets/{id}/ack`,
  `POST|DELETE /admin/api/targets/{id}/mute`, `GET /admin/api/oncall`.
- `POST /admin/api/targets/{id}/notes`: a note (`{"text", "at"?}`) on the target's
  incident at that time; notes are public (they show under the incident).
- incidents, their updates and announcements: `monitor.web.adminincidents`.
- `GET /admin/api/audit`: the audit log, newest first (`?limit=`, at most 1,000): every
  write through this API is recorded by `audit(request, action, subject, detail)` with
  who made it (`token` for the bearer token).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.alerting.policy import ADMIN_TOKEN_ENV
from monitor.config import Config, Target
from monitor.preflight.inside import admin_section
from monitor.state import Status
from monitor.store import AuditEntry, PlannedMaintenance
from monitor.web import adminincidents, adminoncall, alertview, viewmodels
from monitor.web.api import parse_time
from monitor.web.bodies import read_body, too_large
from monitor.web.locations import summaries, target_locations
from monitor.web.masking import origin, scrub, target_secrets
from monitor.web.ratelimit import client_of, limit_of, too_many
from monitor.web.templating import isotime, language, page

TOKEN_ENV = ADMIN_TOKEN_ENV
MAX_BODY = 64 * 1024
AUDIT_LIMIT = 1000
FAILURES, FAILURE_WINDOW = 10, 60.0  # wrong credentials a client may send per minute
Handler = Callable[[Request], Awaitable[Response]]


def routes() -> list[BaseRoute]:
    return [
        Route("/admin", guarded(admin_page, browser=True), methods=["GET"]),
        Route("/admin/api/alerts", guarded(list_alerts), methods=["GET"]),
        Route("/admin/api/maintenance", guarded(list_maintenance), methods=["GET"]),
        Route("/admin/api/maintenance", guarded(add_maintenance), methods=["POST"]),
        Route("/admin/api/maintenance/{id:int}", guarded(remove_maintenance), methods=["DELETE"]),
        Route("/admin/api/targets/{id}/notes", guarded(add_note), methods=["POST"]),
        *adminincidents.routes(guarded),
        *adminoncall.routes(guarded),
        Route("/admin/api/audit", guarded(list_audit), methods=["GET"]),
    ]


def guarded(handler: Handler, browser: bool = False) -> Handler:
    """Answer 404 while no token is configured, 429 to a client that failed too often,
    401 without the right token."""

    async def check(request: Request) -> Response:
        token = os.environ.get(TOKEN_ENV, "")
        if not token:
            return PlainTextResponse("Not Found", 404)
        failures, client = limit_of(request, "admin_failures", FAILURES, FAILURE_WINDOW), client_of(request)
        wait = failures.retry_after(client)
        if wait is not None:
            return too_many(wait)
        header = request.headers.get("authorization", "")
        if not authorized(header, token, browser):
            if header:
                failures.failed(client, request.url.path)
            challenge = 'Bearer realm="monitor admin"'
            if browser:
                challenge = 'Basic realm="monitor admin", charset="UTF-8", ' + challenge
            return PlainTextResponse("Unauthorized", 401, {"WWW-Authenticate": challenge})
        request.state.who = "token"
        return await handler(request)

    return check


def authorized(header: str, token: str, allow_basic: bool) -> bool:
    scheme, _, value = header.partition(" ")
    given = value.strip()
    if scheme.lower() == "basic" and allow_basic:
        try:
            given = base64.b64decode(given, validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


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
        "oncall": adminoncall.overview(runtime, now),
    }
    context["preflight"] = await admin_section(request.app.state, runtime, now, language(request, config))
    response = page(request, "admin.html.j2", config, lambda t: context)
    response.headers["Cache-Control"] = "no-store"
    return response


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


async def list_alerts(request: Request) -> Response:
    view = alertview.build(request.app.state.monitor)
    return JSONResponse(alertview.to_json(view), headers={"Cache-Control": "no-store"})


async def list_maintenance(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    planned = await runtime.store.planned_maintenance(viewmodels.clock(request.app.state))
    return JSONResponse({"maintenance": [_window(w) for w in planned]})


async def add_maintenance(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    problems, window = _read_window(body, runtime.config)
    if problems:
        return JSONResponse({"error": "; ".join(problems)}, 400)
    start, end, targets, groups, reason = window
    planned = await runtime.store.add_maintenance(start, end, targets, groups, reason)
    shown = _window(planned)
    await audit(request, "maintenance.add", str(planned.id), json.dumps(shown, ensure_ascii=False))
    return JSONResponse(shown, 201)


def _read_window(
    body: dict[str, Any], config: Config
) -> tuple[list[str], tuple[float, float, list[str], list[str], str]]:
    problems: list[str] = []
    times = []
    for key in ("start", "end"):
        try:
            at = parse_time(str(body.get(key, "")))
        except ValueError as exc:
            at = None
            problems.append(f"{key}: {exc}")
        else:
            if at is None:
                problems.append(f"{key} is required")
        times.append(at or 0.0)
    start, end = times
    if not problems and end <= start:
        problems.append("end must be after start")
    targets, groups = _names(body, "targets", problems), _names(body, "groups", problems)
    problems += [f"no target named {t!r}" for t in targets if t not in config.targets]
    known_groups = {t.group for t in config.targets.values()}
    problems += [f"no group named {g!r}" for g in groups if g not in known_groups]
    if not targets and not groups:
        problems.append("name some targets or groups")
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        problems.append("reason must be a string")
        reason = ""
    unknown = set(body) - {"start", "end", "targets", "groups", "reason"}
    problems += [f"unknown key {k!r}" for k in sorted(unknown)]
    return problems, (start, end, targets, groups, reason)


def _names(body: dict[str, Any], key: str, problems: list[str]) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{key} must be a list of strings")
        return []
    return value


def _window(window: PlannedMaintenance) -> dict[str, Any]:
    return {
        "id": window.id,
        "start": isotime(window.start),
        "end": isotime(window.end),
        "targets": list(window.targets),
        "groups": list(window.groups),
        "reason": window.reason,
    }


async def remove_maintenance(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    if await runtime.store.remove_maintenance(request.path_params["id"]):
        await audit(request, "maintenance.remove", str(request.path_params["id"]))
        return Response(status_code=204)
    return JSONResponse({"error": "no such maintenance window"}, 404)


async def add_note(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    target_id = request.path_params["id"]
    if target_id not in runtime.config.targets:
        return JSONResponse({"error": "no such target"}, 404)
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    text, at = body.get("text"), body.get("at")
    if not isinstance(text, str) or not text.strip():
        return JSONResponse({"error": "text is required"}, 400)
    try:
        when = parse_time(str(at)) if at is not None else None
    except ValueError as exc:
        return JSONResponse({"error": f"at: {exc}"}, 400)
    author = body.get("author", "")
    when = viewmodels.clock(request.app.state) if when is None else when
    note = await runtime.store.add_note(target_id, when, text.strip(), author if isinstance(author, str) else "")
    await audit(request, "target.note", target_id, note.text)
    return JSONResponse({"id": note.id, "target": note.target, "at": isotime(note.at), "text": note.text}, 201)


async def list_audit(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    try:
        limit = int(request.query_params.get("limit", "200"))
    except ValueError:
        return JSONResponse({"error": "limit must be a whole number"}, 400)
    if not 1 <= limit <= AUDIT_LIMIT:
        return JSONResponse({"error": f"limit must be between 1 and {AUDIT_LIMIT}"}, 400)
    entries = await runtime.store.audit_entries(limit)
    return JSONResponse(
        {"audit": [{**dataclasses.asdict(e), "at": isotime(e.at)} for e in entries]},
        headers={"Cache-Control": "no-store"},
    )


async def audit(request: Request, action: str, subject: str, detail: str = "") -> None:
    """Record a write in the audit log, by whoever the guard let in."""
    runtime: viewmodels.Runtime = request.app.state.monitor
    who = getattr(request.state, "who", "token")
    await runtime.store.record_audit(AuditEntry(viewmodels.clock(request.app.state), who, action, subject, detail))


async def _json_body(request: Request) -> dict[str, Any] | Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return JSONResponse({"error": "send application/json"}, 415)
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        return too_large(MAX_BODY)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return JSONResponse({"error": "body is not valid JSON"}, 400)
    if not isinstance(body, dict):
        return JSONResponse({"error": "body must be a JSON object"}, 400)
    return body
