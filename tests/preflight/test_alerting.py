"""Who hears of an outage: targets that alert nobody, notifiers whose deliveries fail
(a real local receiver answering 404 or 500, through the real dispatcher and outbox, or
a test message with `--send-test`), the dead-man's switch (its saved state after real
pings), and the one alert at a watch period's start."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.alerting.deadman import STATE_FILE, DeadMan
from monitor.alerting.service import Alerting
from monitor.config import Config
from monitor.preflight.inside import Announcer, announcement_id, summary_alert, window_of
from monitor.preflight.model import Moment, Status
from monitor.runtime import Monitor
from monitor.store import DELIVERED, FAILED, PENDING
from monitor.store.registry import open_store
from tests.alertkit import alert, free_port, receiver
from tests.preflight.kit import NOW, START, WATCH, Clock, Machine, build, local, row, rows, statuses, write_config
from tests.waiting import until

CLOSED = free_port()


def targets(*ids: str, notify: str = "") -> str:
    return "".join(f'[targets.{tid}]\nurl = "http://127.0.0.1:{CLOSED}/{tid}"\n{notify}' for tid in ids)


def hook(url: str, name: str = "hook", events: str = "") -> str:
    return f'[notifiers.{name}]\ntype = "webhook"\nurl = "{url}"\ntimeout = "2s"\n{events}'


async def test_a_target_without_notifiers_is_a_warning_naming_it(tmp_path: Path) -> None:
    body = targets("web", "api", notify='notify = ["hook"]\n') + targets("lab") + hook(f"http://127.0.0.1:{CLOSED}/")
    checklist = await build(write_config(tmp_path, body))
    assert statuses(checklist, "notify") == [
        (Status.WARNING, ("lab",), "preflight.notify.nobody"),
        (Status.OK, ("web", "api"), "preflight.notify.ok"),
    ]
    assert checklist.exit_code == 0


async def test_a_notifier_that_does_not_want_down_alerts_alerts_nobody(tmp_path: Path) -> None:
    body = targets("web", notify='notify = ["quiet"]\n') + hook(
        f"http://127.0.0.1:{CLOSED}/", "quiet", 'events = ["up"]\n'
    )
    checklist = await build(write_config(tmp_path, body))
    assert statuses(checklist, "notify") == [(Status.WARNING, ("web",), "preflight.notify.nobody")]


async def test_no_notifier_at_all_is_a_problem(tmp_path: Path) -> None:
    checklist = await build(write_config(tmp_path, targets("web")))
    assert statuses(checklist, "notify") == [(Status.PROBLEM, (), "preflight.notify.none")]
    assert checklist.exit_code == 1


async def deliver_through(config: Config, until_status: str) -> None:
    """One alert through the real dispatcher to the configured receiver, until its
    outbox entry (in the store's file) has `until_status` after an attempt."""
    store = open_store(config.settings, clock=Clock())
    await store.open()
    alerting = Alerting(config, outbox=store.outbox(Clock()), clock=Clock())
    await alerting.start()
    try:
        assert alerting.announce(alert("web:down:1"), ["hook"]) == ["hook"]
        await until(
            lambda: any(
                e.status == until_status and e.attempts + (e.status != PENDING) > 0 for e in alerting.outbox.entries()
            ),
            what=until_status,
        )
    finally:
        await alerting.stop()
        await store.close()


@pytest.mark.parametrize(("status", "outcome"), [(404, FAILED), (500, PENDING)])
async def test_a_notifier_whose_endpoint_fails_is_a_problem(tmp_path: Path, status: int, outcome: str) -> None:
    with receiver(status=status) as rec:
        config = write_config(tmp_path, targets("web", notify='notify = ["hook"]\n') + hook(rec.url + "/hook"))
        await deliver_through(config, outcome)
        assert len(rec.requests) == 1
    checklist = await build(config)
    found = row(checklist, "notifiers", "hook")
    assert (found.status, found.found.key) == (Status.PROBLEM, "preflight.notifier.failing")
    assert str(status) in str(found.found.values["error"]) and found.found.values["at"] == Moment(NOW)
    assert checklist.exit_code == 1


async def test_a_test_message_through_a_notifier_that_failed_before_turns_its_problem_into_a_warning(
    tmp_path: Path,
) -> None:
    with receiver(status=404) as rec:
        config = write_config(tmp_path, targets("web", notify='notify = ["hook"]\n') + hook(rec.url + "/hook"))
        await deliver_through(config, FAILED)
        rec.status = 200  # fixed since
        checklist = await build(config, send_test=True)
    assert statuses(checklist, "notifiers") == [
        (Status.WARNING, ("hook",), "preflight.notifier.failing"),
        (Status.OK, ("hook",), "preflight.notifier.test_delivered"),
    ]
    failing = rows(checklist, "notifiers")[0]
    assert failing.todo is not None and failing.todo.key == "preflight.notifier.tested_todo"
    assert checklist.exit_code == 0


async def test_a_notifier_that_delivered_is_ok_and_one_never_used_suggests_a_test(tmp_path: Path) -> None:
    with receiver() as rec:
        body = targets("web", notify='notify = ["hook", "spare"]\n') + hook(rec.url + "/hook") + hook(rec.url, "spare")
        config = write_config(tmp_path, body)
        await deliver_through(config, DELIVERED)
    checklist = await build(config)
    assert statuses(checklist, "notifiers") == [
        (Status.WARNING, ("spare",), "preflight.notifier.unused"),
        (Status.OK, ("hook",), "preflight.notifier.ok"),
    ]
    unused = row(checklist, "notifiers", "spare")
    assert unused.todo is not None and unused.todo.key == "preflight.notifier.unused_todo"


async def test_send_test_reports_each_notifiers_result_as_a_row(tmp_path: Path) -> None:
    with receiver() as good, receiver(status=404, body=b"no_service") as bad:
        body = (
            targets("web", notify='notify = ["good", "bad"]\n') + hook(good.url + "/t", "good") + hook(bad.url, "bad")
        )
        checklist = await build(write_config(tmp_path, body), send_test=True)
        assert [r.json()["event"] for r in good.requests] == ["test"]
    assert statuses(checklist, "notifiers") == [
        (Status.PROBLEM, ("bad",), "preflight.notifier.test_failed"),
        (Status.OK, ("good",), "preflight.notifier.test_delivered"),
    ]
    assert "404" in str(row(checklist, "notifiers", "bad").found.values["error"])
    assert checklist.exit_code == 1


async def ping(config: Config, at: float) -> None:
    """One real ping of the configured heartbeat URL at `at`, its state saved."""
    data = config.settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    switch = DeadMan(
        lambda: config.settings.heartbeat_url, lambda: True, clock=Clock(at), state_file=lambda: data / STATE_FILE
    )
    try:
        await switch.tick()
    finally:
        await switch.aclose()


async def test_a_dead_mans_switch_url_that_fails_is_a_problem_without_its_secret(tmp_path: Path) -> None:
    with receiver(status=500) as rec:
        url = rec.url + "/ping/5b1f0c7e-secret-check-key"
        config = write_config(
            tmp_path, targets("web") + hook(rec.url), monitor=f'heartbeat_url = "{url}"', defaults='notify = ["hook"]'
        )
        await ping(config, NOW - 60)
    checklist = await build(config)
    found = row(checklist, "deadman")
    assert (found.status, found.found.key) == (Status.PROBLEM, "preflight.deadman.failing")
    assert found.found.values == {"at": Moment(NOW - 60), "error": "HTTP 500 Internal Server Error"}
    assert checklist.exit_code == 1


@pytest.mark.parametrize(
    ("ago", "status", "key"),
    [(30, Status.OK, "preflight.deadman.ok"), (600, Status.PROBLEM, "preflight.deadman.stale")],
)
async def test_the_dead_mans_switch_must_have_been_answered_recently(
    tmp_path: Path, ago: float, status: Status, key: str
) -> None:
    with receiver() as rec:
        config = write_config(tmp_path, targets("web") + hook(rec.url), monitor=f'heartbeat_url = "{rec.url}/ping/k"')
        await ping(config, NOW - ago)
    checklist = await build(config)
    assert statuses(checklist, "deadman") == [(status, (), key)]


async def test_a_switch_never_pinged_or_pinged_at_another_url_is_a_warning(tmp_path: Path) -> None:
    with receiver() as rec:
        config = write_config(tmp_path, targets("web") + hook(rec.url), monitor=f'heartbeat_url = "{rec.url}/ping/old"')
        fresh = await build(config)
        await ping(config, NOW - 30)
        moved = write_config(tmp_path, targets("web") + hook(rec.url), monitor=f'heartbeat_url = "{rec.url}/ping/new"')
    assert statuses(fresh, "deadman") == [(Status.WARNING, (), "preflight.deadman.never")]
    assert statuses(await build(moved), "deadman") == [(Status.WARNING, (), "preflight.deadman.never")]
    unset = write_config(tmp_path, targets("web") + hook(rec.url))
    assert statuses(await build(unset), "deadman") == [(Status.WARNING, (), "preflight.deadman.off")]


@dataclasses.dataclass
class Running:
    """The parts of the running monitor the announcement reads."""

    config: Config
    store: Any
    alerting: Alerting
    deadman: None = None


async def test_at_the_watch_start_one_alert_tells_the_checklists_result(tmp_path: Path) -> None:
    with receiver() as rec:
        body = targets("web", notify='notify = ["hook"]\n') + targets("lab") + hook(rec.url + "/hook")
        config = write_config(tmp_path, body)
        clock = Clock(START - 60)
        store = open_store(config.settings, clock=clock)
        await store.open()
        alerting = Alerting(config, outbox=store.outbox(clock), clock=clock)
        await alerting.start()
        running = Running(config, store, alerting)
        announcer = Announcer(running, alerting, clock=clock, host=Machine().host())
        try:
            await announcer.tick()  # before the start: nothing
            clock.now = START + 60
            await announcer.tick()
            await until(lambda: len(rec.accepted()) == 1, what="the announcement")
            await announcer.tick()
            await Announcer(running, alerting, clock=clock, host=Machine().host()).tick()  # as after a restart
        finally:
            await alerting.stop()
            await store.close()
    assert len(rec.requests) == 1
    sent = rec.requests[0].json()
    window = window_of(config.watches[0])
    assert (sent["event"], sent["id"]) == ("preflight", announcement_id(window))
    checks = sent["checks"]
    assert checks["problems"] == 0 and checks["warnings"] >= 2 and checks["ok"] >= 1
    assert sent["title"] == f"⚠️ Siap libur ({WATCH}): {checks['ok']} ok, {checks['warnings']} peringatan, 0 masalah"
    assert f"Masa pemantauan {WATCH} dimulai" in sent["text"]
    assert "Penerima peringatan (lab)" in sent["text"]  # the warning, in words, with its id


async def test_the_announcement_links_to_the_admin_views_checklist_only_while_it_is_on(tmp_path: Path) -> None:
    body = targets("web", notify='notify = ["hook"]\n') + hook(f"http://127.0.0.1:{CLOSED}/")
    config = write_config(tmp_path, body, monitor='public_url = "https://status.kotimkab.go.id"')
    checklist = await build(config)
    ident = announcement_id(window_of(config.watches[0]))
    on = summary_alert(config, checklist, ident, admin_view=True)
    assert (on.url, on.admin_url, on.link) == (None, "https://status.kotimkab.go.id/admin#preflight", on.admin_url)
    off = summary_alert(config, checklist, ident, admin_view=False)
    assert (off.url, off.admin_url) == (None, None)  # /admin answers 404 then: no link


async def test_a_watch_that_began_long_ago_is_not_announced(tmp_path: Path) -> None:
    config = write_config(tmp_path, targets("web") + hook(f"http://127.0.0.1:{CLOSED}/"))
    clock = Clock(START + 2 * 3600)
    assert Announcer(Running(config, None, None), None, clock=clock).due(clock()) == []  # type: ignore[arg-type]


async def test_the_running_monitor_announces_a_watch_that_just_began(tmp_path: Path) -> None:
    with receiver() as rec:
        begun = time.time() - 30  # the running monitor's own clock
        config = write_config(tmp_path, targets("web", notify='notify = ["hook"]\n') + hook(rec.url + "/hook"))
        watch = dataclasses.replace(config.watches[0], start=local(begun), end=local(begun + 86400))
        config = dataclasses.replace(config, watches=(watch,))
        monitor = Monitor(config, open_store(config.settings), alerting=True)
        await monitor.start()
        try:
            await until(lambda: [r.json()["event"] for r in rec.accepted()] == ["preflight"], what="the announcement")
        finally:
            await monitor.stop()
