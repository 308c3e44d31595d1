"""`GET /metrics`: the monitor's metrics in Prometheus's text format (`?name[]=` to pick)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from monitor.metrics.exposition import CONTENT_TYPE
from monitor.runtime import trim_heap

SEND = 256 * 1024  # characters sent at once: small pieces gathered, large ones as they are
# Every scrape's batches are written on this one thread, for the process's life: glibc's
# malloc gives each thread that allocates an arena of its own and keeps what that thread
# freed there, so batches spread over the default pool's threads left a scrape's worth of
# freed text resident in each of them (BENCHMARKS.md). Two scrapes at once take turns.
WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-scrape")


async def metrics(request: Request) -> Response:
    # The monitor's own text, not generate_latest(registry): same content, several
    # times faster (see monitor.metrics.exposition). `?name[]=...` restricts the output to those
    # samples, as prometheus_client's exposition does: a cheap read of one figure.
    # Written off the event loop: 20,000 targets take a quarter of a CPU-second, which
    # would otherwise hold every probe's start. The state is only read; a reload swaps
    # whole dicts, so the thread never iterates one being changed. The pieces are sent
    # batch by batch, each written and encoded in the thread (`WRITER`) as it goes, so
    # the whole text is never held at once; after the last, what the text took is given
    # back to the system (`trim_heap`).
    names = request.query_params.getlist("name[]") or None
    pieces = request.app.state.monitor.metrics.pieces(names)  # a generator: nothing written yet
    first = await _written(pieces)  # a failure here is still a 500
    return StreamingResponse(_encoded(first, pieces), media_type=CONTENT_TYPE)


async def _written(pieces: Iterator[str]) -> bytes:
    return await asyncio.get_running_loop().run_in_executor(WRITER, _batch, pieces)


async def _encoded(first: bytes, pieces: Iterator[str]) -> AsyncIterator[bytes]:
    batch, sent = first, 0
    while batch:
        yield batch
        sent += 1
        batch = await _written(pieces)
    if sent > 1:  # a whole text's worth was freed (a read of a few `name[]` is one batch)
        await asyncio.get_running_loop().run_in_executor(WRITER, trim_heap)


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
