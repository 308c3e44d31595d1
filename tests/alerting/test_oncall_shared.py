"""Two on-call desks on one store, as two instances of a cluster hold them: the one that
decides the target's alerts ("decider": its policy follows the outage) and one that only
shows it ("shower": its state is another instance's published one). What either is
asked holds on the decider once it follows the store, refusals are the same on both,
and the first acknowledgement of an incident stays whoever took the second. The store
is the real SQLite file, opened by each desk's store as two processes would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
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


@dataclass
class Instance:
    store: Store
    alerting: Alerting
    oncall: OnCall

    def queued(self, kind: str) -> list[str]:
        return sorted(e.notifier for e in self.alerting.outbox.entries(None, 1000) if e.alert.kind == kind)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


async def instance(config: Config, clock: Clock, client: httpx.AsyncClient, decides: bool) -> Instance:
    store = SQLiteStore.for_settings(config.settings)
    await store.open()
    alerting = Alerting(config, outbox=store.outbox(clock), clock=clock)
    states = StateMachine()
    states.sync(config.targets)
    oncall = OnCall(config, store, states, client, alerting, clock=clock, decides=lambda _: decides)
    await oncall.load()
    return Instance(store, alerting, oncall)


@pytest.fixture
async def pair(tmp_path: Path, client: httpx.AsyncClient) -> AsyncIterator[tuple[Instance, Instance, Clock]]:
    config, clock = duty_config(tmp_path), Clock(AT)
    decider = await instance(config, clock, client, decides=True)
    shower = await instance(config, clock, client, decides=False)
    yield decider, shower, clock
    for one in (decider, shower):
        await one.alerting.stop()
        await one.store.close()


def went_down(decider: Instance, shower: Instance, at: float) -> None:
    """The decider judged the outage; the shower shows it as published (no event)."""
    event = down(at)
    decider.store.add_event(event)
    decider.oncall.states.restore("web", State.DOWN, at, "timeout", entered_from=State.UP)
    decider.alerting.on_event(event, web(decider.alerting.config))
    shower.oncall.states.restore("web", State.DOWN, at + 0.4, "timeout", entered_from=State.UP)


async def test_an_acknowledgement_taken_on_the_other_instance_stops_the_deciders_reminders(
    pair: tuple[Instance, Instance, Clock],
) -> None:
    decider, shower, clock = pair
    went_down(decider, shower, AT)
    clock.now = AT + 5 * MIN
    ack = await shower.oncall.acknowledge("web", "Budi", "OTW")
    assert ack.since == AT + 0.4  # the start the shower knows
    await decider.oncall.follow()
    assert decider.oncall.ack_of("web") == ack  # taken during the outage: of it
    for minutes in (15, 30, 60):  # escalations and reminders come due: none is sent
        clock.now = AT + minutes * MIN
        await decider.alerting.tick()
    assert decider.queued("reminder") == [] and decider.queued("escalation") == []
    assert decider.queued("down") == ["budi"]
    (row,) = decider.oncall.overview().rows
    assert row.ack == ack


async def test_a_mute_set_on_the_other_instance_holds_the_deciders_alerts_and_unmute_there_ends_it(
    pair: tuple[Instance, Instance, Clock],
) -> None:
    decider, shower, clock = pair
    mute = await shower.oncall.mute("web", 3600.0, "Sari")
    await decider.oncall.follow()
    assert decider.oncall.overview().mutes == (mute,)
    went_down(decider, shower, AT + MIN)
    clock.now = AT + 40 * MIN
    await decider.alerting.tick()
    assert decider.alerting.outbox.entries(None, 100) == []
    await shower.oncall.unmute("web", "Sari")
    await decider.oncall.follow()
    assert decider.oncall.overview().mutes == ()
    clock.now = AT + 62 * MIN  # the next reminder of the outage (the first fell in the mute)
    await decider.alerting.tick()
    assert "budi" in decider.queued("reminder")


async def test_refusals_are_the_same_on_either_instance(pair: tuple[Instance, Instance, Clock]) -> None:
    decider, shower, _ = pair
    for one in (decider, shower):
        with pytest.raises(OnCallError) as nothing:
            await one.oncall.acknowledge("web", "Budi")  # UP on both: nothing to acknowledge
        assert nothing.value.code == "no_incident"
        with pytest.raises(OnCallError) as unknown:
            await one.oncall.mute("nope", 3600.0, "Budi")
        assert unknown.value.code == "no_target"
    await decider.oncall.mute("web", 3600.0, "Budi")
    await shower.oncall.follow()
    await shower.oncall.unmute("web", "Sari")  # muted on the other: ended here
    await decider.oncall.follow()
    with pytest.raises(OnCallError) as gone:
        await decider.oncall.unmute("web", "Budi")
    assert gone.value.code == "not_muted"


async def test_the_first_acknowledgement_of_an_incident_stays_whoever_took_the_second(
    pair: tuple[Instance, Instance, Clock],
) -> None:
    decider, shower, clock = pair
    went_down(decider, shower, AT)
    shower.oncall.states.restore("web", State.DOWN, AT, "timeout", entered_from=State.UP)  # the same start
    clock.now = AT + MIN
    first = await decider.oncall.acknowledge("web", "Budi")
    clock.now = AT + 2 * MIN
    second = await shower.oncall.acknowledge("web", "Sari")  # read from the store before judging
    assert second == first
    await shower.oncall.follow()
    assert shower.oncall.ack_of("web") == first


async def test_an_outage_that_began_after_the_acknowledgement_is_not_acknowledged(
    pair: tuple[Instance, Instance, Clock],
) -> None:
    decider, shower, clock = pair
    went_down(decider, shower, AT)
    clock.now = AT + MIN
    await shower.oncall.acknowledge("web", "Budi")
    await decider.oncall.follow()
    decider.alerting.on_event(up(AT + 2 * MIN), web(decider.alerting.config))
    decider.oncall.states.restore("web", State.UP, AT + 2 * MIN, "")
    went_down(decider, shower, AT + 3 * MIN)  # a new incident
    await decider.oncall.follow()
    assert decider.oncall.ack_of("web") is None and shower.oncall.ack_of("web") is None
    clock.now = AT + 34 * MIN
    await decider.alerting.tick()
    assert "budi" in decider.queued("reminder")


async def test_a_store_that_stops_answering_keeps_what_was_read_and_is_logged_once(
    pair: tuple[Instance, Instance, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    decider, shower, _ = pair
    mute = await shower.oncall.mute("web", 3600.0, "Sari")
    await decider.oncall.follow()
    await decider.store.close()
    for _ in range(3):
        await decider.oncall.follow()
    assert decider.oncall.overview().mutes == (mute,)
    failed = [r for r in caplog.records if r.getMessage() == "acknowledgements and mutes not read again"]
    assert len(failed) == 1
    await decider.store.open()
    await decider.oncall.follow()
    assert any(r.getMessage() == "acknowledgements and mutes read again" for r in caplog.records)
