"""The forms for what operators do (operator role, the session's CSRF token, plain HTML
forms that work without JavaScript): incidents, their updates, announcements,
acknowledgements and mutes.

- `GET /admin/incidents`: the open incidents (automatic and declared) with a link to
  post an update to each, the form declaring one, the active announcements with their
  remove buttons, and the form adding one; `POST /admin/incidents` declares,
  `POST /admin/announcements` adds, `POST /admin/announcements/{id}/remove` removes;
- `GET|POST /admin/incidents/{id}/update`: an update on any incident (`id` as
  `/api/v1/incidents` names it), with the public title of an automatic one;
- `POST /admin/targets/{id}/ack` (`note`), `/mute` (`for`), `/unmute`: from the
  target's admin page (`monitor.web.admin.targetpages`), which shows their forms when
  the target has an open incident or a mute.

Each input is named by the JSON key it fills (`title.id` is `{"title": {"id": ...}}`);
the handler turns the form into the JSON route's dict and calls the very function the
JSON route calls (`monitor.web.admin.incidents.declare_body`, ..., `monitor.web.admin.
oncall.ack_body`, ...), so both validate alike and write the same records and audit
entries. A refused form is shown again as it was typed, each problem next to its input
(400; 409 when there is no open incident to acknowledge); a done one is answered 303 to
the page it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor.config.fields import Field
from monitor.store import ANNOUNCEMENT_LEVELS, INCIDENT_STATUSES, Period, PostedIncident
from monitor.web import viewmodels
from monitor.web.admin import incidents, oncall
from monitor.web.admin.changes import runtime_of
from monitor.web.admin.forms import Input
from monitor.web.admin.layout import render
from monitor.web.admin.payload import MAX_BODY
from monitor.web.bodies import read_body, too_large
from monitor.web.templating import language

OPEN_DAYS = 90  # how far back an automatic incident may have opened and still be open
DECLARED_DAYS = 30  # how far back a declared incident shows while it is not resolved

DECLARE = ("title.id", "title.en", "status", "text.id", "text.en")
UPDATE = ("status", "text.id", "text.en")
TITLE = ("title.id", "title.en")
ANNOUNCE = ("level", "text.id", "text.en", "start", "end")
LABELS = {
    "title.id": "actions.title_id",
    "title.en": "actions.title_en",
    "status": "actions.status",
    "text.id": "actions.text_id",
    "text.en": "actions.text_en",
    "level": "actions.level",
    "start": "actions.start",
    "end": "actions.end",
    "note": "actions.note",
    "for": "actions.for",
}
CHOICES = {"status": ("", *INCIDENT_STATUSES), "level": ("", *ANNOUNCEMENT_LEVELS)}
DONE = {  # `?done=` after a form: the text saying so
    "declared": "actions.done.declared",
    "announced": "actions.done.announced",
    "removed": "actions.done.removed",
    "updated": "actions.done.updated",
    "acknowledged": "actions.done.acknowledged",
    "muted": "actions.done.muted",
    "unmuted": "actions.done.unmuted",
}
TYPES = {"start": "time", "end": "time", "for": "duration"}
LONG = ("text.id", "text.en")


# --- reading a form -------------------------------------------------------------------------


async def posted(request: Request) -> dict[str, list[str]] | Response:
    """The posted form, every value of each name (the guard has read the body)."""
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        return too_large(MAX_BODY)
    return parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)


def body_of(form: Mapping[str, list[str]], keys: Iterable[str]) -> dict[str, Any]:
    """The JSON route's body for the inputs `keys` of `form`: `a.b` fills `{"a": {"b"}}`;
    an empty input is an absent key, as an absent key in the JSON."""
    body: dict[str, Any] = {}
    for key in keys:
        value = (form.get(key) or [""])[0].strip()
        if not value:
            continue
        outer, dot, inner = key.partition(".")
        if dot:
            body.setdefault(outer, {})[inner] = value
        else:
            body[key] = value
    return body


def typed(form: Mapping[str, list[str]], keys: Iterable[str]) -> dict[str, str]:
    """What was typed into the inputs `keys`, to show a refused form again."""
    return {k: (form.get(k) or [""])[0] for k in keys}


def by_input(problems: Iterable[str], keys: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """The problems (`key.path: message`, as the JSON route names them) filed under the
    inputs they are about (`title` under `title.id`), and the rest."""
    mine: dict[str, list[str]] = {}
    rest: list[str] = []
    for problem in problems:
        key, sep, message = problem.partition(": ")
        home = key if key in keys else f"{key}.id" if f"{key}.id" in keys else None
        if sep and home is not None:
            mine.setdefault(home, []).append(message)
        else:
            rest.append(problem)
    return mine, rest


def form_inputs(keys: Iterable[str], values: Mapping[str, str], problems: Mapping[str, list[str]]) -> list[Input]:
    """The inputs of one of these forms, named by their JSON keys."""
    return [
        Input(
            Field(k, TYPES.get(k, "text")),
            values.get(k, ""),
            tuple(problems.get(k, ())),
            choices=CHOICES.get(k, ()),
            multiline=k in LONG,
            label=LABELS.get(k, ""),
        )
        for k in keys
    ]


def _back(request: Request, path: str, done: str) -> Response:
    lang = language(request, runtime_of(request).config)
    return RedirectResponse(f"{path}?done={done}&lang={lang}", 303)


# --- incidents and announcements --------------------------------------------------------------


async def incidents_page(request: Request) -> Response:
    return await _incidents(request)


async def _incidents(
    request: Request,
    *,
    declare: Mapping[str, Any] | None = None,
    announce: Mapping[str, Any] | None = None,
    status: int = 200,
) -> Response:
    runtime = runtime_of(request)
    config, now = runtime.config, viewmodels.clock(request.app.state)
    periods = await runtime.store.incidents(list(config.targets), now - OPEN_DAYS * 86400.0, now)
    automatic = [
        {"id": viewmodels.incident_id(p.target, p.start), "period": p, "target": config.targets[p.target]}
        for p in sorted(periods, key=lambda p: -p.start)
        if p.end is None and p.target in config.targets
    ]
    posted_ones = await runtime.store.posted_incidents(now - DECLARED_DAYS * 86400.0)
    declared = [p for p in posted_ones if p.declared and p.status != "resolved"]
    banners = await runtime.store.announcements(now)
    declare = declare or {"values": {}, "problems": {}, "targets": [], "general": []}
    announce = announce or {"values": {}, "problems": {}, "general": []}
    context = {
        "now": now,
        "automatic": automatic,
        "declared": declared,
        "banners": banners,
        "targets": list(config.targets.values()),
        "declare": {**declare, "inputs": form_inputs(DECLARE, declare["values"], declare["problems"])},
        "announce": {**announce, "inputs": form_inputs(ANNOUNCE, announce["values"], announce["problems"])},
        "done": DONE.get(request.query_params.get("done", ""), ""),
    }
    return render(request, "admin_incidents.html.j2", config, lambda t: context, status_code=status)


async def declare_form(request: Request) -> Response:
    form = await posted(request)
    if isinstance(form, Response):
        return form
    body = body_of(form, DECLARE)
    chosen = [t for t in form.get("targets", []) if t]
    if chosen:
        body["targets"] = chosen
    done = await incidents.declare_body(request, body)
    if isinstance(done, incidents.Problems):
        mine, rest = by_input(done, (*DECLARE, "targets"))
        shown = {"values": typed(form, DECLARE), "problems": mine, "targets": chosen, "general": rest}
        return await _incidents(request, declare=shown, status=400)
    return _back(request, "/admin/incidents", "declared")


async def announce_form(request: Request) -> Response:
    form = await posted(request)
    if isinstance(form, Response):
        return form
    done = await incidents.announce_body(request, body_of(form, ANNOUNCE))
    if isinstance(done, incidents.Problems):
        mine, rest = by_input(done, ANNOUNCE)
        return await _incidents(
            request, announce={"values": typed(form, ANNOUNCE), "problems": mine, "general": rest}, status=400
        )
    return _back(request, "/admin/incidents", "announced")


async def withdraw_form(request: Request) -> Response:
    if not await incidents.withdraw_id(request, request.path_params["id"]):
        return Response("Not Found: no such announcement\n", 404, media_type="text/plain")
    return _back(request, "/admin/incidents", "removed")


async def update_page(request: Request) -> Response:
    found = await incidents.find_incident(runtime_of(request), request.path_params["id"])
    if found is None:
        return Response("Not Found: no such incident\n", 404, media_type="text/plain")
    return await _update(request, found, {}, {}, [])


async def _update(
    request: Request,
    found: PostedIncident | Period,
    values: Mapping[str, str],
    problems: Mapping[str, list[str]],
    general: list[str],
    status: int = 200,
) -> Response:
    runtime = runtime_of(request)
    public = request.path_params["id"]
    record = found if isinstance(found, PostedIncident) else await _record_of(runtime, found)
    keys = UPDATE if isinstance(found, PostedIncident) else (*TITLE, *UPDATE)
    values = values or _title_values(record)
    context = {
        "public_id": public,
        "record": record,
        "period": None if isinstance(found, PostedIncident) else found,
        "target": None if isinstance(found, PostedIncident) else runtime.config.targets.get(found.target),
        "inputs": form_inputs(keys, values, problems),
        "general": general,
        "action": f"/admin/incidents/{quote(public)}/update",
        "done": DONE.get(request.query_params.get("done", ""), ""),
    }
    return render(request, "admin_incident_update.html.j2", runtime.config, lambda t: context, status_code=status)


async def _record_of(runtime: viewmodels.Runtime, period: Period) -> PostedIncident | None:
    """What operators wrote already about an automatic incident (nothing is written)."""
    found = await runtime.store.posted_incidents(period.start - 1.0)
    return next((p for p in found if p.target == period.target and abs(p.opened - period.start) < 1.0), None)


def _title_values(record: PostedIncident | None) -> dict[str, str]:
    if record is None or record.title is None or record.declared:
        return {}
    return {"title.id": record.title.id, "title.en": record.title.en}


async def update_form(request: Request) -> Response:
    found = await incidents.find_incident(runtime_of(request), request.path_params["id"])
    if found is None:
        return Response("Not Found: no such incident\n", 404, media_type="text/plain")
    form = await posted(request)
    if isinstance(form, Response):
        return form
    keys = UPDATE if isinstance(found, PostedIncident) else (*TITLE, *UPDATE)
    body = body_of(form, keys)
    record = None if isinstance(found, PostedIncident) else await _record_of(runtime_of(request), found)
    title = body.get("title", {})
    same = record is not None and record.title is not None and (record.title.id, record.title.en)
    if title and same == (title.get("id"), title.get("en", "")):
        del body["title"]  # the title shown again unchanged is no new title
    done = await incidents.update_body(request, found, body)
    if isinstance(done, incidents.Problems):
        mine, rest = by_input(done, keys)
        return await _update(request, found, typed(form, keys), mine, rest, status=400)
    return _back(request, f"/admin/incidents/{quote(request.path_params['id'])}/update", "updated")


# --- acknowledge, mute, unmute (from a target's page) -------------------------------------------


async def ack_form(request: Request) -> Response:
    form = await posted(request)
    if isinstance(form, Response):
        return form
    tid = request.path_params["id"]
    note = (form.get("note") or [""])[0]
    done = await oncall.ack_body(request, tid, {"note": note})
    return await _after(request, tid, done, {"note": note}, "acknowledged")


async def mute_form(request: Request) -> Response:
    form = await posted(request)
    if isinstance(form, Response):
        return form
    tid = request.path_params["id"]
    length = (form.get("for") or [""])[0]
    done = await oncall.mute_body(request, tid, {"for": length})
    return await _after(request, tid, done, {"for": length}, "muted")


async def unmute_form(request: Request) -> Response:
    tid = request.path_params["id"]
    done = await oncall.unmute_id(request, tid)
    return await _after(request, tid, done, {}, "unmuted")


async def _after(request: Request, tid: str, done: object, values: dict[str, str], what: str) -> Response:
    from monitor.web.admin import targetpages  # the target's page shows these forms

    if not isinstance(done, oncall.Refusal):
        return _back(request, f"/admin/targets/{quote(tid)}", what)
    if done.code == "no_target":
        return Response("Not Found\n", 404, media_type="text/plain")
    home = done.key
    shown = {
        "values": values,
        "problems": {home: [done.error]} if home else {},
        "general": [] if home else [done.error],
    }
    return await targetpages.show_target(request, tid, actions=shown, status=done.status)


def target_actions(
    request: Request, tid: str, periods: Sequence[Period], shown: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The on-call part of a target's admin page: its open incident (with its public id,
    for the update link), the acknowledgement and the mute, and the inputs of the ack and
    mute forms (with what a refused one held, and its problems)."""
    now = viewmodels.clock(request.app.state)
    shown = shown or {"values": {}, "problems": {}, "general": []}
    opened = next((p for p in periods if p.end is None), None)
    desk = oncall.desk_of(request)
    return {
        "open": opened,
        "open_id": viewmodels.incident_id(tid, opened.start) if opened is not None else None,
        "desk": desk is not None,
        "ack": desk.ack_of(tid) if desk is not None else None,
        "mute": desk.mutes.active(tid, now) if desk is not None else None,
        "note": form_inputs(("note",), shown["values"], shown["problems"])[0],
        "for": form_inputs(("for",), shown["values"] or {"for": "1h"}, shown["problems"])[0],
        "general": shown["general"],
        "done": DONE.get(request.query_params.get("done", ""), ""),
    }
