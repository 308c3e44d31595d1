"""The admin API's on-call routes, behind the admin guard (`monitor.web.admin.guarded`):

- `POST /admin/api/targets/{id}/ack` (`{"note"?}`): acknowledge the target's open
  outage; 200 with the acknowledgement, 409 when it has none, 404 for no such target;
- `POST /admin/api/targets/{id}/mute` (`{"for": "1h"}`): mute it (1 min to 30 days);
  `DELETE /admin/api/targets/{id}/mute`: end the mute (204; 404 when not muted);
- `GET /admin/api/oncall`: acknowledgements, mutes and every roster now and next.

They call the on-call desk (`monitor.alerting.oncall.OnCall`) exactly as the chat does,
which writes the audit log; the caller is whoever the guard let in (`request.state.who`),
`token` for the bearer token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
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
STATUS = {"no_target": 404, "no_incident": 409, "bad_duration": 400, "not_muted": 404}


def routes(guarded: Callable[[Handler], Handler]) -> list[BaseRoute]:
    return [
        Route("/admin/api/targets/{id}/ack", guarded(acknowledge), methods=["POST"]),
        Route("/admin/api/targets/{id}/mute", guarded(mute), methods=["POST"]),
        Route("/admin/api/targets/{id}/mute", guarded(unmute), methods=["DELETE"]),
        Route("/admin/api/oncall", guarded(view), methods=["GET"]),
    ]


def _desk(request: Request) -> OnCall | None:
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


def _refused(exc: OnCallError | StoreError) -> Response:
    if isinstance(exc, StoreError):  # nothing was kept: the caller may try again
        return JSONResponse({"error": f"not saved: {exc}", "code": "store"}, 503)
    return JSONResponse({"error": str(exc), "code": exc.code}, STATUS.get(exc.code, 400))


def _no_desk() -> Response:
    return JSONResponse({"error": "on-call actions need alerting (monitor run)"}, 503)


async def acknowledge(request: Request) -> Response:
    desk, body = _desk(request), await _body(request)
    if isinstance(body, Response):
        return body
    if desk is None:
        return _no_desk()
    note = body.get("note", "")
    if not isinstance(note, str):
        return JSONResponse({"error": "note must be a string"}, 400)
    try:
        ack = await desk.acknowledge(request.path_params["id"], _who(request), note.strip())
    except (OnCallError, StoreError) as exc:
        return _refused(exc)
    return JSONResponse(ack_json(ack))


async def mute(request: Request) -> Response:
    desk, body = _desk(request), await _body(request)
    if isinstance(body, Response):
        return body
    if desk is None:
        return _no_desk()
    length = body.get("for")
    if not isinstance(length, str):
        return JSONResponse({"error": 'for is required: a duration such as "1h"'}, 400)
    try:
        found = await desk.mute(request.path_params["id"], mute_seconds(length), _who(request))
    except (OnCallError, StoreError) as exc:
        return _refused(exc)
    return JSONResponse(mute_json(found))


async def unmute(request: Request) -> Response:
    desk = _desk(request)
    if desk is None:
        return _no_desk()
    try:
        await desk.unmute(request.path_params["id"], _who(request))
    except (OnCallError, StoreError) as exc:
        return _refused(exc)
    return Response(status_code=204)


async def view(request: Request) -> Response:
    desk = _desk(request)
    if desk is None:
        return _no_desk()
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
