"""Who may use the admin routes: `guarded(handler)` answers 404 while the admin side is
off, 429 to a client that failed too often, 401 without the right credentials.

The bearer token `MONITOR_ADMIN_TOKEN` is compared in constant time. The pages accept
`Authorization: Bearer TOKEN`, or HTTP Basic with the token as the password so a browser
can open them; the write API accepts only Bearer, which a browser never attaches on its
own, so another site cannot forge a write (CSRF). A client that sent `FAILURES` wrong
credentials within `FAILURE_WINDOW` seconds is answered 429 with Retry-After, its
credentials not compared, until it has waited (`monitor.web.ratelimit`); a request
without credentials (a browser's first, before it asks for the password) is no failure.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from monitor.alerting.policy import ADMIN_TOKEN_ENV
from monitor.web.ratelimit import client_of, limit_of, too_many

TOKEN_ENV = ADMIN_TOKEN_ENV
FAILURES, FAILURE_WINDOW = 10, 60.0  # wrong credentials a client may send per minute
Handler = Callable[[Request], Awaitable[Response]]


def guarded(handler: Handler, browser: bool = False) -> Handler:
    """Answer 404 while no token is configured, 429 to a client that failed too often,
    401 without the right token."""

    async def check(request: Request) -> Response:
        token = os.environ.get(TOKEN_ENV, "")
        if not token:
            return PlainTextResponse("Not Found", 404)
        failures, client = limit_of(request, "admin_failures", FAILURES, FAILURE_WINDOW), client_of(request)
        wait = failures.retry_after(client)
        if wait is not None:
            return too_many(wait)
        header = request.headers.get("authorization", "")
        if not authorized(header, token, browser):
            if header:
                failures.failed(client, request.url.path)
            challenge = 'Bearer realm="monitor admin"'
            if browser:
                challenge = 'Basic realm="monitor admin", charset="UTF-8", ' + challenge
            return PlainTextResponse("Unauthorized", 401, {"WWW-Authenticate": challenge})
        return await handler(request)

    return check


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
