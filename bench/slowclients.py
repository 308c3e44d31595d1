"""`python -m bench.slowclients [CLIENTS] [SECONDS]`: a crowd of slow clients against a
real `monitor run` whose open-file limit is systemd's default (1,024, soft and hard),
while it probes 200 local targets every second (each answers after 0.3 s, so about 60
probes are in flight at any time). Prints what the crowd cost the probes:
failed probes, state changes, the scheduler's lag p99 over the attack, how often
`/healthz` answered, and how many of the crowd's sockets the server still held.

Each slow client opens a connection and sends one byte of a request head per second,
never finishing it (loopback only). A figure printed, not a test: the test of the same
attack is tests/test_isolation.py.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

TARGETS = 200
LIMIT = 1024
ANSWER_SECONDS = 0.3


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(ANSWER_SECONDS)  # a real application's think time: probes overlap
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Site(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # socketserver's 5 made the farm, not the monitor, refuse

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a probe that gave up on a slow answer: nothing to report


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _metrics(base: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines():
        if line.startswith(("monitor_probes_total{", "monitor_scheduler_lag_seconds_bucket")):
            name, value = line.rsplit(" ", 1)
            key = "failures" if 'result="failure"' in name else "probes" if "monitor_probes_total" in name else name
            values[key] = values.get(key, 0.0) + float(value)
    return values


def _lag_p99(before: dict[str, float], after: dict[str, float]) -> str:
    buckets = sorted(
        (float(k.split('le="')[1].split('"')[0]), after[k] - before.get(k, 0.0)) for k in after if 'le="' in k
    )
    total = buckets[-1][1] if buckets else 0.0
    for bound, count in buckets:
        if total and count >= 0.99 * total:
            return f"<= {bound:g} s"
    return "n/a"


def main(clients: int = 1100, seconds: float = 15.0) -> None:
    site = _Site(("127.0.0.1", 0), _Ok)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{site.server_address[1]}/"
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        config = Path(tmp) / "targets.toml"
        config.write_text(
            f'[monitor]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\n[defaults]\ninterval = "1s"\n'
            'timeout = "1s"\nfailure_threshold = 1\nsuccess_threshold = 1\n'
            + "".join(f'[targets.t{i}]\nurl = "{url}"\n' for i in range(TARGETS))
        )
        log = Path(tmp) / "monitor.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp,
                preexec_fn=_limit,
                env={**os.environ},
            )
        try:
            _wait(lambda: _metrics(base).get("probes", 0) >= 2 * TARGETS)
            before, changes = _metrics(base), log.read_text().count("state changed")
            socks, health = _attack(port, clients, seconds, base)
            after = _metrics(base)
            held = sum(1 for s in socks if _alive(s))
            for s in socks:
                s.close()
            print(f"slow clients: {clients} for {seconds:g} s; {TARGETS} targets every 1 s; open-file limit {LIMIT}")
            print(f"  probes during the attack:   {after['probes'] - before['probes']:.0f}")
            print(f"  failed probes:              {after['failures'] - before['failures']:.0f}")
            print(f"  state changes:              {log.read_text().count('state changed') - changes}")
            print(f"  why targets went down:      {_reasons(log.read_text())}")
            print(f"  scheduler lag p99:          {_lag_p99(before, after)}")
            print(f"  /healthz answered:          {health[0]} of {health[1]}")
            print(f"  crowd sockets still held:   {held} of {clients}")
        finally:
            proc.kill()
            proc.wait(10)
            site.shutdown()


def _attack(port: int, clients: int, seconds: float, base: str) -> tuple[list[socket.socket], tuple[int, int]]:
    socks = []
    for _ in range(clients):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        socks.append(s)
    answered = asked = 0
    deadline = time.monotonic() + seconds
    next_byte = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_byte:
            next_byte = time.monotonic() + 1.0
            for s in socks:
                with contextlib.suppress(OSError):
                    s.send(b"G")
        asked += 1
        with contextlib.suppress(httpx.HTTPError):
            answered += httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        time.sleep(0.25)
    return socks, (answered, asked)


def _reasons(text: str) -> str:
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if "state changed" in line and "new=DOWN" in line:
            detail = line.split("detail=", 1)[1][:60] if "detail=" in line else "?"
            counts[detail] = counts.get(detail, 0) + 1
    return ", ".join(f"{n} x {d}" for d, n in sorted(counts.items(), key=lambda kv: -kv[1])[:3]) or "none"


def _alive(s: socket.socket) -> bool:
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def _wait(check: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the monitor did not start probing in time")


if __name__ == "__main__":
    main(*(float(a) if i else int(a) for i, a in enumerate(sys.argv[1:3])))  # type: ignore[arg-type]
