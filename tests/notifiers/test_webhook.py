"""The webhook notifier against a real local HTTP server: the documented payload, the
HMAC signature over the exact body, and an outage of the receiver."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
from pathlib import Path

from monitor.alerting.service import Alerting
from monitor.notifiers.base import Alert, NotifyContext
from monitor.notifiers.webhook import WebhookNotifier, WebhookSpec
from monitor.result import Event, State
from monitor.store.sqlite.outbox import SQLiteOutbox
from tests.alertkit import free_port, receiver, webhook_config
from tests.waiting import until


async def test_it_posts_the_documented_payload_signed_over_the_exact_body(ctx: NotifyContext, alert: Alert) -> None:
    with receiver() as rec:
        spec = WebhookSpec(url=rec.url + "/hooks/monitor", secret="s3cret", headers=(("Authorization", "Bearer abc"),))
        await WebhookNotifier(spec, ctx).send(alert)
    (request,) = rec.requests
    assert request.path == "/hooks/monitor"
    expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Monitor-Signature"] == expected
    assert request.headers["Authorization"] == "Bearer abc"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Monitor-Event"] == "down"
    assert request.headers["X-Monitor-Delivery"] == "web:down:1800000000"
    assert request.json() == {
        "version": 1,
        "id": "web:down:1800000000",
        "event": "down",
        "target": {"id": "web", "name": "Website <Pemkab>", "group": "Layanan publik"},
        "old_state": "UP",
        "new_state": "DOWN",
        "reason": "timeout",
        "detail": "no answer within 10s",
        "at": "2027-01-15T08:00:00.000Z",
        "since": "2027-01-15T08:00:00.000Z",
        "duration_seconds": None,
        "dependents": ["CCTV lobi"],
        "certificate": None,
        "domain": None,
        "checks": None,
        "values": {},
        "url": "https://status.example.go.id/targets/web",
        "admin_url": None,
        "title": "🔴 Website <Pemkab> is DOWN",
        "text": (
            "🔴 Website <Pemkab> is DOWN\n\n"
            "State: Down\n"
            "Group: Layanan publik\n"
            "Reason: The service did not answer in time (no answer within 10s)\n"
            "Since: 2027-01-15 15:00:00 WIB\n"
            "At: 2027-01-15 15:00:00 WIB\n"
            "Also affected (depend on it): CCTV lobi\n"
            "Details: https://status.example.go.id/targets/web"
        ),
    }


async def test_a_certificate_warning_carries_its_days_and_expiry(ctx: NotifyContext, alert: Alert) -> None:
    cert = dataclasses.replace(
        alert,
        kind="cert",
        id="web:cert:1801209600:14",
        new="UP",
        old="UP",
        since=None,
        cert_days=14,
        cert_expiry=1_801_209_600.0,
        dependents=(),
    )
    with receiver() as rec:
        await WebhookNotifier(WebhookSpec(url=rec.url), ctx).send(cert)
    payload = rec.requests[0].json()
    assert payload["certificate"] == {"days_left": 14, "expires_at": "2027-01-29T08:00:00.000Z"}
    assert payload["title"] == "🔐 Certificate of Website <Pemkab> expires in 14 days"
    assert "X-Monitor-Signature" not in rec.requests[0].headers


async def test_a_domain_warning_carries_its_days_and_expiry_as_domain(ctx: NotifyContext, alert: Alert) -> None:
    warning = dataclasses.replace(
        alert,
        kind="cert",
        id="web:cert:1801209600:30",
        new="DEGRADED",
        old="UP",
        reason="domain_expiring",
        since=None,
        cert_days=14,
        cert_expiry=1_801_209_600.0,
        dependents=(),
        expiring="domain",
    )
    with receiver() as rec:
        await WebhookNotifier(WebhookSpec(url=rec.url), ctx).send(warning)
    payload = rec.requests[0].json()
    assert payload["domain"] == {"days_left": 14, "expires_at": "2027-01-29T08:00:00.000Z"}
    assert payload["certificate"] is None
    assert payload["title"] == "📅 Domain registration of Website <Pemkab> expires in 14 days: renew it"


async def test_a_ups_alert_carries_its_gauges_as_values(ctx: NotifyContext, alert: Alert) -> None:
    gauges = {"probe_ups_battery_charge_ratio": 0.8, "probe_ups_battery_runtime_seconds": 1500.0}
    power = dataclasses.replace(alert, kind="degraded", new="DEGRADED", reason="on_battery", values=gauges)
    with receiver() as rec:
        await WebhookNotifier(WebhookSpec(url=rec.url), ctx).send(power)
    payload = rec.requests[0].json()
    assert payload["values"] == gauges
    assert payload["checks"] is None and payload["domain"] is None


async def test_every_alert_arrives_exactly_once_after_the_receiver_recovers(tmp_path: Path) -> None:
    port = free_port()
    config = webhook_config(f"http://127.0.0.1:{port}/hook", secret="s3cret")
    alerting = Alerting(config, outbox=SQLiteOutbox(tmp_path / "monitor.db"), backoff_base=0.02, backoff_cap=0.2)
    await alerting.start()
    try:
        target, at = config.targets["web"], 1_800_000_000.0
        states = [State.UP, State.DOWN, State.UP, State.DOWN, State.UP]
        for i, (old, new) in enumerate(itertools.pairwise(states)):
            alerting.on_event(Event("web", at + 600 * i, old, new, "timeout"), target)
        # The receiver is down (nothing listens) ...
        await until(lambda: (alerting.outbox.head("hook") or _never()).attempts >= 3, 15, what="three failed attempts")
        # ... then answers 503 three more times, then recovers.
        with receiver(port=port, fail_next=3) as rec:
            await until(lambda: alerting.queue_sizes()["hook"] == 0, 15, what="the queue drained")
    finally:
        await alerting.stop()
    ids = [r.json()["id"] for r in rec.accepted()]
    assert ids == ["web:down:1800000000", "web:up:1800000000", "web:down:1800001200", "web:up:1800001200"]
    assert rec.answered[:3] == [503, 503, 503]
    assert len(rec.requests) == 7
    assert alerting.dispatcher.counts[("hook", "sent")] == 4


def _never() -> object:
    raise AssertionError("the alert left the queue too early")
