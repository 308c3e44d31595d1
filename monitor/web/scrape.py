"""`GET /metrics`: the app's own registry in Prometheus's text format."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route


async def metrics(request: Request) -> Response:
    registry = request.app.state.monitor.registry
    # `?name[]=...` restricts the output to those series, as prometheus_client's own
    # exposition does: a cheap read of one figure without building every target's series.
    names = request.query_params.getlist("name[]")
    source = registry.restricted_registry(names) if names else registry
    return Response(generate_latest(source), media_type=CONTENT_TYPE_LATEST)


def routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics)]
