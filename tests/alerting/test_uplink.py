"""The alerts about the monitor's own uplink: what they say, to whom, in which words, and
what a restart reads back from the outbox."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from monitor.alerting.uplink import KINDS, LOST, RESTORED, announced, uplink_alert
from monitor.config import Config, Settings
from monitor.connectivity import Change, CheckState, Uplink
from monitor.notifiers.alertmanager import AlertmanagerNotifier, AlertmanagerSpec
from monitor.notifiers.base import NotifyContext
from monitor.notifiers.texts import Texts
from monitor.notifiers.webhook import WebhookNotifier, WebhookSpec
from monitor.result import Reason, Result
from monitor.store.records import SAID_KINDS

T0 = 1_800_000_000.0
CONFIG = Config(
    Path("targets.toml"),
    Settings(title="Status Pemkab", public_url="https://status.kotimkab.go.id"),
    targets={},
)
CHECKS = (
    CheckState("dns-1", Result(False, Reason.TIMEOUT, "no answer", started=T0 + 15), 2, T0),
    CheckState("http-2", Result(False, Reason.NETWORK_UNREACHABLE, "no route", started=T0 + 16), 2, T0 + 1),
)
LOST_CHANGE = Change(Uplink.OFFLINE, T0 + 20, T0 + 1, CHECKS)
BACK = Change(Uplink.ONLINE, T0 + 741, T0 + 1, (CheckState("dns-1", Result(True, started=T0 + 740)), CHECKS[1]))


def test_lost_says_since_when_and_what_each_check_saw() -> None:
    alert = uplink_alert(CONFIG, LOST_CHANGE)
    assert (alert.id, alert.kind, alert.target, alert.name) == (
        f"monitor:connectivity_lost:{round(T0 + 1)}",
        LOST,
        "monitor",
        "Status Pemkab",
    )
    assert (alert.since, alert.at, alert.duration) == (T0 + 1, T0 + 20, None)
    assert (alert.reason, alert.detail) == (Reason.MONITOR_OFFLINE, "dns-1: timeout, http-2: network_unreachable")
    assert alert.url == "https://status.kotimkab.go.id"


def test_restored_says_how_long_under_the_same_outage() -> None:
    alert = uplink_alert(CONFIG, BACK)
    assert (alert.id, alert.kind, alert.since, alert.duration) == (
        f"monitor:connectivity_restored:{round(T0 + 1)}",
        RESTORED,
        T0 + 1,
        740.0,
    )
    assert (alert.reason, alert.detail) == (Reason.OK, "")


@pytest.mark.parametrize(
    ("lang", "headline", "checks"),
    [
        ("id", "📡 Status Pemkab: pemantau kehilangan koneksi internet", "Pemeriksaan koneksi: dns-1: timeout"),
        ("en", "📡 Status Pemkab: the monitor lost its internet connection", "Connectivity checks: dns-1: timeout"),
    ],
)
def test_the_messages_read_in_both_languages(lang: str, headline: str, checks: str) -> None:
    texts = Texts(lang, "Asia/Jakarta", "Status Pemkab")
    text = texts.render("text.txt.j2", uplink_alert(CONFIG, LOST_CHANGE))
    assert text.startswith(headline) and checks in text
    assert "Penyebab" not in text and "Reason" not in text  # the checks say it, not "the service was not judged"
    restored = texts.render("title.txt.j2", uplink_alert(CONFIG, BACK))
    assert (
        restored
        == {
            "id": "✅ Status Pemkab: koneksi internet pemantau pulih setelah 12 menit 20 detik",
            "en": "✅ Status Pemkab: the monitor's internet connection is restored after 12m 20s",
        }[lang]
    )


async def test_a_webhook_and_alertmanager_receive_them_as_documented() -> None:
    async with httpx.AsyncClient() as client:
        ctx = NotifyContext(client, Texts("en", "UTC", "Status Pemkab"))
        payload = WebhookNotifier(WebhookSpec(url="http://127.0.0.1:9/"), ctx).payload(
            uplink_alert(CONFIG, LOST_CHANGE)
        )
        manager = AlertmanagerNotifier(AlertmanagerSpec(url="http://127.0.0.1:9093"), ctx, clock=lambda: T0 + 30)
        firing = manager.payload(uplink_alert(CONFIG, LOST_CHANGE))
        resolved = manager.payload(uplink_alert(CONFIG, BACK))
    assert {
        k: payload[k] for k in ("id", "event", "target", "old_state", "new_state", "reason", "duration_seconds")
    } == {
        "id": f"monitor:connectivity_lost:{round(T0 + 1)}",
        "event": "connectivity_lost",
        "target": {"id": "monitor", "name": "Status Pemkab", "group": ""},
        "old_state": "",
        "new_state": "",
        "reason": "monitor_offline",
        "duration_seconds": None,
    }
    assert payload["since"] == "2027-01-15T08:00:01.000Z"
    assert [(a["labels"]["alertname"], a["labels"]["severity"]) for a in firing] == [("MonitorOffline", "critical")]
    assert [a["labels"]["alertname"] for a in resolved] == ["MonitorOffline"]
    assert firing[0]["endsAt"] > resolved[0]["endsAt"]


def test_a_restart_reads_an_outage_announced_and_not_restored() -> None:
    lost, restored = uplink_alert(CONFIG, LOST_CHANGE), uplink_alert(CONFIG, BACK)
    assert announced([lost]) == T0 + 1
    assert announced([lost, restored]) is None
    assert announced([]) is None
    assert set(KINDS) <= set(SAID_KINDS)  # the outbox keeps the newest of each
