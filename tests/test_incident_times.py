"""An outage's times, end to end through a real `monitor run`: it begins at the first
failed probe of its streak and ends at the first passed probe of the streak that brought
the target back, and the stored events, the stored incident, the alerts, the API and the
report (`monitor report`) all say so. A restart in the middle of the outage keeps its
alert ids."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from monitor.config.loader import load_config
from monitor.result import Event, State
from monitor.store import StoredResult
from monitor.store.registry import open_store
from monitor.web.templating import isotime
from tests.alertkit import Receiver, free_port, receiver


def config_text(port: int, site: str, hook: str) -> str:
    return (
        f'[monitor]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\ntimezone = "Asia/Jakarta"\n'
        f'[notifiers.hook]\ntype = "webhook"\nurl = "{hook}"\n'
        f'[targets.web]\nurl = "{site}/health"\ninterval = "200ms"\ntimeout = "150ms"\n'
        'failure_threshold = 3\nsuccess_threshold = 2\nnotify = ["hook"]\n'
    )


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def run() -> subprocess.Popen[bytes]:
        log = open(tmp_path / "monitor.log", "ab")  # noqa: SIM115 (the child writes it)
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", "targets.toml"],
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


def wait_for(check: object, seconds: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} not met within {seconds} s"
        time.sleep(0.01)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def events(rec: Receiver) -> list[str]:
    return [r.json()["event"] for r in rec.accepted()]


def ready(port: int) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    return False


async def history(tmp_path: Path) -> tuple[list[Event], list[StoredResult]]:
    store = open_store(load_config(tmp_path / "targets.toml").settings, observe=False)
    await store.open()
    try:
        found = await store.events(["web"], 0, 4e9)
        return sorted(found, key=lambda e: e.at), await store.results("web", 0, 4e9)
    finally:
        await store.close()


def first_of_streak(results: list[StoredResult], ok: bool, after: float) -> float:
    return next(r.at for r in results if r.at > after and r.ok == ok)


def iso_utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_an_outage_is_dated_from_its_first_failed_probe_to_its_first_passed_one_everywhere(
    tmp_path: Path, start: object
) -> None:
    port = free_port()
    with receiver() as site, receiver() as hook:
        (tmp_path / "targets.toml").write_text(config_text(port, site.url, hook.url + "/hook"))
        proc = start()  # type: ignore[operator]
        wait_for(lambda: ready(port), what="monitor run ready")
        wait_for(lambda: any(r.path == "/health" for r in site.requests), what="the first probe")
        site.status = 503
        wait_for(lambda: events(hook) == ["down"], what="the down")
        site.status = 200
        wait_for(lambda: events(hook) == ["down", "up"], what="the up")
        api = httpx.get(f"http://127.0.0.1:{port}/api/v1/incidents", timeout=5).json()["incidents"]
        stop(proc)
    stored, results = asyncio.run(history(tmp_path))
    up_at = first_of_streak(results, True, 0)
    began = first_of_streak(results, False, up_at)
    ended = first_of_streak(results, True, began)
    assert [(e.new, e.at) for e in stored] == [(State.UP, up_at), (State.DOWN, began), (State.UP, ended)]

    down, up = (r.json() for r in hook.accepted())
    assert (down["id"], down["since"], down["at"]) == (f"web:down:{round(began)}", iso_utc(began), iso_utc(began))
    assert (up["id"], up["since"], up["at"]) == (f"web:up:{round(began)}", iso_utc(began), iso_utc(ended))
    assert up["duration_seconds"] == pytest.approx(ended - began)

    assert [(i["start"], i["end"], i["ongoing"]) for i in api] == [(isotime(began), isotime(ended), False)]

    window = ["--from", "2000-01-01", "--to", "2100-01-01"]
    report = subprocess.run(
        [sys.executable, "-m", "monitor", "report", "-c", "targets.toml", *window, "--format", "csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    summary, incidents = report.split("\n\n")
    zone = load_config(tmp_path / "targets.toml").settings.zone
    row = next(r for r in csv.DictReader(io.StringIO(incidents)))
    assert (row["start"], row["end"]) == (
        datetime.fromtimestamp(began, zone).isoformat(),
        datetime.fromtimestamp(ended, zone).isoformat(),
    )
    assert float(row["length_seconds"]) == pytest.approx(ended - began, abs=0.001)
    web = next(r for r in csv.DictReader(io.StringIO(summary)) if r["target"] == "web")
    assert float(web["downtime_seconds"]) == pytest.approx(ended - began, abs=0.001)


def test_a_restart_during_an_outage_keeps_its_alert_ids(tmp_path: Path, start: object) -> None:
    port = free_port()
    with receiver() as site, receiver() as hook:
        (tmp_path / "targets.toml").write_text(config_text(port, site.url, hook.url + "/hook"))
        first = start()  # type: ignore[operator]
        wait_for(lambda: ready(port), what="monitor run ready")
        wait_for(lambda: any(r.path == "/health" for r in site.requests), what="the first probe")
        site.status = 503
        wait_for(lambda: events(hook) == ["down"], what="the down")
        stop(first)
        probes = len(site.requests)
        start()  # type: ignore[operator]
        wait_for(lambda: ready(port), what="monitor run ready again")
        # More failed probes after the restart than the failure threshold: a new outage
        # would have been declared by now.
        wait_for(lambda: len(site.requests) >= probes + 5, what="five probes after the restart")
        site.status = 200
        wait_for(lambda: events(hook) == ["down", "up"], what="the up")
    stored, results = asyncio.run(history(tmp_path))
    began = first_of_streak(results, False, first_of_streak(results, True, 0))
    assert [(e.new, e.at) for e in stored][1:2] == [(State.DOWN, began)]
    assert [e.new for e in stored] == [State.UP, State.DOWN, State.UP]
    down, up = (r.json() for r in hook.accepted())
    assert (down["id"], up["id"]) == (f"web:down:{round(began)}", f"web:up:{round(began)}")
    assert up["since"] == iso_utc(began)
