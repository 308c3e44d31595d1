"""Rendering an admin page: the page's own context plus what the frame
(`admin_base.html.j2`) shows: who is logged in, and the session's CSRF token for its
forms (None for the bearer token)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from monitor.config import Config
from monitor.web.admin.auth import principal_of
from monitor.web.templating import page
from monitor.web.texts import Texts


def render(
    request: Request,
    name: str,
    config: Config,
    build: Callable[[Texts], Mapping[str, Any]],
    status_code: int = 200,
) -> HTMLResponse:
    principal = principal_of(request)

    def context(texts: Texts) -> Mapping[str, Any]:
        return {"principal": principal, "csrf": principal.csrf, **build(texts)}

    response = page(request, name, config, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
