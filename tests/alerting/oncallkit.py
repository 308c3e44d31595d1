"""A configuration with a duty roster for the on-call tests, loaded through the real
loader, and the events that open and close an outage.

The clock starts at `AT`, 2027-01-15 15:00 WIB (08:00 UTC): Budi is on duty until
16:00 WIB, then Sari until 08:00 the next morning; `kantor` is the roster's fallback."""

from __future__ import annotations

from pathlib import Path

from monitor.config import Config, Target
from monitor.config.loader import load_config
from monitor.result import Event, State

AT = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC, 15:00 WIB
MIN = 60.0

TOML = """
[monitor]
timezone = "Asia/Jakarta"
language = "en"

[notifiers.budi]
type = "webhook"
url = "http://127.0.0.1:9/budi"
repeat_every = "30m"

[notifiers.sari]
type = "webhook"
url = "http://127.0.0.1:9/sari"
repeat_every = "30m"

[notifiers.kantor]
type = "webhook"
url = "http://127.0.0.1:9/kantor"

[rosters.piket]
fallback = "kantor"
escalate_after = "15m"

[[duty]]
roster = "piket"
who = "budi"
start = 2027-01-15T08:00:00
end = 2027-01-15T16:00:00

[[duty]]
roster = "piket"
who = "sari"
start = 2027-01-15T16:00:00
end = 2027-01-16T08:00:00

[targets.web]
name = "Website"
url = "http://127.0.0.1:9/"
notify = ["duty:piket"]
"""


def duty_config(folder: Path, extra: str = "") -> Config:
    path = folder / "targets.toml"
    path.write_text(TOML + extra, encoding="utf-8")
    return load_config(path, env={})


def down(at: float) -> Event:
    return Event("web", at, State.UP, State.DOWN, "timeout", "no answer within 10s")


def up(at: float) -> Event:
    return Event("web", at, State.DOWN, State.UP, "", "")


def web(config: Config) -> Target:
    return config.targets["web"]
