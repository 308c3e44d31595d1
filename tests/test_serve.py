"""What `monitor run` prints once it listens: a link a browser can open, and how to
reach the admin view, never the token itself."""

from __future__ import annotations

import pytest

from monitor.serve import welcome


def test_it_links_to_loopback_when_listening_on_every_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_ADMIN_TOKEN", raising=False)
    text = welcome("0.0.0.0:8080")
    assert "status page: http://127.0.0.1:8080/" in text
    assert "metrics:     http://127.0.0.1:8080/metrics" in text
    assert "start with MONITOR_ADMIN_TOKEN=" in text
    assert "status page: http://[::1]:9000/" in welcome("[::]:9000")


def test_it_says_how_to_log_in_to_the_admin_view_without_showing_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", "s3cret-token-value")
    text = welcome("127.0.0.1:8080")
    assert "admin view:  http://127.0.0.1:8080/admin (user name: anything, password: the value of" in text
    assert "s3cret-token-value" not in text
