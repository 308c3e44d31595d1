"""Three real `monitor run` processes, each its own location (`a`, `b`, `c`) with its
own targets.toml, on one real PostgreSQL. The same target `portal` is a live local
server for `b` and `c` and a closed port for `a`: the one location cut off from it does
not make it DOWN under the majority quorum (2 of 3); it is DEGRADED with the failing
location named. When the server stops, every location fails: DOWN, and one alert (not
one per location) reaches the local webhook receiver. Then `c` is killed (SIGKILL): one
"location c stopped reporting" alert, and `monitor_location_up{location="c"}` goes 0.

`b` and `c` start first and `a` once both have heard each other: an instance that
starts before any other location's word is in the store judges alone for a moment
(`settling` lasts as long as a location may be silent), and `a` alone would call the
portal DOWN. The targets are probed every second, not every 500 ms: a location
counts as stale after 3 intervals and 2 rounds, and on a busy machine a location's
word came 2.5 s late (a transient "1 of 1 locations", a DOWN of its own)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.alertkit import Receiver, receiver
from tests.live import closed_port, free_port, http_server
from tests.postgresql import PostgreSQL
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
TOKEN = "rahasia-lokasi"


def config(port: int, data: Path, url: str, location: str, portal: int, hook: str) -> str:
    return f"""
[monitor]
title = "Status"
listen = "127.0.0.1:{port}"
data_dir = "{data}"
store = "{url}"
location = "{location}"

[defaults]
interval = "1s"
timeout = "1s"
failure_threshold = 1
success_threshold = 1
notify = ["hook"]

[notifiers.hook]
type = "webhook"
url = "{hook}"

[targets.portal]
url = "http://127.0.0.1:{portal}/"
"""


@contextlib.contextmanager
def instance(tmp: Path, name: str, url: str, portal: int, hook: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    path = tmp / f"{name}.toml"
    path.write_text(config(port, tmp / name, url, name, portal, hook))
    env = {**os.environ, "MONITOR_ADMIN_TOKEN": TOKEN}
    with open(tmp / f"{name}.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(path)], stdout=log, stderr=log, env=env
        )
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def portal(base: str) -> tuple[str, str | None]:
    body = httpx.get(f"{base}/api/v1/status", timeout=5).json()
    found = next(t for t in body["targets"] if t["id"] == "portal")
    return found["state"], found["reason"]


def events(hook: Receiver) -> list[tuple[str, str]]:
    return [(r.json()["event"], r.json()["target"]["name"]) for r in hook.accepted()]


def location_up(base: str, location: str) -> float | None:
    for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines():
        if line.startswith(f'monitor_location_up{{location="{location}"}} '):
            return float(line.split()[-1])
    return None


def test_one_location_cut_off_is_no_outage_all_are_and_a_silent_one_is_told(
    tmp_path: Path, postgresql: PostgreSQL
) -> None:
    url = postgresql.create_database()
    with contextlib.ExitStack() as stack:
        hook = stack.enter_context(receiver())
        server = contextlib.ExitStack()
        live = server.enter_context(http_server())
        dead = closed_port()
        hook_url = hook.url + "/hook"
        b, _ = stack.enter_context(instance(tmp_path, "b", url, live, hook_url))
        c, killed = stack.enter_context(instance(tmp_path, "c", url, live, hook_url))
        for base, other in ((b, "c"), (c, "b")):  # both reporting, each heard by the other
            wait_for(
                lambda base=base, other=other: location_up(base, other) == 1.0,
                60,
                what=f"{base}: location {other} up",
                ignoring=(OSError, httpx.HTTPError),
            )
        a, _ = stack.enter_context(instance(tmp_path, "a", url, dead, hook_url))

        settled = ("DEGRADED", "locations_failing")
        for base in (a, b, c):
            wait_for(
                lambda base=base: portal(base) == settled,
                60,
                what=f"{base}: portal degraded",
                ignoring=(OSError, httpx.HTTPError),
            )
        assert [e for e in events(hook) if e[0] == "down"] == []
        page = httpx.get(f"{b}/targets/portal?lang=en", timeout=5).text
        assert "From each monitoring location" in page
        shown = re.findall(r'<tr><td>([a-c])</td><td><span class="state s-(\w+)"', page)
        assert shown == [("a", "DOWN"), ("b", "UP"), ("c", "UP")], page

        server.close()  # every location fails now
        wait_for(lambda: portal(a)[0] == "DOWN", 30, what="portal down", ignoring=(httpx.HTTPError,))
        wait_for(lambda: ("down", "portal") in events(hook), 30, what="the down alert")
        with psycopg.connect(url, autocommit=True) as conn:
            stored = conn.execute("SELECT new, locations FROM events ORDER BY id").fetchall()
        # One writer, the sender: UP (b and c; stored only when their combined state
        # settled before a joined), DEGRADED (a joined, failing), DOWN.
        if stored and stored[0][0] == "UP":
            stored = stored[1:]
        assert [new for new, _ in stored] == ["DEGRADED", "DOWN"]
        assert stored[0][1] == "a" and len(stored[1][1].split(",")) >= 2

        killed.kill()  # SIGKILL: location c falls silent
        killed.wait(5)
        wait_for(lambda: ("location_stale", "c") in events(hook), 30, what="the stale location's alert")
        wait_for(lambda: location_up(a, "c") == 0.0, 30, what="monitor_location_up of c at 0")
        assert location_up(a, "b") == 1.0
        admin = httpx.get(f"{a}/admin?lang=en", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text
        assert re.search(r'id="location-c"><td><code>c</code></td>\s*<td><strong>stopped reporting</strong>', admin)
        assert re.search(r'id="location-b"><td><code>b</code></td>\s*<td>reporting</td>', admin)
        assert portal(a)[0] == "DOWN"  # a and b still agree
        assert events(hook).count(("down", "portal")) == 1
        assert events(hook).count(("location_stale", "c")) == 1
