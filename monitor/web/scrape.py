"""`GET /metrics`: the monitor's metrics in Prometheus's text format (`?name[]=` to pick)."""

from __future__ import annotations

import asyncio
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
    # Written off the event loop: 20,000 targets take a quarter of a CPU-second, which
    # would otherwise hold every probe's start. The state is only read; a reload swaps
    # whole dicts, so the thread never iterates one being changed. The pieces are sent
    # one by one, each encoded as it goes, so the whole text is never held twice.
    names = request.query_params.getlist("name[]") or None
    pieces = await asyncio.to_thread(request.app.state.monitor.metrics.pieces, names)
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
