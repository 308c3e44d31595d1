"""The public pages: the status page (`GET /`) and a target's page (`GET /targets/{id}`).

Both render `Public*` values from `monitor.web.viewmodels` only; a private or unknown target's
page is a 404, the same answer for both so the private one is not revealed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.web import viewmodels
from monitor.web.cache import current_snapshot
from monitor.web.graphics import ICONS, BarPainter, Line, latency_chart, sparkline
from monitor.web.templating import language, page
from monitor.web.texts import Texts

PHONE_DAYS = 30


def routes() -> list[BaseRoute]:
    return [
        Route("/", status_page, methods=["GET"]),
        Route("/targets/{id}", target_page, methods=["GET"]),
    ]


async def status_page(request: Request) -> HTMLResponse:
    runtime: viewmodels.Runtime = request.app.state.monitor
    snap = await current_snapshot(runtime, request.app.state)
    # The rendered page is kept with the snapshot it shows, one per language (only for
    # plain `/?lang=..` requests, so odd query strings cannot fill the cache).
    cacheable = set(request.query_params) <= {"lang"}
    key = language(request, runtime.config)
    cache: dict[str, tuple[viewmodels.Snapshot, bytes]] = getattr(request.app.state, "web_pages", {})
    hit = cache.get(key) if cacheable else None
    if hit is not None and hit[0] is snap:
        return HTMLResponse(hit[1])
    response = page(request, "status.html.j2", runtime.config, lambda t: status_context(snap, t))
    if cacheable:
        request.app.state.web_pages = {**cache, key: (snap, bytes(response.body))}
    return response


def status_context(snap: viewmodels.Snapshot, t: Texts) -> Mapping[str, Any]:
    """The status template's context: the snapshot laid out by group, in words."""
    watch, now, painter = snap.watch, snap.now, BarPainter(t)
    if watch is not None:
        caption = t("page.watch_bar")
        # The bars are local calendar days, the last one the day before an end at
        # midnight; a phone shows the last PHONE_DAYS bars only (see base.html.j2).
        first = t.local(watch.start).date()
        phone_first = first + timedelta(days=max(0, watch.days - PHONE_DAYS))
        axis = (t.date(first), t.date(phone_first), t.date(first + timedelta(days=watch.days - 1)))
    else:
        caption = t("page.days_bar", days=viewmodels.BAR_DAYS)
        axis = (
            t("page.days_ago", n=viewmodels.BAR_DAYS),
            t("page.days_ago", n=PHONE_DAYS),
            t("page.today"),
        )
    return {
        "now": now,
        "overall": viewmodels.overall([row.status for row in snap.rows]),
        "uplink": snap.uplink,
        "watch": watch,
        "groups": by_group([row_view(row, t, painter) for row in snap.rows]),
        "open_incidents": [i for i in snap.incidents if i.end is None],
        "recent_incidents": [i for i in snap.incidents if i.end is not None],
        "maintenance_now": [m for m in snap.maintenance if m.start <= now],
        "maintenance_next": [m for m in snap.maintenance if m.start > now],
        "bar_caption": caption,
        "axis": axis,
    }


@dataclass(frozen=True, slots=True)
class RowView:
    """A status page row in words, ready to print: with a thousand rows, formatting here
    instead of through template calls keeps the page inside its time budget."""

    id: str
    name: str
    group: str
    state: str
    state_text: str
    icon: str
    note: str  # the reason when down or slow, and when it was last checked
    uptime: tuple[tuple[str, str], ...]  # (window, percentage)
    spark: Line | None
    spark_label: str
    bars: Markup


def row_view(row: viewmodels.Row, t: Texts, painter: BarPainter) -> RowView:
    s = row.status
    checked = s.last_checked
    note = t("page.last_checked", time=t.time(checked)) if checked else t("page.never_checked")
    if s.reason:
        note = f"{t.reason(s.reason)} · {note}"
    spark = sparkline(row.latency)
    label = ""
    if spark is not None:
        span = t("page.latency_range", min=t.latency(spark.low), max=t.latency(spark.high))
        label = f"{t('page.latency')}: {span}"
    return RowView(
        id=s.target.id,
        name=s.target.name,
        group=s.target.group,
        state=s.state.value,
        state_text=t.state(s.state.value),
        icon=ICONS[s.state.value],
        note=note,
        uptime=tuple((w, t.percent(u.ratio if u else None)) for w, u in row.uptime.items()),
        spark=spark,
        spark_label=label,
        bars=painter.html(row.days),
    )


def by_group(rows: Sequence[RowView]) -> list[tuple[str, list[RowView]]]:
    """Rows grouped in the order groups first appear in the configuration."""
    groups: dict[str, list[RowView]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    return list(groups.items())


async def target_page(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    target = viewmodels.public_target(runtime.config, request.path_params["id"])
    if target is None:
        return PlainTextResponse("Not Found", status_code=404)
    chosen = request.query_params.get("range", "24h")
    chosen = chosen if chosen in viewmodels.RANGES else "24h"
    now = viewmodels.clock(request.app.state)
    detail = await viewmodels.target_detail(runtime, target, now - viewmodels.RANGES[chosen], now)
    context = {
        "now": now,
        "target": target,
        "detail": detail,
        "chart": latency_chart(detail.series),
        "ranges": list(viewmodels.RANGES),
        "chosen": chosen,
    }
    return page(request, "target.html.j2", runtime.config, lambda t: context)
