"""Failed authentications, limited per client: a token bucket per client address (an IPv6
client by its /64), refilled over the window, logged once a window, bounded in memory."""

from __future__ import annotations

import logging

import pytest
from starlette.requests import Request

from monitor.web import ratelimit
from monitor.web.ratelimit import FailureLimit, client_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_is_refused_after_its_failures_until_a_token_comes_back() -> None:
    clock = Clock()
    limit = FailureLimit(10, 60.0, clock)
    for _ in range(9):
        limit.failed("127.0.0.2", "/admin")
        assert limit.retry_after("127.0.0.2") is None
    limit.failed("127.0.0.2", "/admin")
    assert limit.retry_after("127.0.0.2") == 6  # one failure back every 60/10 s
    clock.now += 5.0
    assert limit.retry_after("127.0.0.2") == 1
    clock.now += 1.0
    assert limit.retry_after("127.0.0.2") is None
    limit.failed("127.0.0.2", "/admin")  # the token that came back is spent at once
    assert limit.retry_after("127.0.0.2") == 6
    clock.now += 60.0
    for _ in range(9):
        limit.failed("127.0.0.2", "/admin")
    assert limit.retry_after("127.0.0.2") is None  # a whole window later: the whole bucket


def test_each_client_has_its_own_bucket() -> None:
    limit = FailureLimit(3, 60.0, Clock())
    for _ in range(3):
        limit.failed("127.0.0.2", "/push/backup")
    assert limit.retry_after("127.0.0.2") is not None
    assert limit.retry_after("127.0.0.3") is None


def test_the_emptying_failure_is_logged_once_a_window_with_the_client_and_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    limit = FailureLimit(3, 60.0, clock)
    with caplog.at_level(logging.WARNING, logger="monitor.web.ratelimit"):
        for _ in range(50):
            limit.failed("127.0.0.2", "/admin")
            clock.now += 0.5
        assert len(caplog.records) == 1
        fields = caplog.records[0].kv_fields  # type: ignore[attr-defined]
        assert fields["client"] == "127.0.0.2" and fields["path"] == "/admin"
        clock.now += 60.0
        limit.failed("127.0.0.2", "/admin")
        for _ in range(3):
            limit.failed("127.0.0.2", "/admin")
        assert len(caplog.records) == 2  # the next window's, once


def request_from(host: str) -> Request:
    return Request({"type": "http", "client": (host, 40000), "headers": []})


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("127.0.0.2", "127.0.0.2"),
        ("::1", "::/64"),
        ("fd00:1:2:3:aaaa:bbbb:cccc:dddd", "fd00:1:2:3::/64"),
        ("fd00:1:2:3:1111::1", "fd00:1:2:3::/64"),
        ("::ffff:127.0.0.2", "127.0.0.2"),
        ("testclient", "testclient"),
    ],
)
def test_a_client_is_its_address_or_its_ipv6_64(host: str, key: str) -> None:
    assert client_of(request_from(host)) == key


def test_the_buckets_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 100)
    clock = Clock()
    limit = FailureLimit(3, 60.0, clock)
    for i in range(1000):
        limit.failed(f"10.0.{i // 256}.{i % 256}", "/admin")
        clock.now += 0.01
    assert len(limit._buckets) <= 100
    for _ in range(3):
        limit.failed("127.0.0.2", "/admin")
    assert limit.retry_after("127.0.0.2") is not None  # the newest are kept
