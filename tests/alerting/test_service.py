"""Alerting wired into a running `Monitor`: a probe that fails ends as an alert at a real
local receiver, through the state machine, the policy and the outbox; and a restart with a
target still down neither repeats its "down" nor fakes an "up"."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from monitor.config import Config, Settings
from monitor.notifiers.base import Alert
from monitor.probes import PROBES, ProbeContext, ProbeKind
from monitor.result import Event, Reason, Result, State
from monitor.runtime import Monitor
from monitor.store.registry import open_store
from tests.alertkit import receiver, target, webhook_config
from tests.waiting import until


class Switch:
    """A fake probe kind whose outcome the test flips."""

    def __init__(self) -> None:
        self.ok = False
        self.calls = 0

    async def probe(self, target: object, ctx: ProbeContext) -> Result:
        self.calls += 1
        if self.ok:
            return Result(True, duration=0.001, started=time.time())
        return Result(False, Reason.CONNECTION_REFUSED, "refused", started=time.time())


@pytest.fixture
def switch(monkeypatch: pytest.MonkeyPatch) -> Switch:
    fake = Switch()
    monkeypatch.setitem(PROBES, "fake", ProbeKind("fake", (), lambda t, u: None, fake.probe))
    return fake


def fake_config(url: str, data_dir: Path) -> Config:
    config = webhook_config(url, data_dir=data_dir)
    web = target(
        "web",
        "Website",
        ("hook",),
        group="Layanan publik",
        interval=0.1,
        timeout=0.1,
        failure_threshold=2,
        success_threshold=2,
    )
    return dataclasses.replace(config, targets={"web": dataclasses.replace(web, kind="fake")})


def drained(monitor: Monitor) -> bool:
    """Nothing waits in the outbox: every queued alert's outcome is recorded."""
    assert monitor.alerting is not None
    return monitor.alerting.queue_sizes() == {"hook": 0}


async def test_a_failing_target_reaches_the_receiver_and_the_metrics(tmp_path: Path, switch: Switch) -> None:
    with receiver() as rec:
        config = fake_config(rec.url + "/hook", tmp_path)
        monitor = Monitor(config, open_store(config.settings), alerting=True)
        await monitor.start()
        try:
            await until(lambda: len(rec.accepted()) == 1, what="the down alert received")
            switch.ok = True
            await until(lambda: len(rec.accepted()) == 2, what="the up alert received")
            # The receiver has it; the dispatcher counts it once the answer is back.
            sample = monitor.registry.get_sample_value
            await until(
                lambda: sample("monitor_notifications_total", {"notifier": "hook", "result": "sent"}) == 2,
                what="the up alert counted as sent",
            )
        finally:
            await monitor.stop()
    down, up = (r.json() for r in rec.accepted())
    assert (down["event"], down["reason"], down["new_state"]) == ("down", "connection_refused", "DOWN")
    assert (up["event"], up["id"]) == ("up", down["id"].replace(":down:", ":up:"))
    assert sample("monitor_notifications_total", {"notifier": "hook", "result": "sent"}) == 2
    assert sample("monitor_notification_queue", {"notifier": "hook"}) == 0


async def test_a_restart_while_down_sends_no_duplicate_down_and_no_false_up(tmp_path: Path, switch: Switch) -> None:
    went_down = time.time() - 600
    down = Alert(
        id=f"web:down:{round(went_down)}",
        kind="down",
        target="web",
        name="Website",
        group="Layanan publik",
        old="UP",
        new="DOWN",
        reason="connection_refused",
        at=went_down,
        since=went_down,
    )
    # The first run recorded the outage, queued (and delivered) its "down", then died.
    first = open_store(Settings(data_dir=tmp_path))
    await first.open()
    first.add_event(Event("web", went_down, State.UP, State.DOWN, "connection_refused"))
    await first.close()
    box = first.outbox(time.time)
    box.open()
    box.enqueue(down, ["hook"])
    head = box.head("hook")
    assert head is not None
    box.delivered(head.seq)
    box.close()
    with receiver() as rec:
        config = fake_config(rec.url + "/hook", tmp_path)
        monitor = Monitor(config, open_store(config.settings), alerting=True)
        await monitor.start()
        try:
            assert monitor.alerting is not None
            await until(lambda: switch.calls >= 5, what="five failed probes")  # still DOWN, no event
            await monitor.alerting.tick()  # the restored outage's "down" is offered again
            # Anything queued stays pending until sent: none pending, none sent, none to come.
            await until(lambda: drained(monitor), what="nothing left to send")
            assert rec.requests == []
            assert monitor.states.status("web").state == State.DOWN
            switch.ok = True
            await until(lambda: len(rec.accepted()) == 1, what="the up alert received")
        finally:
            await monitor.stop()
    (up,) = (r.json() for r in rec.accepted())
    assert (up["event"], up["id"]) == ("up", f"web:up:{round(went_down)}")
    assert up["duration_seconds"] >= 600


async def test_a_restart_in_maintenance_while_down_keeps_the_outage_through_the_window(
    tmp_path: Path, switch: Switch
) -> None:
    went_down = time.time() - 600
    down = Alert(
        id=f"web:down:{round(went_down)}",
        kind="down",
        target="web",
        name="Website",
        group="Layanan publik",
        old="UP",
        new="DOWN",
        reason="connection_refused",
        at=went_down,
        since=went_down,
    )
    # The first run saw the outage, announced it, put the target into maintenance, died.
    first = open_store(Settings(data_dir=tmp_path))
    await first.open()
    window = await first.add_maintenance(went_down + 60, time.time() + 3600, ["web"], [], "Ganti UPS")
    first.add_event(Event("web", went_down, State.UP, State.DOWN, "connection_refused"))
    first.add_event(Event("web", went_down + 60, State.DOWN, State.MAINTENANCE, "maintenance"))
    await first.close()
    box = first.outbox(time.time)
    box.open()
    box.enqueue(down, ["hook"])
    head = box.head("hook")
    assert head is not None
    box.delivered(head.seq)
    box.close()
    with receiver() as rec:
        config = fake_config(rec.url + "/hook", tmp_path)
        monitor = Monitor(config, open_store(config.settings), alerting=True)
        await monitor.start()
        try:
            assert monitor.alerting is not None
            status = monitor.states.status("web")
            assert (status.state, status.underlying) == (State.MAINTENANCE, State.DOWN)
            await monitor.store.remove_maintenance(window.id)  # the window ends, still down
            await monitor._apply_maintenance_job()  # the 5-second housekeeping tick
            assert monitor.states.status("web").state == State.DOWN
            await monitor.alerting.tick()
            switch.ok = True
            await until(lambda: any(r.json()["event"] == "up" for r in rec.accepted()), what='the "up" delivered')
            await monitor.store.flush()
            incidents = await monitor.store.incidents(["web"], went_down - 1, time.time())
            stored = await monitor.store.events(["web"], went_down - 1, time.time() + 1)
        finally:
            await monitor.stop()
    assert [r.json()["event"] for r in rec.accepted()] == ["up"]  # no second "down"
    assert rec.accepted()[0].json()["id"] == f"web:up:{round(went_down)}"
    assert [(e.old, e.new) for e in reversed(stored)] == [
        (State.UP, State.DOWN),
        (State.DOWN, State.MAINTENANCE),
        (State.MAINTENANCE, State.DOWN),
        (State.DOWN, State.UP),
    ]
    assert [(p.start, p.maintenance[0][0]) for p in incidents] == [(went_down, went_down + 60)]
