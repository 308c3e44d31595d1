"""The public pages: the status page (`GET /`) and a target's page (`GET /targets/{id}`).

Both render `Public*` values from `monitor.web.views` only; a private or unknown target's
page is a 404, the same answer for both so the private one is not revealed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.web import views
from monitor.web.graphics import BarPainter, latency_chart, sparkline
from monitor.web.templating import page
from monitor.web.texts import Texts


def routes() -> list[BaseRoute]:
    return [
        Route("/", status_page, methods=["GET"]),
        Route("/targets/{id}", target_page, methods=["GET"]),
    ]


async def status_page(request: Request) -> HTMLResponse:
    runtime: views.Runtime = request.app.state.monitor
    snap = await views.snapshot(runtime, time.time())
    return page(request, "status.html.j2", runtime.config, lambda t: status_context(snap, t))


def status_context(snap: views.Snapshot, t: Texts) -> Mapping[str, Any]:
    """The status template's context: the snapshot laid out by group, in words."""
    watch, now = snap.watch, snap.now
    if watch is not None:
        caption = t("page.watch_bar")
        axis = (t.date(watch.start), t.date(watch.end))
    else:
        caption = t("page.days_bar", days=views.BAR_DAYS)
        axis = (t("page.days_ago", n=views.BAR_DAYS), t("page.today"))
    return {
        "now": now,
        "overall": views.overall([row.status for row in snap.rows]),
        "watch": watch,
        "groups": by_group(snap.rows),
        "open_incidents": [i for i in snap.incidents if i.end is None],
        "recent_incidents": [i for i in snap.incidents if i.end is not None],
        "maintenance_now": [m for m in snap.maintenance if m.start <= now],
        "maintenance_next": [m for m in snap.maintenance if m.start > now],
        "windows": list(views.WINDOWS),
        "bars": BarPainter(t),
        "sparkline": sparkline,
        "bar_caption": caption,
        "axis": axis,
    }


def by_group(rows: Sequence[views.Row]) -> list[tuple[str, list[views.Row]]]:
    """Rows grouped in the order groups first appear in the configuration."""
    groups: dict[str, list[views.Row]] = {}
    for row in rows:
        groups.setdefault(row.status.target.group, []).append(row)
    return list(groups.items())


async def target_page(request: Request) -> Response:
    runtime: views.Runtime = request.app.state.monitor
    target = views.public_target(runtime.config, request.path_params["id"])
    if target is None:
        return PlainTextResponse("Not Found", status_code=404)
    chosen = request.query_params.get("range", "24h")
    chosen = chosen if chosen in views.RANGES else "24h"
    now = time.time()
    detail = await views.target_detail(runtime, target, now - views.RANGES[chosen], now)
    context = {
        "now": now,
        "target": target,
        "detail": detail,
        "chart": latency_chart(detail.series),
        "ranges": list(views.RANGES),
        "chosen": chosen,
    }
    return page(request, "target.html.j2", runtime.config, lambda t: context)
