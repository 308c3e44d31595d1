"""The audit log: who changed what, when.

`audit(request, action, subject, detail)` records a write by whoever the guard let in
(`token` for the bearer token, else the account's name); every write of the admin side
calls it: configuration changes with their diff as the detail, maintenance, notes,
pauses. `GET /admin/api/audit` (admin role) lists it, newest first (`?limit=`, at most
`AUDIT_LIMIT`); `GET /admin/audit` shows it to people.
"""

from __future__ import annotations

import dataclasses

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.store import AuditEntry
from monitor.web import viewmodels
from monitor.web.admin.layout import render
from monitor.web.templating import isotime

AUDIT_LIMIT = 1000


async def list_audit(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    limit = _limit(request)
    if isinstance(limit, Response):
        return limit
    entries = await runtime.store.audit_entries(limit)
    return JSONResponse(
        {"audit": [{**dataclasses.asdict(e), "at": isotime(e.at)} for e in entries]},
        headers={"Cache-Control": "no-store"},
    )


async def audit_page(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    limit = _limit(request)
    if isinstance(limit, Response):
        return limit
    entries = await runtime.store.audit_entries(limit)
    return render(request, "admin_audit.html.j2", runtime.config, lambda t: {"entries": entries})


def _limit(request: Request) -> int | Response:
    try:
        limit = int(request.query_params.get("limit", "200"))
    except ValueError:
        return JSONResponse({"error": "limit must be a whole number"}, 400)
    if not 1 <= limit <= AUDIT_LIMIT:
        return JSONResponse({"error": f"limit must be between 1 and {AUDIT_LIMIT}"}, 400)
    return limit


async def audit(request: Request, action: str, subject: str, detail: str = "") -> None:
    """Record a write in the audit log, by whoever the guard let in."""
    runtime: viewmodels.Runtime = request.app.state.monitor
    who = getattr(request.state, "who", "token")
    await runtime.store.record_audit(AuditEntry(viewmodels.clock(request.app.state), who, action, subject, detail))
