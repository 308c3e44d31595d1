"""`monitor run`: the monitor and its web app in one process, until SIGINT/SIGTERM."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator

import uvicorn

from monitor import log as logsetup
from monitor.config import Config
from monitor.errors import StoreError
from monitor.log import kv
from monitor.runtime import Monitor
from monitor.store.registry import open_store
from monitor.web import create_app
from monitor.web.admin import TOKEN_ENV

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, so the process would
    die by the signal; `monitor run` promises exit 0 on a clean stop instead. Once it
    listens, it tells the person who started it where to look."""

    def __init__(self, listen: str, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listen = listen

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(welcome(self.listen), file=sys.stderr, flush=True)


def welcome(listen: str) -> str:
    """What a person starting `monitor run` needs first: where the page is, and how to
    open the admin view."""
    host, _, port = listen.rpartition(":")
    host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "::": "[::1]"}.get(host, host)
    url = f"http://{host}:{port}/"
    if os.environ.get(TOKEN_ENV):
        admin = f"{url}admin (user name: anything, password: the value of {TOKEN_ENV})"
    else:
        admin = f"off; start with {TOKEN_ENV}=<a long random secret> to open {url}admin"
    return f"\nmonitor is running.\n  status page: {url}\n  admin view:  {admin}\n  metrics:     {url}metrics\n"


def serve(config: Config, log_level: str = "info", prepare: Callable[[Config], Config] | None = None) -> int:
    """Run until stopped; 0 on a clean stop. `prepare` is applied to every configuration
    loaded by a reload (the command line's overrides)."""
    logsetup.setup(log_level)
    # The store's writer and the /metrics renderer share the GIL with the probe loop: at
    # the default 5 ms switch interval each of their batches delayed probes by 5-25 ms.
    sys.setswitchinterval(SWITCH_INTERVAL)
    config.settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(config.settings)
    try:
        monitor = Monitor(config, store, alerting=True, prepare=prepare)  # opens the outbox
    except StoreError as exc:  # e.g. the database is unreachable or newer than this monitor
        print(f"monitor run: {exc}", file=sys.stderr)
        return 1
    app = create_app(monitor, manage=True, watch_config=True)
    host, _, port = config.settings.listen.rpartition(":")
    log.info("serving", extra=kv(listen=config.settings.listen, config=str(config.path)))
    server = _Server(
        config.settings.listen,
        uvicorn.Config(
            app,
            host=host.strip("[]"),
            port=int(port),
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        ),
    )
    server.run()
    return 0 if server.started else 1
