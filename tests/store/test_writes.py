"""The history's writes on every backend: an incident event is durable before `add_event`
returns (a `kill -9` right after it loses it not), results wait for the writer's batch,
and `health()` says whether the store takes writes. What each backend keeps through
its own failures is tested with those failures: `test_sqlite_disk_full.py`,
`test_postgres_outage.py`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from monitor.result import Event, State
from monitor.store import StoreHealth
from tests.history import T0
from tests.store.conftest import StoreFactory

# Opens the running monitor's store, records one result and one event, and dies at once:
# no flush, no close, no writer batch (a second away) gets the chance to run.
CRASHING = """
import asyncio, os, signal, sys
from pathlib import Path
from monitor.config import Settings
from monitor.result import Event, Result, State
from monitor.store.registry import open_store

async def main() -> None:
    store = open_store(Settings(data_dir=Path(sys.argv[1]), store=sys.argv[2]))
    await store.open()
    at = float(sys.argv[3])
    store.add_result("web", Result(False, "timeout", duration=10.0, started=at - 10))
    store.add_event(Event("web", at, State.UP, State.DOWN, "timeout", "no answer"))
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_an_event_survives_a_kill_9_right_after_add_event_returns(backend: StoreFactory) -> None:
    settings = backend.settings
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", CRASHING, str(settings.data_dir), settings.store, str(T0)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == -9, done.stderr
    reader = await backend.open(observe=False)
    assert await reader.last_events() == {"web": Event("web", T0, State.UP, State.DOWN, "timeout", "no answer")}


async def test_its_health_says_it_takes_writes_only_while_open(backend: StoreFactory) -> None:
    store = backend.build()
    before = store.health()
    assert not before.ok and before.reason == "the store is not open"
    await store.open()
    try:
        assert store.health() == StoreHealth()
        store.add_event(Event("web", T0, State.UNKNOWN, State.UP, "ok"))
        assert store.health() == StoreHealth()
    finally:
        await store.close()
    assert not store.health().ok and not store.healthy()
