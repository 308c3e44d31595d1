"""The alerts about a location of the cluster that stopped reporting and came back: their
stable ids and their words in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.alerting.locations import BACK, STALE, location_alert
from monitor.cluster.locations import LocationChange
from monitor.config import Config, Settings
from monitor.notifiers.texts import Texts

T0 = 1_800_000_000.0
CONFIG = Config(Path("targets.toml"), Settings(title="Status Pemkab"), targets={})
GONE = LocationChange("sampit", True, T0, T0 + 95)
RETURNED = LocationChange("sampit", False, T0, T0 + 815)


def test_each_change_has_a_stable_id_and_the_outage_length_when_back() -> None:
    stale, back = location_alert(CONFIG, GONE), location_alert(CONFIG, RETURNED)
    assert (stale.id, stale.kind, stale.name, stale.duration) == (
        f"monitor:location_stale:sampit:{round(T0)}",
        STALE,
        "sampit",
        None,
    )
    assert (back.id, back.kind, back.duration) == (f"monitor:location_back:sampit:{round(T0)}", BACK, 815.0)


@pytest.mark.parametrize(
    ("lang", "stale", "back"),
    [
        (
            "en",
            "Status Pemkab: location sampit stopped reporting",
            "Status Pemkab: location sampit reports again after",
        ),
        ("id", "Status Pemkab: lokasi sampit berhenti melapor", "Status Pemkab: lokasi sampit melapor lagi setelah"),
    ],
)
def test_the_messages_read_in_both_languages(lang: str, stale: str, back: str) -> None:
    texts = Texts(lang, "Asia/Jakarta", "Status Pemkab")
    assert stale in texts.render("title.txt.j2", location_alert(CONFIG, GONE))
    assert back in texts.render("title.txt.j2", location_alert(CONFIG, RETURNED))
    assert stale in texts.render("text.txt.j2", location_alert(CONFIG, GONE))
