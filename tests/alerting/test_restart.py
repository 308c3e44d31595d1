"""A restart resumes the alert policy where it was: from the restored state and from what
the outbox says was last sent about each target. An outage announced before is open at
once (its recovery is announced however soon it comes), a flapping target stays silent
until "stable", and a state change survives a `kill -9` of a real `monitor run`."""

from __future__ import annotations

import contextlib
import itertools
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from monitor.alerting.service import Alerting
from monitor.config import Config
from monitor.result import Event, State
from monitor.store.sqlite.outbox import SQLiteOutbox
from tests.alertkit import Clock, Receiver, free_port, receiver, webhook_config
from tests.waiting import until, wait_for

T = 1_800_000_000.0


def kinds(rec: Receiver) -> list[str]:
    return [r.json()["event"] for r in rec.accepted()]


@contextlib.asynccontextmanager
async def alerting(config: Config, db: Path, clock: Clock) -> Iterator[Alerting]:  # type: ignore[misc]
    service = Alerting(config, outbox=SQLiteOutbox(db, clock=clock), clock=clock, backoff_base=0.01)
    yield service
    await service.stop()


async def test_an_outage_announced_before_a_restart_gets_its_up_however_soon_it_ends(tmp_path: Path) -> None:
    clock, db = Clock(T), tmp_path / "monitor.db"
    with receiver() as rec:
        config = webhook_config(rec.url + "/hook")
        web = config.targets["web"]
        async with alerting(config, db, clock) as first:
            await first.start()
            first.on_event(Event("web", T, State.UP, State.DOWN, "timeout"), web)
            await until(lambda: kinds(rec) == ["down"], what="the down")
        clock.now = T + 600
        async with alerting(config, db, clock) as second:
            second.restore("web", State.DOWN, T)
            await second.start()
            clock.now += 1  # one second after the start, before any tick
            second.on_event(Event("web", clock.now, State.DOWN, State.UP, "ok"), web)
            await until(lambda: kinds(rec) == ["down", "up"], what="the up")
    up = rec.accepted()[1].json()
    assert (up["id"], up["duration_seconds"]) == (f"web:up:{round(T)}", 601)


async def test_a_target_flapping_before_a_restart_gets_no_down_after_it(tmp_path: Path) -> None:
    clock, db = Clock(T), tmp_path / "monitor.db"
    states = [State.UP, State.DOWN, State.UP, State.DOWN, State.UP, State.DOWN]
    with receiver() as rec:
        config = webhook_config(rec.url + "/hook")
        web = config.targets["web"]
        async with alerting(config, db, clock) as first:
            await first.start()
            for old, new in itertools.pairwise(states):  # five changes: flapping
                first.on_event(Event("web", clock.now, old, new, "timeout"), web)
                clock.now += 10
            await until(lambda: len(rec.accepted()) == 5, what="the alerts before the restart")
        last_change = clock.now - 10
        async with alerting(config, db, clock) as second:
            second.restore("web", State.DOWN, last_change)
            await second.start()
            await second.tick()
            queued = [e.alert.kind for e in reversed(second.outbox.entries())]
            assert queued == ["down", "up", "down", "up", "flapping"]  # no "down" after the restart
            clock.now = last_change + second.policy.flap_window  # quiet for the flap window
            await second.tick()
            await until(lambda: len(rec.accepted()) == 7, what="stable, then the state it rests in")
    assert kinds(rec)[5:] == ["stable", "down"]  # as without a restart: it came to rest DOWN


async def test_an_up_a_crash_kept_from_the_outbox_is_sent_after_the_restart(tmp_path: Path) -> None:
    clock, db = Clock(T), tmp_path / "monitor.db"
    with receiver() as rec:
        config = webhook_config(rec.url + "/hook")
        async with alerting(config, db, clock) as first:
            await first.start()
            first.on_event(Event("web", T, State.UP, State.DOWN, "timeout"), config.targets["web"])
            await until(lambda: kinds(rec) == ["down"], what="the down")
        # The UP event was stored, the process died before its "up" was queued.
        clock.now = T + 120
        async with alerting(config, db, clock) as second:
            second.restore("web", State.UP, T + 60)
            await second.start()
            await until(lambda: kinds(rec) == ["down", "up"], what="the lost up")
    assert rec.accepted()[1].json()["id"] == f"web:up:{round(T)}"


