"""Real `monitor run` processes sharing one PostgreSQL database, and a local HTTP server
that records which instance probed which target.

Each `Instance` has its own folder (its `targets.toml`, its `data_dir` with a fixed
`instance-id`, its log) and its own port; every instance's targets send the header
`X-Instance: <its id>`, so `Hits` knows who probed what. `kill()` is a `kill -9`.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.live import free_port
from tests.waiting import NotInTime, wait_for


@dataclass
class Hits:
    """What the target server saw: (target, instance, monotonic time) per request;
    targets in `failing` answer 500."""

    port: int = 0
    seen: list[tuple[str, str, float]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.port}/{target}"

    def since(self, at: float) -> list[tuple[str, str]]:
        """(target, instance) of every probe after `at` (a `time.monotonic()`)."""
        with self.lock:
            return [(t, i) for t, i, when in self.seen if when > at]

    def probers(self, at: float) -> dict[str, set[str]]:
        """Per target, the instances that probed it after `at`."""
        found: dict[str, set[str]] = {}
        for target, instance in self.since(at):
            found.setdefault(target, set()).add(instance)
        return found


@contextlib.contextmanager
def hits_server() -> Iterator[Hits]:
    hits = Hits()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            target = self.path.strip("/")
            with hits.lock:
                hits.seen.append((target, self.headers.get("X-Instance", ""), time.monotonic()))
                status = 500 if target in hits.failing else 200
            body = b"ok\n" if status == 200 else b"failing\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hits.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def config(
    instance: str, port: int, data: Path, hits: Hits, targets: list[str], hook: str | None, extra: str = ""
) -> str:
    """A `targets.toml` of one instance: the targets probed every second, failing after 2;
    `extra`, more tables as they are (push targets)."""
    lines = [
        "[monitor]",
        'title = "Cluster"',
        f'listen = "127.0.0.1:{port}"',
        f'data_dir = "{data}"',
        'store = "${MONITOR_DATABASE_URL}"',
        "",
        "[defaults]",
        'interval = "1s"',
        'timeout = "1s"',
        "failure_threshold = 2",
        "success_threshold = 1",
    ]
    if hook is not None:
        lines += ['notify = ["hook"]', "", "[notifiers.hook]", 'type = "webhook"', f'url = "{hook}"']
    for target in targets:
        lines += [
            "",
            f"[targets.{target}]",
            f'url = "{hits.url(target)}"',
            f'headers = {{"X-Instance" = "{instance}"}}',
        ]
    return "\n".join(lines) + "\n" + extra


class Instance:
    """One `monitor run` of the cluster; see the module doc."""

    def __init__(
        self,
        folder: Path,
        name: str,
        database: str,
        hits: Hits,
        targets: list[str],
        hook: str | None,
        extra: str = "",
    ):
        self.name, self.database = name, database
        self.folder = folder / name
        data = self.folder / "data"
        data.mkdir(parents=True)
        (data / "instance-id").write_text(name + "\n")
        self.port = free_port()
        self.path = self.folder / "targets.toml"
        self.path.write_text(config(name, self.port, data, hits, targets, hook, extra))
        self.log = self.folder / "log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "MONITOR_DATABASE_URL": self.database}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(self.path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                env=env,
            )
        try:
            wait_for(self._up, 30, what=f"instance {self.name} answering /healthz", ignoring=(httpx.HTTPError,))
        except NotInTime as exc:
            raise NotInTime(f"{exc}: {self.log.read_text()[-3000:]}") from None

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"instance {self.name} exited: {self.log.read_text()[-3000:]}")
        return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200

    def readyz(self) -> tuple[int, str]:
        answer = httpx.get(f"{self.base}/readyz", timeout=5)
        return answer.status_code, answer.text

    def kill(self) -> None:
        """`kill -9`: nothing given up, nothing flushed."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, as systemd stops it: what is queued is written first."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@contextlib.contextmanager
def instances(
    folder: Path,
    database: str,
    hits: Hits,
    targets: list[str],
    names: list[str],
    hook: str | None = None,
    extra: str = "",
) -> Iterator[list[Instance]]:
    """The instances, not started yet; each stopped at the end."""
    made = [Instance(folder, name, database, hits, targets, hook, extra) for name in names]
    try:
        yield made
    finally:
        for instance in made:
            instance.stop()
