"""`GET`/`POST /push/{id}?token=...`: a job's heartbeat for a `kind = "push"` target.

Parameters (query string, or an `application/x-www-form-urlencoded` POST body):
`token` (required), `status` (`up`, the default, or `down`), `msg` (kept up to
`MAX_MSG` characters), `duration` (the job's run time: seconds, or a duration such as
`"1500ms"`). A wrong token, an unknown id and a target of another kind all get the same
404, and the token is compared in constant time, so ids and tokens cannot be probed;
a client that got `FAILURES` of those 404s within `FAILURE_WINDOW` seconds is answered
429 with Retry-After, its token not compared, until it has waited (`monitor.web.ratelimit`;
per client: another client's pushes go on). A body over `MAX_BODY` bytes is refused (413)
before it is read.
The heartbeat becomes a `Result` handed to the runtime (`PushRuntime.record_heartbeat`).
Among replicas the runtime stores it for the instance that owns the target
(`monitor.cluster.heartbeats`); when the database cannot take it the answer is 503 with
the reason and `Retry-After`, never a 200 for a heartbeat that was not kept: the job's
retry keeps it.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.config.reader import parse_duration
from monitor.errors import StoreError
from monitor.probes.push import PushSpec, heartbeat
from monitor.result import Result
from monitor.web.bodies import read_body, too_large
from monitor.web.ratelimit import client_of, limit_of, too_many

if TYPE_CHECKING:
    from monitor.config import Config, Target

MAX_BODY = 8192
MAX_MSG = 500
RETRY_AFTER = 10  # seconds a job is asked to wait before sending a refused heartbeat again
FAILURES, FAILURE_WINDOW = 30, 60.0  # wrong tokens or ids a client may send per minute
_NOT_FOUND = {"error": "not found"}
# Compared against when the id is unknown, so both answers cost the same.
_DUMMY_TOKEN = "\0" * 32


class PushRuntime(Protocol):
    """What the route needs from the runtime (`request.app.state.monitor`)."""

    @property
    def config(self) -> Config: ...

    async def record_heartbeat(self, target: Target, result: Result) -> None:
        """Keep `result` as the target's last heartbeat (`HeartbeatBook.record`) and store
        it as the target's result, so it survives a restart; among replicas, store it for
        the target's owner. `StoreError` when it was not kept."""


def routes() -> list[BaseRoute]:
    return [Route("/push/{id}", push, methods=["GET", "POST"], name="push")]


async def push(request: Request) -> Response:
    runtime: PushRuntime = request.app.state.monitor
    failures, client = limit_of(request, "push_failures", FAILURES, FAILURE_WINDOW), client_of(request)
    wait = failures.retry_after(client)
    if wait is not None:
        return too_many(wait, json=True)
    params = await _params(request)
    if params is None:
        return too_large(MAX_BODY)
    target = _authorised(runtime.config, request.path_params["id"], params.get("token", ""))
    if target is None:
        failures.failed(client, request.url.path)
        return JSONResponse(_NOT_FOUND, status_code=404)
    status = params.get("status", "up").lower()
    if status not in ("up", "down"):
        return JSONResponse({"error": "status must be up or down"}, status_code=400)
    try:
        duration = _duration(params.get("duration", ""))
    except ValueError:
        return JSONResponse({"error": "duration must be seconds or e.g. 1500ms"}, status_code=400)
    result = heartbeat(time.time(), down=status == "down", msg=params.get("msg", "")[:MAX_MSG], duration=duration)
    try:
        await runtime.record_heartbeat(target, result)
    except StoreError as exc:
        return JSONResponse(
            {"error": "the heartbeat was not stored, send it again", "reason": exc.reason or str(exc)},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER)},
        )
    return JSONResponse({"ok": True})


def _authorised(config: Config, target_id: str, token: str) -> Target | None:
    target = config.targets.get(target_id)
    spec = target.spec if target is not None else None
    expected = spec.token if isinstance(spec, PushSpec) else _DUMMY_TOKEN
    matches = hmac.compare_digest(token.encode(), expected.encode())
    return target if matches and isinstance(spec, PushSpec) else None


async def _params(request: Request) -> Mapping[str, str] | None:
    params = dict(request.query_params)
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        body = await read_body(request, MAX_BODY)
        if body is None:
            return None
        if content_type == "application/x-www-form-urlencoded":
            params.update(parse_qsl(body.decode("utf-8", "replace")))
    return params


def _duration(text: str) -> float:
    text = text.strip()
    if not text:
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = parse_duration(text)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(text)
    return seconds
