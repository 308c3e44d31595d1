"""The error answers: HTML pages in the status page's style and language for people, JSON
for the JSON API.

`handlers()` are the app's Starlette exception handlers: an unknown route (404) and an
error inside a handler (500) answer with `templates/error.html.j2` in the request's
language (`?lang=`, else the configured one), or, under `/api/` and `/admin/api/`,
with `{"error": "..."}` as every other JSON answer does. The pages name nothing of the
request (the same not-found page for a private target as for a missing one), and a 500
says nothing of the error: that is in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from monitor.texts import LANGUAGES
from monitor.web.templating import page

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/admin/api/")
PAGES = {
    404: ("error.not_found", "error.not_found_text"),
    500: ("error.server", "error.server_text"),
}


def handlers() -> Mapping[Any, Callable[..., Any]]:
    return {HTTPException: http_error, Exception: server_error}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES)


def error_page(request: Request, status_code: int) -> Response:
    heading, text = PAGES[status_code]
    config = request.app.state.monitor.config
    return page(
        request,
        "error.html.j2",
        config,
        # The language switch leads to the status page: nothing of the request is echoed.
        lambda t: {"heading": t(heading), "text": t(text), "switch": {code: f"/?lang={code}" for code in LANGUAGES}},
        status_code=status_code,
    )


def not_found(request: Request) -> Response:
    """The not-found answer of a public route (a page, or JSON under the API)."""
    if wants_json(request):
        return JSONResponse({"error": "not found"}, status_code=404)
    return error_page(request, 404)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 404:
        return not_found(request)
    if wants_json(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    if wants_json(request):
        return JSONResponse({"error": "internal error"}, status_code=500)
    try:
        return error_page(request, 500)
    except Exception:
        # The error may be the templates' own: the plain answer always works.
        log.exception("the error page could not be rendered")
        return PlainTextResponse("Internal Server Error", status_code=500)
