"""Probing is isolated from serving: no crowd of idle or slow clients on the web port may
make a probe fail or a target change state, and the health check keeps answering.

Reproduced first against a `monitor run` whose open-file limit is low (as systemd's
default 1,024 was for the shipped unit): a few hundred sockets that send one header byte
at a time used every descriptor, every probe failed with "Too many open files" and every
target went DOWN.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.sites import Site
from tests.test_run import free_port
from tests.waiting import wait_for

LIMIT = 256  # the monitor's open-file limit in this test
SLOW_CLIENTS = 400  # more than it can hold
PROBES_UNDER_CROWD = 60  # about six seconds of three targets probed every 300 ms


def _low_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


class SlowClients:
    """Sockets that each send one byte of a request head per second and never finish it."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count = port, count
        self.sockets: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", self.port))
            self.sockets.append(sock)
        self.thread.start()
        return self

    def _trickle(self) -> None:
        while not self.stop.wait(1.0):
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # closed by the server, or not connected yet
                    sock.send(b"G")

    def open_count(self) -> int:
        """Sockets the server has not closed (a closed one reads EOF or fails)."""
        alive = 0
        for sock in self.sockets:
            try:
                alive += sock.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        return alive

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def monitor_with_few_descriptors(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with Site() as site:
        port = free_port()
        targets = "".join(f'[targets.t{i}]\nurl = "{site.url}/ok"\n' for i in range(3))
        config = tmp_path / "targets.toml"
        config.write_text(
            f'[monitor]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\n[defaults]\ninterval = "300ms"\n'
            f'timeout = "300ms"\nfailure_threshold = 1\nsuccess_threshold = 1\n{targets}'
        )
        log = tmp_path / "monitor.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
                preexec_fn=_low_limit,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(
                lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200,
                what="/healthz answering 200",
                ignoring=(httpx.HTTPError,),
            )
            wait_for(
                lambda: httpx.get(f"{base}/metrics", timeout=2).text.count("probe_success{") == 3,
                what="all three targets probed",
                ignoring=(httpx.HTTPError,),
            )
            yield base, log
        finally:
            proc.kill()
            proc.wait(10)


def _probes(base: str, result: str = "") -> float:
    """How many probes the monitor has run (with `result`, only those that ended so)."""
    text = httpx.get(f"{base}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("monitor_probes_total{") and f'result="{result}' in line
    )


def _failures(base: str) -> float:
    return _probes(base, "failure")


def test_idle_clients_beyond_the_descriptor_limit_neither_fail_a_probe_nor_silence_health(
    monitor_with_few_descriptors: tuple[str, Path],
) -> None:
    base, log = monitor_with_few_descriptors
    wait_for(
        lambda: _failures(base) == 0 and "state changed" in log.read_text(),
        what="all three targets UP",
        ignoring=(httpx.HTTPError,),
    )
    changes_before = log.read_text().count("state changed")
    with SlowClients(int(base.rsplit(":", 1)[1]), SLOW_CLIENTS) as crowd:
        before = _probes(base)

        def probed_while_healthy() -> bool:
            assert httpx.get(f"{base}/healthz", timeout=3).status_code == 200  # fails at once
            return _probes(base) >= before + PROBES_UNDER_CROWD

        wait_for(probed_while_healthy, 60, what=f"{PROBES_UNDER_CROWD} probes under the crowd", every=0.5)
        assert crowd.open_count() < LIMIT  # the server sheds what it cannot hold
    assert _failures(base) == 0
    assert log.read_text().count("state changed") == changes_before
    assert "Too many open files" not in log.read_text()
