"""The monitor's own uplink (`[monitor] connectivity`) in the checklist: configured or not
(the command), and inside the real running monitor whether it is cut off now, with the
targets it holds UNKNOWN meanwhile told apart from targets never probed."""

from __future__ import annotations

import time
from pathlib import Path

from monitor.preflight.inside import inside_checklist, window_of
from monitor.preflight.model import Moment, Status
from monitor.result import Reason, Result, State
from monitor.runtime import Monitor
from monitor.store.registry import open_store
from tests.alertkit import free_port
from tests.preflight.kit import NOW, build, row, statuses, write_config
from tests.waiting import until

CLOSED = free_port()  # nothing listens: every check and probe is refused
UPLINK = f'connectivity = ["tcp://127.0.0.1:{CLOSED}", "http://127.0.0.1:{CLOSED}/generate_204"]'
BODY = (
    f'[targets.web]\nurl = "http://127.0.0.1:{CLOSED}/"\nexternal = true\nnotify = ["hook"]\n'
    f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{CLOSED}/hook"\n'
)


async def test_configured_connectivity_checks_are_ok_for_the_command(tmp_path: Path) -> None:
    checklist = await build(write_config(tmp_path, BODY, monitor=UPLINK))
    [found] = [r for r in checklist.rows if r.check == "connectivity"]
    assert (found.status, found.found.key, found.found.values) == (Status.OK, "preflight.connectivity.ok", {"count": 2})
    assert found.ids == ("tcp-1", "http-2")  # the checks' names


async def test_a_monitor_cut_off_now_is_a_problem_and_holds_its_targets_unknown(tmp_path: Path) -> None:
    config = write_config(tmp_path, BODY, monitor=UPLINK)
    running = Monitor(config, open_store(config.settings))
    await running.start()
    try:
        window = window_of(config.watches[0])
        undecided = row(await inside_checklist(running, window, NOW), "connectivity")
        assert (undecided.status, undecided.found.key) == (Status.WARNING, "preflight.connectivity.undecided")
        web = config.targets["web"]
        for _ in range(web.success_threshold):  # web answered before
            running.record(web, Result(True, started=time.time(), duration=0.001))
        assert running.states.status("web").state is State.UP
        started = time.time()
        for _ in range(2):  # every check failing twice in a row: offline
            for check in config.settings.connectivity:
                refused = Result(False, reason=Reason.CONNECTION_REFUSED, started=time.time(), duration=0.001)
                running.record_check(check, refused)
        assert running.connectivity.offline
        refused = Result(False, reason=Reason.CONNECTION_REFUSED, started=time.time(), duration=0.001)
        running.record(web, refused)  # not reached: held, no verdict
        assert running.states.status("web").state is State.UNKNOWN
        await running.store.flush()
        await until(lambda: running.store.health().ok, what="the held event stored")
        checklist = await inside_checklist(running, window, NOW)
    finally:
        await running.stop()
    offline = row(checklist, "connectivity")
    assert (offline.status, offline.found.key, offline.ids) == (
        Status.PROBLEM,
        "preflight.connectivity.offline",
        ("tcp-1", "http-2"),
    )
    since = offline.found.values["since"]
    assert isinstance(since, Moment) and since.at >= started
    assert offline.todo is not None and offline.todo.key == "preflight.connectivity.offline_todo"
    assert (Status.WARNING, ("web",), "preflight.state.held") in statuses(checklist, "states")
    assert all("web" not in r.ids for r in checklist.rows if r.found.key == "preflight.state.no_history")
