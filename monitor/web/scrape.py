"""`GET /metrics`: the monitor's metrics in Prometheus's text format (`?name[]=` to pick)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from monitor.metrics.exposition import CONTENT_TYPE

SEND = 256 * 1024  # characters sent at once: small pieces gathered, large ones as they are


async def metrics(request: Request) -> Response:
    # The monitor's own text, not generate_latest(registry): same content, several
    # times faster (see monitor.metrics.exposition). `?name[]=...` restricts the output to those
    # samples, as prometheus_client's exposition does: a cheap read of one figure.
    # Written on the event loop a slice of targets at a time (monitor.metrics.targets):
    # a probe waits one slice at most. The pieces are sent one by one, each encoded as it
    # goes, so the whole text is never held twice (joined, then encoded).
    names = request.query_params.getlist("name[]") or None
    pieces = await request.app.state.monitor.metrics.pieces_on_loop(names)
    return StreamingResponse(_encoded(pieces), media_type=CONTENT_TYPE)


async def _encoded(pieces: list[str]) -> AsyncIterator[bytes]:
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= SEND:
            yield "".join(batch).encode()
            batch.clear()
            size = 0
    if batch:
        yield "".join(batch).encode()


def routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics)]
