"""The admin side: the view for people (`GET /admin`) and the admin write API
(`/admin/api/...`), off (404 everywhere) unless it is configured.

Modules, one concept each: `auth` (who may, with which role: `guarded`), `sessions`
(login sessions), `csrf` (the token every session's write sends), `login` (the login
page, logout), `overview` (`GET /admin`),
`maintenance` (the alerting JSON, planned maintenance, incident notes), `payload`
(reading a JSON body).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from monitor.web.admin import login, maintenance, overview
from monitor.web.admin.auth import FAILURE_WINDOW, FAILURES, TOKEN_ENV, guarded
from monitor.web.admin.payload import MAX_BODY

__all__ = ["FAILURES", "FAILURE_WINDOW", "MAX_BODY", "TOKEN_ENV", "guarded", "routes"]


def routes() -> list[BaseRoute]:
    return [
        Route("/admin", guarded(overview.admin_page, browser=True), methods=["GET"]),
        Route("/admin/login", login.login_page, methods=["GET"]),
        Route("/admin/login", login.login, methods=["POST"]),
        Route("/admin/logout", guarded(login.logout), methods=["POST"]),
        Route("/admin/api/alerts", guarded(maintenance.list_alerts), methods=["GET"]),
        Route("/admin/api/maintenance", guarded(maintenance.list_maintenance), methods=["GET"]),
        Route("/admin/api/maintenance", guarded(maintenance.add_maintenance), methods=["POST"]),
        Route("/admin/api/maintenance/{id:int}", guarded(maintenance.remove_maintenance), methods=["DELETE"]),
        Route("/admin/api/targets/{id}/notes", guarded(maintenance.add_note), methods=["POST"]),
    ]
