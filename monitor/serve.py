"""`monitor run`: the monitor and its web app in one process, until SIGINT/SIGTERM.

The app listens on `[monitor] listen`; with `metrics_listen` a second listener serves
`/metrics` and `/probe` (`monitor.web.create_metrics_app`) in the same event loop. The
main `Server` owns the process's signals and the app's lifespan (which starts and stops
the monitor), and starts and stops the listeners `beside` it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from monitor import log as logsetup
from monitor.config import Config
from monitor.errors import StoreError
from monitor.log import kv
from monitor.runtime import Monitor
from monitor.store.registry import open_store
from monitor.web import create_app, create_metrics_app
from monitor.web.admin import TOKEN_ENV
from monitor.web.guard import MAX_CONNECTIONS, Guard, connection_budget, guarded, raise_open_file_limit

log = logging.getLogger(__name__)
METRICS_CONNECTIONS = 64  # the metrics listener's share of the web connections
SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits
EXIT_CANNOT_START, EXIT_DATA_DIR, EXIT_STORE = 1, 2, 2


def uvicorn_config(app: ASGIApp, lifespan: Literal["on", "off"] = "on", guard: Guard | None = None) -> uvicorn.Config:
    """How every listener serves: logs through ours, no access log, connections kept
    within the listener's share of the open-file limit (`monitor.web.guard`), and
    requests parsed by httptools (llhttp), which refuses what h11 lets through, such as a
    request or header line ending in a bare LF (a way to smuggle a request past a proxy
    that reads the bytes otherwise)."""
    return uvicorn.Config(
        app,
        http=guarded(HttpToolsProtocol, guard or Guard(MAX_CONNECTIONS)),
        log_config=None,
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=10,
    )


class Beside(uvicorn.Server):
    """A listener started and stopped by a `Server`, which owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, so the process would
    die by the signal; `monitor run` promises exit 0 on a clean stop instead. Once it
    listens (its lifespan has started the monitor), it starts each `Beside` listener on
    its socket, then prints `banner` for the person who started it; at shutdown it
    stops them first."""

    def __init__(
        self,
        config: uvicorn.Config,
        banner: str = "",
        beside: Sequence[tuple[uvicorn.Server, socket.socket]] = (),
    ) -> None:
        super().__init__(config)
        self.banner = banner
        self.beside = list(beside)
        self._beside_tasks: list[asyncio.Task[None]] = []

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        for server, sock in self.beside:
            self._beside_tasks.append(asyncio.create_task(server.serve([sock]), name="listener"))
        while not all(server.started for server, _ in self.beside):
            if any(task.done() for task in self._beside_tasks):
                self.should_exit = True
                return
            await asyncio.sleep(0.01)
        if self.banner:
            print(self.banner, file=sys.stderr, flush=True)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server, _ in self.beside:
            server.should_exit = True
        await asyncio.gather(*self._beside_tasks, return_exceptions=True)
        await super().shutdown(sockets)


def welcome(listen: str, metrics_listen: str | None = None, accounts: int = 0) -> str:
    """What a person starting `monitor run` needs first: where the page is, how to
    open the admin view, and where Prometheus scrapes."""
    url, metrics = _url(listen), _url(metrics_listen or listen)
    if accounts:
        admin = f"{url}admin (log in with one of the {accounts} [admins.NAME] accounts)"
    elif os.environ.get(TOKEN_ENV):
        admin = f"{url}admin (user name: anything, password: the value of {TOKEN_ENV})"
    else:
        admin = f"off; start with {TOKEN_ENV}=<a long random secret> to open {url}admin"
    return f"\nmonitor is running.\n  status page: {url}\n  admin view:  {admin}\n  metrics:     {metrics}metrics\n"


def _url(listen: str) -> str:
    host, _, port = listen.rpartition(":")
    host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "::": "[::1]"}.get(host, host)
    return f"http://{host}:{port}/"


def bind(listen: str) -> socket.socket:
    """A listening socket's address, bound now (`OSError` if it cannot be)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
    except OSError:
        sock.close()
        raise
    return sock


def data_dir_problem(path: Path) -> str | None:
    """Why `path` cannot hold the history (created when missing), or None: it must be a
    folder the monitor can create files in, and a `monitor.db` in it must be a file."""
    if path.exists() and not path.is_dir():
        return "it is not a folder"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".monitor-write-check-"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    database = path / "monitor.db"
    if database.exists() and not database.is_file():
        return "monitor.db is not a file"
    return None


def _web_guards(config: Config, monitor: Monitor, beside: bool) -> tuple[Guard, Guard]:
    """The web server's share of the open-file limit (raised to the hard limit first),
    leaving the probes theirs, for `listen` and for `metrics_listen` (a small share of
    its own, so a crowd on the public port never keeps Prometheus out); a warning when
    the limit is too low for both."""
    open_files = raise_open_file_limit()
    in_flight = min(monitor.scheduler.concurrency, len(config.targets))
    budget, warning = connection_budget(open_files, in_flight)
    if warning:
        log.warning("open-file limit too low", extra=kv(problem=warning))
    private = min(METRICS_CONNECTIONS, budget // 4) if beside else 0
    return Guard(budget - private), Guard(max(private, 1))


def serve(config: Config, log_level: str = "info", prepare: Callable[[Config], Config] | None = None) -> int:
    """Run until stopped; 0 on a clean stop, 2 when the data directory or the store is
    unusable, 1 when it cannot listen. `prepare` is applied to every configuration loaded by a
    reload (the command line's overrides)."""
    settings = config.settings
    problem = data_dir_problem(settings.data_dir)
    if problem is not None:
        print(f"monitor: cannot use the data directory {settings.data_dir}: {problem}", file=sys.stderr)
        return EXIT_DATA_DIR
    logsetup.setup(log_level)
    # The store's writer and the /metrics renderer share the GIL with the probe loop: at
    # the default 5 ms switch interval each of their batches delayed probes by 5-25 ms.
    sys.setswitchinterval(SWITCH_INTERVAL)
    addresses = [settings.listen, *([settings.metrics_listen] if settings.metrics_listen else [])]
    sockets: list[socket.socket] = []
    for address in addresses:
        try:
            sockets.append(bind(address))
        except OSError as exc:
            print(f"monitor: cannot listen on {address}: {exc.strerror}", file=sys.stderr)
            for sock in sockets:
                sock.close()
            return EXIT_CANNOT_START
    store = open_store(settings)
    try:
        monitor = Monitor(config, store, alerting=True, prepare=prepare)  # opens the outbox
    except StoreError as exc:  # e.g. the database went away since the check at start
        print(f"monitor: {exc}; not starting", file=sys.stderr)
        for sock in sockets:
            sock.close()
        return EXIT_STORE
    app = create_app(monitor, manage=True, watch_config=True, metrics=settings.metrics_listen is None)
    public, private = _web_guards(config, monitor, beside=len(sockets) > 1)
    beside = [(Beside(uvicorn_config(create_metrics_app(monitor), "off", private)), s) for s in sockets[1:]]
    shown = {"metrics_listen": settings.metrics_listen} if settings.metrics_listen else {}
    log.info("serving", extra=kv(listen=settings.listen, **shown, config=str(config.path), connections=public.budget))
    server = Server(
        uvicorn_config(app, guard=public), welcome(settings.listen, settings.metrics_listen, len(config.admins)), beside
    )
    try:
        server.run(sockets=sockets[:1])
    finally:
        for sock in sockets:
            sock.close()
    return 0 if server.started else EXIT_CANNOT_START
