"""`monitor run` with its data directory on a real 2 MB file system, filled during an
outage: the alerts reach a real local receiver while the disk is full, exactly once;
`/readyz` answers 503 with the reason, the storage is announced failing, and once space
returns everything recovers by itself: the incident is stored and served, `/readyz`
answers 200 and the recovery is announced. Needs `mount -t tmpfs` (root); skipped
otherwise, and `test_durability.py` covers the same with a disk filled at the SQLite
layer, everywhere."""

from __future__ import annotations

import contextlib
import errno
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.alertkit import Receiver, free_port, receiver
from tests.waiting import wait_for


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, mounted for the test."""
    where = tmp_path / "data"
    where.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True, text=True, timeout=30
        )
    except OSError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)


def fill(where: Path) -> Path:
    """Write a file until the file system has no byte left."""
    filler = where / "filler"
    with filler.open("wb", buffering=0) as file:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    file.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


def wait(check: Callable[[], object], what: str) -> None:
    """`wait_for` with this test's patience; a monitor still starting refuses connections."""
    wait_for(check, 60, what=what, every=0.05, ignoring=(httpx.HTTPError,))


def kinds(hook: Receiver) -> list[str]:
    return [r.json()["event"] for r in hook.accepted()]


def config_text(port: int, data: Path, site: str, hook: str) -> str:
    return (
        f'[monitor]\nlisten = "127.0.0.1:{port}"\ndata_dir = "{data}"\n'
        f'[notifiers.hook]\ntype = "webhook"\nurl = "{hook}"\n'
        f'[targets.web]\nurl = "{site}/health"\ninterval = "200ms"\ntimeout = "150ms"\n'
        'failure_threshold = 1\nsuccess_threshold = 1\nnotify = ["hook"]\n'
    )


def test_an_outage_on_a_full_filesystem_is_alerted_once_and_recovers_by_itself(tmp_path: Path, tiny: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with receiver() as site, receiver() as hook:
        path = tmp_path / "targets.toml"
        path.write_text(config_text(port, tiny, site.url, hook.url + "/hook"))
        with open(tmp_path / "monitor.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(path)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, what="ready")
            filler = fill(tiny)
            wait(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 503, what="unready")
            ready = httpx.get(f"{base}/readyz", timeout=2).json()
            assert ready["checks"]["store_writable"] is False
            assert ready["problems"][0].startswith("store: disk full"), ready
            wait(lambda: kinds(hook) == ["storage_failing"], what="the storage announced failing")
            assert hook.accepted()[0].json()["reason"] == "disk full"

            site.status = 503  # the outage, while the disk is full
            wait(lambda: kinds(hook) == ["storage_failing", "down"], what="the down")
            site.status = 200
            wait(lambda: kinds(hook) == ["storage_failing", "down", "up"], what="the up")

            filler.unlink()  # space returns
            wait(lambda: len(hook.accepted()) == 4, what="the recovery announced")
            wait(lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200, what="ready again")
            found = httpx.get(f"{base}/api/v1/incidents", params={"since": "2020-01-01T00:00:00Z"}, timeout=5)
            incidents = found.json()["incidents"]
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    assert kinds(hook) == ["storage_failing", "down", "up", "storage_recovered"]
    down = hook.accepted()[1].json()
    assert [(i["target"]["id"], i["start"][:23], i["ongoing"]) for i in incidents] == [
        ("web", down["since"][:23], False)
    ]
    with contextlib.closing(sqlite3.connect(tiny / "monitor.db")) as conn:
        stored = conn.execute("SELECT kind, status FROM outbox ORDER BY seq").fetchall()
    assert stored == [
        ("storage_failing", "delivered"),
        ("down", "delivered"),
        ("up", "delivered"),
        ("storage_recovered", "delivered"),
    ]
