"""Duty rosters in the configuration: the worked example of docs/oncall.md loads, a gap
is a warning `monitor validate` prints (exit 0), and wrong rosters are problems with
their key path and line."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.alerting.duty import ladder, on_duty
from monitor.config.loader import load_config
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
WIB = ZoneInfo("Asia/Jakarta")
ENV = {"TELEGRAM_BOT_TOKEN": "123456:example-token"}


def holiday_example() -> str:
    text = (ROOT / "docs" / "oncall.md").read_text(encoding="utf-8")
    section = text.split("## A roster for a ten-day holiday", 1)[1]
    found = re.search(r"```toml\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=WIB).timestamp()


def test_the_ten_day_holiday_roster_of_the_docs_is_valid_and_has_no_gap(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(holiday_example(), encoding="utf-8")
    config = load_config(path, env=ENV)
    assert config.warnings == ()
    assert on_duty(config, "piket-lebaran", at("2027-03-08T02:00:00")) == ("sari",)
    assert ladder(config, "piket-lebaran", at("2027-03-08T02:00:00")) == [("sari",), ("agus",), ("kantor",)]
    assert on_duty(config, "piket-lebaran", at("2027-03-10T12:00:00")) == ("budi", "sari")  # Idul Fitri
    assert ladder(config, "piket-lebaran", at("2027-03-20T12:00:00")) == [("kantor",)]  # after it: the fallback
    assert config.targets["portal"].notify == ("duty:piket-lebaran",)


def test_a_gap_in_a_roster_is_a_warning_validate_prints_and_still_exits_0(tmp_path: Path) -> None:
    text = holiday_example().replace(
        'who = "dewi"\nstart = 2027-03-09T08:00:00\nend = 2027-03-10T08:00:00',
        'who = "dewi"\nstart = 2027-03-09T20:00:00\nend = 2027-03-10T08:00:00',
    )
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "validate", "-c", str(path)],
        capture_output=True,
        text=True,
        env={"TELEGRAM_BOT_TOKEN": "123456:example-token", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = (
        "rosters.piket-lebaran: nobody is on duty from 2027-03-09 08:00 to 2027-03-09 20:00: "
        "alerts then go to the fallback 'kantor'"
    )
    assert f"warning: {path}:" in done.stdout and line in done.stdout


def test_a_weekly_rosters_gap_is_named_by_day_and_time(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        """
[notifiers.budi]
type = "webhook"
url = "http://127.0.0.1:9/"

[rosters.kantor]
fallback = "budi"

[[duty]]
roster = "kantor"
who = "budi"
weekly = ["mon-fri 08:00-16:00", "sat-sun 00:00-24:00", "mon-fri 16:00-07:00"]

[targets.web]
url = "http://127.0.0.1:9/"
notify = ["duty:kantor"]
""",
        encoding="utf-8",
    )
    warnings = load_config(path, env={}).warnings
    gaps = [w.split(": ", 2)[2].removesuffix(": alerts then go to the fallback 'budi'") for w in warnings]
    assert gaps == [  # Sunday ends at midnight; each weekday's night shift ends at 07:00
        "nobody is on duty from Mon 00:00 to Mon 08:00",
        *(f"nobody is on duty from {day} 07:00 to {day} 08:00" for day in ("Tue", "Wed", "Thu", "Fri")),
    ]


BAD = """
[notifiers.budi]
type = "webhook"
url = "http://127.0.0.1:9/"

[notifiers.tg]
type = "telegram"
bot_token = "1:x"
chat_id = 1
interactive = true

[rosters.piket]
fallback = "nobody"
escalate_after = "10s"

[[duty]]
roster = "piket"
who = "sari"
start = 2027-03-06T08:00:00
end = 2027-03-05T08:00:00

[[duty]]
roster = "lain"
who = "budi"
weekly = ["someday 08:00-16:00", "mon 08:00-25:00"]

[[duty]]
roster = "piket"
who = "budi"

[targets.web]
url = "http://127.0.0.1:9/"
notify = ["duty:jadwal"]
"""


def test_wrong_rosters_are_problems_with_their_key_path(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    problems = {(p.path, p.message) for p in caught.value.problems}
    paths = {p.path for p in caught.value.problems}
    assert {
        "notifiers.tg.allowed_users",
        "rosters.piket.fallback",
        "rosters.piket.escalate_after",
        "duty[0].end",
        "duty[0].who",
        "duty[1].weekly[0]",
        "duty[1].weekly[1]",
        "duty[1].roster",
        "duty[2]",
        "targets.web.notify[0]",
    } <= paths, sorted(problems)
    assert ("rosters.piket.fallback", "no notifier named 'nobody'") in problems
    assert ("targets.web.notify[0]", "no roster named 'jadwal' ([rosters.jadwal])") in problems
    assert all(p.line for p in caught.value.problems if p.path.startswith(("rosters.", "targets.")))
