"""Alerting wired into a running `Monitor`: a probe that fails ends as an alert at a real
local receiver, through the state machine, the policy and the outbox; and a restart with a
target still down neither repeats its "down" nor fakes an "up"."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.notifiers.base import Alert
from monitor.probes import PROBES, ProbeContext, ProbeKind
from monitor.result import Event, Reason, Result, State
from monitor.runtime import Monitor
from monitor.store.sqlite.outbox import SQLiteOutbox
from tests.alertkit import receiver, target, webhook_config
from tests.waiting import until


class MemoryStore:
    """The parts of the Store the runtime uses, in memory."""

    def __init__(self, outbox_path: Path, events: dict[str, Event] | None = None) -> None:
        self.outbox_path = outbox_path
        self.events = dict(events or {})
        self.results: list[Result] = []

    def outbox(self, clock: Callable[[], float]) -> SQLiteOutbox:
        return SQLiteOutbox(self.outbox_path, clock=clock)

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def flush(self) -> None: ...

    def add_result(self, target_id: str, result: Result, maintenance: bool = False) -> None:
        self.results.append(result)

    def add_event(self, event: Event) -> None:
        self.events[event.target] = event

    async def last_events(self) -> dict[str, Event]:
        return dict(self.events)

    async def last_results(self) -> dict[str, Result]:
        return {}


class Switch:
    """A fake probe kind whose outcome the test flips."""

    def __init__(self) -> None:
        self.ok = False

    async def probe(self, target: object, ctx: ProbeContext) -> Result:
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
        monitor = Monitor(fake_config(rec.url + "/hook", tmp_path), MemoryStore(tmp_path / "monitor.db"), alerting=True)
        await monitor.start()
        try:
            await until(lambda: len(rec.accepted()) == 1, what="the down alert received")
            switch.ok = True
            # The receiver has it before the dispatcher records the answer: await both.
            await until(
                lambda: len(rec.accepted()) == 2 and drained(monitor), what="the up alert received and recorded"
            )
        finally:
            await monitor.stop()
    down, up = (r.json() for r in rec.accepted())
    assert (down["event"], down["reason"], down["new_state"]) == ("down", "connection_refused", "DOWN")
    assert (up["event"], up["id"]) == ("up", down["id"].replace(":down:", ":up:"))
    sample = monitor.registry.get_sample_value
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
    # The first run queued (and delivered) the "down", then died.
    box = SQLiteOutbox(tmp_path / "monitor.db")
    box.open()
    box.enqueue(down, ["hook"])
    head = box.head("hook")
    assert head is not None
    box.delivered(head.seq)
    box.close()
    store = MemoryStore(
        tmp_path / "monitor.db", {"web": Event("web", went_down, State.UP, State.DOWN, "connection_refused")}
    )
    with receiver() as rec:
        monitor = Monitor(fake_config(rec.url + "/hook", tmp_path), store, alerting=True)
        await monitor.start()
        try:
            assert monitor.alerting is not None
            await until(lambda: len(store.results) >= 5, what="five failed probes")  # still DOWN, no event
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
