"""The monitor's own resource exhaustion is never reported as the target being DOWN: a
probe that could not run (out of descriptors or memory) is retried, counted and shown by
`/readyz`, and gives no verdict on the target."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor import runtime
from monitor.config import Config, Settings, Target
from monitor.probes import PROBES, ProbeContext, ProbeKind
from monitor.probes.network import classify
from monitor.result import Reason, Result, State
from monitor.runtime import Monitor
from monitor.web import create_app
from tests.fakestore import MemoryStore


def test_running_out_of_descriptors_is_the_monitors_error_not_the_targets() -> None:
    emfile = OSError(errno.EMFILE, "Too many open files")
    assert classify(emfile).reason == Reason.MONITOR_ERROR
    assert "Too many open files" in classify(emfile).detail
    assert classify(OSError(errno.ENFILE, "File table overflow")).reason == Reason.MONITOR_ERROR
    wrapped = httpx.ConnectError("connect failed")
    wrapped.__cause__ = emfile
    assert classify(wrapped).reason == Reason.MONITOR_ERROR
    assert classify(socket.gaierror(-2, "Name or service not known")).reason == Reason.DNS_ERROR
    assert classify(ConnectionRefusedError()).reason == Reason.CONNECTION_REFUSED


class Script:
    """A fake probe kind answering the results it was given, then passing."""

    def __init__(self, *results: Result) -> None:
        self.results = list(results)
        self.calls = 0

    async def probe(self, target: object, ctx: ProbeContext) -> Result:
        self.calls += 1
        return self.results.pop(0) if self.results else Result(True, duration=0.001, started=1.0)


OWN = Result(False, Reason.MONITOR_ERROR, "the monitor ran out of resources: Too many open files", started=1.0)


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Iterator[Script]:
    fake = Script()
    monkeypatch.setitem(PROBES, "scripted", ProbeKind("scripted", (), lambda t, u: None, fake.probe))
    monkeypatch.setattr(runtime, "OWN_ERROR_RETRIES", (0.0, 0.0))
    yield fake


def monitor_for(tmp_path: Path) -> tuple[Monitor, Target, MemoryStore]:
    web = Target(id="web", name="Website", kind="scripted", url=None, spec=None, failure_threshold=1)
    store = MemoryStore()
    config = Config(path=tmp_path / "targets.toml", settings=Settings(data_dir=tmp_path), targets={"web": web})
    return Monitor(config, store), web, store


async def test_a_probe_the_monitor_could_not_run_is_retried_and_the_retry_judges(
    script: Script, tmp_path: Path
) -> None:
    script.results = [OWN]
    monitor, web, store = monitor_for(tmp_path)
    await monitor._probe_and_record(web)
    assert script.calls == 2
    assert monitor.states.statuses["web"].state == State.UP
    assert [e.new for e in store.changes] == [State.UP]  # never DOWN on the way
    assert monitor.metrics.own_errors == 1


async def test_when_every_retry_fails_the_target_keeps_its_state_and_readyz_says_why(
    script: Script, tmp_path: Path
) -> None:
    script.results = [OWN, OWN, OWN]
    monitor, web, store = monitor_for(tmp_path)
    monitor.ready = True
    await monitor._probe_and_record(web)
    assert script.calls == 3
    assert monitor.states.statuses["web"].state == State.UNKNOWN  # no verdict: failure_threshold 1 not reached
    assert store.raw == [] and store.changes == []
    assert monitor.metrics.own_errors == 3
    assert "monitor_probe_errors_total 3" in monitor.metrics.render().decode()
    transport = httpx.ASGITransport(app=create_app(monitor))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["probing_possible"] is False
