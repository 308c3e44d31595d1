"""`GET /probe?target=ID`: probe one configured target now and answer in the blackbox
exporter's format, so an existing blackbox scrape job can point at `monitor` unchanged.
Each request costs a real probe, so the route is served only on `[monitor]
metrics_listen` (`monitor.web.create_metrics_app`), never on the public `listen`.

Only ids from the configuration are accepted: nothing from outside chooses what is
probed (`?target=https://...` is an unknown id, 404). The samples carry no `target`
label, as the exporter's do (the scrape job's relabelling adds one). Each answer is
written afresh from that one result; the probe does not feed the state machine, the
history or /metrics. Like the exporter, the probe is cut short a little before Prometheus's scrape timeout
(`X-Prometheus-Scrape-Timeout-Seconds`) so that a slow target reports a failure instead
of a failed scrape.
"""

from __future__ import annotations

import asyncio
import math
import time

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.config import Target
from monitor.metrics.exposition import CONTENT_TYPE, probe_text
from monitor.result import Reason, Result
from monitor.runtime import Monitor

SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
TIMEOUT_OFFSET = 0.5  # seconds left to Prometheus for the answer itself (the exporter's default)


def _deadline(request: Request) -> float | None:
    """Seconds the probe may take under the scrape's own timeout, if Prometheus sent one."""
    try:
        header = float(request.headers.get(SCRAPE_TIMEOUT_HEADER, ""))
    except ValueError:
        return None
    if not math.isfinite(header):  # "NaN" would cut every probe short at once
        return None
    return max(header - TIMEOUT_OFFSET, 0.1)


async def _probe(monitor: Monitor, target: Target, deadline: float | None) -> Result:
    started = time.time()
    try:
        async with asyncio.timeout(deadline):
            return await monitor.probe_now(target)
    except TimeoutError:
        return Result(False, Reason.TIMEOUT, "scrape timeout reached", duration=time.time() - started, started=started)


async def probe(request: Request) -> Response:
    monitor: Monitor = request.app.state.monitor
    target_id = request.query_params.get("target")
    if not target_id:
        return PlainTextResponse("Target parameter is missing\n", status_code=400)
    target = monitor.config.targets.get(target_id)
    if target is None:
        return PlainTextResponse(
            "Unknown target id (only ids configured in targets.toml can be probed)\n",
            status_code=404,
        )
    result = await _probe(monitor, target, _deadline(request))
    return Response(probe_text(target, result), media_type=CONTENT_TYPE)


def routes() -> list[BaseRoute]:
    return [Route("/probe", probe)]
