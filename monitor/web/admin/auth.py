"""Who may use the admin routes, and with which role: `guarded(handler, role=...)`.

The admin side is off (404 everywhere) unless `MONITOR_ADMIN_TOKEN` is set or the file
has an `[admins.NAME]`. A request is then one of:

- **the bearer token** (`Authorization: Bearer TOKEN`, compared in constant time): a
  script, acting with the admin role, named `token` in the audit log. A browser never
  attaches it on its own, so another site cannot forge such a write (CSRF);
- **HTTP Basic with the token as the password**, for reading pages only (`browser=True`
  routes, GET): a browser re-sends Basic credentials on its own, so never for a write;
- **a session cookie** (`monitor.web.admin.sessions`, from `/admin/login`): the
  account's role; every write must also send the session's CSRF token, in the
  `X-CSRF-Token` header or the form's `csrf` field (`monitor.web.admin.csrf`).

A viewer reads, an operator also acts (pause, resume, maintenance, notes, and whatever
else writes without `role=`), an admin also edits the configuration (`role="admin"`).
`role=None` means viewer for GET and HEAD, operator for every other method. A role too
low is 403. A person's browser without a session is sent to the login page; a script
without credentials gets 401.

A client that sent `FAILURES` wrong credentials within `FAILURE_WINDOW` seconds is
answered 429 with Retry-After, its credentials not compared, until it has waited
(`monitor.web.ratelimit`); a request without credentials is no failure. A body over
`MAX_BODY` bytes is refused (413) before it is read (`monitor.web.bodies`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from monitor.alerting.policy import ADMIN_TOKEN_ENV
from monitor.config import Config
from monitor.config.model import ROLES
from monitor.web.admin.csrf import csrf_ok
from monitor.web.admin.payload import MAX_BODY
from monitor.web.admin.sessions import COOKIE, sessions_of
from monitor.web.bodies import read_body, too_large
from monitor.web.ratelimit import client_of, limit_of, too_many

TOKEN_ENV = ADMIN_TOKEN_ENV
TOKEN_NAME = "token"  # who the bearer token is in the audit log
FAILURES, FAILURE_WINDOW = 10, 60.0  # wrong credentials a client may send per minute
READS = ("GET", "HEAD")
Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Principal:
    """Who is asking: `who` (an account's name, or `token`), their `role`, and the
    session's CSRF token (None for the bearer token, which needs none)."""

    who: str
    role: str
    csrf: str | None = None

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def enabled(config: Config) -> bool:
    return bool(os.environ.get(TOKEN_ENV, "") or config.admins)


def principal_of(request: Request) -> Principal:
    """The `Principal` that `guarded` let through."""
    found = request.state.principal
    assert isinstance(found, Principal)
    return found


def guarded(handler: Handler, browser: bool = False, role: str | None = None) -> Handler:
    """`handler` behind the checks of the module docstring; it finds who asked with
    `principal_of(request)`."""

    async def check(request: Request) -> Response:
        config: Config = request.app.state.monitor.config
        if not enabled(config):
            return PlainTextResponse("Not Found", 404)
        failures, client = limit_of(request, "admin_failures", FAILURES, FAILURE_WINDOW), client_of(request)
        wait = failures.retry_after(client)
        if wait is not None:
            return too_many(wait)
        found = await _identify(request, config, browser)
        if isinstance(found, Response):
            if request.headers.get("authorization"):
                failures.failed(client, request.url.path)
            return found
        needed = role or ("viewer" if request.method in READS else "operator")
        if not found.may(needed):
            return _refused(request, f"this needs the {needed} role; {found.who} has {found.role}")
        if request.method not in READS and found.csrf is not None:
            raw = await read_body(request, MAX_BODY)
            if raw is None:
                return too_large(MAX_BODY)
            request._body = raw  # the handler reads the same body again
            if not csrf_ok(request, raw, found.csrf):
                return _refused(request, "missing or wrong CSRF token (X-CSRF-Token header or csrf field)")
        request.state.principal = found
        request.state.who = found.who  # the audit log's `who`
        return await handler(request)

    return check


async def _identify(request: Request, config: Config, browser: bool) -> Principal | Response:
    token = os.environ.get(TOKEN_ENV, "")
    header = request.headers.get("authorization", "")
    if header:
        basic = browser and request.method in READS
        if token and authorized(header, token, basic):
            return Principal(TOKEN_NAME, "admin")
        return _challenge(browser)
    session_id = request.cookies.get(COOKIE, "")
    found = sessions_of(request.app.state).find(session_id, config) if session_id else None
    if found is not None:
        session, admin = found
        return Principal(admin.name, admin.role, session.csrf)
    if browser and request.method in READS and config.admins:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/admin/login?next={quote(target, safe='')}", 303)
    return _challenge(browser)


def _challenge(browser: bool) -> Response:
    challenge = 'Bearer realm="monitor admin"'
    if browser:
        challenge = 'Basic realm="monitor admin", charset="UTF-8", ' + challenge
    return PlainTextResponse("Unauthorized", 401, {"WWW-Authenticate": challenge})


def _refused(request: Request, why: str) -> Response:
    if request.url.path.startswith("/admin/api/"):
        return JSONResponse({"error": why}, 403)
    return PlainTextResponse(f"Forbidden: {why}\n", 403)


def authorized(header: str, token: str, allow_basic: bool) -> bool:
    scheme, _, value = header.partition(" ")
    given = value.strip()
    if scheme.lower() == "basic" and allow_basic:
        try:
            given = base64.b64decode(given, validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))
