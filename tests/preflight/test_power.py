"""UPS targets before a watch period, judged from their last stored results: each UPS is a
`dummy-ups` behind Debian's real NUT server (tests/probes/nut.py) in the state the test
sets, probed by the real ups probe, its result stored as `monitor run` stores it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.preflight.model import Checklist, Moment, ReasonCode, Row, Status
from monitor.probes import probe_context
from monitor.result import Reason, Result
from monitor.runtime import run_probe
from monitor.store.registry import open_store
from tests.alertkit import free_port
from tests.preflight.kit import NOW, Clock, build, statuses, write_config
from tests.probes.nut import nut_server
from tests.waiting import until

NOTIFIER = f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{free_port()}/hook"\n'
FLOOR = 'min_charge = 50\nmin_runtime = "10m"\n'
# name: (what the UPS reports, the target's floor, how its probe's result shows the state)
UPSES: dict[str, tuple[dict[str, str], str, Callable[[Result], bool]]] = {
    "mains": ({}, FLOOR, lambda r: r.ok and not r.degraded),
    "battery": (
        {"ups_status": "OB DISCHRG", "battery_charge": "80", "battery_runtime": "1500", "input_voltage": "0"},
        FLOOR,
        lambda r: r.reason == Reason.ON_BATTERY,
    ),
    "worn": ({"ups_status": "OL RB"}, FLOOR, lambda r: r.reason == Reason.REPLACE_BATTERY),
    "drained": ({"battery_charge": "40"}, FLOOR, lambda r: r.reason == Reason.LOW_BATTERY),
    "short": ({"battery_runtime": "300"}, FLOOR, lambda r: r.reason == Reason.LOW_BATTERY),
    "overloaded": ({"ups_status": "OL OVER"}, FLOOR, lambda r: r.reason == Reason.UPS_OVERLOAD),
    "bare": ({}, "", lambda r: r.ok and not r.degraded),
}


async def probed_and_stored(tmp_path: Path) -> Config:
    """Every UPS set, probed until its result shows it, and stored; plus one UPS the NUT
    server does not know and one never probed."""
    with nut_server(tmp_path / "nut", tuple(UPSES)) as nut:
        body = "".join(
            f'[targets.{name}]\nurl = "nut://127.0.0.1:{nut.port}/{name}"\ntimeout = "2s"\n{floor}'
            for name, (_, floor, _) in UPSES.items()
        )
        body += f'[targets.gone]\nurl = "nut://127.0.0.1:{nut.port}/nosuch"\ntimeout = "2s"\n{FLOOR}'
        body += f'[targets.spare]\nurl = "nut://127.0.0.1:{nut.port}/mains"\n{FLOOR}'
        config = write_config(tmp_path, body + NOTIFIER, defaults='notify = ["hook"]')
        for name, (variables, _, _) in UPSES.items():
            if variables:
                nut.set(name, **variables)
        ctx = probe_context()
        results: dict[str, Result] = {}
        try:
            for name, (_, _, shows) in UPSES.items():

                async def seen(name: str = name, shows: Callable[[Result], bool] = shows) -> bool:
                    results[name] = await run_probe(config.targets[name], ctx)
                    return shows(results[name])

                await until(seen, 15, what=f"{name}'s state through upsd")
            results["gone"] = await run_probe(config.targets["gone"], ctx)
        finally:
            await ctx.aclose()
    store = open_store(config.settings, clock=Clock(NOW))
    await store.open()
    for name, result in results.items():
        store.add_result(name, result)
    await store.flush()
    await store.close()
    return config


def power(checklist: Checklist, target: str) -> Row:
    """The target's own row (not the rows naming UPSes without a floor or never probed)."""
    mine = [
        r
        for r in checklist.rows
        if r.check == "power"
        and target in r.ids
        and r.found.key not in ("preflight.power.no_floor", "preflight.power.unknown")
    ]
    assert len(mine) == 1, mine
    return mine[0]


@pytest.mark.integration
async def test_each_ups_is_judged_from_its_last_result_on_mains_above_its_floors(tmp_path: Path) -> None:
    config = await probed_and_stored(tmp_path)
    checklist = await build(config)
    mains = power(checklist, "mains")
    assert (mains.status, mains.found.key) == (Status.OK, "preflight.power.ok")
    assert (mains.found.values["charge"], mains.found.values["minutes"]) == (100, 30)
    assert isinstance(mains.found.values["at"], Moment)
    battery = power(checklist, "battery")
    assert (battery.status, battery.found.key) == (Status.PROBLEM, "preflight.power.on_battery")
    assert (battery.found.values["charge"], battery.found.values["minutes"]) == (80, 25)
    assert battery.todo is not None and battery.todo.key == "preflight.power.mains_todo"
    worn = power(checklist, "worn")
    assert (worn.status, worn.found.key) == (Status.PROBLEM, "preflight.power.replace")
    drained = power(checklist, "drained")
    assert (drained.status, drained.found.key) == (Status.PROBLEM, "preflight.power.low")
    assert (drained.found.values["charge"], drained.found.values["min_charge"]) == (40, "50")
    short = power(checklist, "short")
    assert (short.status, short.found.key) == (Status.PROBLEM, "preflight.power.low")
    assert (short.found.values["minutes"], short.found.values["min_runtime"]) == (5, "10m")
    overloaded = power(checklist, "overloaded")
    assert (overloaded.status, overloaded.found.key) == (Status.WARNING, "preflight.power.attention")
    assert overloaded.found.values["reason"] == ReasonCode(Reason.UPS_OVERLOAD)
    gone = power(checklist, "gone")
    assert (gone.status, gone.found.key) == (Status.PROBLEM, "preflight.power.failed")
    assert gone.found.values["reason"] == ReasonCode(Reason.UPS_NOT_FOUND)
    assert power(checklist, "bare").status is Status.OK
    found = statuses(checklist, "power")
    assert (Status.WARNING, ("bare",), "preflight.power.no_floor") in found  # no floor: hears of LB only
    assert (Status.WARNING, ("spare",), "preflight.power.unknown") in found  # never probed
    assert checklist.exit_code == 1


async def test_targets_that_are_no_ups_are_not_in_the_power_check(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, f'[targets.web]\nurl = "http://127.0.0.1:{port}/"\n' + NOTIFIER)
    store = open_store(config.settings, clock=Clock(NOW))
    await store.open()
    store.add_result("web", Result(False, reason=Reason.CONNECTION_REFUSED, started=NOW - 60, duration=0.01))
    await store.flush()
    await store.close()
    assert statuses(await build(config), "power") == []
