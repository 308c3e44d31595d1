"""Every notifier kind is registered by its `type`, and the policy keys every notifier
takes (`events`, `repeat_every`, `escalate_after`, `escalate_to`) are validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config.loader import load_config
from monitor.errors import ConfigError
from monitor.notifiers import NOTIFIERS

TOML = """
[targets.web]
url = "https://www.example.go.id/"
notify = ["oncall"]

[notifiers.oncall]
type = "telegram"
bot_token = "${TG_TOKEN}"
chat_id = "42"
events = ["down", "up", "degraded", "paging"]
escalate_to = ["boss", "nobody"]

[notifiers.boss]
type = "email"
host = "smtp.example.go.id"
from = "monitor@example.go.id"
to = ["kadis@example.go.id"]
escalate_after = "30m"
escalate_to = ["oncall"]
colour = "red"

[notifiers.am]
type = "alertmanager"
url = "http://127.0.0.1:9093"
resend_every = "2m"
"""


def test_every_kind_is_registered() -> None:
    assert sorted(NOTIFIERS) == ["alertmanager", "discord", "email", "slack", "telegram", "webhook"]


def test_the_policy_keys_are_validated_with_every_other_problem(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(TOML)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"TG_TOKEN": "1:x"})
    mine = sorted((p.path, p.message) for p in caught.value.problems if p.path.startswith("notif"))
    assert mine == [
        ("notifiers.boss.colour", "unknown key"),
        ("notifiers.oncall.escalate_to", "needs escalate_after (how long an outage lasts first)"),
        ("notifiers.oncall.escalate_to[1]", "no other notifier named 'nobody'"),
        (
            "notifiers.oncall.events",
            "unknown event 'paging' (known: down, up, degraded, cert, reminder, flapping, preflight)",
        ),
    ]
    assert next(p.line for p in caught.value.problems if p.path == "notifiers.boss.colour") == 20
