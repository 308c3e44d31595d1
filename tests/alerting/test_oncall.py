"""The on-call desk with the real alerting and the real SQLite store: acknowledgements
and escalations survive a restart, a mute drops a target's alerts until it expires by
itself, and what cannot be done is refused with a reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from monitor.alerting.oncall import OnCall
from monitor.alerting.service import Alerting
from monitor.config import Config
from monitor.errors import OnCallError
from monitor.result import State
from monitor.state import StateMachine
from monitor.store import Store
from monitor.store.sqlite.store import SQLiteStore
from tests.alerting.oncallkit import AT, MIN, down, duty_config, up, web
from tests.alertkit import Clock


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def sqlite(config: Config) -> Store:
    return SQLiteStore.for_settings(config.settings)


def queued(alerting: Alerting, kind: str) -> list[tuple[str, str]]:
    """(alert id, notifier) of every alert of this kind in the outbox."""
    return sorted((e.alert.id, e.notifier) for e in alerting.outbox.entries(None, 1000) if e.alert.kind == kind)


async def desk(config: Config, store: Store, clock: Clock, client: httpx.AsyncClient) -> tuple[Alerting, OnCall]:
    """Alerting and its desk as `monitor run` starts them: resumed from the store."""
    alerting = Alerting(config, outbox=store.outbox(clock), clock=clock)
    states = StateMachine()
    states.sync(config.targets)
    for tid, event in (await store.last_events()).items():
        states.restore(tid, event.new, event.at, event.reason, entered_from=event.old)
        alerting.restore(tid, event.new, event.at)
    oncall = OnCall(config, store, states, client, alerting, clock=clock)
    await oncall.load()
    return alerting, oncall


def went_down(alerting: Alerting, oncall: OnCall, store: Store, at: float) -> None:
    event = down(at)
    store.add_event(event)
    oncall.states.restore("web", State.DOWN, at, "timeout", entered_from=State.UP)
    alerting.on_event(event, web(alerting.config))


async def test_an_acknowledgement_is_kept_and_quiets_its_incident_after_a_restart(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    config, clock = duty_config(tmp_path), Clock(AT)
    store = sqlite(config)
    await store.open()
    alerting, oncall = await desk(config, store, clock, client)
    went_down(alerting, oncall, store, AT)
    clock.now = AT + 5 * MIN
    ack = await oncall.acknowledge("web", "Budi", "OTW ke ruang server", via="telegram")
    assert (ack.since, ack.who, ack.note) == (AT, "Budi", "OTW ke ruang server")
    assert await oncall.acknowledge("web", "Sari") == ack  # taken already: the first keeps it
    await alerting.stop()
    await store.close()

    store = sqlite(config)
    await store.open()
    alerting, oncall = await desk(config, store, clock, client)  # the restart
    assert oncall.handled("web") and oncall.ack_of("web") == ack
    for minutes in (15, 30, 60):
        clock.now = AT + minutes * MIN
        await alerting.tick()
    assert queued(alerting, "reminder") == [] and queued(alerting, "escalation") == []
    alerting.on_event(up(clock.now), web(config))
    await oncall.tick()
    assert not oncall.handled("web") and list(oncall.acks) == [ack]  # kept as the store keeps it
    await alerting.stop()
    await store.close()


async def test_escalations_survive_a_restart(tmp_path: Path, client: httpx.AsyncClient) -> None:
    config, clock = duty_config(tmp_path), Clock(AT)
    store = sqlite(config)
    await store.open()
    alerting, oncall = await desk(config, store, clock, client)
    went_down(alerting, oncall, store, AT)
    clock.now = AT + 15 * MIN
    await alerting.tick()
    step = f"web:escalation:{AT:.0f}:duty:piket"
    assert queued(alerting, "escalation") == [(f"{step}:1", "sari")]
    await alerting.stop()
    await store.close()

    clock.now = AT + 16 * MIN
    store = sqlite(config)
    await store.open()
    alerting, oncall = await desk(config, store, clock, client)
    await alerting.start()
    await alerting.tick()
    assert queued(alerting, "escalation") == [(f"{step}:1", "sari")]  # not again
    clock.now = AT + 30 * MIN
    await alerting.tick()
    assert queued(alerting, "escalation") == [(f"{step}:1", "sari"), (f"{step}:2", "kantor")]
    alerting.on_event(up(clock.now), web(config))
    assert {n for _, n in queued(alerting, "up")} == {"budi", "sari", "kantor"}  # everyone told hears it
    await alerting.stop()
    await store.close()


async def test_a_mute_drops_alerts_until_it_ends_by_itself(tmp_path: Path, client: httpx.AsyncClient) -> None:
    config, clock = duty_config(tmp_path), Clock(AT)
    store = sqlite(config)
    await store.open()
    alerting, oncall = await desk(config, store, clock, client)
    mute = await oncall.mute("web", 3600.0, "Budi")
    assert (mute.start, mute.until) == (AT, AT + 3600.0)
    await alerting.stop()
    await store.close()
    store = sqlite(config)  # a restart keeps the quiet
    await store.open()
    alerting, oncall = await desk(config, store, clock, client)
    assert oncall.mutes.active("web", AT) == mute
    went_down(alerting, oncall, store, AT + MIN)
    for minutes in (20, 40):  # the ladder climbs, reminders come due: nothing is sent
        clock.now = AT + minutes * MIN
        await alerting.tick()
    assert alerting.outbox.entries(None, 100) == []
    (row,) = oncall.overview().rows  # still shown, with its mute
    assert (row.state, row.mute) == (State.DOWN, mute)
    clock.now = AT + 3600.0
    await oncall.tick()
    assert await store.mutes() == [] and oncall.overview().mutes == ()
    clock.now = AT + 61 * MIN  # the outage goes on: its next reminder is due (the first fell in the mute)
    await alerting.tick()
    # It reaches everyone the outage reached by now (Sari by the ladder, climbed while muted).
    assert {n for _, n in queued(alerting, "reminder")} == {"budi", "sari"}
    await alerting.stop()
    await store.close()


async def test_unmuting_ends_the_quiet_at_once_and_refuses_what_cannot_be(
    tmp_path: Path, client: httpx.AsyncClient
) -> None:
    config, clock = duty_config(tmp_path), Clock(AT)
    store = sqlite(config)
    await store.open()
    alerting, oncall = await desk(config, store, clock, client)
    await oncall.mute("web", 3600.0, "Budi")
    await oncall.unmute("web", "Budi")
    went_down(alerting, oncall, store, AT + MIN)
    assert [n for _, n in queued(alerting, "down")] == ["budi"]
    with pytest.raises(OnCallError) as refused:
        await oncall.unmute("web", "Budi")
    assert refused.value.code == "not_muted"
    with pytest.raises(OnCallError) as unknown:
        await oncall.acknowledge("nope", "Budi")
    assert unknown.value.code == "no_target"
    alerting.on_event(up(AT + 2 * MIN), web(config))
    oncall.states.restore("web", State.UP, AT + 2 * MIN, "")
    with pytest.raises(OnCallError) as nothing:
        await oncall.acknowledge("web", "Budi")
    assert nothing.value.code == "no_incident"
    window = await oncall.maintenance("web", 3600.0, "Ganti UPS", "Budi")
    assert (window.start, window.end, window.targets, window.reason) == (AT, AT + 3600.0, ("web",), "Ganti UPS")
    await alerting.stop()
    await store.close()


async def test_a_store_that_cannot_answer_at_the_start_is_logged_not_fatal(
    tmp_path: Path, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    config = duty_config(tmp_path)
    closed = sqlite(config)  # never opened: every read fails
    oncall = OnCall(config, closed, StateMachine(), client, clock=Clock(AT))
    await oncall.load()
    assert oncall.acks.by_target == {} and oncall.mutes.by_target == {}
    assert any(r.getMessage() == "acknowledgements and mutes not read" for r in caplog.records)
