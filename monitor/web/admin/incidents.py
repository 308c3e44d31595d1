"""The admin API for what operators tell citizens: incidents, their updates, banners.

Registered from `monitor.web.admin.routes()` behind the same guard (`guarded`) as the
rest of the write API. Each route reads its JSON body and hands the dict to one
function (`declare_body`, `update_body`, `announce_body`, `withdraw_id`) that validates
and acts; the forms for people (`monitor.web.admin.actionpages`) call the same ones, so
both write the same records and audit entries. Every body is JSON; a bad one is answered
400 with every problem named (`{"error": "a; b", "problems": ["a", "b"]}`), nothing
written.

- `POST /admin/api/incidents` (`{"targets", "title": {"id", "en"?}, "status", "text":
  {"id", "en"?}}`): declare an incident by hand, with its first update.
- `POST /admin/api/incidents/{id}/updates` (`{"status", "text", "title"?}`): a step on
  the timeline of a declared incident (its number) or an automatic one (`TARGET.MS`, as
  `/api/v1/incidents` names it), whose public title `title` sets.
- `GET|POST /admin/api/announcements` (`{"level", "text", "start"?, "end"?}`),
  `DELETE /admin/api/announcements/{id}`: banners on the public pages.

A text is `{"id": "...", "en": "..."}` (Indonesian required, English optional; the
pages fall back to Indonesian) or a string, the Indonesian alone. Every update goes
through `post_update`, which stores it, records it in the audit log, refreshes the status
page's snapshot and then awaits each of the runtime's `incident_listeners` (e-mail
subscriptions attach there). Every write is in the audit log: `incident.declare`,
`incident.title`, `incident.update`, `announcement.add`, `announcement.remove`, with
the incident's public id or the banner's number as the subject.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.log import kv
from monitor.store import (
    ANNOUNCEMENT_LEVELS,
    INCIDENT_STATUSES,
    Announcement,
    AuditEntry,
    IncidentUpdate,
    Period,
    PostedIncident,
    Wording,
)
from monitor.web import viewmodels
from monitor.web.admin.payload import json_body
from monitor.web.api import parse_time
from monitor.web.cache import invalidate
from monitor.web.templating import isotime

log = logging.getLogger("monitor.web")
Guard = Callable[..., Any]
TITLE_MAX, TEXT_MAX = 200, 5000  # characters
AUTHOR = "token"  # who acts with the bearer token (the audit log's name for it)


def routes(guarded: Guard) -> list[BaseRoute]:
    """The routes, each behind `guarded` (`monitor.web.admin.guarded`)."""
    return [
        Route("/admin/api/incidents", guarded(declare), methods=["POST"]),
        Route("/admin/api/incidents/{id}/updates", guarded(update), methods=["POST"]),
        Route("/admin/api/announcements", guarded(list_announcements), methods=["GET"]),
        Route("/admin/api/announcements", guarded(announce), methods=["POST"]),
        Route("/admin/api/announcements/{id:int}", guarded(withdraw), methods=["DELETE"]),
    ]


class Problems(list[str]):
    """Every problem of one body, with its key path."""

    def answer(self) -> JSONResponse:
        return JSONResponse({"error": "; ".join(self), "problems": list(self)}, 400)


async def declare(request: Request) -> Response:
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    done = await declare_body(request, body)
    return done.answer() if isinstance(done, Problems) else JSONResponse(posted_json(done), 201)


async def declare_body(request: Request, body: dict[str, Any]) -> PostedIncident | Problems:
    """Declare the incident `body` describes (the JSON route's body, or the form's as
    `monitor.web.admin.actionpages` reads it): the one validation and action path of
    both. Its problems, nothing written, or the incident with its first update."""
    runtime: viewmodels.Runtime = request.app.state.monitor
    problems = Problems()
    targets = body.get("targets")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        problems.append("targets: a list of one or more target ids is required")
        targets = []
    problems += [f"targets: no target {t!r}" for t in targets if t not in runtime.config.targets]
    title = wording(body, "title", TITLE_MAX, problems, required=True)
    status, text = _step(body, problems)
    problems += _unknown(body, {"targets", "title", "status", "text"})
    if problems or title is None or text is None:
        return problems
    now = viewmodels.clock(request.app.state)
    record = await runtime.store.declare_incident(list(dict.fromkeys(targets)), title, now)
    await audit(request, "incident.declare", public_id(record), {"targets": record.targets, "title": title})
    return await post_update(request, record, status, text, now)


async def update(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    found = await find_incident(runtime, request.path_params["id"])
    if found is None:
        return JSONResponse({"error": "no such incident"}, 404)
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    done = await update_body(request, found, body)
    return done.answer() if isinstance(done, Problems) else JSONResponse(posted_json(done), 201)


async def update_body(
    request: Request, found: PostedIncident | Period, body: dict[str, Any]
) -> PostedIncident | Problems:
    """Post the update `body` describes on `found` (as `find_incident` found it): the
    one path of the JSON route and the form. Its problems, nothing written, or the
    incident with the new step."""
    runtime: viewmodels.Runtime = request.app.state.monitor
    problems = Problems()
    title = wording(body, "title", TITLE_MAX, problems, required=False)
    status, text = _step(body, problems)
    problems += _unknown(body, {"status", "text", "title"})
    if title is not None and isinstance(found, PostedIncident):
        problems.append("title: a declared incident keeps the title it was declared with")
    if problems or text is None:
        return problems
    if isinstance(found, PostedIncident):
        record = found
    else:  # an automatic incident's record is made with its first title or update
        record = await runtime.store.automatic_incident(found.target, found.start, title)
        if title is not None:
            await audit(request, "incident.title", public_id(record), {"title": title})
    return await post_update(request, record, status, text, viewmodels.clock(request.app.state))


async def find_incident(runtime: viewmodels.Runtime, public_id: str) -> PostedIncident | Period | None:
    """The incident `/api/v1/incidents` names `public_id`: a declared one's record (by
    its number), or an automatic one's DOWN period (`TARGET.MS`); None if there is none.
    Nothing is written."""
    if public_id.isdigit():
        found = await runtime.store.posted_incident(int(public_id))
        return found if found is not None and found.declared else None
    target, _, ms = public_id.rpartition(".")
    if target not in runtime.config.targets or not ms.isdigit():
        return None
    start = int(ms) / 1000
    periods = await runtime.store.incidents([target], start - 1.0, start + 1.0)
    return next((p for p in periods if viewmodels.incident_id(target, p.start) == public_id), None)


async def post_update(
    request: Request, record: PostedIncident, status: str, text: Wording, at: float
) -> PostedIncident:
    """The one path of every incident update: store it, record it in the audit log,
    refresh the page's snapshot, then await each incident listener (one that fails is
    logged; the update stands)."""
    runtime: viewmodels.Runtime = request.app.state.monitor
    step = await runtime.store.add_incident_update(record.id, at, status, text, who(request))
    record = PostedIncident(
        record.id, record.opened, record.targets, record.title, record.target, (*record.updates, step)
    )
    await audit(request, "incident.update", public_id(record), {"status": status, "text": text})
    invalidate(request.app.state)
    for listener in list(runtime.incident_listeners):
        try:
            await listener(record, step)
        except Exception:
            log.exception("incident listener failed", extra=kv(incident=record.id))
    return record


def who(request: Request) -> str:
    """Who the guard let in (as `monitor.web.admin.audit` names them): `token` for the
    bearer token."""
    return str(getattr(request.state, "who", AUTHOR))


async def audit(request: Request, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
    """Record a write in the audit log (its detail as JSON, texts in both languages)."""
    runtime: viewmodels.Runtime = request.app.state.monitor
    shown = json.dumps(detail, ensure_ascii=False, default=_plain) if detail is not None else ""
    await runtime.store.record_audit(
        AuditEntry(viewmodels.clock(request.app.state), who(request), action, subject, shown)
    )


def _plain(value: object) -> object:
    if isinstance(value, Wording):
        return {"id": value.id, "en": value.en or None}
    raise TypeError(f"not JSON: {type(value).__name__}")


def public_id(record: PostedIncident) -> str:
    return str(record.id) if record.target is None else viewmodels.incident_id(record.target, record.opened)


def posted_json(record: PostedIncident) -> dict[str, Any]:
    return {
        "id": public_id(record),
        "declared": record.declared,
        "targets": list(record.targets),
        "title": wording_json(record.title),
        "opened": isotime(record.opened),
        "status": record.status,
        "updates": [update_json(u) for u in reversed(record.updates)],
    }


def update_json(step: IncidentUpdate) -> dict[str, Any]:
    return {"at": isotime(step.at), "status": step.status, "text": wording_json(step.text)}


def wording_json(text: Wording | None) -> dict[str, str | None] | None:
    return None if text is None else {"id": text.id, "en": text.en or None}


def _step(body: dict[str, Any], problems: Problems) -> tuple[str, Wording | None]:
    status = body.get("status")
    if status not in INCIDENT_STATUSES:
        problems.append(f"status: one of {', '.join(INCIDENT_STATUSES)} is required")
    return str(status), wording(body, "text", TEXT_MAX, problems, required=True)


def wording(body: dict[str, Any], key: str, longest: int, problems: Problems, required: bool) -> Wording | None:
    """`body[key]` as a text in both languages: `{"id", "en"?}` or a string (Indonesian)."""
    value = body.get(key)
    if value is None:
        if required:
            problems.append(f"{key}.id: the Indonesian text is required")
        return None
    if isinstance(value, str):
        value = {"id": value}
    if not isinstance(value, dict):
        problems.append(f'{key}: a text ({{"id": "...", "en": "..."}}) or a string is required')
        return None
    texts: dict[str, str] = {}
    for lang in ("id", "en"):
        given = value.get(lang, "")
        if not isinstance(given, str):
            problems.append(f"{key}.{lang}: must be a string")
            given = ""
        given = given.strip()
        if len(given) > longest:
            problems.append(f"{key}.{lang}: at most {longest} characters ({len(given)} given)")
        texts[lang] = given
    if not texts["id"]:
        problems.append(f"{key}.id: the Indonesian text is required")
    problems += [f"{key}.{k}: unknown key (id, en)" for k in sorted(set(value) - {"id", "en"})]
    return Wording(texts["id"], texts["en"])


def _unknown(body: dict[str, Any], known: set[str]) -> list[str]:
    return [f"{k}: unknown key" for k in sorted(set(body) - known)]


async def list_announcements(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    found = await runtime.store.announcements(viewmodels.clock(request.app.state))
    return JSONResponse({"announcements": [announcement_json(a) for a in found]}, headers={"Cache-Control": "no-store"})


async def announce(request: Request) -> Response:
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    done = await announce_body(request, body)
    return done.answer() if isinstance(done, Problems) else JSONResponse(announcement_json(done), 201)


async def announce_body(request: Request, body: dict[str, Any]) -> Announcement | Problems:
    """Add the banner `body` describes: the one path of the JSON route and the form."""
    runtime: viewmodels.Runtime = request.app.state.monitor
    problems = Problems()
    level = body.get("level")
    if level not in ANNOUNCEMENT_LEVELS:
        problems.append(f"level: one of {', '.join(ANNOUNCEMENT_LEVELS)} is required")
    text = wording(body, "text", TEXT_MAX, problems, required=True)
    now = viewmodels.clock(request.app.state)
    before = len(problems)
    start, end = _time(body, "start", problems), _time(body, "end", problems)
    start = now if start is None else start
    if len(problems) == before and end is not None and end <= start:
        problems.append("end: must be after start")
    problems += _unknown(body, {"level", "text", "start", "end"})
    if problems or text is None:
        return problems
    banner = await runtime.store.add_announcement(str(level), text, start, end, now)
    await audit(request, "announcement.add", str(banner.id), announcement_json(banner))
    invalidate(request.app.state)
    return banner


def _time(body: dict[str, Any], key: str, problems: Problems) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return parse_time(str(value))
    except ValueError as exc:
        problems.append(f"{key}: {exc}")
        return None


async def withdraw(request: Request) -> Response:
    if not await withdraw_id(request, request.path_params["id"]):
        return JSONResponse({"error": "no such announcement"}, 404)
    return Response(status_code=204)


async def withdraw_id(request: Request, banner: int) -> bool:
    """Remove banner number `banner` (audited); False if there is none. The one path of
    the JSON route and the form."""
    runtime: viewmodels.Runtime = request.app.state.monitor
    if not await runtime.store.remove_announcement(banner):
        return False
    await audit(request, "announcement.remove", str(banner))
    invalidate(request.app.state)
    return True


def announcement_json(banner: Announcement) -> dict[str, Any]:
    return {
        "id": banner.id,
        "level": banner.level,
        "text": wording_json(banner.text),
        "start": isotime(banner.start),
        "end": isotime(banner.end) if banner.end is not None else None,
    }
