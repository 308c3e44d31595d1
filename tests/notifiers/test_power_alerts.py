"""A UPS's alerts in words a guard on duty understands, in both languages: the power is
out, the UPS runs on battery, and how long the battery lasts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.notifiers.base import Alert
from monitor.notifiers.texts import Texts

AT = 1_800_000_000.0
ON_BATTERY = Alert(
    id="ups:degraded:1800000000",
    kind="degraded",
    target="ups",
    name="UPS ruang server",
    group="Listrik",
    old="UP",
    new="DEGRADED",
    reason="on_battery",
    detail="on battery since 2027-01-15 08:00:00 UTC; OB DISCHRG: battery 80%, about 24m50s left",
    at=AT,
    since=AT,
    values={"probe_ups_battery_runtime_seconds": 1490.0, "probe_ups_battery_charge_ratio": 0.8},
)


@pytest.mark.parametrize(
    ("language", "headline", "battery"),
    [
        (
            "id",
            "🔋 Listrik PLN padam: UPS ruang server memakai baterai — sisa ±25 menit",
            "Baterai: 80%, sisa ±25 menit",
        ),
        (
            "en",
            "🔋 Mains power is out: UPS ruang server is running on battery — about 25m left",
            "Battery: 80%, about 25m left",
        ),
    ],
)
def test_a_ups_on_battery_says_the_power_is_out_and_how_long_it_lasts(
    language: str, headline: str, battery: str
) -> None:
    texts = Texts(language, "Asia/Jakarta", "Status Pemkab")
    assert texts.render("title.txt.j2", ON_BATTERY) == headline
    body = texts.render("text.txt.j2", ON_BATTERY)
    assert body.splitlines()[0] == headline
    assert battery in body.splitlines()
    for template in ("telegram.html.j2", "slack.md.j2", "discord.md.j2", "email.html.j2"):
        assert "80%" in texts.render(template, ON_BATTERY), template


def test_a_nearly_empty_battery_says_the_equipment_will_lose_power() -> None:
    low = replace(
        ON_BATTERY,
        kind="down",
        new="DOWN",
        reason="low_battery",
        values={"probe_ups_battery_runtime_seconds": 180.0, "probe_ups_battery_charge_ratio": 0.09},
    )
    title = Texts("id", "Asia/Jakarta").render("title.txt.j2", low)
    assert title == "🪫 Baterai UPS ruang server hampir habis, perangkat akan segera mati — sisa ±3 menit"
    assert "Penyebab: Baterai UPS hampir habis" in Texts("id", "Asia/Jakarta").render("text.txt.j2", low)


def test_a_ups_that_did_not_report_its_runtime_still_says_the_power_is_out() -> None:
    quiet = replace(ON_BATTERY, values={})
    assert Texts("id").render("title.txt.j2", quiet) == "🔋 Listrik PLN padam: UPS ruang server memakai baterai"
    assert "Baterai:" not in Texts("id").render("text.txt.j2", quiet)


def test_an_alert_stored_before_values_existed_still_renders() -> None:
    stored = ON_BATTERY.to_dict()
    del stored["values"]
    assert Alert.from_dict(stored).values == {}
