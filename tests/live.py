"""A live monitor for integration tests: local HTTP(S) targets, the real app served by
uvicorn on a free port, and Debian's Prometheus programs started on free ports. Every
server and process started here is stopped by its context manager."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import ssl
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
import uvicorn

from monitor.config.loader import load_config
from monitor.runtime import Monitor
from monitor.serve import Beside, Server, uvicorn_config
from monitor.store.sqlite.store import SQLiteStore
from monitor.web import create_app, create_metrics_app
from tests.waiting import NotInTime, wait_for

STOP_SECONDS = 15.0  # the longest the live monitor's thread is waited for at the end


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port() -> int:
    """A port nothing listens on (connection refused)."""
    return free_port()


class _Handler(http.server.BaseHTTPRequestHandler):
    """`GET /` answers 200, `/broken` 500, anything else (and every POST) 404."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer(404)

    def do_GET(self) -> None:
        self._answer({"/": 200, "/broken": 500}.get(self.path, 404))

    def _answer(self, status: int) -> None:
        body = b"Kotawaringin ok\n" if status == 200 else b"failing\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@contextlib.contextmanager
def http_server(tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A local HTTP (or HTTPS with `tls`) server in a thread; yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass(frozen=True)
class Farm:
    """The local targets: ports of the plain and TLS servers, a closed port, the CA file."""

    http: int
    https: int
    closed: int
    ca_file: Path
    cert_expiry: float  # unix time the HTTPS server's certificate expires


@contextlib.contextmanager
def farm(tmp: Path) -> Iterator[Farm]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    from cryptography import x509

    expiry = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).not_valid_after_utc
    with http_server() as plain, http_server(context) as secure:
        yield Farm(plain, secure, closed_port(), ca_file, expiry.timestamp())


def targets_toml(farm: Farm, extra: str = "", notify: tuple[str, ...] = ()) -> str:
    """Targets probed every second: two up (plain and TLS), two down (500, refused);
    `extra` is appended (more targets, notifiers); `notify` names their notifiers."""
    notify_line = "notify = [" + ", ".join(f'"{n}"' for n in notify) + "]" if notify else ""
    return f"""
[monitor]
title = "Test"
listen = "127.0.0.1:9"
data_dir = "data"

[defaults]
interval = "1s"
timeout = "1s"
failure_threshold = 1
success_threshold = 1
{notify_line}

[targets.web]
name = "Website"
group = "Public"
url = "http://127.0.0.1:{farm.http}/"

[targets.secure]
name = "Secure site"
group = "Public"
url = "https://127.0.0.1:{farm.https}/"
ca_file = "{farm.ca_file}"

[targets.broken]
name = "Broken app"
group = "Apps"
url = "http://127.0.0.1:{farm.http}/broken"

[targets.closed]
name = "Closed port"
group = "Network"
url = "http://127.0.0.1:{farm.closed}/"
{extra}"""


@dataclass
class LiveMonitor:
    monitor: Monitor
    url: str
    metrics_url: str  # the `metrics_listen` listener: /metrics and /probe

    def get(self, path: str, base: str | None = None) -> tuple[int, str]:
        try:
            with urllib.request.urlopen((base or self.url) + path, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:  # it holds the answer's socket: closed here, not by the garbage collector
                return exc.code, exc.read().decode()


def _listening() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    return sock, port


@contextlib.contextmanager
def live_monitor(config_path: Path) -> Iterator[LiveMonitor]:
    """The real app (`create_app(manage=True)`) with an SQLite store and alerting, as
    `monitor run` builds it, served by uvicorn in a thread on a free port, with the
    metrics listener (`create_metrics_app`) beside it on another, until the context
    ends. Everything is built inside that thread, as `monitor run` builds it in its one
    thread (SQLite connections belong to the thread that opened them)."""
    config = load_config(config_path)
    config.settings.data_dir.mkdir(parents=True, exist_ok=True)
    (sock, port), (metrics_sock, metrics_port) = _listening(), _listening()
    built: list[tuple[Monitor, uvicorn.Server]] = []

    def serve() -> None:
        monitor = Monitor(config, SQLiteStore.for_settings(config.settings), alerting=True)
        # asyncio's loop, not uvloop: outside the main thread uvloop refuses even to try
        # the app's SIGHUP handler, which asyncio's loop lets the app skip.
        main, side = (
            uvicorn_config(create_app(monitor, manage=True)),
            uvicorn_config(create_metrics_app(monitor), "off"),
        )
        main.loop = side.loop = "asyncio"
        server = Server(main, beside=[(Beside(side), metrics_sock)])
        built.append((monitor, server))
        server.run(sockets=[sock])

    thread = threading.Thread(target=serve)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError("the monitor app did not start")
        return bool(built and built[0][1].started and all(s.started for s, _ in built[0][1].beside))

    try:
        wait_for(started, 10, what="the monitor app and its metrics listener serving", every=0.02)
        yield LiveMonitor(built[0][0], f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}")
    finally:
        if built:
            built[0][1].should_exit = True
        thread.join(STOP_SECONDS)
        sock.close()
        metrics_sock.close()
    if thread.is_alive():  # else it would hold the interpreter's exit, the suite stalled
        raise RuntimeError(f"the monitor app did not stop within {STOP_SECONDS:g} s")


@contextlib.contextmanager
def process(args: list[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server program until the context ends; wait until `ready_url` answers 200."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{args[0]} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(ready_url, timeout=1) as ok:
                return bool(ok.status == 200)
        except urllib.error.HTTPError as exc:  # e.g. 503 while starting: close its socket now
            exc.close()
            return False

    try:
        try:
            wait_for(ready, 20, what=f"{args[0]} answering {ready_url}", ignoring=(OSError,))
        except NotInTime as exc:
            raise NotInTime(f"{exc}: {log.read_text()[-2000:]}") from None
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)
