"""Reading a JSON body of the admin write API: `application/json`, at most `MAX_BODY`
bytes (413 before it is read, `monitor.web.bodies`), an object."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.web.bodies import read_body, too_large

MAX_BODY = 64 * 1024


async def json_body(request: Request) -> dict[str, Any] | Response:
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
