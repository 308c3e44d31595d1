"""`GET|POST /admin/login` (form: `username`, `password`, `next`) and `POST /admin/logout`.

A failed login is rate-limited twice: per client (`CLIENT_FAILURES` per
`CLIENT_WINDOW` seconds, as `monitor.web.ratelimit` counts clients) and per account
(`ACCOUNT_FAILURES` per `ACCOUNT_WINDOW`, whoever tries it: a guesser spread over many
addresses is slowed too; the price is that the account's owner waits as long). A refused
attempt is answered 429 with Retry-After, its password not checked. Every failure is
logged with the name tried and the client, never the password. An unknown name costs
the same argon2 verification as a wrong password. The password is verified in a worker
thread (argon2id takes tens of milliseconds on purpose).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor.config import Config
from monitor.config.accounts import verify_password
from monitor.log import kv
from monitor.web.admin.auth import enabled, principal_of
from monitor.web.admin.sessions import COOKIE, LONGEST, sessions_of
from monitor.web.bodies import read_body, too_large
from monitor.web.ratelimit import client_of, limit_of
from monitor.web.templating import page

log = logging.getLogger(__name__)
CLIENT_FAILURES, CLIENT_WINDOW = 5, 60.0
ACCOUNT_FAILURES, ACCOUNT_WINDOW = 10, 600.0
MAX_FORM = 4096


async def login_page(request: Request) -> Response:
    config: Config = request.app.state.monitor.config
    if not config.admins:
        return Response("Not Found", 404, media_type="text/plain")
    return _form(request, config, _next(request.query_params.get("next", "")))


def _form(request: Request, config: Config, next_: str, error: str = "", status: int = 200, name: str = "") -> Response:
    response = page(
        request,
        "admin_login.html.j2",
        config,
        lambda t: {"error": error, "next": next_, "username": name},
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _next(value: str) -> str:
    """Where to go after logging in: an admin path of this site only (no open redirect)."""
    return value if value.startswith("/admin") and not value.startswith("//") else "/admin"


async def login(request: Request) -> Response:
    config: Config = request.app.state.monitor.config
    if not config.admins:
        return Response("Not Found", 404, media_type="text/plain")
    raw = await read_body(request, MAX_FORM)
    if raw is None:
        return too_large(MAX_FORM)
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    name, password, next_ = form.get("username", "").strip(), form.get("password", ""), _next(form.get("next", ""))
    client = client_of(request)
    by_client = limit_of(request, "login_clients", CLIENT_FAILURES, CLIENT_WINDOW)
    by_account = limit_of(request, "login_accounts", ACCOUNT_FAILURES, ACCOUNT_WINDOW)
    wait = by_client.retry_after(client) or by_account.retry_after(name)
    if wait is not None:
        log.warning("admin login refused: too many failures", extra=kv(user=name, client=client))
        response = _form(request, config, next_, "login.too_many", 429, name)
        response.headers["Retry-After"] = str(wait)
        return response
    admin = config.admins.get(name)
    ok = await asyncio.to_thread(verify_password, admin.password_hash if admin else None, password)
    if admin is None or not ok:
        by_client.failed(client, request.url.path)
        by_account.failed(name, request.url.path)
        log.warning("admin login failed", extra=kv(user=name, client=client))
        return _form(request, config, next_, "login.failed", 401, name)
    session = sessions_of(request.app.state).start(admin)
    log.info("admin logged in", extra=kv(user=name, client=client))
    response = RedirectResponse(next_, 303)
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=int(LONGEST),
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=_https(request, config),
    )
    return response


def _https(request: Request, config: Config) -> bool:
    """Whether the browser talks HTTPS to us: the request's scheme (uvicorn applies a
    trusted proxy's X-Forwarded-Proto), or an https public_url."""
    return request.url.scheme == "https" or (config.settings.public_url or "").startswith("https://")


async def logout(request: Request) -> Response:
    principal_of(request)
    session_id = request.cookies.get(COOKIE, "")
    sessions_of(request.app.state).end(session_id)
    response = RedirectResponse("/admin/login", 303)
    response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="strict")
    return response


__all__ = ["enabled", "login", "login_page", "logout"]
