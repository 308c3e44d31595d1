"""Shared pieces of the alerting tests: a configuration builder, an alert, a controllable
clock, an outbox that shows what the dispatcher saw, and a real local HTTP receiver (a
webhook endpoint on 127.0.0.1)."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from monitor.config import Config, NotifierConfig, Settings, Target
from monitor.errors import StoreError
from monitor.notifiers.base import Alert
from monitor.notifiers.webhook import WebhookSpec
from monitor.store import Entry
from monitor.store.sqlite.outbox import SQLiteOutbox


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def alert(ident: str = "web:down:1", kind: str = "down") -> Alert:
    """An alert of the target "web" with the given id and kind (as queued in an outbox)."""
    return Alert(
        id=ident,
        kind=kind,
        target="web",
        name="Website",
        group="",
        old="UP",
        new="DOWN",
        reason="timeout",
        at=1_800_000_000.0,
    )


class WatchedOutbox(SQLiteOutbox):
    """The SQLite outbox, remembering what each look at a queue's head found (`looks`) and
    how often a look failed (`errors`), so a test can await what the dispatcher did.

    A worker that found nothing due waits, until woken or until the found entry's next
    attempt: once `idle(notifier)` holds, nothing more is sent without a new `wake()`
    or that attempt time passing."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.looks: defaultdict[str, list[Entry | None]] = defaultdict(list)
        self.errors: Counter[str] = Counter()

    def head(self, notifier: str, skip: Collection[int] = ()) -> Entry | None:
        try:
            entry = super().head(notifier, skip)
        except StoreError:
            self.errors[notifier] += 1
            raise
        self.looks[notifier].append(entry)
        return entry

    def idle(self, notifier: str) -> bool:
        """The last look found nothing due: an empty queue, or a head to retry later."""
        looks = self.looks[notifier]
        return bool(looks) and (looks[-1] is None or looks[-1].next_at > self.clock())


def target(tid: str, name: str, notify: tuple[str, ...], **kw: Any) -> Target:
    return Target(id=tid, name=name, kind="http", url=None, spec=None, notify=notify, **kw)


def config_with(
    notifiers: Mapping[str, NotifierConfig],
    targets: Mapping[str, Target] | None = None,
    data_dir: Path = Path("data"),
    language: str = "en",
) -> Config:
    if targets is None:
        targets = {"web": target("web", "Website", tuple(notifiers), group="Layanan publik")}
    settings = Settings(
        title="Status Pemkab", language=language, data_dir=data_dir, public_url="https://status.example.go.id"
    )
    return Config(path=Path("targets.toml"), settings=settings, targets=targets, notifiers=notifiers)


def webhook_config(url: str, data_dir: Path = Path("data"), secret: str | None = None) -> Config:
    spec = WebhookSpec(url=url, secret=secret, timeout=2.0)
    return config_with({"hook": NotifierConfig("hook", "webhook", spec)}, data_dir=data_dir)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server recording every request; `status` is what it answers (set
    `fail_next` to answer `fail_status` to that many requests first)."""

    port: int = 0
    status: int = 200
    fail_next: int = 0
    fail_status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    requests: list[Request] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accepted(self) -> list[Request]:
        return [r for r, s in zip(self.requests, self.answered, strict=True) if 200 <= s < 300]


@contextmanager
def receiver(port: int = 0, **kw: Any) -> Iterator[Receiver]:
    rec = Receiver(port=port, **kw)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with lock:
                status = rec.status
                if rec.fail_next > 0:
                    rec.fail_next -= 1
                    status = rec.fail_status
                rec.requests.append(Request("POST", self.path, dict(self.headers.items()), body))
                rec.answered.append(status)
            self.send_response(status)
            for key, value in rec.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(rec.body)))
            self.end_headers()
            self.wfile.write(rec.body)

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
