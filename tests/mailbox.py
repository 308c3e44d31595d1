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

from monitor.config import Config, Subscriptions
from monitor.notifiers.email import EmailSpec
from tests.alertkit import free_port

PUBLIC_URL = "https://status.example.go.id"
SENDER = "status@example.go.id"


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


@contextlib.contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), port or free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


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
