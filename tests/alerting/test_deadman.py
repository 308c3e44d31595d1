"""The dead-man's switch pings a real local endpoint only while probing is healthy."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.alerting.deadman import STATE_FILE, DeadMan, DeadManState, load_state, url_key
from tests.alertkit import Clock, free_port, receiver


async def test_it_pings_while_healthy_and_stops_when_not() -> None:
    healthy = True
    with receiver() as rec:
        url = rec.url + "/ping/abc"
        switch = DeadMan(lambda: url, lambda: healthy)
        try:
            await switch.tick()
            await switch.tick()
            assert [r.path for r in rec.requests] == ["/ping/abc", "/ping/abc"]
            assert switch.last_ok is True
            healthy = False
            await switch.tick()
            await switch.tick()
            assert len(rec.requests) == 2
            assert switch.skipped == 2
            healthy = True
            await switch.tick()
            assert len(rec.requests) == 3
        finally:
            await switch.aclose()


async def test_it_does_nothing_without_a_heartbeat_url() -> None:
    switch = DeadMan(lambda: None, lambda: True)
    await switch.tick()
    assert switch.last_ping is None
    await switch.aclose()


async def test_a_failing_heartbeat_endpoint_is_recorded_not_raised() -> None:
    switch = DeadMan(lambda: f"http://127.0.0.1:{free_port()}/ping", lambda: True, timeout=2)
    await switch.tick()
    await switch.aclose()
    assert switch.last_ok is False and switch.last_error
    with receiver(status=500) as rec:
        switch = DeadMan(lambda: rec.url + "/ping", lambda: True)
        await switch.tick()
        await switch.aclose()
    assert switch.last_ok is False and "500" in (switch.last_error or "")


async def test_a_failed_heartbeat_never_puts_its_secret_url_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with receiver(status=404) as rec:
        url = rec.url + "/ping/5b1f0c7e-secret-check-key"
        switch = DeadMan(lambda: url, lambda: True)
        with caplog.at_level(logging.WARNING, logger="monitor.deadman"):
            await switch.tick()
        await switch.aclose()
    assert switch.last_ok is False and "404" in (switch.last_error or "")
    logged = " ".join(f"{r.getMessage()} {getattr(r, 'kv_fields', '')}" for r in caplog.records)
    assert "heartbeat failed" in logged and "404" in logged
    assert "secret-check-key" not in logged and "secret-check-key" not in switch.last_error


async def test_each_outcome_is_saved_for_other_processes_without_the_url(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / STATE_FILE
    with receiver(status=500) as rec:
        url = rec.url + "/ping/5b1f0c7e-secret-check-key"
        switch = DeadMan(lambda: url, lambda: True, clock=clock, state_file=lambda: path)
        try:
            await switch.tick()
            assert load_state(path) == DeadManState(url_key(url), clock.now, False, "HTTP 500 Internal Server Error")
            rec.status, clock.now = 200, clock.now + 60
            await switch.tick()
            assert load_state(path) == DeadManState(url_key(url), clock.now, True, None, clock.now)
        finally:
            await switch.aclose()
    assert "secret-check-key" not in path.read_text(encoding="utf-8")
    assert url_key(url) != url_key(url + "x")


async def test_an_unwritable_state_file_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with receiver() as rec:
        switch = DeadMan(lambda: rec.url, lambda: True, state_file=lambda: tmp_path / "missing" / STATE_FILE)
        with caplog.at_level(logging.WARNING, logger="monitor.deadman"):
            await switch.tick()
        await switch.aclose()
    assert switch.last_ok is True and "heartbeat state not saved" in caplog.text


def test_a_missing_or_broken_state_reads_as_none(tmp_path: Path) -> None:
    assert load_state(tmp_path / STATE_FILE) is None
    (tmp_path / STATE_FILE).write_text("{not json", encoding="utf-8")
    assert load_state(tmp_path / STATE_FILE) is None
