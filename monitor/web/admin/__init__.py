"""The admin side: the view for people (`GET /admin`) and the admin write API
(`/admin/api/...`), off (404 everywhere) unless it is configured.

Modules, one concept each:

- `auth` (who may, with which role: `guarded`), `sessions` (login sessions), `csrf`
  (the token every session's write sends), `login` (the login page, logout);
- `overview` (`GET /admin`), `maintenance` (the alerting JSON, planned maintenance,
  incident notes), `subscribers` (citizens' e-mail subscriptions, masked), `audit`
  (the audit log: `audit()` records a write; its JSON and its page);
- `targets` (the targets' JSON API), `targetpages` (the targets for people: table,
  page, form, delete, pause), `sections` + `sectionpages` (notifiers, watch periods,
  maintenance windows, duty rosters and shifts: their pages and JSON), `settings` (the
  single tables `[monitor]`, `[defaults]` and `[subscriptions]`: form and JSON, what
  waits for a restart), `accounts` (`[admins.NAME]`:
  add, role, password, delete, the last admin kept; JSON) + `accountpages` (their forms);
- `forms` (forms made from key declarations), `changes` (the one path of every
  configuration change: validate, write, back up, audit, reload), `layout` (the admin
  pages' frame), `payload` (reading a JSON body), `openapi` (this API's part of the
  OpenAPI document).

- `incidents` (incidents, their updates, announcements: JSON), `oncall` (acknowledge,
  mute, `GET /admin/api/oncall`: JSON), `actionpages` (their forms for people, calling
  the same functions as the JSON routes).

 Another route family registers here with one line, behind `guarded(handler)` (viewer
for GET, operator for other methods; `role="admin"` for configuration changes).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from monitor.web.admin import (
    accountpages,
    accounts,
    actionpages,
    incidents,
    login,
    maintenance,
    oncall,
    overview,
    sectionpages,
    settings,
    subscribers,
    targetpages,
    targets,
)
from monitor.web.admin import audit as auditlog
from monitor.web.admin.audit import audit
from monitor.web.admin.auth import FAILURE_WINDOW, FAILURES, TOKEN_ENV, Handler, guarded
from monitor.web.admin.payload import MAX_BODY
from monitor.web.admin.settings import SINGLES

__all__ = ["FAILURES", "FAILURE_WINDOW", "MAX_BODY", "TOKEN_ENV", "audit", "guarded", "routes"]


def _pages() -> list[BaseRoute]:
    def page(handler: Handler, role: str | None = None) -> Handler:
        return guarded(handler, browser=True, role=role)

    return [
        Route("/admin/targets", page(targetpages.targets_page), methods=["GET"]),
        Route("/admin/targets/new", page(targetpages.new_form, "admin"), methods=["GET"]),
        Route("/admin/targets/new", page(targetpages.save_form, "admin"), methods=["POST"]),
        Route("/admin/targets/{id}", page(targetpages.target_page), methods=["GET"]),
        Route("/admin/targets/{id}/edit", page(targetpages.edit_form, "admin"), methods=["GET"]),
        Route("/admin/targets/{id}/edit", page(targetpages.save_form, "admin"), methods=["POST"]),
        Route("/admin/targets/{id}/delete", page(targetpages.delete_page, "admin"), methods=["GET"]),
        Route("/admin/targets/{id}/delete", page(targetpages.delete, "admin"), methods=["POST"]),
        Route("/admin/targets/{id}/pause", page(targetpages.pause), methods=["POST"]),
        Route("/admin/targets/{id}/resume", page(targetpages.resume), methods=["POST"]),
        Route("/admin/targets/{id}/ack", page(actionpages.ack_form), methods=["POST"]),
        Route("/admin/targets/{id}/mute", page(actionpages.mute_form), methods=["POST"]),
        Route("/admin/targets/{id}/unmute", page(actionpages.unmute_form), methods=["POST"]),
        Route("/admin/incidents", page(actionpages.incidents_page), methods=["GET"]),
        Route("/admin/incidents", page(actionpages.declare_form), methods=["POST"]),
        Route("/admin/incidents/{id}/update", page(actionpages.update_page), methods=["GET"]),
        Route("/admin/incidents/{id}/update", page(actionpages.update_form), methods=["POST"]),
        Route("/admin/announcements", page(actionpages.announce_form), methods=["POST"]),
        Route("/admin/announcements/{id:int}/remove", page(actionpages.withdraw_form), methods=["POST"]),
        *[Route(f"/admin/config/{name}", page(settings.form_page, "admin"), methods=["GET"]) for name in SINGLES],
        *[Route(f"/admin/config/{name}", page(settings.save_form, "admin"), methods=["POST"]) for name in SINGLES],
        Route("/admin/config/admins", page(accountpages.list_page, "admin"), methods=["GET"]),
        Route("/admin/config/admins/new", page(accountpages.new_form, "admin"), methods=["GET"]),
        Route("/admin/config/admins/new", page(accountpages.save_new, "admin"), methods=["POST"]),
        Route("/admin/config/admins/{key}/edit", page(accountpages.edit_page, "admin"), methods=["GET"]),
        Route("/admin/config/admins/{key}/edit", page(accountpages.save_role, "admin"), methods=["POST"]),
        Route("/admin/config/admins/{key}/password", page(accountpages.save_password, "admin"), methods=["POST"]),
        Route("/admin/config/admins/{key}/delete", page(accountpages.delete_page, "admin"), methods=["GET"]),
        Route("/admin/config/admins/{key}/delete", page(accountpages.delete, "admin"), methods=["POST"]),
        Route("/admin/config/notifiers/{key}/test", page(sectionpages.test_saved), methods=["POST"]),
        Route("/admin/config/{section}", page(sectionpages.list_page), methods=["GET"]),
        Route("/admin/config/{section}/new", page(sectionpages.new_form, "admin"), methods=["GET"]),
        Route("/admin/config/{section}/new", page(sectionpages.save_form, "admin"), methods=["POST"]),
        Route("/admin/config/{section}/{key}/edit", page(sectionpages.edit_form, "admin"), methods=["GET"]),
        Route("/admin/config/{section}/{key}/edit", page(sectionpages.save_form, "admin"), methods=["POST"]),
        Route("/admin/config/{section}/{key}/delete", page(sectionpages.delete_page, "admin"), methods=["GET"]),
        Route("/admin/config/{section}/{key}/delete", page(sectionpages.delete, "admin"), methods=["POST"]),
    ]


def routes() -> list[BaseRoute]:
    return [
        Route("/admin", guarded(overview.admin_page, browser=True), methods=["GET"]),
        Route("/admin/login", login.login_page, methods=["GET"]),
        Route("/admin/login", login.login, methods=["POST"]),
        Route("/admin/logout", guarded(login.logout, role="viewer"), methods=["POST"]),
        Route("/admin/api/alerts", guarded(maintenance.list_alerts), methods=["GET"]),
        Route("/admin/api/subscribers", guarded(subscribers.list_subscribers), methods=["GET"]),
        Route("/admin/api/maintenance", guarded(maintenance.list_maintenance), methods=["GET"]),
        Route("/admin/api/maintenance", guarded(maintenance.add_maintenance), methods=["POST"]),
        Route("/admin/api/maintenance/{id:int}", guarded(maintenance.remove_maintenance), methods=["DELETE"]),
        Route("/admin/api/targets/{id}/notes", guarded(maintenance.add_note), methods=["POST"]),
        *incidents.routes(guarded),
        *oncall.routes(guarded),
        Route("/admin/api/audit", guarded(auditlog.list_audit, role="admin"), methods=["GET"]),
        Route("/admin/api/targets/{id}", guarded(targets.get_target, role="admin"), methods=["GET"]),
        Route("/admin/api/targets/{id}", guarded(targets.put_target, role="admin"), methods=["PUT"]),
        Route("/admin/api/targets/{id}", guarded(targets.delete_target, role="admin"), methods=["DELETE"]),
        Route("/admin/api/targets/{id}/pause", guarded(targets.pause), methods=["POST"]),
        Route("/admin/api/targets/{id}/resume", guarded(targets.resume), methods=["POST"]),
        Route("/admin/api/targets/{id}/probe", guarded(targets.probe, role="admin"), methods=["POST"]),
        Route("/admin/api/notifiers/{key}/test", guarded(sectionpages.api_test), methods=["POST"]),
        *[
            Route(f"/admin/api/config/{name}", guarded(settings.api_get, role="admin"), methods=["GET"])
            for name in SINGLES
        ],
        *[
            Route(f"/admin/api/config/{name}", guarded(settings.api_put, role="admin"), methods=["PUT"])
            for name in SINGLES
        ],
        Route("/admin/api/config/admins", guarded(accounts.api_list, role="admin"), methods=["GET"]),
        Route("/admin/api/config/admins/{key}", guarded(accounts.api_put, role="admin"), methods=["PUT"]),
        Route("/admin/api/config/admins/{key}", guarded(accounts.api_delete, role="admin"), methods=["DELETE"]),
        Route("/admin/api/config/{section}", guarded(sectionpages.api_list, role="admin"), methods=["GET"]),
        Route("/admin/api/config/{section}", guarded(sectionpages.api_put, role="admin"), methods=["POST"]),
        Route("/admin/api/config/{section}/{key}", guarded(sectionpages.api_put, role="admin"), methods=["PUT"]),
        Route("/admin/api/config/{section}/{key}", guarded(sectionpages.api_delete, role="admin"), methods=["DELETE"]),
        *_pages(),
        Route("/admin/audit", guarded(auditlog.audit_page, browser=True, role="admin"), methods=["GET"]),
    ]
