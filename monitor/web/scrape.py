"""`GET /metrics`: the monitor's metrics in Prometheus's text format (`?name[]=` to pick)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from monitor.metrics.exposition import CONTENT_TYPE


async def metrics(request: Request) -> Response:
    # The monitor's own text, not generate_latest(registry): same content, several
    # times faster (see monitor.metrics.exposition). `?name[]=...` restricts the output to those
    # samples, as prometheus_client's exposition does: a cheap read of one figure.
    # Rendered off the event loop: 20,000 targets take most of a CPU-second, which
    # would otherwise hold every probe's start. The state is only read; a reload swaps
    # whole dicts, so the thread never iterates one being changed.
    names = request.query_params.getlist("name[]") or None
    body = await asyncio.to_thread(request.app.state.monitor.metrics.render, names)
    return Response(body, media_type=CONTENT_TYPE)


def routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics)]
