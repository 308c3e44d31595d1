"""The alerting view as JSON, maintenance windows planned at runtime, and incident notes.

- `GET /admin/api/alerts`: the alerting part of `/admin` as JSON (`monitor.web.alertview`).
- `GET|POST /admin/api/maintenance`, `DELETE /admin/api/maintenance/{id}`: maintenance
  windows planned at runtime (`{"start", "end", "targets"|"groups", "reason"}`); the
  subscribers they concern are mailed when one is added, and when one is removed
  before its start.
- `POST /admin/api/targets/{id}/notes`: a note (`{"text", "at"?}`) on the target's
  incident at that time; notes are public (they show under the incident).

Each write is recorded in the audit log (`monitor.web.admin.audit`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.config import Config
from monitor.store import PlannedMaintenance
from monitor.web import alertview, viewmodels
from monitor.web.admin.audit import audit
from monitor.web.admin.payload import json_body
from monitor.web.api import parse_time
from monitor.web.templating import isotime


async def list_alerts(request: Request) -> Response:
    view = alertview.build(request.app.state.monitor)
    return JSONResponse(alertview.to_json(view), headers={"Cache-Control": "no-store"})


async def list_maintenance(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    planned = await runtime.store.planned_maintenance(viewmodels.clock(request.app.state))
    return JSONResponse({"maintenance": [_window(w) for w in planned]})


async def add_maintenance(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    problems, window = _read_window(body, runtime.config)
    if problems:
        return JSONResponse({"error": "; ".join(problems)}, 400)
    start, end, targets, groups, reason = window
    planned = await runtime.store.add_maintenance(start, end, targets, groups, reason)
    service = getattr(runtime, "subscriptions", None)
    if service is not None:  # citizens subscribed to these services hear of it
        service.on_maintenance(planned)
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
    window_id = request.path_params["id"]
    planned = await runtime.store.planned_maintenance(viewmodels.clock(request.app.state))
    if await runtime.store.remove_maintenance(window_id):
        service = getattr(runtime, "subscriptions", None)
        removed = next((w for w in planned if w.id == window_id), None)
        if service is not None and removed is not None:  # called off before its start: told so
            service.on_maintenance_removed(removed)
        await audit(request, "maintenance.remove", str(window_id))
        return Response(status_code=204)
    return JSONResponse({"error": "no such maintenance window"}, 404)


async def add_note(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    target_id = request.path_params["id"]
    if target_id not in runtime.config.targets:
        return JSONResponse({"error": "no such target"}, 404)
    body = await json_body(request)
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
