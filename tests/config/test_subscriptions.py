"""`[subscriptions]`: `enabled` and the e-mail notifier's server keys, read by its own
parser; every mistake named with its key path and line."""

from __future__ import annotations

from pathlib import Path

from monitor.config.loader import load_config
from monitor.notifiers.email import EmailSpec
from tests.config.test_loader import problems, write

BASE = """
[monitor]
public_url = "https://status.example.go.id"

[targets.web]
url = "https://www.example.go.id/"
"""


def test_it_reads_the_e_mail_notifier_s_server_keys(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            BASE
            + """
[subscriptions]
enabled = true
host = "smtp.example.go.id"
security = "tls"
username = "status"
password = "${SMTP_PASSWORD}"
from = "Status Kotim <status@example.go.id>"
""",
        ),
        env={"SMTP_PASSWORD": "rahasia"},
    )
    assert config.subscriptions is not None and config.subscriptions.enabled
    assert config.subscriptions.spec == EmailSpec(
        host="smtp.example.go.id",
        sender="Status Kotim <status@example.go.id>",
        to=(),
        port=465,
        security="tls",
        username="status",
        password="rahasia",
    )


def test_without_the_table_or_switched_off_there_are_no_subscriptions(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, BASE), env={}).subscriptions is None
    off = load_config(write(tmp_path, BASE + '[subscriptions]\nenabled = false\nhost = "smtp"\n'), env={})
    assert off.subscriptions is not None and not off.subscriptions.enabled


def test_each_mistake_is_named(tmp_path: Path) -> None:
    text = """
[targets.web]
url = "https://www.example.go.id/"

[subscriptions]
enabled = true
security = "ssl"
username = "status"
to = ["oncall@example.go.id"]
"""
    found = problems(tmp_path, text)
    assert any("targets.toml:6: subscriptions.enabled: needs [monitor] public_url" in p for p in found), found
    assert any("subscriptions.host" in p and "is required" in p for p in found), found
    assert any("subscriptions.from" in p and "is required" in p for p in found), found
    assert any("subscriptions.security" in p and '"starttls", "tls" or "none"' in p for p in found), found
    assert any("subscriptions.password" in p and "go together" in p for p in found), found
    assert any("subscriptions.to" in p and "unknown key" in p for p in found), found


def test_a_command_that_sends_nothing_needs_not_its_password(tmp_path: Path) -> None:
    text = BASE + '[subscriptions]\nenabled = true\nhost = "smtp"\nfrom = "s@example.go.id"\n'
    text += 'username = "status"\npassword = "${SMTP_PASSWORD}"\n'
    path = write(tmp_path, text)
    assert load_config(path, env={}, notifier_secrets=False).subscriptions is not None
    assert any("SMTP_PASSWORD is not set" in p for p in problems(tmp_path, text))
