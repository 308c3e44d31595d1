"""E-mail: SMTP through aiosmtplib, a plain-text body with an HTML alternative.

Keys: `host` (required), `port` (default 587 for starttls, 465 for tls, 25 for none),
`security` = "starttls" | "tls" | "none" (default "starttls"), `username` and `password`
(AUTH, both or neither), `from` and `to` (a list; required), `ca_file` (a private CA for
the server's certificate), `verify_tls` (default true), `timeout`.

SMTP replies 5xx (rejected sender or recipient, failed authentication, no STARTTLS) are
permanent; 4xx replies, timeouts and connection failures are transient.
"""

from __future__ import annotations

import dataclasses
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING

import aiosmtplib

from monitor.config.reader import Table
from monitor.errors import PermanentNotifyError, TransientNotifyError
from monitor.notifiers.base import Alert, NotifierKind, NotifyContext

if TYPE_CHECKING:
    from monitor.config import NotifierConfig

SECURITY = {"starttls": 587, "tls": 465, "none": 25}
_MSGID_UNSAFE = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")


@dataclass(frozen=True)
class EmailSpec:
    host: str
    sender: str
    to: tuple[str, ...]
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    verify_tls: bool = True
    timeout: float = 30.0


def parse(t: Table) -> EmailSpec:
    to = t.text_list("to")
    if not to:
        t.problem("to", "is required: a list of addresses")
    return dataclasses.replace(parse_server(t), to=to)


def parse_server(t: Table) -> EmailSpec:
    """The server keys alone (everything but `to`): also `[subscriptions]`' keys, whose
    recipients are the subscribers."""
    security = t.text("security", "starttls")
    if security not in SECURITY:
        t.problem("security", f'must be "starttls", "tls" or "none", not {security!r}')
        security = "starttls"
    username, password = t.text("username"), t.text("password")
    if bool(username) != bool(password):
        t.problem("password" if username else "username", "username and password go together")
    return EmailSpec(
        host=t.require_text("host"),
        sender=t.require_text("from"),
        to=(),
        port=t.integer("port", SECURITY[security], low=1, high=65535),
        security=security,
        username=username or None,
        password=password or None,
        ca_file=t.file_path("ca_file"),
        verify_tls=t.boolean("verify_tls", True),
        timeout=t.duration("timeout", 30.0, low=0.1),
    )


class EmailNotifier:
    """Sends each alert as one multipart/alternative message to every `to` address."""

    def __init__(self, spec: EmailSpec, ctx: NotifyContext) -> None:
        self.spec, self.ctx = spec, ctx
        self._tls: ssl.SSLContext | None = None

    def message(self, alert: Alert) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = self.ctx.texts.render("title.txt.j2", alert)
        msg["From"] = self.spec.sender
        msg["To"] = ", ".join(self.spec.to)
        msg["Date"] = formatdate(alert.at, usegmt=True)
        # A stable Message-ID (from the alert id) lets mail clients fold a resent alert.
        msg["Message-ID"] = f"<{_MSGID_UNSAFE.sub('.', alert.id)}@monitor.invalid>"
        msg["X-Monitor-Event"] = alert.kind
        msg.set_content(self.ctx.texts.render("text.txt.j2", alert) + "\n")
        msg.add_alternative(self.ctx.texts.render("email.html.j2", alert), subtype="html")
        return msg

    def tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = tls_context(self.spec)
        return self._tls

    async def send(self, alert: Alert) -> None:
        await submit(self.spec, self.message(alert), self.tls_context())


def tls_context(spec: EmailSpec) -> ssl.SSLContext:
    """The client TLS context for `spec`'s server (its `ca_file`, `verify_tls`)."""
    context = ssl.create_default_context(cafile=spec.ca_file)
    if not spec.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def submit(
    spec: EmailSpec, message: EmailMessage, tls: ssl.SSLContext, recipients: Sequence[str] | None = None
) -> None:
    """Hand `message` to `spec`'s server (to `recipients`, else the message's own To);
    raises `PermanentNotifyError` or `TransientNotifyError` as the module doc says."""
    secure = spec.security != "none"
    try:
        await aiosmtplib.send(
            message,
            recipients=recipients,
            hostname=spec.host,
            port=spec.port,
            username=spec.username,
            password=spec.password,
            use_tls=spec.security == "tls",
            start_tls=spec.security == "starttls",
            tls_context=tls if secure else None,
            timeout=spec.timeout,
        )
    except aiosmtplib.SMTPException as exc:
        raise _classify(exc, spec) from exc
    except (OSError, ssl.SSLError) as exc:
        raise _unreachable(spec, exc) from exc


def _unreachable(spec: EmailSpec, exc: BaseException) -> TransientNotifyError:
    address = f"{spec.host}:{spec.port}"
    return TransientNotifyError(
        f"cannot reach {address}: {exc}",
        text="alert.notify_error.reach",
        params={"address": address, "error": str(exc)},
    )


def _classify(exc: aiosmtplib.SMTPException, spec: EmailSpec) -> PermanentNotifyError | TransientNotifyError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        permanent = all(code >= 500 for code in codes)
        return PermanentNotifyError(text) if permanent else TransientNotifyError(text)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        seconds = f"{spec.timeout:g}"
        return TransientNotifyError(
            f"timed out after {seconds}s", text="alert.notify_error.timeout", params={"seconds": seconds}
        )
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        # aiosmtplib's own wording around the system's error: ours says it instead.
        return _unreachable(spec, exc.__cause__ if isinstance(exc.__cause__, OSError) else exc)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return TransientNotifyError(f"the server disconnected: {exc}", text="alert.notify_error.disconnected")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"{exc.code} {exc.message}"
        return PermanentNotifyError(text) if exc.code >= 500 else TransientNotifyError(text)
    # SMTPNotSupported (no STARTTLS or AUTH offered) and the like: configuration.
    return PermanentNotifyError(str(exc))


def build(config: NotifierConfig, ctx: NotifyContext) -> EmailNotifier:
    return EmailNotifier(config.spec, ctx)


KIND = NotifierKind("email", parse, build, secrets=("password",))
