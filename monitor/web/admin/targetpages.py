"""The targets for people: the table, a target's page, its form, delete and pause.

- `GET /admin/targets` (viewer): every target with search (`q`: id, name or address)
  and filters (`group`, `kind`, `state`, `visibility` = public|private); its state (or
  paused), since how long, certificate or domain days left, the last error once
  (its reason in words, the code, the detail);
- `GET /admin/targets/{id}` (viewer): one target: state, its state at each location
  when there are several (state, latency, last check: `monitor.web.locations.
  target_locations`), settings as the file has them (secrets `***`), its incidents of
  the last 90 days; buttons for what the role may: with an open incident, acknowledge
  (with a note) and post an update; mute for a duration, unmute
  (`monitor.web.admin.actionpages`);
- `GET /admin/targets/new?kind=KIND` · `GET /admin/targets/{id}/edit` (admin): the
  form made from the kind's key declarations (`monitor.config.fields`,
  `monitor.web.admin.forms`); posting it (`POST` to the same path) saves
  (`_action=save`) or probes without saving (`_action=probe`); problems show next to
  their fields and nothing is written; a change made to the file since the form was
  opened (its `_version`) is refused with that change shown;
- `GET|POST /admin/targets/{id}/delete` (admin): confirm, then delete;
- `POST /admin/targets/{id}/pause` · `/resume` (operator): then back to the target.

Every write goes through `monitor.web.admin.changes.save`, as the JSON API's do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote

import tomlkit
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor.config import Config, Target
from monitor.config.edit import Conflict, Rejected
from monitor.config.fields import Field, target_fields
from monitor.config.loader import ID_PATTERN
from monitor.probes import PROBES
from monitor.result import Result
from monitor.state import Status
from monitor.web import viewmodels
from monitor.web.admin.actionpages import target_actions
from monitor.web.admin.changes import config_file, runtime_of, save, secret_values
from monitor.web.admin.forms import VERSION, inputs, problems_by_field, read_form
from monitor.web.admin.layout import render
from monitor.web.admin.payload import MAX_BODY
from monitor.web.admin.targets import (
    file_table,
    kind_of,
    masked,
    probe_values,
    remove_target,
    replace_target,
    result_json,
    secret_keys,
    set_paused,
)
from monitor.web.bodies import read_body, too_large
from monitor.web.locations import target_locations
from monitor.web.masking import origin, scrub, target_secrets
from monitor.web.templating import language

HISTORY_DAYS = 90
STATES = ("UP", "DEGRADED", "DOWN", "MAINTENANCE", "UNKNOWN", "PAUSED")


# --- the table --------------------------------------------------------------------------


async def targets_page(request: Request) -> Response:
    runtime = runtime_of(request)
    config, now = runtime.config, viewmodels.clock(request.app.state)
    query = request.query_params
    rows = [row(t, runtime.states.statuses.get(t.id), now) for t in config.targets.values()]
    shown = [r for r in rows if _matches(r, query)]
    choices = {
        "group": sorted({t.group for t in config.targets.values() if t.group}),
        "kind": sorted({t.kind for t in config.targets.values()}),
        "state": list(STATES),
    }
    context = {"rows": shown, "total": len(rows), "query": dict(query), "choices": choices, "kinds": sorted(PROBES)}
    return render(request, "admin_targets.html.j2", config, lambda t: context)


def row(target: Target, status: Status | None, now: float) -> dict[str, Any]:
    """What the table shows of one target."""
    secrets = list(target_secrets(target.url, target.spec))
    state = "PAUSED" if target.paused else (status.state.value if status else "UNKNOWN")
    error = None
    last = status.last if status is not None else None
    if last is not None and not last.ok:
        error = (last.reason, scrub(last.detail, secrets), last.started)
    elif status is not None and status.state in ("DOWN", "DEGRADED"):
        error = (status.reason, scrub(status.detail, secrets), status.since)
    return {
        "target": target,
        "address": origin(target.url),
        "state": state,
        "since": now - status.since if status is not None and status.since else None,
        "days_left": _days_left(target, last, now),
        "error": error,
        "last": last,
    }


def _days_left(target: Target, last: Result | None, now: float) -> int | None:
    """Days until the certificate or domain the kind watches expires, as last seen."""
    if last is None:
        return None
    at = PROBES[target.kind].expiry.at(last) if target.kind in PROBES else None
    at = at if at is not None else last.cert_expiry
    return None if at is None else int((at - now) // 86400)


def _matches(r: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    target: Target = r["target"]
    text = query.get("q", "").strip().lower()
    if text and not any(text in s.lower() for s in (target.id, target.name, r["address"], target.group)):
        return False
    if query.get("group") and target.group != query["group"]:
        return False
    if query.get("kind") and target.kind != query["kind"]:
        return False
    if query.get("state") and r["state"] != query["state"]:
        return False
    visibility = query.get("visibility", "")
    return not ((visibility == "public" and not target.public) or (visibility == "private" and target.public))


# --- one target ---------------------------------------------------------------------------


async def target_page(request: Request) -> Response:
    return await show_target(request, request.path_params["id"])


async def show_target(
    request: Request, tid: str, *, actions: Mapping[str, Any] | None = None, status: int = 200
) -> Response:
    """A target's page; `actions` is what a refused ack or mute form held, with its
    problems (`monitor.web.admin.actionpages`)."""
    runtime = runtime_of(request)
    config = runtime.config
    target = config.targets.get(tid)
    if target is None:
        return Response("Not Found", 404, media_type="text/plain")
    now = viewmodels.clock(request.app.state)
    incidents = await runtime.store.incidents([tid], now - HISTORY_DAYS * 86400.0, now, limit=50)
    text, _ = config_file(request).read()
    values = file_table(tomlkit.parse(text), tid) or {}
    context = {
        "row": row(target, runtime.states.statuses.get(tid), now),
        "keys": masked(values, secret_keys(values), urls=True),
        "incidents": incidents,
        "incident_ids": [viewmodels.incident_id(tid, i.start) for i in incidents],
        "now": now,
        "history_days": HISTORY_DAYS,
        "actions": target_actions(request, tid, incidents, actions),
        "at_locations": target_locations(runtime, tid),
    }
    return render(request, "admin_target.html.j2", config, lambda t: context, status_code=status)


# --- the form -------------------------------------------------------------------------------


async def new_form(request: Request) -> Response:
    config = runtime_of(request).config
    kind = request.query_params.get("kind", "")
    if kind not in PROBES:
        return render(request, "admin_kinds.html.j2", config, lambda t: {"kinds": sorted(PROBES)})
    _, version = config_file(request).read()
    return _form(request, config, None, kind, _defaults(kind), version)


def _defaults(kind: str) -> dict[str, Any]:
    return {} if PROBES[kind].schemes else {"kind": kind}


async def edit_form(request: Request) -> Response:
    tid = request.path_params["id"]
    text, version = config_file(request).read()
    values = file_table(tomlkit.parse(text), tid)
    config = runtime_of(request).config
    kind = kind_of(values) if values is not None else None
    if values is None or kind is None:
        return Response("Not Found", 404, media_type="text/plain")
    return _form(request, config, tid, kind, values, version)


def _form(
    request: Request,
    config: Config,
    tid: str | None,
    kind: str,
    values: Mapping[str, Any],
    version: str,
    *,
    problems: Mapping[str, list[str]] | None = None,
    general: list[str] | None = None,
    conflict: str | None = None,
    probed: dict[str, Any] | None = None,
    new_id: str = "",
    status: int = 200,
) -> Response:
    fields = target_fields(kind)
    lang = language(request, config)
    context = {
        "tid": tid,
        "new_id": new_id,
        "kind": kind,
        "inputs": inputs(fields, values, problems),
        "version": version,
        "general": general or [],
        "id_problems": (problems or {}).get("id", []),
        "conflict": conflict,
        "probed": probed,
        "action": f"/admin/targets/{quote(tid)}/edit?lang={lang}"
        if tid
        else f"/admin/targets/new?kind={quote(kind)}&lang={lang}",
    }
    return render(request, "admin_target_form.html.j2", config, lambda t: context, status_code=status)


async def save_form(request: Request) -> Response:
    tid: str | None = request.path_params.get("id")
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    config = runtime_of(request).config
    text, _ = config_file(request).read()
    old = file_table(tomlkit.parse(text), tid) if tid else {}
    if old is None:
        return Response("Not Found", 404, media_type="text/plain")
    kind = kind_of(old) if tid else request.query_params.get("kind", "")
    if kind not in PROBES:
        return Response("Bad Request: unknown kind", 400, media_type="text/plain")
    fields = target_fields(kind)
    posted = read_form(fields, form, old)
    new_id = tid or form.get("id", "").strip()
    again = _shown_again(fields, posted.values, old)
    version = form.get(VERSION, "")

    def redo(**extra: Any) -> Response:
        return _form(request, config, tid, kind, again, version, new_id=new_id, **extra)

    if not tid and (not ID_PATTERN.match(new_id) or new_id in config.targets):
        why = "form.target.id_taken" if new_id in config.targets else "form.target.id_invalid"
        return redo(problems={"id": [why]}, status=400)
    env = secret_values(posted, "target", new_id)
    if form.get("_action") == "probe":
        try:
            result, target = await probe_values(request, new_id, posted.values, env)
        except Rejected as exc:
            return _rejected(redo, exc, new_id)
        return redo(probed=result_json(result, target))
    try:
        action = "config.targets.update" if tid else "config.targets.add"
        await save(request, replace_target(new_id, posted.values), version, action, new_id, env)
    except Rejected as exc:
        return _rejected(redo, exc, new_id)
    except Conflict as exc:
        return redo(conflict=exc.diff or "-", status=409)
    lang = language(request, config)
    return RedirectResponse(f"/admin/targets/{quote(new_id)}?saved=1&lang={lang}", 303)


def _rejected(redo: Any, exc: Rejected, tid: str) -> Response:
    mine, rest = problems_by_field(exc.problems, f"targets.{tid}")
    response: Response = redo(problems=mine, general=rest, status=400)
    return response


def _shown_again(fields: tuple[Field, ...], values: Mapping[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """What a refused form shows: what was posted, secrets as the file has them."""
    again = dict(values)
    for f in fields:
        if f.secret:
            again[f.key] = old.get(f.key)
    return again


async def _posted(request: Request) -> dict[str, str] | Response:
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        return too_large(MAX_BODY)
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}


# --- delete, pause, resume --------------------------------------------------------------------


async def delete_page(request: Request) -> Response:
    runtime = runtime_of(request)
    target = runtime.config.targets.get(request.path_params["id"])
    if target is None:
        return Response("Not Found", 404, media_type="text/plain")
    _, version = config_file(request).read()
    return render(request, "admin_delete.html.j2", runtime.config, lambda t: {"target": target, "version": version})


async def delete(request: Request) -> Response:
    tid = request.path_params["id"]
    form = await _posted(request)
    if isinstance(form, Response):
        return form
    config = runtime_of(request).config
    if tid not in config.targets:
        return Response("Not Found", 404, media_type="text/plain")
    try:
        await save(request, remove_target(tid), form.get(VERSION) or None, "config.targets.delete", tid)
    except (Rejected, Conflict) as exc:
        detail = exc.diff if isinstance(exc, Conflict) else "; ".join(str(p) for p in exc.problems)
        target = config.targets[tid]
        context = {"target": target, "version": form.get(VERSION, ""), "refused": detail or "-"}
        return render(request, "admin_delete.html.j2", config, lambda t: context, status_code=409)
    return RedirectResponse("/admin/targets?deleted=" + quote(tid), 303)


async def pause(request: Request) -> Response:
    return await _pause(request, True)


async def resume(request: Request) -> Response:
    return await _pause(request, False)


async def _pause(request: Request, paused: bool) -> Response:
    tid = request.path_params["id"]
    target = runtime_of(request).config.targets.get(tid)
    if target is None:
        return Response("Not Found", 404, media_type="text/plain")
    if target.paused != paused:
        try:
            await save(
                request,
                set_paused(tid, paused),
                None,
                "config.targets.pause" if paused else "config.targets.resume",
                tid,
            )
        except (Rejected, Conflict) as exc:
            return Response(f"Conflict: {exc}\n", 409, media_type="text/plain")
    return RedirectResponse(f"/admin/targets/{quote(tid)}", 303)
