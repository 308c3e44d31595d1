"""Status and uptime badges: `GET /badge/{id}.svg[?window=24h|7d|30d][&lang=id|en]`.

A shields.io-like flat SVG: without `window` the target's state ("status | Operational"),
with it the availability over that window ("uptime 24h | 99.95%"). Only public targets;
a private or unknown one gets the same grey "not found" badge with status 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from monitor.result import State
from monitor.web import viewmodels
from monitor.web.templating import language, renderer

STATE_COLORS = {
    State.UP: "#4c1",
    State.DEGRADED: "#dfb317",
    State.DOWN: "#e05d44",
    State.MAINTENANCE: "#007ec6",
    State.UNKNOWN: "#9f9f9f",
}
# (lowest availability, colour), best first.
UPTIME_COLORS = ((0.999, "#4c1"), (0.99, "#97ca00"), (0.95, "#dfb317"), (0.90, "#fe7d37"))
GREY, RED = "#9f9f9f", "#e05d44"

# Approximate advances of Verdana 11px, enough to size the two halves like shields does.
_NARROW, _WIDE = set("fijlrtI.,:;!'|()[] "), set("mwMW%@")


def text_width(text: str) -> float:
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 3.9
        elif char in _WIDE:
            width += 10.5
        elif char.isupper() or char.isdigit():
            width += 7.6
        else:
            width += 6.8
    return width


def routes() -> list[BaseRoute]:
    return [Route("/badge/{id}.svg", badge, methods=["GET"])]


async def badge(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    config = runtime.config
    t = renderer(request).texts(language(request, config), config.settings.zone)
    window = request.query_params.get("window")
    if window is not None and window not in viewmodels.WINDOWS:
        return PlainTextResponse("window must be one of: " + ", ".join(viewmodels.WINDOWS), 400)
    target = viewmodels.public_target(config, request.path_params["id"])
    if target is None:
        return svg(request, t("badge.status"), t("badge.not_found"), GREY, 404)
    if window is None:
        state = viewmodels.public_status(runtime.states, target).state
        return svg(request, t("badge.status"), t.state(state.value), STATE_COLORS[state])
    now = viewmodels.clock(request.app.state)
    uptime = (await runtime.store.uptime([target.id], now - viewmodels.WINDOWS[window], now)).get(target.id)
    ratio = uptime.ratio if uptime is not None else None
    return svg(request, t("badge.uptime", window=window), t.percent(ratio), uptime_color(ratio))


def uptime_color(ratio: float | None) -> str:
    if ratio is None:
        return GREY
    return next((color for low, color in UPTIME_COLORS if ratio >= low), RED)


def svg(request: Request, label: str, message: str, color: str, status_code: int = 200) -> Response:
    body = renderer(request).render(
        "badge.svg.j2",
        {
            "label": label,
            "message": message,
            "color": color,
            "label_width": round(text_width(label) + 10),
            "message_width": round(text_width(message) + 10),
        },
    )
    # Short caching: READMEs and dashboards embed badges through image proxies.
    headers = {"Cache-Control": "max-age=60, s-maxage=60"}
    return Response(body, status_code, headers, media_type="image/svg+xml")
