"""`GET /metrics`: the app's own registry in Prometheus's text format."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route


async def metrics(request: Request) -> Response:
    # The monitor's own text, not generate_latest(registry): same content, several
    # times faster (see monitor.exposition).
    return Response(request.app.state.monitor.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics)]
