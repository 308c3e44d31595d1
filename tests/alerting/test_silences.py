"""A real Alertmanager (Debian's prometheus-alertmanager) receives the silence of a mute
or an acknowledgement and sees it expire when the mute is removed or the outage ends."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.alerting.oncall import OnCall
from monitor.alerting.service import Alerting
from monitor.alerting.silences import Silences
from monitor.config import Config
from monitor.config.loader import load_config
from monitor.result import Event, State
from monitor.state import StateMachine
from monitor.store.sqlite.store import SQLiteStore
from tests.alertkit import Clock, free_port
from tests.integration import need
from tests.live import process

pytestmark = pytest.mark.integration

CONFIG = """
route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = need("/usr/bin/prometheus-alertmanager", "prometheus-alertmanager")
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        binary,
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with process(args, f"{url}/-/ready", tmp_path / "alertmanager.log"):
        yield url


def config_for(folder: Path, url: str, silences: bool = True) -> Config:
    path = folder / "targets.toml"
    path.write_text(
        f"""
[notifiers.am]
type = "alertmanager"
url = "{url}"
silences = {str(silences).lower()}
labels = {{ team = "infra" }}

[targets.web]
name = "Website"
url = "http://127.0.0.1:9/"
notify = ["am"]
""",
        encoding="utf-8",
    )
    return load_config(path, env={})


def silences(url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v2/silences", timeout=5)
    response.raise_for_status()
    return list(response.json())


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


async def desk(config: Config, client: httpx.AsyncClient, clock: Clock) -> tuple[OnCall, Alerting, SQLiteStore]:
    store = SQLiteStore.for_settings(config.settings)
    await store.open()
    alerting = Alerting(config, outbox=store.outbox(clock), clock=clock, client=client)
    states = StateMachine()
    states.sync(config.targets)
    return OnCall(config, store, states, client, alerting, clock=clock), alerting, store


async def test_a_mute_creates_a_silence_and_unmuting_expires_it(
    alertmanager: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    clock = Clock(time.time())
    oncall, alerting, store = await desk(config_for(tmp_path, alertmanager), client, clock)
    mute = await oncall.mute("web", 3600.0, "Budi")
    ((notifier, ident),) = mute.silences
    (silence,) = silences(alertmanager)
    assert notifier == "am" and silence["id"] == ident and silence["status"]["state"] == "active"
    assert sorted((m["name"], m["value"], m["isEqual"]) for m in silence["matchers"]) == [
        ("target", "web", True),
        ("team", "infra", True),
    ]
    assert silence["createdBy"] == "Budi" and "muted by Budi for 1h" in silence["comment"]
    await oncall.unmute("web", "Budi")
    (expired,) = silences(alertmanager)
    assert expired["id"] == ident and expired["status"]["state"] == "expired"
    await alerting.stop()
    await store.close()


async def test_an_acknowledgements_silence_expires_when_its_outage_ends(
    alertmanager: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    now = time.time()
    clock = Clock(now)
    config = config_for(tmp_path, alertmanager)
    oncall, alerting, store = await desk(config, client, clock)
    alerting.on_event(Event("web", now - 60, State.UP, State.DOWN, "timeout"), config.targets["web"])
    ack = await oncall.acknowledge("web", "Sari", "ganti kabel")
    (silence,) = silences(alertmanager)
    assert ack.silences == (("am", silence["id"]),) and silence["status"]["state"] == "active"
    assert "acknowledged by Sari: ganti kabel" in silence["comment"]
    await oncall.tick()
    assert silences(alertmanager)[0]["status"]["state"] == "active"  # still down
    alerting.on_event(Event("web", now, State.DOWN, State.UP, ""), config.targets["web"])
    await oncall.tick()
    assert silences(alertmanager)[0]["status"]["state"] == "expired"
    await alerting.stop()
    await store.close()


async def test_with_alertmanager_unreachable_the_mute_still_holds(
    tmp_path: Path, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    clock = Clock(1_800_000_000.0)
    oncall, alerting, store = await desk(config_for(tmp_path, closed), client, clock)
    mute = await oncall.mute("web", 600.0, "Budi")
    assert mute.silences == () and oncall.mutes.active("web", clock.now) == mute
    assert any(r.getMessage() == "silence not created" for r in caplog.records)
    assert oncall.silences.receivers(oncall.config.targets["web"]) == ["am"]
    off = config_for(tmp_path, closed, silences=False)  # the option off: no silence is asked for
    assert Silences(client, off).receivers(off.targets["web"]) == []
    await alerting.stop()
    await store.close()
