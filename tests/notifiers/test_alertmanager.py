"""A real Alertmanager (Debian's prometheus-alertmanager) receives our alerts: active while
firing, kept alive by re-posts, resolved by `endsAt`."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.notifiers.alertmanager import AlertmanagerNotifier, AlertmanagerSpec
from monitor.notifiers.base import Alert, NotifyContext
from tests.alertkit import free_port
from tests.integration import need
from tests.live import process

pytestmark = pytest.mark.integration

CONFIG = """
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
"""


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = need("/usr/bin/prometheus-alertmanager", "prometheus-alertmanager")
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        binary,
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with process(args, f"{url}/-/ready", tmp_path / "alertmanager.log"):
        yield url


def active(url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v2/alerts", params={"filter": 'target="web"'}, timeout=5)
    response.raise_for_status()
    return [a for a in response.json() if a["status"]["state"] == "active"]


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_our_alert_is_active_while_firing_then_resolved(
    alertmanager: str, ctx: NotifyContext, alert: Alert
) -> None:
    now = time.time()
    clock = [now]
    spec = AlertmanagerSpec(url=alertmanager, resend_every=60.0, labels=(("team", "infra"),))
    notifier = AlertmanagerNotifier(spec, ctx, clock=lambda: clock[0])
    down = dataclasses.replace(alert, at=now - 30, since=now - 30)
    await notifier.send(down)
    (firing,) = active(alertmanager)
    assert firing["labels"] == {
        "alertname": "TargetDown",
        "target": "web",
        "severity": "critical",
        "group": "Layanan publik",
        "team": "infra",
    }
    assert firing["annotations"]["summary"] == "🔴 Website <Pemkab> is DOWN"
    assert firing["annotations"]["status_page_url"] == "https://status.example.go.id/targets/web"
    assert "Reason: The service did not answer in time" in firing["annotations"]["description"]
    assert firing["generatorURL"] == "https://status.example.go.id/targets/web"
    assert abs(stamp(firing["startsAt"]) - (now - 30)) < 1
    assert abs(stamp(firing["endsAt"]) - (now + 240)) < 1
    # A re-post (the policy's "refresh") keeps it alive past the first endsAt.
    clock[0] = now + 60
    await notifier.send(dataclasses.replace(down, kind="refresh", old="DOWN", at=now + 60))
    (firing,) = active(alertmanager)
    assert abs(stamp(firing["endsAt"]) - (now + 300)) < 1
    # Recovery: endsAt is the recovery time, and the alert is no longer active.
    clock[0] = now + 61
    up = dataclasses.replace(down, kind="up", old="DOWN", new="UP", reason="ok", at=now, duration=30)
    await notifier.send(up)
    assert active(alertmanager) == []


async def test_a_degradation_and_flapping_fire_their_own_alerts(
    alertmanager: str, ctx: NotifyContext, alert: Alert
) -> None:
    notifier = AlertmanagerNotifier(AlertmanagerSpec(url=alertmanager), ctx)
    now = time.time()
    degraded = dataclasses.replace(
        alert, kind="degraded", old="UP", new="DEGRADED", reason="slow", at=now, since=now, flapping=True
    )
    await notifier.send(degraded)
    names = sorted((a["labels"]["alertname"], a["labels"]["severity"]) for a in active(alertmanager))
    assert names == [("TargetDegraded", "warning"), ("TargetFlapping", "warning")]
    stable = dataclasses.replace(degraded, kind="stable", new="UP", flapping=False, at=now + 1)
    await notifier.send(stable)
    assert active(alertmanager) == []
