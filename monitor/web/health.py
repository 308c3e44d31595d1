"""`/healthz` (the process is alive) and `/readyz` (probing and storage are healthy)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok\n")


_PROBLEMS = {
    "started": "not started yet",
    "scheduler_on_time": "probes start late (scheduler lag above 5 s)",
    "probing_running": "the probing thread stopped (its error is in the log)",
    "probing_possible": "probes failed for want of the monitor's own resources (open files, memory) in the last minute",
}


async def readyz(request: Request) -> Response:
    """200 while started, probing on time and the store takes writes; else 503, with
    what fails in `problems` (the store's reason: "disk full", "database corrupt"...)."""
    monitor = request.app.state.monitor
    storage = monitor.storage_health()
    checks = {
        "started": monitor.ready,
        "scheduler_on_time": monitor.scheduler.healthy(),
        "probing_running": monitor.probing.alive,
        "probing_possible": monitor.probing_possible(),
        "store_writable": storage.ok,
    }
    problems = [text for check, text in _PROBLEMS.items() if not checks[check]]
    if not storage.ok:
        problems.append(f"store: {storage.describe()}")
    ok = all(checks.values())
    return JSONResponse({"ready": ok, "checks": checks, "problems": problems}, status_code=200 if ok else 503)


def routes() -> list[BaseRoute]:
    return [Route("/healthz", healthz), Route("/readyz", readyz)]
