"""Citizens' e-mail subscriptions on the admin side: `GET /admin/api/subscribers` (how
many, each address masked, `w***@d***.go.id`, what they chose, the mail queue;
`{"enabled": false}` while they are off) and the same overview on `GET /admin`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.web import viewmodels


def overview(runtime: viewmodels.Runtime) -> dict[str, Any] | None:
    """The subscriptions' overview (addresses masked), None while they are off."""
    service = getattr(runtime, "subscriptions", None)
    return service.overview() if service is not None else None


async def list_subscribers(request: Request) -> Response:
    found = overview(request.app.state.monitor) or {"enabled": False}
    return JSONResponse(found, headers={"Cache-Control": "no-store"})