async def test_an_outage_not_announced_before_a_restart_gets_its_down_at_the_start(tmp_path: Path) -> None:
    clock = Clock(T + 30)
    with receiver() as rec:
        config = webhook_config(rec.url + "/hook")
        async with alerting(config, tmp_path / "monitor.db", clock) as service:
            service.restore("web", State.DOWN, T)
            await service.start()  # no tick
            await until(lambda: kinds(rec) == ["down"], what="the down")
    assert rec.accepted()[0].json()["id"] == f"web:down:{round(T)}"


# -- a real process, killed -----------------------------------------------------------


def config_text(port: int, site: str, hook: str) -> str:
    return (
        f'[monitor]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\n'
        f'[notifiers.hook]\ntype = "webhook"\nurl = "{hook}"\n'
        f'[targets.web]\nurl = "{site}/health"\ninterval = "200ms"\ntimeout = "150ms"\n'
        'failure_threshold = 1\nsuccess_threshold = 1\nnotify = ["hook"]\n'
    )


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def run(path: Path) -> subprocess.Popen[bytes]:
        log = open(tmp_path / "monitor.log", "ab")  # noqa: SIM115 (the child writes it)
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        log.close()
        procs.append(proc)
        return proc

    yield run
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def delivered(db: Path, kind: str) -> bool:
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        found = conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = ? AND status = 'delivered'", (kind,))
        return bool(found.fetchone()[0])


def wait(check: Callable[[], object], what: str) -> None:
    """`wait_for`, looking often: the kill -9 must land right after the "down" is delivered."""
    wait_for(check, 30, what=what, every=0.005)


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def queued(db: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        return conn.execute("SELECT kind, status FROM outbox ORDER BY seq").fetchall()


def stored_events(db: Path) -> list[tuple[float, str, str]]:
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        try:
            return conn.execute("SELECT at, old, new FROM events ORDER BY at, id").fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []


def test_a_state_change_survives_a_kill_9_and_the_recovery_after_the_restart_is_announced(
    tmp_path: Path, start: object
) -> None:
    db, port = tmp_path / "data" / "monitor.db", free_port()
    with receiver() as site, receiver() as hook:
        path = tmp_path / "targets.toml"
        path.write_text(config_text(port, site.url, hook.url + "/hook"))
        first = start(path)  # type: ignore[operator]
        wait(lambda: any(new == "UP" for _, _, new in stored_events(db)), what="web UP")
        site.status = 503
        # Killed as soon as the "down" is recorded as delivered: tens of milliseconds after
        # the change of state, long before the writer's next batch.
        wait(lambda: delivered(db, "down"), what="the down delivered")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        down_at = hook.accepted()[0].json()["since"]
        assert [(old, new) for _, old, new in stored_events(db)] == [("UNKNOWN", "UP"), ("UP", "DOWN")]
        went_down = stored_events(db)[-1][0]

        site.status = 200  # it recovers while the monitor is dead
        start(path)  # type: ignore[operator]
        wait(lambda: len(hook.accepted()) == 2, what="the up after the restart")
        wait(lambda: ready(port), what="ready")
    # Anything wrong (a second "down" at the restore or the start) was queued before it.
    assert queued(db) == [("down", "delivered"), ("up", "delivered")]
    assert [r.json()["event"] for r in hook.accepted()] == ["down", "up"]
    up = hook.accepted()[1].json()
    assert (up["id"], up["since"]) == (f"web:up:{round(went_down)}", down_at)
    # The restart resumed DOWN from the stored event (no new UNKNOWN start, no late DOWN);
    # the recovery's event may land a moment after its alert on a loaded machine.
    wait(lambda: len(stored_events(db)) >= 3, what="the recovery stored")
    assert [(old, new) for _, old, new in stored_events(db)] == [("UNKNOWN", "UP"), ("UP", "DOWN"), ("DOWN", "UP")]
    assert stored_events(db)[1][0] == went_down
