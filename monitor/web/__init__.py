"""The web app: status page, API, metrics, push heartbeats, health checks.

`create_app(monitor)` builds a Starlette app around a `Monitor`; each route family is a
module of this package exposing `routes()`. `create_metrics_app(monitor)` is the
Prometheus side alone (`/metrics` and `/probe`), served on `[monitor] metrics_listen`:
`/probe` runs a probe for each request, so it is never on the public app, and with
`metrics=False` neither is `/metrics`. Handlers reach the runtime through
`request.app.state.monitor`. Unknown routes and errors answer with HTML pages (JSON under
the API: `errorpages`). With `manage=True` the app's lifespan starts and stops the
monitor and reloads it on SIGHUP, so `uvicorn` owns the process's signals: SIGINT and
SIGTERM stop it gracefully.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from monitor.runtime import Monitor
from monitor.web import admin, api, badge, errorpages, feeds, health, pages, probe, push, scrape


def _routes(metrics: bool) -> list[BaseRoute]:
    return [
        *health.routes(),
        *(scrape.routes() if metrics else []),
        *push.routes(),
        *pages.routes(),
        *feeds.routes(),
        *api.routes(),
        *badge.routes(),
        *admin.routes(),
    ]


def create_app(monitor: Monitor, manage: bool = False, watch_config: bool = False, metrics: bool = True) -> Starlette:
    """The ASGI app for `monitor`; `manage` ties the monitor's life to the app's;
    `metrics` serves `/metrics` on it (when no `metrics_listen` has it)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage:
            yield
            return
        await monitor.start(watch_config=watch_config)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, monitor.reload)
        try:
            yield
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGHUP)
            await monitor.stop()

    app = Starlette(routes=_routes(metrics), lifespan=lifespan, exception_handlers=dict(errorpages.handlers()))
    app.state.monitor = monitor
    return app


def create_metrics_app(monitor: Monitor) -> Starlette:
    """`/metrics` and `/probe` alone, for the listener only Prometheus reaches. The
    monitor's life belongs to the main app (`create_app(manage=True)`)."""
    app = Starlette(routes=[*scrape.routes(), *probe.routes()])
    app.state.monitor = monitor
    return app
