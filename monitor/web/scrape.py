"""`GET /metrics`: the monitor's metrics in Prometheus's text format (`?name[]=` to pick)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

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
    # batch by batch, each written and encoded in the thread as it goes, so the whole
    # text is never held at once.
    names = request.query_params.getlist("name[]") or None
    pieces = request.app.state.monitor.metrics.pieces(names)  # a generator: nothing written yet
    first = await asyncio.to_thread(_batch, pieces)  # a failure here is still a 500
    return StreamingResponse(_encoded(first, pieces), media_type=CONTENT_TYPE)


async def _encoded(first: bytes, pieces: Iterator[str]) -> AsyncIterator[bytes]:
    batch = first
    while batch:
        yield batch
        batch = await asyncio.to_thread(_batch, pieces)


def _batch(pieces: Iterator[str]) -> bytes:
    """The next `SEND` characters or more of the text, written and encoded (empty at
    its end): only this much of the text is held at a time, ~2 KB a target in all."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= SEND:
            break
    return "".join(batch).encode()


def routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics)]
