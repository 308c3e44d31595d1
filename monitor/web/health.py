"""`/healthz` (the process is alive) and `/readyz` (probing and storage are healthy)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok\n")


async def readyz(request: Request) -> Response:
    monitor = request.app.state.monitor
    checks = {
        "started": monitor.ready,
        "scheduler_on_time": monitor.scheduler.healthy(),
        "probing_possible": monitor.probing_possible(),
    }
    ok = all(checks.values())
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


def routes() -> list[BaseRoute]:
    return [Route("/healthz", healthz), Route("/readyz", readyz)]
