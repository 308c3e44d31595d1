"""`monitor run` as a process when its own uplink drops: its connectivity checks point at
local servers the test stops (an HTTP server and a TCP port), and its "internet"
targets, local servers marked `external = true`, fail at the same time. No DOWN storm:
the external targets are UNKNOWN (`monitor_offline`), exactly one "lost" alert reaches
the local webhook receiver (a notifier that needs no uplink), the page and the API say
the monitor is cut off, and the monitor's own targets on loopback (its `/healthz`, a
local service that fails meanwhile) are judged as always. Then the uplink returns: one
"restored" alert, and the held targets are judged again by their next results.

Everything listens on 127.0.0.1: without `external = true` the loopback targets would be
the monitor's own (judged even offline), which `local` shows."""

from __future__ import annotations

import contextlib
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.alertkit import Receiver, free_port, receiver


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 500 if self.path == "/broken" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Hangup(socketserver.BaseRequestHandler):
    def handle(self) -> None:  # accept, then close: a TCP port that is open
        pass


class _Threaded(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Switch:
    """A local server on a fixed port that the test turns off (connections refused)
    and on again: HTTP (200, `/broken` 500) or a bare TCP port."""

    def __init__(self, http: bool = True) -> None:
        self.http = http
        self.port = free_port()
        self.server: socketserver.TCPServer | None = None
        self.thread: threading.Thread | None = None

    def on(self) -> None:
        server: socketserver.TCPServer
        if self.http:
            server = ThreadingHTTPServer(("127.0.0.1", self.port), _Page)
            server.daemon_threads = True  # type: ignore[attr-defined]
        else:
            server = _Threaded(("127.0.0.1", self.port), _Hangup)
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def off(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
        self.server = self.thread = None


@contextlib.contextmanager
def switches(count: int, tcp: tuple[int, ...] = ()) -> Iterator[list[Switch]]:
    made = [Switch(http=i not in tcp) for i in range(count)]
    for switch in made:
        switch.on()
    try:
        yield made
    finally:
        for switch in made:
            switch.off()


def wait(check: Callable[[], Any], seconds: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if check():
                return
        assert time.monotonic() < deadline, f"{what} not met within {seconds} s"
        time.sleep(0.05)


def alerts(hook: Receiver) -> list[tuple[str, str]]:
    return [(r.json()["event"], r.json()["target"]["id"]) for r in hook.accepted()]


def config_text(port: int, data: Path, hook: str, ports: dict[str, int]) -> str:
    return f"""
[monitor]
title = "Status Pemkab"
language = "en"
listen = "127.0.0.1:{port}"
data_dir = "{data}"
connectivity = [
  {{ url = "http://127.0.0.1:{ports["check_web"]}/", interval = "100ms", timeout = "90ms" }},
  {{ url = "tcp://127.0.0.1:{ports["check_tcp"]}", interval = "100ms", timeout = "90ms" }},
]

[defaults]
interval = "250ms"
timeout = "200ms"
failure_threshold = 4
success_threshold = 1
notify = ["hook"]

[notifiers.hook]
type = "webhook"
url = "{hook}"

[targets.self]
url = "http://127.0.0.1:{port}/healthz"

[targets.local]
url = "http://127.0.0.1:{ports["local"]}/"

[targets.site]
url = "http://127.0.0.1:{ports["site"]}/"
external = true

[targets.api]
url = "http://127.0.0.1:{ports["api"]}/"
external = true

[targets.mail]
url = "tcp://127.0.0.1:{ports["mail"]}"
external = true

[targets.broken]
url = "http://127.0.0.1:{ports["site"]}/broken"
external = true
"""


class Monitor:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def targets(self) -> dict[str, tuple[str, str | None]]:
        body = httpx.get(f"{self.base}/api/v1/status", timeout=5).json()
        return {t["id"]: (t["state"], t["reason"]) for t in body["targets"]}

    def uplink(self) -> str:
        state: str = httpx.get(f"{self.base}/api/v1/status", timeout=5).json()["connectivity"]["state"]
        return state

    def failures(self, target: str) -> float:
        for line in httpx.get(f"{self.base}/metrics", timeout=5).text.splitlines():
            if line.startswith(f'monitor_probes_total{{result="failure",target="{target}"}} '):
                return float(line.split()[-1])
        return 0.0


HELD = ("UNKNOWN", "monitor_offline")


def test_a_monitor_cut_off_from_its_uplink_holds_its_internet_targets_and_says_so_once(tmp_path: Path) -> None:
    port = free_port()
    names = ["check_web", "check_tcp", "site", "api", "mail", "local"]
    with switches(len(names), tcp=(1, 4)) as made, receiver() as hook:
        servers = dict(zip(names, made, strict=True))
        path = tmp_path / "targets.toml"
        path.write_text(
            config_text(port, tmp_path / "data", hook.url + "/hook", {n: s.port for n, s in servers.items()})
        )
        with open(tmp_path / "monitor.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(path)], stdout=log, stderr=subprocess.STDOUT
            )
        mon = Monitor(port)
        try:
            wait(lambda: httpx.get(f"{mon.base}/readyz", timeout=2).status_code == 200, what="ready")
            wait(lambda: mon.uplink() == "online", what="online")
            everything_up = {t: ("UP", None) for t in ("self", "local", "site", "api", "mail")}
            wait(lambda: mon.targets() == {**everything_up, "broken": ("DOWN", "status_mismatch")}, what="settled")
            wait(lambda: alerts(hook) == [("down", "broken")], what="its alert")  # DOWN before: a real outage

            for name in ("check_web", "check_tcp", "site", "api", "mail", "local"):
                servers[name].off()  # the uplink drops, and the local service with it
            wait(lambda: ("connectivity_lost", "monitor") in alerts(hook), what="the lost alert")
            expected = {
                "self": ("UP", None),
                "local": ("DOWN", "connection_refused"),
                "broken": ("DOWN", "status_mismatch"),
            }
            wait(lambda: mon.targets() == {**expected, "site": HELD, "api": HELD, "mail": HELD}, what="held")
            offline_since = httpx.get(f"{mon.base}/api/v1/status", timeout=5).json()["connectivity"]["since"]
            page = httpx.get(f"{mon.base}/?lang=en", timeout=5).text
            assert "The monitor has lost its internet connection" in page
            assert "monitor_connectivity_up 0.0" in httpx.get(f"{mon.base}/metrics", timeout=5).text
            said = [("connectivity_lost", "monitor"), ("down", "broken"), ("down", "local")]
            wait(lambda: sorted(alerts(hook)) == said, what="the local service's alert")
            # Three times the threshold of failures while held: still no verdict, no alert.
            wait(lambda: min(mon.failures(t) for t in ("site", "api", "mail")) >= 12, what="failures while held")
            assert mon.targets() == {**expected, "site": HELD, "api": HELD, "mail": HELD}
            assert sorted(alerts(hook)) == said

            for name in ("check_web", "check_tcp", "site", "mail", "local"):
                servers[name].on()  # the uplink returns; api stays broken
            wait(lambda: ("connectivity_restored", "monitor") in alerts(hook), what="the restored alert")
            back = {"self": ("UP", None), "local": ("UP", None), "site": ("UP", None), "mail": ("UP", None)}
            wait(
                lambda: mon.targets() == {**back, "api": ("DOWN", "connection_refused"), "broken": expected["broken"]},
                what="judged again",
            )
            wait(lambda: ("down", "api") in alerts(hook) and ("up", "local") in alerts(hook), what="their alerts")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    said = alerts(hook)
    assert sorted(said) == sorted(
        [
            ("down", "broken"),
            ("connectivity_lost", "monitor"),
            ("down", "local"),
            ("connectivity_restored", "monitor"),
            ("up", "local"),
            ("down", "api"),
        ]
    )
    assert said.index(("connectivity_lost", "monitor")) < said.index(("connectivity_restored", "monitor"))
    assert said.index(("connectivity_restored", "monitor")) < said.index(("down", "api"))
    lost, restored = (r.json() for r in hook.accepted() if r.json()["event"].startswith("connectivity_"))
    assert lost["since"] == restored["since"] and lost["since"][:19] == offline_since[:19]
    assert lost["reason"] == "monitor_offline" and "http-1: connection_refused" in lost["detail"]
    assert "tcp-2: connection_refused" in lost["detail"]
    assert restored["duration_seconds"] > 0 and "restored after" in restored["title"]
    assert "the monitor is offline" in (tmp_path / "monitor.log").read_text()


def test_a_restart_while_offline_carries_the_outage_on_without_announcing_it_again(tmp_path: Path) -> None:
    port = free_port()
    names = ["check_web", "check_tcp", "site", "api", "mail", "local"]
    with switches(len(names), tcp=(1, 4)) as made, receiver() as hook:
        servers = dict(zip(names, made, strict=True))
        path = tmp_path / "targets.toml"
        path.write_text(
            config_text(port, tmp_path / "data", hook.url + "/hook", {n: s.port for n, s in servers.items()})
        )
        mon = Monitor(port)

        def start() -> subprocess.Popen[bytes]:
            with open(tmp_path / "monitor.log", "ab") as log:
                return subprocess.Popen(
                    [sys.executable, "-m", "monitor", "run", "-c", str(path)], stdout=log, stderr=subprocess.STDOUT
                )

        proc = start()
        try:
            wait(lambda: mon.uplink() == "online", what="online")
            servers["check_web"].off()
            servers["check_tcp"].off()
            wait(lambda: ("connectivity_lost", "monitor") in alerts(hook), what="the lost alert")
            proc.kill()  # kill -9 while offline
            proc.wait(10)
            proc = start()
            wait(lambda: mon.uplink() == "offline", what="offline after the restart")
            servers["check_web"].on()
            wait(lambda: ("connectivity_restored", "monitor") in alerts(hook), what="the restored alert")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    # Alerts leave in order: a second "lost" would have come before the "restored". The
    # kill may fall between the receipt of the "lost" and its mark as delivered: then the
    # same alert (the same id, which receivers deduplicate on) is sent again; never a new one.
    said = list(
        {r.json()["id"]: r.json() for r in hook.accepted() if r.json()["event"].startswith("connectivity_")}.values()
    )
    assert [a["event"] for a in said] == ["connectivity_lost", "connectivity_restored"]
    assert said[0]["since"] == said[1]["since"]  # one outage, across the restart
