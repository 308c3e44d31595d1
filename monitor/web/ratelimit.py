"""Failed authentications, limited per client address.

A `FailureLimit` keeps a token bucket for each client that failed: each failure takes a
token, `limit` tokens come back per `window` seconds. A client whose bucket is empty is
answered `429 Too Many Requests` with `Retry-After`, without its token being compared,
until a token is back; other clients are not affected. The failure that empties a
client's bucket is logged, once a window, with the client and the path, never with what
it sent.

A client is its address; an IPv6 client is its /64 network (one host usually has the
whole /64, so counting its addresses one by one would give it 2^64 buckets). Behind a
reverse proxy every client has the proxy's address unless the proxy's
`X-Forwarded-For` is trusted (uvicorn trusts it from 127.0.0.1 and ::1). At most `MAX_CLIENTS`
buckets are kept: past that, the full ones are dropped, then the oldest.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.log import kv

log = logging.getLogger(__name__)
MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float  # when `tokens` was counted
    logged: float = -math.inf  # when this client's refusal was last logged


class FailureLimit:
    """`limit` failures per `window` seconds for each client (see the module docstring)."""

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        message: str = "too many failed authentications; the client is refused for a while",
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.message = message  # what the log says when a bucket empties
        self._buckets: dict[str, _Bucket] = {}

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until `client` may try again; None while it may now."""
        bucket = self._refill(client)
        if bucket is None or bucket.tokens >= 1:
            return None
        return max(1, math.ceil((1 - bucket.tokens) * self.window / self.limit))

    def failed(self, client: str, path: str) -> None:
        """`client` failed once more at `path`; the failure that empties its bucket is
        logged, once a window."""
        bucket = self._refill(client)
        if bucket is None:
            self._make_room()
            bucket = self._buckets[client] = _Bucket(float(self.limit), self.clock())
        bucket.tokens -= 1
        if bucket.tokens < 1 and bucket.at - bucket.logged >= self.window:
            bucket.logged = bucket.at
            log.warning(
                self.message,
                extra=kv(client=client, path=path, failures=self.limit, window=f"{self.window:g}s"),
            )

    def _refill(self, client: str) -> _Bucket | None:
        bucket = self._buckets.get(client)
        if bucket is not None:
            now = self.clock()
            bucket.tokens = min(float(self.limit), bucket.tokens + (now - bucket.at) * self.limit / self.window)
            bucket.at = now
        return bucket

    def _make_room(self) -> None:
        if len(self._buckets) < MAX_CLIENTS:
            return
        for client in list(self._buckets):
            bucket = self._refill(client)
            if bucket is not None and bucket.tokens >= self.limit:
                del self._buckets[client]  # a full bucket is what a new one would be
        while len(self._buckets) >= MAX_CLIENTS:
            del self._buckets[next(iter(self._buckets))]


def client_of(request: Request) -> str:
    """The client's key: its address, or for IPv6 its /64 network."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def limit_of(request: Request, name: str, limit: int, window: float, message: str | None = None) -> FailureLimit:
    """The app's `FailureLimit` called `name`, made on first use (`message`: its log line)."""
    state = request.app.state
    found = getattr(state, name, None)
    if not isinstance(found, FailureLimit):
        found = FailureLimit(limit, window) if message is None else FailureLimit(limit, window, message=message)
        setattr(state, name, found)
    return found


def too_many(retry_after: int, json: bool = False) -> Response:
    """The 429 answer, with `Retry-After`."""
    headers = {"Retry-After": str(retry_after)}
    if json:
        return JSONResponse({"error": "too many failed attempts; retry later"}, 429, headers)
    return Response("Too Many Requests\n", 429, headers, media_type="text/plain")
