"""A real SMTP server for the tests (aiosmtpd on loopback) that keeps what it receives,
and the configuration of subscriptions sending through it."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from monitor.config import Config, Subscriptions
from monitor.notifiers.email import EmailSpec
from tests.alertkit import free_port

PUBLIC_URL = "https://status.example.go.id"
SENDER = "status@example.go.id"
STOP_SECONDS = 10.0  # the longest the server's thread is waited for at its stop


@dataclass
class Mailbox:
    """What the server received: each message and its envelope recipients."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, r in zip(self.messages, self.recipients, strict=True) if address in r]


class Server(Controller):
    """aiosmtpd's threaded server whose `stop()` ends: the connections still open are
    aborted first (since Python 3.12 asyncio's `Server.wait_closed`, which the server's
    thread runs at its end, waits for every connection: aio-libs/aiosmtpd#394), and the
    thread is joined with a deadline instead of for ever."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session = super().factory()
        self.sessions.append(session)
        return session

    def _abort(self) -> None:
        for session in self.sessions:
            if session.transport is not None:
                session.transport.abort()
        self.cancel_tasks()

    def stop(self, no_assert: bool = False) -> None:
        thread = self._thread
        if thread is None:
            return
        self.loop.call_soon_threadsafe(self._abort)
        thread.join(STOP_SECONDS)
        if thread.is_alive():
            raise RuntimeError(f"the test SMTP server did not stop within {STOP_SECONDS:g} s")
        self._thread = None
        self._cleanup()


@contextlib.contextmanager
def smtp_server(port: int | None = None, box: Mailbox | None = None) -> Iterator[tuple[Mailbox, int]]:
    """A server on 127.0.0.1:`port` (a free one by default) keeping what it receives in
    `box` (a new `Mailbox` by default)."""
    box, port = box or Mailbox(), port or free_port()
    server = Server(box, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield box, port
    finally:
        server.stop()


def with_subscriptions(config: Config, port: int, public_url: str = PUBLIC_URL) -> Config:
    """`config` with `[subscriptions]` sending through 127.0.0.1:`port` (no TLS)."""
    spec = EmailSpec(host="127.0.0.1", sender=SENDER, to=(), port=port, security="none", timeout=5.0)
    settings = dataclasses.replace(config.settings, public_url=public_url)
    return dataclasses.replace(config, settings=settings, subscriptions=Subscriptions(True, spec))


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def links(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://\S+", body(message))


def path_of(link: str) -> str:
    """A link's path and query, to follow it on the app under test."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
