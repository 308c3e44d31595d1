"""The ups probe against Debian's real NUT server (tests/probes/nut.py): a dummy-ups UPS the
test moves from line power to battery, low battery and back, a driver that died or hangs,
an unknown UPS; and its configuration."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from monitor.config import Target
from monitor.errors import ConfigError
from monitor.probes import PROBES, ProbeContext, probe_context
from monitor.probes.ups import CHARGE, LOAD, ON_BATTERY, ON_BATTERY_SINCE, RUNTIME, VOLTAGE
from monitor.result import Reason, Result
from tests.probes.configfile import Load, loader
from tests.probes.nut import Nut, nut_server
from tests.waiting import NotInTime, until

UPSES = ("serverroom", "dead", "hung", "attention")


@pytest.fixture
def config_from(tmp_path: Path) -> Load:
    return loader(tmp_path)


@pytest.fixture(scope="module")
def nut(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nut]:
    with nut_server(tmp_path_factory.mktemp("nut"), UPSES) as server:
        yield server


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    context = probe_context()
    yield context
    await context.aclose()


def ups_target(config_from: Load, port: int, ups: str, extra: str = "") -> Target:
    return config_from(f'[targets.ups]\nurl = "nut://127.0.0.1:{port}/{ups}"\ntimeout = "2s"\n{extra}').targets["ups"]


async def probe_until(target: Target, ctx: ProbeContext, done: Callable[[Result], bool], what: str) -> Result:
    """Probe until `done(result)`: the driver rereads its file within a poll interval."""
    seen: list[Result] = []

    async def probed() -> bool:
        seen.append(await PROBES["ups"].probe(target, ctx))
        return done(seen[-1])

    try:
        await until(probed, 15, what=f"{what} seen", every=0.1)
    except NotInTime as exc:
        raise NotInTime(f"{exc}; last: {seen[-1] if seen else None}") from None
    return seen[-1]


@pytest.mark.integration
async def test_a_ups_going_from_mains_to_battery_to_low_battery_and_back(
    config_from: Load, nut: Nut, ctx: ProbeContext
) -> None:
    target = ups_target(config_from, nut.port, "serverroom")
    online = await probe_until(target, ctx, lambda r: r.ok and not r.degraded, "OL")
    assert online.detail == "on line power; OL: battery 100%, about 30m left, input 228.5 V, load 35%"
    assert online.extra == {CHARGE: 1.0, RUNTIME: 1800.0, VOLTAGE: 228.5, LOAD: 0.35, ON_BATTERY: 0.0}

    nut.set("serverroom", ups_status="OB DISCHRG", battery_charge="80", battery_runtime="1500", input_voltage="0")
    on_battery = await probe_until(target, ctx, lambda r: r.degraded, "OB")
    assert on_battery.ok and on_battery.reason == Reason.ON_BATTERY
    began = on_battery.extra[ON_BATTERY_SINCE]
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(began))
    assert (
        on_battery.detail == f"on battery since {since}; OB DISCHRG: battery 80%, about 25m left, input 0 V, load 35%"
    )
    assert on_battery.extra[ON_BATTERY] == 1.0 and on_battery.extra[RUNTIME] == 1500.0
    still = await PROBES["ups"].probe(target, ctx)
    assert still.extra[ON_BATTERY_SINCE] == began  # the outage began when it was first seen

    nut.set("serverroom", ups_status="OB DISCHRG LB", battery_charge="9", battery_runtime="120", input_voltage="0")
    low = await probe_until(target, ctx, lambda r: not r.ok, "OB LB")
    assert low.reason == Reason.LOW_BATTERY
    assert low.detail == "low battery (LB); OB DISCHRG LB: battery 9%, about 2m left, input 0 V, load 35%"
    assert low.extra[CHARGE] == 0.09 and low.extra[ON_BATTERY_SINCE] == began

    nut.set("serverroom")
    back = await probe_until(target, ctx, lambda r: r.ok and not r.degraded, "OL again")
    assert back.extra[ON_BATTERY] == 0.0 and ON_BATTERY_SINCE not in back.extra


@pytest.mark.integration
async def test_a_charge_or_runtime_below_the_floor_is_low_battery(
    config_from: Load, nut: Nut, ctx: ProbeContext
) -> None:
    nut.set("attention", battery_charge="45", battery_runtime="700")
    charge = ups_target(config_from, nut.port, "attention", "min_charge = 50\n")
    result = await probe_until(charge, ctx, lambda r: not r.ok, "charge 45%")
    assert result.reason == Reason.LOW_BATTERY
    assert result.detail.startswith("battery charge 45% is below min_charge 50%")
    runtime = ups_target(config_from, nut.port, "attention", 'min_runtime = "15m"\n')
    result = await PROBES["ups"].probe(runtime, ctx)
    assert result.reason == Reason.LOW_BATTERY
    assert result.detail.startswith("battery runtime 11m40s is below min_runtime 15m")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("status", "reason"),
    [("OL RB", Reason.REPLACE_BATTERY), ("OL OVER", Reason.UPS_OVERLOAD), ("OL BYPASS", Reason.UPS_BYPASS)],
)
async def test_a_ups_that_needs_attention_is_degraded(
    config_from: Load, nut: Nut, ctx: ProbeContext, status: str, reason: str
) -> None:
    nut.set("attention", ups_status=status)
    result = await probe_until(
        ups_target(config_from, nut.port, "attention"), ctx, lambda r: r.reason == reason, status
    )
    assert result.ok and result.degraded


@pytest.mark.integration
async def test_an_output_switched_off_is_down(config_from: Load, nut: Nut, ctx: ProbeContext) -> None:
    nut.set("attention", ups_status="OFF")
    result = await probe_until(ups_target(config_from, nut.port, "attention"), ctx, lambda r: not r.ok, "OFF")
    assert result.reason == Reason.UPS_OFF


@pytest.mark.integration
async def test_a_driver_that_died_is_ups_data_stale(config_from: Load, nut: Nut, ctx: ProbeContext) -> None:
    target = ups_target(config_from, nut.port, "dead")
    assert (await probe_until(target, ctx, lambda r: r.ok, "dead's first status")).ok
    nut.kill_driver("dead")
    result = await probe_until(target, ctx, lambda r: not r.ok, "the dead driver")
    assert result.reason == Reason.UPS_DATA_STALE
    assert result.detail == "the UPS driver is not running (ERR DRIVER-NOT-CONNECTED)"


@pytest.mark.integration
async def test_a_driver_that_hangs_is_ups_data_stale(config_from: Load, nut: Nut, ctx: ProbeContext) -> None:
    target = ups_target(config_from, nut.port, "hung")
    assert (await probe_until(target, ctx, lambda r: r.ok, "hung's first status")).ok
    thaw = nut.freeze_driver("hung")
    try:
        result = await probe_until(target, ctx, lambda r: not r.ok, "stale data")
    finally:
        thaw()
    assert result.reason == Reason.UPS_DATA_STALE
    assert result.detail == "the UPS driver reports stale data (ERR DATA-STALE)"


@pytest.mark.integration
async def test_an_unknown_ups_name_is_ups_not_found(config_from: Load, nut: Nut, ctx: ProbeContext) -> None:
    result = await PROBES["ups"].probe(ups_target(config_from, nut.port, "nosuchups"), ctx)
    assert not result.ok and result.reason == Reason.UPS_NOT_FOUND


@pytest.mark.integration
async def test_it_logs_in_when_given_an_account(config_from: Load, nut: Nut, ctx: ProbeContext) -> None:
    target = ups_target(config_from, nut.port, "serverroom", 'username = "monitor"\npassword = "nut-s3cret"\n')
    result = await probe_until(target, ctx, lambda r: r.ok, "a status")
    assert result.ok, result.detail
    assert "nut-s3cret" not in repr(target.spec)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [(b"ERR ACCESS-DENIED\n", Reason.AUTH_FAILED), (b"SSH-2.0-OpenSSH_9.2\n", Reason.INVALID_RESPONSE)],
)
async def test_a_refused_login_or_a_server_that_is_no_nut_server(config_from: Load, answer: bytes, reason: str) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(answer)
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        target = ups_target(config_from, port, "serverroom", 'username = "monitor"\npassword = "x"\n')
        result = await PROBES["ups"].probe(target, ProbeContext(tls=None))  # type: ignore[arg-type]
    assert not result.ok and result.reason == reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('url = "nut://10.10.0.5"', "targets.ups.url: must be nut://HOST[:PORT]/UPS"),
        ('url = "nut://10.10.0.5/a/b"', "targets.ups.url: must be nut://HOST[:PORT]/UPS"),
        ('url = "nut://10.10.0.5/ups"\nmin_charge = 120', "targets.ups.min_charge: must be between 0.0 and 100.0"),
        ('url = "nut://10.10.0.5/ups"\nmin_runtime = "soon"', "targets.ups.min_runtime: 'soon' is not a duration"),
        ('url = "nut://10.10.0.5/ups"\npassword = "x"', "targets.ups.password: needs a username"),
    ],
)
def test_a_bad_key_is_a_clear_error(config_from: Load, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from(f"[targets.ups]\n{text}\n")
    assert any(str(p).find(expected) >= 0 for p in caught.value.problems), caught.value.problems
