"""The admin API's on-call routes, behind the admin guard (`monitor.web.admin.guarded`):

- `POST /admin/api/targets/{id}/ack` (`{"note"?}`): acknowledge the target's open
  outage; 200 with the acknowledgement, 409 when it has none, 404 for no such target;
- `POST /admin/api/targets/{id}/mute` (`{"for": "1h"}`): mute it (1 min to 30 days);
  `DELETE /admin/api/targets/{id}/mute`: end the mute (204; 404 when not muted);
- `GET /admin/api/oncall`: acknowledgements, mutes and every roster now and next.

Each route hands its body (a dict) to one function (`ack_body`, `mute_body`,
`unmute_id`) that the forms for people (`monitor.web.admin.actionpages`) call too; a
refusal is a `Refusal` naming the input it is about. They call the on-call desk
(`monitor.alerting.oncall.OnCall`) exactly as the chat does,
which writes the audit log; the caller is whoever the guard let in (`request.state.who`),
`token` for the bearer token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.alerting.mute import mute_seconds
from monitor.alerting.oncall import OnCall, Overview
from monitor.errors import OnCallError, StoreError
from monitor.store import Ack, Mute
from monitor.web.bodies import read_body, too_large
from monitor.web.templating import isotime

Handler = Callable[[Request], Awaitable[Response]]
MAX_BODY = 16 * 1024
NOTE_MAX = 1000  # characters
STATUS = {"no_target": 404, "no_incident": 409, "bad_duration": 400, "not_muted": 404}


def routes(guarded: Callable[[Handler], Handler]) -> list[BaseRoute]:
    return [
        Route("/admin/api/targets/{id}/ack", guarded(acknowledge), methods=["POST"]),
        Route("/admin/api/targets/{id}/mute", guarded(mute), methods=["POST"]),
        Route("/admin/api/targets/{id}/mute", guarded(unmute), methods=["DELETE"]),
        Route("/admin/api/oncall", guarded(view), methods=["GET"]),
    ]


def desk_of(request: Request) -> OnCall | None:
    """The running monitor's on-call desk (None without one)."""
    desk = getattr(request.app.state.monitor, "oncall", None)
    return desk if isinstance(desk, OnCall) else None


def overview(runtime: object, now: float) -> Overview | None:
    """The admin view's on-call section (None without a desk)."""
    desk = getattr(runtime, "oncall", None)
    return desk.overview(now) if isinstance(desk, OnCall) else None


async def _body(request: Request) -> dict[str, Any] | Response:
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        return too_large(MAX_BODY)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return JSONResponse({"error": "body is not valid JSON"}, 400)
    return body if isinstance(body, dict) else JSONResponse({"error": "body must be a JSON object"}, 400)


def _who(request: Request) -> str:
    return str(getattr(request.state, "who", "token"))


@dataclass(frozen=True)
class Refusal:
    """Why an on-call action was refused: the HTTP status, the message, the desk's
    code (`no_incident`, ..., `store`, or empty) and the input it is about (`note`,
    `for`, or empty), so that a form shows it next to that input."""

    status: int
    error: str
    code: str = ""
    key: str = ""

    def answer(self) -> JSONResponse:
        shown = {"error": self.error, **({"code": self.code} if self.code else {})}
        return JSONResponse(shown, self.status)


def _refused(exc: OnCallError | StoreError, key: str = "") -> Refusal:
    if isinstance(exc, StoreError):  # nothing was kept: the caller may try again
        return Refusal(503, f"not saved: {exc}", "store")
    return Refusal(STATUS.get(exc.code, 400), str(exc), exc.code, key if exc.code == "bad_duration" else "")


NO_DESK = Refusal(503, "on-call actions need alerting (monitor run)")


async def acknowledge(request: Request) -> Response:
    body = await _body(request)
    if isinstance(body, Response):
        return body
    done = await ack_body(request, request.path_params["id"], body)
    return done.answer() if isinstance(done, Refusal) else JSONResponse(ack_json(done))


async def ack_body(request: Request, target_id: str, body: dict[str, Any]) -> Ack | Refusal:
    """Acknowledge `target_id`'s open outage as `body` says (`{"note"?}`): the one path
    of the JSON route and the form (the desk writes the audit log)."""
    desk = desk_of(request)
    if desk is None:
        return NO_DESK
    note = body.get("note", "")
    if not isinstance(note, str):
        return Refusal(400, "note must be a string", key="note")
    if len(note) > NOTE_MAX:
        return Refusal(400, f"note: at most {NOTE_MAX} characters ({len(note)} given)", key="note")
    try:
        return await desk.acknowledge(target_id, _who(request), note.strip())
    except (OnCallError, StoreError) as exc:
        return _refused(exc)


async def mute(request: Request) -> Response:
    body = await _body(request)
    if isinstance(body, Response):
        return body
    done = await mute_body(request, request.path_params["id"], body)
    return done.answer() if isinstance(done, Refusal) else JSONResponse(mute_json(done))


async def mute_body(request: Request, target_id: str, body: dict[str, Any]) -> Mute | Refusal:
    """Mute `target_id` for `body["for"]` (`"1h"`): the one path of the JSON route and
    the form."""
    desk = desk_of(request)
    if desk is None:
        return NO_DESK
    length = body.get("for")
    if not isinstance(length, str) or not length.strip():
        return Refusal(400, 'for is required: a duration such as "1h"', key="for")
    try:
        return await desk.mute(target_id, mute_seconds(length), _who(request))
    except (OnCallError, StoreError) as exc:
        return _refused(exc, key="for")


async def unmute(request: Request) -> Response:
    done = await unmute_id(request, request.path_params["id"])
    return done.answer() if isinstance(done, Refusal) else Response(status_code=204)


async def unmute_id(request: Request, target_id: str) -> Mute | Refusal:
    """End `target_id`'s mute: the one path of the JSON route and the form."""
    desk = desk_of(request)
    if desk is None:
        return NO_DESK
    try:
        return await desk.unmute(target_id, _who(request))
    except (OnCallError, StoreError) as exc:
        return _refused(exc)


async def view(request: Request) -> Response:
    desk = desk_of(request)
    if desk is None:
        return NO_DESK.answer()
    found = desk.overview()
    return JSONResponse(
        {
            "acks": [ack_json(r.ack) for r in found.rows if r.ack is not None],
            "mutes": [mute_json(m) for m in found.mutes],
            "duty": [
                {
                    "roster": b.roster,
                    "now": list(b.now),
                    "next": list(b.next),
                    "next_at": isotime(b.next_at) if b.next_at is not None else None,
                    "fallback": b.fallback,
                }
                for b in found.boards
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


def ack_json(ack: Ack) -> dict[str, Any]:
    return {"target": ack.target, "since": isotime(ack.since), "at": isotime(ack.at), "who": ack.who, "note": ack.note}


def mute_json(found: Mute) -> dict[str, Any]:
    return {"target": found.target, "start": isotime(found.start), "until": isotime(found.until), "who": found.who}
