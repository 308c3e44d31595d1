"""E-mail through a real in-process SMTP server (aiosmtpd): STARTTLS and implicit TLS
with a trustme certificate, AUTH, both bodies, and rejections."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.config.reader import Problems, Table
from monitor.errors import PermanentNotifyError, TransientNotifyError
from monitor.notifiers.base import Alert, NotifyContext
from monitor.notifiers.email import EmailNotifier, EmailSpec, parse
from tests.alertkit import free_port
from tests.mailbox import Server

USER, PASSWORD = "monitor@example.go.id", "rahasia"


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("later@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@contextmanager
def smtp_server(**kw: Any) -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Server(box, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def spec(port: int, **kw: Any) -> EmailSpec:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "sender": USER,
        "to": ("oncall@example.go.id", "kadis@example.go.id"),
        "timeout": 5.0,
    }
    return EmailSpec(**{**base, **kw})


async def test_it_sends_text_and_html_over_starttls_with_auth(
    ctx: NotifyContext, alert: Alert, ca: trustme.CA, ca_file: str
) -> None:
    with smtp_server(
        tls_context=server_context(ca), require_starttls=True, authenticator=authenticate, auth_require_tls=True
    ) as (box, port):
        notifier = EmailNotifier(
            spec(port, security="starttls", username=USER, password=PASSWORD, ca_file=ca_file), ctx
        )
        await notifier.send(alert)
    (message,) = box.messages
    assert box.envelopes == [(USER, ["oncall@example.go.id", "kadis@example.go.id"])]
    assert message["Subject"] == "🔴 Website <Pemkab> is DOWN"
    assert message["X-Monitor-Event"] == "down"
    assert message["Message-ID"] == "<web.down.1800000000@monitor.invalid>"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "Reason: The service did not answer in time (no answer within 10s)" in text.get_content()
    assert "Details: https://status.example.go.id/targets/web" in text.get_content()
    assert "Website &lt;Pemkab&gt; is DOWN" in html.get_content()
    assert '<a href="https://status.example.go.id/targets/web">Details</a>' in html.get_content()


async def test_it_sends_over_implicit_tls(ctx: NotifyContext, alert: Alert, ca: trustme.CA, ca_file: str) -> None:
    with smtp_server(ssl_context=server_context(ca)) as (box, port):
        await EmailNotifier(spec(port, security="tls", ca_file=ca_file), ctx).send(alert)
    assert len(box.messages) == 1


async def test_a_wrong_password_is_permanent(ctx: NotifyContext, alert: Alert, ca: trustme.CA, ca_file: str) -> None:
    with smtp_server(
        tls_context=server_context(ca), require_starttls=True, authenticator=authenticate, auth_require_tls=True
    ) as (box, port):
        notifier = EmailNotifier(spec(port, username=USER, password="salah", ca_file=ca_file), ctx)
        with pytest.raises(PermanentNotifyError, match="535"):
            await notifier.send(alert)
    assert box.messages == []


async def test_a_server_without_starttls_is_permanent(ctx: NotifyContext, alert: Alert) -> None:
    with smtp_server() as (_, port), pytest.raises(PermanentNotifyError):
        await EmailNotifier(spec(port, security="starttls"), ctx).send(alert)


async def test_rejected_recipients_classify_by_reply_code(ctx: NotifyContext, alert: Alert) -> None:
    with smtp_server() as (_, port):
        with pytest.raises(PermanentNotifyError, match="550"):
            await EmailNotifier(spec(port, security="none", to=("nobody@x.id",)), ctx).send(alert)
        with pytest.raises(TransientNotifyError, match="451"):
            await EmailNotifier(spec(port, security="none", to=("later@x.id",)), ctx).send(alert)


async def test_an_unreachable_server_is_transient(ctx: NotifyContext, alert: Alert) -> None:
    with pytest.raises(TransientNotifyError):
        await EmailNotifier(spec(free_port(), security="none", timeout=2.0), ctx).send(alert)


def test_its_keys_are_validated() -> None:
    problems = Problems("targets.toml")
    table = Table(
        {"host": "smtp.x.id", "from": "a@x.id", "security": "ssl", "username": "u"}, "notifiers.mail", problems
    )
    result = parse(table)
    assert sorted(p.path for p in problems.items) == [
        "notifiers.mail.password",
        "notifiers.mail.security",
        "notifiers.mail.to",
    ]
    problems = Problems("targets.toml")
    result = parse(
        Table({"host": "smtp.x.id", "from": "a@x.id", "to": ["b@x.id"], "security": "tls"}, "notifiers.mail", problems)
    )
    assert problems.items == [] and result.port == 465
