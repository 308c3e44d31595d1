from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from monitor.config import Target
from monitor.errors import ConfigError
from monitor.probes import PROBES
from monitor.probes.base import ProbeContext
from monitor.probes.push import LAST_HEARTBEAT, HeartbeatBook, PushSpec, heartbeat
from monitor.probes.tlsutil import TlsContextCache
from monitor.result import Reason
from tests.probes.configfile import Load, loader


@pytest.fixture
def config_from(tmp_path: Path) -> Load:
    return loader(tmp_path)


TOKEN = "s3cret-token-0123456789"


def push_target(period: float = 60.0, grace: float = 10.0) -> Target:
    return Target(
        id="backup",
        name="Backup",
        kind="push",
        url=None,
        spec=PushSpec(period=period, grace=grace, token=TOKEN),
    )


def ctx(book: HeartbeatBook | None) -> ProbeContext:
    return ProbeContext(tls=TlsContextCache(), heartbeats=book)


async def probe(target: Target, book: HeartbeatBook | None):  # type: ignore[no-untyped-def]
    return await PROBES["push"].probe(target, ctx(book))


def test_it_reads_period_grace_and_token(config_from: Load) -> None:
    config = config_from(f'[targets.backup]\nkind = "push"\nperiod = "24h"\ngrace = "2h"\ntoken = "{TOKEN}"\n')
    assert config.targets["backup"].spec == PushSpec(period=86400.0, grace=7200.0, token=TOKEN)


def test_grace_defaults_to_a_tenth_of_the_period_but_at_least_a_minute(config_from: Load) -> None:
    config = config_from(
        f'[targets.daily]\nkind = "push"\nperiod = "24h"\ntoken = "{TOKEN}"\n'
        f'[targets.often]\nkind = "push"\nperiod = "1m"\ntoken = "{TOKEN}"\ninterval = "30s"\n'
    )
    assert config.targets["daily"].spec.grace == 8640.0
    assert config.targets["often"].spec.grace == 60.0


def test_it_requires_period_and_a_long_enough_token(config_from: Load) -> None:
    with pytest.raises(ConfigError) as error:
        config_from('[targets.backup]\nkind = "push"\ntoken = "short"\n')
    messages = str(error.value)
    assert "targets.backup.period: is required" in messages
    assert "targets.backup.token: must be at least 16 characters" in messages


async def test_it_is_up_when_the_heartbeat_is_on_time() -> None:
    book = HeartbeatBook()
    arrived = time.time() - 30
    book.record("backup", heartbeat(arrived, duration=12.5))
    result = await probe(push_target(), book)
    assert result.ok and result.reason == Reason.OK
    assert result.duration == 12.5
    assert result.extra[LAST_HEARTBEAT] == arrived
    assert result.started > arrived


async def test_it_is_down_when_the_heartbeat_is_later_than_period_plus_grace() -> None:
    book = HeartbeatBook()
    arrived = time.time() - 71
    book.record("backup", heartbeat(arrived))
    result = await probe(push_target(period=60, grace=10), book)
    assert not result.ok
    assert result.reason == Reason.NO_HEARTBEAT
    assert "last heartbeat 1m11s ago" in result.detail
    assert result.extra[LAST_HEARTBEAT] == arrived


async def test_it_reports_down_with_the_jobs_message() -> None:
    book = HeartbeatBook()
    book.record("backup", heartbeat(time.time(), down=True, msg="disk full"))
    result = await probe(push_target(), book)
    assert not result.ok
    assert result.reason == Reason.REPORTED_DOWN
    assert result.detail == "disk full"


async def test_a_target_that_never_pushed_is_late_after_period_plus_grace_from_the_start() -> None:
    now = time.time()
    book = HeartbeatBook(clock=lambda: now - 100)
    result = await probe(push_target(period=60, grace=10), book)
    assert not result.ok and result.reason == Reason.NO_HEARTBEAT
    assert LAST_HEARTBEAT not in result.extra
    fresh = HeartbeatBook()
    assert (await probe(push_target(period=60, grace=10), fresh)).ok


async def test_it_fails_without_a_heartbeat_book() -> None:
    result = await probe(push_target(), None)
    assert not result.ok and result.reason == Reason.ERROR


async def test_the_heartbeat_survives_a_restart_through_the_stored_results() -> None:
    before = HeartbeatBook()
    arrived = time.time() - 20
    before.record("backup", heartbeat(arrived, down=True, msg="disk full"))
    stored = {
        "backup": await probe(push_target(), before),
        "website": dataclasses.replace(heartbeat(0.0), extra={}),
    }
    after = HeartbeatBook()
    after.restore(stored)
    assert after.last("website") is None
    restored = after.last("backup")
    assert restored is not None and restored.started == arrived
    result = await probe(push_target(), after)
    assert result.reason == Reason.REPORTED_DOWN and result.detail == "disk full"


async def test_a_late_verdict_restores_the_heartbeat_time_and_stays_late() -> None:
    before = HeartbeatBook()
    arrived = time.time() - 500
    before.record("backup", heartbeat(arrived))
    late = await probe(push_target(period=60, grace=10), before)
    after = HeartbeatBook()
    after.restore({"backup": late})
    restored = after.last("backup")
    assert restored is not None and restored.started == arrived
    assert (await probe(push_target(period=60, grace=10), after)).reason == Reason.NO_HEARTBEAT


def test_retain_forgets_targets_removed_by_a_reload() -> None:
    book = HeartbeatBook()
    book.record("old", heartbeat(1.0))
    book.record("kept", heartbeat(2.0))
    book.retain(["kept"])
    assert book.last("old") is None and book.last("kept") is not None
