"""What the stored history says, read through the real SQLite store: states now,
flapping, availability over the last week, planned maintenance, the database's
integrity (the store backend's one check, which `monitor run` makes at start too); and
the checklist before there is any history."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from monitor import cli
from monitor.config import Config, Settings
from monitor.errors import StoreError
from monitor.preflight.model import Moment, Percent, ReasonCode, Status
from monitor.result import Event, State
from monitor.store import registry
from monitor.store.backend import CHECK_BUDGET
from monitor.store.registry import open_store
from monitor.store.sqlite.store import database_path
from tests.alertkit import free_port
from tests.preflight.kit import DAY, END, NOW, START, Clock, build, local, row, rows, statuses, write_config

H = 3600.0
NOTIFIER = f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{free_port()}/hook"\n'
TARGETS = "".join(
    f'[targets.{tid}]\nurl = "http://127.0.0.1:{free_port()}/"\n'
    for tid in ("web", "api", "slow", "flappy", "fresh", "lab")
)


def config_in(folder: Path) -> Config:
    return write_config(folder, TARGETS + NOTIFIER, defaults='notify = ["hook"]')


async def write_history(config: Config, events: list[Event]) -> None:
    """One run of the monitor from eight days ago until `NOW`, with these events."""
    clock = Clock(NOW - 8 * DAY)
    store = open_store(config.settings, clock=clock)
    await store.open()
    for event in sorted(events, key=lambda e: e.at):
        store.add_event(event)
    await store.flush()
    clock.now = NOW
    await store.close()


def up_since(tid: str, at: float) -> Event:
    return Event(tid, at, State.UNKNOWN, State.UP, "ok")


def history() -> list[Event]:
    began = NOW - 8 * DAY
    flaps = [
        Event("flappy", NOW - 600 + i * 60, State.DOWN if i % 2 else State.UP, State.UP if i % 2 else State.DOWN, "ok")
        for i in range(6)  # up, down, up, ... ending up
    ]
    return [
        *(up_since(tid, began) for tid in ("web", "api", "slow", "flappy", "lab")),
        Event("api", NOW - 2 * H, State.UP, State.DOWN, "timeout", "no answer within 2s"),
        Event("slow", NOW - H, State.UP, State.DEGRADED, "slow", "answered in 3200 ms"),
        Event("lab", NOW - H, State.UP, State.MAINTENANCE, "maintenance"),
        *flaps,
    ]


async def test_down_degraded_flapping_and_unprobed_targets_each_get_their_row(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    await write_history(config, history())
    checklist = await build(config)
    api = row(checklist, "states", "api")
    assert (api.status, api.found.key) == (Status.PROBLEM, "preflight.state.down")
    assert api.found.values == {"since": Moment(NOW - 2 * H), "reason": ReasonCode("timeout"), "count": 1}
    slow = row(checklist, "states", "slow")
    assert (slow.status, slow.found.key, slow.found.values["since"]) == (
        Status.WARNING,
        "preflight.state.degraded",
        Moment(NOW - H),
    )
    assert statuses(checklist, "states") == [
        (Status.PROBLEM, ("api",), "preflight.state.down"),
        (Status.WARNING, ("flappy",), "preflight.state.flapping"),
        (Status.WARNING, ("slow",), "preflight.state.degraded"),
        (Status.WARNING, ("fresh",), "preflight.state.no_history"),
        (Status.OK, ("lab",), "preflight.state.maintenance"),
        (Status.OK, ("web", "flappy"), "preflight.state.up"),
    ]
    flapping = [r for r in rows(checklist, "states") if r.found.key == "preflight.state.flapping"]
    assert [r.found.values for r in flapping] == [{"changes": 6, "minutes": 15}]
    assert checklist.exit_code == 1


async def test_an_availability_under_99_percent_over_the_week_is_a_warning(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    await write_history(config, history())
    checklist = await build(config)
    api = row(checklist, "availability", "api")
    assert (api.status, api.found.key) == (Status.WARNING, "preflight.availability.low")
    # Down for the last 2 of the week's 168 hours.
    assert api.found.values["percent"] == Percent(100 * (1 - 2 / 168))
    fine = row(checklist, "availability", "web")
    assert fine.status is Status.OK and "fresh" not in fine.ids and "api" not in fine.ids


async def test_without_history_a_warning_says_so_and_nothing_is_a_problem(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    checklist = await build(config)
    found = row(checklist, "history")
    assert (found.status, found.found.key) == (Status.WARNING, "preflight.history.none")
    assert found.found.values == {"where": str(database_path(config.settings))}
    assert rows(checklist, "states") == rows(checklist, "availability") == rows(checklist, "integrity") == []
    assert [r for r in checklist.rows if r.status is Status.PROBLEM] == []
    assert checklist.exit_code == 0
    assert not database_path(config.settings).exists()  # reading created nothing


async def test_maintenance_planned_inside_the_period_is_listed_as_ok_rows(tmp_path: Path) -> None:
    windows = (
        (START + DAY, START + DAY + 2 * H, "Pembaruan server"),
        (START - 10 * DAY, START - 9 * DAY, "Sudah lewat"),  # before the period: not listed
    )
    body = "".join(
        f'[[maintenance]]\ntargets = ["web"]\nstart = {local(a).isoformat()}\nend = {local(b).isoformat()}\n'
        f'reason = "{reason}"\n'
        for a, b, reason in windows
    )
    config = write_config(tmp_path, TARGETS + NOTIFIER + body, defaults='notify = ["hook"]')
    await write_history(config, [up_since("web", NOW - DAY)])
    store = open_store(config.settings, observe=False)
    await store.open()
    await store.add_maintenance(END - 3 * H, END + H, groups=["Jaringan"], reason="Ganti UPS")
    await store.close()
    checklist = await build(config)
    listed = [(r.status, r.ids, r.found.values) for r in rows(checklist, "maintenance")]
    assert listed == [
        (
            Status.OK,
            ("web",),
            {
                "start": Moment(START + DAY),
                "end": Moment(START + DAY + 2 * H),
                "groups": "—",
                "reason": "Pembaruan server",
            },
        ),
        (
            Status.OK,
            (),
            {"start": Moment(END - 3 * H), "end": Moment(END + H), "groups": "Jaringan", "reason": "Ganti UPS"},
        ),
    ]


async def test_no_maintenance_in_the_period_says_so(tmp_path: Path) -> None:
    checklist = await build(config_in(tmp_path))
    assert statuses(checklist, "maintenance") == [(Status.OK, (), "preflight.maintenance.none")]


async def test_a_sound_database_passes_the_integrity_check(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    await write_history(config, history())
    checklist = await build(config)
    assert statuses(checklist, "integrity") == [(Status.OK, (), "preflight.integrity.ok")]


async def test_a_damaged_database_fails_the_integrity_check(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    events = [up_since(f"t{i}", NOW - 8 * DAY + i) for i in range(3000)]  # a few pages of rows
    await write_history(config, events)
    path = database_path(config.settings)
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, len(data) - page, page):  # scribble over the b-tree pages, not the header
        data[offset + 8 : offset + 40] = b"\xff" * 32
    path.write_bytes(bytes(data))
    checklist = await build(config)
    assert statuses(checklist, "history") == [(Status.PROBLEM, (), "preflight.history.unreadable")]
    damaged = row(checklist, "integrity")
    assert (damaged.status, damaged.found.key) == (Status.PROBLEM, "preflight.integrity.failed")
    assert str(damaged.found.values["damage"]).startswith(f"{path} is damaged: ")  # what SQLite found, one line
    assert "\n" not in str(damaged.found.values["damage"])
    assert checklist.exit_code == 1


async def test_monitor_run_at_start_and_preflight_ask_the_one_backend_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_in(tmp_path)
    await write_history(config, history())
    sqlite = registry.BACKENDS["sqlite"]
    assert sqlite.check is not None
    asked: list[float | None] = []

    def check(settings: Settings, budget: float | None) -> bool:
        asked.append(budget)
        return sqlite.check(settings, budget) if sqlite.check is not None else True

    monkeypatch.setitem(registry.BACKENDS, "sqlite", dataclasses.replace(sqlite, check=check))
    assert cli._store_sound(config)  # what monitor run and monitor report do before starting
    checklist = await build(config)
    assert asked == [CHECK_BUDGET, None]  # at start within its budget; preflight to its end
    assert statuses(checklist, "integrity") == [(Status.OK, (), "preflight.integrity.ok")]


async def test_a_check_that_cannot_finish_is_a_warning_and_one_that_reads_no_pages_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_in(tmp_path)
    await write_history(config, history())
    sqlite = registry.BACKENDS["sqlite"]
    monkeypatch.setitem(registry.BACKENDS, "sqlite", dataclasses.replace(sqlite, check=lambda settings, budget: False))
    locked = row(await build(config), "integrity")
    assert (locked.status, locked.found.key) == (Status.WARNING, "preflight.integrity.unfinished")
    # A server's check (PostgreSQL's) finds the store usable; it reads no pages for damage.
    server = dataclasses.replace(sqlite, check=lambda settings, budget: True, reads_pages=False)
    monkeypatch.setitem(registry.BACKENDS, "sqlite", server)
    assert statuses(await build(config), "integrity") == [(Status.OK, (), "preflight.integrity.server")]

    def unreachable(settings: Settings, budget: float | None) -> bool:
        raise StoreError("cannot connect to postgresql://monitor@db.internal/monitor: refused", "database unreachable")

    monkeypatch.setitem(registry.BACKENDS, "sqlite", dataclasses.replace(server, check=unreachable))
    unusable = row(await build(config), "integrity")
    assert (unusable.status, unusable.found.key) == (Status.PROBLEM, "preflight.integrity.unusable")
    assert not cli._store_sound(config)  # and monitor run would not start on it


async def run_until(config: Config, stopped: float | None) -> Any:
    """A monitor's run from two days ago, stopped at `stopped` (None: still running at
    `NOW`, its store returned open)."""
    clock = Clock(NOW - 2 * DAY)
    store = open_store(config.settings, clock=clock)  # observing: it records its run
    await store.open()
    store.add_event(up_since("web", NOW - 2 * DAY))
    await store.flush()
    if stopped is not None:
        clock.now = stopped
        await store.close()
        return None
    clock.now = NOW
    await store.flush()
    return store


async def test_a_monitor_that_stopped_recording_is_a_warning_and_a_running_one_is_not(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = config_in(tmp_path / "a")
    store = await run_until(config, None)
    try:
        running = await build(config)
    finally:
        await store.close()
    assert statuses(running, "history") == [(Status.OK, (), "preflight.history.ok")]
    config = config_in(tmp_path / "b")
    await run_until(config, NOW - 600)  # it stopped ten minutes ago
    stopped = await build(config)
    assert statuses(stopped, "history") == [
        (Status.WARNING, (), "preflight.history.stopped"),
        (Status.OK, (), "preflight.history.ok"),
    ]


async def test_a_target_monitored_for_hours_only_is_not_judged_on_availability(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    await write_history(
        config,
        [up_since("web", NOW - 8 * DAY), Event("api", NOW - 2 * H, State.UNKNOWN, State.DOWN, "timeout")],
    )
    checklist = await build(config)
    assert statuses(checklist, "availability") == [
        (Status.WARNING, ("api",), "preflight.availability.short"),
        (Status.OK, ("web",), "preflight.availability.ok"),
    ]


async def test_findings_that_read_alike_are_one_row_naming_every_id(tmp_path: Path) -> None:
    config = config_in(tmp_path)
    down = [Event(tid, NOW - 2 * DAY, State.UP, State.DOWN, "dns_error") for tid in ("web", "api", "slow")]
    await write_history(config, [*(up_since(t, NOW - 8 * DAY) for t in ("web", "api", "slow")), *down])
    checklist = await build(config)
    (down,) = [r for r in rows(checklist, "states") if r.status is Status.PROBLEM]
    assert (down.ids, down.found.key) == (("web", "api", "slow"), "preflight.state.down_many")
    assert down.found.values == {"since": Moment(NOW - 2 * DAY), "reason": ReasonCode("dns_error"), "count": 3}
    assert checklist.count(Status.PROBLEM) == 1
