"""Webhook: a documented JSON payload POSTed to any URL, optionally signed.

Keys: `url` (required), `secret` (HMAC-SHA256 key: adds `X-Monitor-Signature:
sha256=<hex>` computed over the exact body bytes), `headers` (a table of extra headers,
e.g. an `Authorization`), `timeout`. The payload (`payload()`) is the same bytes on every
retry, so a receiver can verify the signature and deduplicate on `id`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monitor.config.reader import Table
from monitor.notifiers.base import Alert, NotifierKind, NotifyContext
from monitor.notifiers.http import post, require_url
from monitor.notifiers.texts import iso_utc

if TYPE_CHECKING:
    from monitor.config import NotifierConfig

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Monitor-Signature"


@dataclass(frozen=True)
class WebhookSpec:
    url: str
    secret: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    timeout: float = 10.0


def parse(t: Table) -> WebhookSpec:
    url = require_url(t, "must be an http:// or https:// URL")
    return WebhookSpec(
        url=url,
        secret=t.text("secret") or None,
        headers=tuple(sorted(t.text_mapping("headers").items())),
        timeout=t.duration("timeout", 10.0, low=0.1),
    )


def signature(secret: str, body: bytes) -> str:
    """The `X-Monitor-Signature` value for `body`: `sha256=` and the hex HMAC."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    """POSTs each alert as JSON (see the README for the fields)."""

    def __init__(self, spec: WebhookSpec, ctx: NotifyContext) -> None:
        self.spec, self.ctx = spec, ctx

    def payload(self, alert: Alert) -> dict[str, Any]:
        cert = domain = None
        if alert.cert_days is not None or alert.cert_expiry is not None:
            expiring = {"days_left": alert.cert_days, "expires_at": iso_utc(alert.cert_expiry)}
            if alert.expiring == "domain":
                domain = expiring
            else:
                cert = expiring
        checks = None
        if alert.checks is not None:
            checks = dict(zip(("ok", "warnings", "problems"), alert.checks, strict=True))
        return {
            "version": PAYLOAD_VERSION,
            "id": alert.id,
            "event": alert.kind,
            "target": {"id": alert.target, "name": alert.name, "group": alert.group},
            "old_state": alert.old,
            "new_state": alert.new,
            "reason": alert.reason,
            "detail": alert.detail,
            "at": iso_utc(alert.at),
            "since": iso_utc(alert.since),
            "duration_seconds": alert.duration,
            "dependents": list(alert.dependents),
            "certificate": cert,
            "domain": domain,
            "checks": checks,
            "values": dict(alert.values),
            "url": alert.url,
            "admin_url": alert.admin_url,
            "title": self.ctx.texts.render("title.txt.j2", alert),
            "text": self.ctx.texts.render("text.txt.j2", alert),
        }

    def request(self, alert: Alert) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(self.payload(alert), ensure_ascii=False, separators=(",", ":")).encode()
        headers = dict(self.spec.headers)
        headers.update(
            {
                "Content-Type": "application/json",
                "X-Monitor-Event": alert.kind,
                "X-Monitor-Delivery": alert.id,
            }
        )
        if self.spec.secret:
            headers[SIGNATURE_HEADER] = signature(self.spec.secret, body)
        return body, headers

    async def send(self, alert: Alert) -> None:
        body, headers = self.request(alert)
        await post(self.ctx.client, self.spec.url, content=body, headers=headers, timeout=self.spec.timeout)


def build(config: NotifierConfig, ctx: NotifyContext) -> WebhookNotifier:
    return WebhookNotifier(config.spec, ctx)


KIND = NotifierKind("webhook", parse, build, secrets=("secret", "headers"))
