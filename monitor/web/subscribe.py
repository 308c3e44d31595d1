"""Citizens' e-mail subscriptions on the web (`[subscriptions]`; 404 while it is off).

- `POST /subscribe` (a form: `email`, optional `targets` and `groups`, the page's
  language in the action's `?lang=`): queues the confirmation e-mail and answers "check your inbox" — the same
  page, status and size whether the address is subscribed, unknown, or asked for too
  often (then no mail is sent); only a malformed address is answered 400.
- `GET /subscribe/confirm?token=`: the confirmation link; stores the subscriber.
- `GET /unsubscribe?token=`: a page with one button (a mail scanner following links
  unsubscribes nobody); `POST /unsubscribe?token=`: unsubscribes, the one-click POST of
  RFC 8058 (`List-Unsubscribe=One-Click`) and the button alike.

Requests are limited per client (`CLIENT_LIMIT` per `CLIENT_WINDOW`, then 429) and per
address (`ADDRESS_LIMIT` confirmation mails per `ADDRESS_WINDOW`), with the token
buckets of `monitor.web.ratelimit`; the address is kept there only as a hash. No page
shows an address.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.subscriptions.service import Subscriptions
from monitor.web.bodies import read_body, too_large
from monitor.web.errorpages import not_found
from monitor.web.ratelimit import client_of, limit_of
from monitor.web.templating import language, page
from monitor.web.texts import Texts

MAX_BODY = 16 * 1024
CLIENT_LIMIT, CLIENT_WINDOW = 10, 3600.0  # subscribe requests per client per hour
ADDRESS_LIMIT, ADDRESS_WINDOW = 3, 86400.0  # confirmation mails per address per day
CLIENT_REFUSED = "too many subscribe requests; the client is refused for a while"
ADDRESS_REFUSED = "too many confirmation requests for one address; none sent to it for a while"
MAX_ADDRESS = 254  # RFC 5321's limit on a path
# One @, no spaces, control characters or the characters that end an address in a
# header; a dot in the domain. The mail server judges the rest.
_PART = r"[^\s@<>,;:\"()\[\]\\\x00-\x1f\x7f]"
_ADDRESS = re.compile(rf"^{_PART}+@{_PART}+\.{_PART}+$")


def routes() -> list[BaseRoute]:
    return [
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/subscribe/confirm", confirm, methods=["GET"]),
        Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
    ]


def form(runtime: Any) -> Mapping[str, Any] | None:
    """The subscribe form's context on the status page: the public groups to choose
    from; None while subscriptions are off."""
    if getattr(runtime, "subscriptions", None) is None:
        return None
    groups = dict.fromkeys(t.group for t in runtime.config.targets.values() if t.public and t.group)
    return {"groups": list(groups)}


def valid_address(address: str) -> bool:
    return len(address) <= MAX_ADDRESS and _ADDRESS.match(address) is not None


def _service(request: Request) -> Subscriptions | None:
    found = getattr(request.app.state.monitor, "subscriptions", None)
    return found if isinstance(found, Subscriptions) else None


def _answer(request: Request, heading: str, text: str, status: int = 200, **extra: Any) -> HTMLResponse:
    runtime = request.app.state.monitor

    def build(t: Texts) -> Mapping[str, Any]:
        return {"heading": t(heading), "text": t(text), "token_form": None, **extra}

    response = page(request, "subscribe.html.j2", runtime.config, build, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # a token never leaves in a Referer
    return response


async def subscribe(request: Request) -> Response:
    service = _service(request)
    if service is None:
        return not_found(request)
    clients = limit_of(request, "subscribe_clients", CLIENT_LIMIT, CLIENT_WINDOW, CLIENT_REFUSED)
    client = client_of(request)
    if clients.retry_after(client) is not None:
        return _answer(request, "subscribe.sent_title", "subscribe.too_many", 429)
    body = await read_body(request, MAX_BODY)
    if body is None:
        return too_large(MAX_BODY)
    clients.failed(client, request.url.path)  # every request takes a token
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    address = (fields.get("email") or [""])[0].strip()
    lang = language(request, request.app.state.monitor.config)  # the form's `?lang=`: the page's
    if not valid_address(address):
        return _answer(request, "subscribe.title", "subscribe.invalid", 400)
    addresses = limit_of(request, "subscribe_addresses", ADDRESS_LIMIT, ADDRESS_WINDOW, ADDRESS_REFUSED)
    key = hashlib.sha256(address.lower().encode()).hexdigest()
    if addresses.retry_after(key) is None:
        addresses.failed(key, request.url.path)
        service.request(address, fields.get("targets", []), fields.get("groups", []), lang)
    return _answer(request, "subscribe.sent_title", "subscribe.sent_text")


async def confirm(request: Request) -> Response:
    service = _service(request)
    if service is None:
        return not_found(request)
    if service.confirm(request.query_params.get("token", "")) is None:
        return _answer(request, "subscribe.bad_link_title", "subscribe.bad_link_text", 400)
    return _answer(request, "subscribe.confirmed_title", "subscribe.confirmed_text")


async def unsubscribe(request: Request) -> Response:
    service = _service(request)
    if service is None:
        return not_found(request)
    token = request.query_params.get("token", "")
    if request.method == "GET":
        if service.unsubscribe_token_valid(token):
            return _answer(request, "subscribe.unsubscribe_title", "subscribe.unsubscribe_text", token_form=token)
        return _answer(request, "subscribe.bad_link_title", "subscribe.bad_link_text", 400)
    if await read_body(request, MAX_BODY) is None:
        return too_large(MAX_BODY)
    if service.unsubscribe(token) is None:
        return _answer(request, "subscribe.bad_link_title", "subscribe.bad_link_text", 400)
    return _answer(request, "subscribe.unsubscribed_title", "subscribe.unsubscribed_text")
