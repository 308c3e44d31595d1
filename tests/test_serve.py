"""`monitor run`'s listeners: what it prints once it listens (a link a browser can open,
how to reach the admin view, never the token itself), and which routes each listener
serves (`/probe` never on `listen`; `/metrics` and `/probe` on `metrics_listen` when set)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.serve import welcome
from tests.sites import Site
from tests.test_run import free_port
from tests.waiting import wait_for


def answering(url: str) -> None:
    """Wait until `url` answers 200 (the listener is up)."""
    wait_for(
        lambda: httpx.get(url, timeout=2).status_code == 200, what=f"{url} answering 200", ignoring=(httpx.HTTPError,)
    )


def test_it_links_to_loopback_when_listening_on_every_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_ADMIN_TOKEN", raising=False)
    text = welcome("0.0.0.0:8080")
    assert "status page: http://127.0.0.1:8080/" in text
    assert "metrics:     http://127.0.0.1:8080/metrics" in text
    assert "start with MONITOR_ADMIN_TOKEN=" in text
    assert "status page: http://[::1]:9000/" in welcome("[::]:9000")


def test_it_says_how_to_log_in_to_the_admin_view_without_showing_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", "s3cret-token-value")
    text = welcome("127.0.0.1:8080")
    assert "admin view:  http://127.0.0.1:8080/admin (user name: anything, password: the value of" in text
    assert "s3cret-token-value" not in text


PUSH_TOKEN = "push-token-0123456789"
ADMIN_TOKEN = "admin-token-0123456789"


def start(tmp_path: Path, monitor_table: str, site: Site, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`monitor run` on a configuration whose `[monitor]` table is `monitor_table`,
    probing one local page, with a push target `backup` (token `PUSH_TOKEN`); its output
    goes to tmp_path/monitor.log."""
    config = tmp_path / "targets.toml"
    config.write_text(
        f'[monitor]\n{monitor_table}\n[targets.home]\nurl = "{site.url}/ok"\ninterval = "500ms"\n'
        f'[targets.backup]\nkind = "push"\nperiod = "1h"\ntoken = "{PUSH_TOKEN}"\n'
    )
    with open(tmp_path / "monitor.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env={**os.environ, **(env or {})},
        )


@contextlib.contextmanager
def running(tmp_path: Path, monitor_table: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with Site() as site:
        proc = start(tmp_path, monitor_table, site, env)
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def test_with_metrics_listen_metrics_and_probe_are_served_there_only(tmp_path: Path) -> None:
    public, private = free_port(), free_port()
    table = f'listen = "127.0.0.1:{public}"\nmetrics_listen = "127.0.0.1:{private}"'
    with running(tmp_path, table):
        answering(f"http://127.0.0.1:{public}/healthz")
        answering(f"http://127.0.0.1:{private}/metrics")
        metrics = httpx.get(f"http://127.0.0.1:{private}/metrics", timeout=5)
        assert "monitor_build_info" in metrics.text
        probe = httpx.get(f"http://127.0.0.1:{private}/probe?target=home", timeout=5)
        assert probe.status_code == 200 and "probe_success 1.0" in probe.text
        assert httpx.get(f"http://127.0.0.1:{public}/metrics", timeout=5).status_code == 404
        assert httpx.get(f"http://127.0.0.1:{public}/probe?target=home", timeout=5).status_code == 404
        assert httpx.get(f"http://127.0.0.1:{private}/", timeout=5).status_code == 404  # nothing public there
    text = (tmp_path / "monitor.log").read_text()
    assert f"metrics:     http://127.0.0.1:{private}/metrics" in text


def test_without_metrics_listen_metrics_stay_on_listen_and_probe_is_not_served(tmp_path: Path) -> None:
    public = free_port()
    with running(tmp_path, f'listen = "127.0.0.1:{public}"'):
        answering(f"http://127.0.0.1:{public}/healthz")
        assert "monitor_build_info" in httpx.get(f"http://127.0.0.1:{public}/metrics", timeout=5).text
        assert httpx.get(f"http://127.0.0.1:{public}/probe?target=home", timeout=5).status_code == 404


def test_sigterm_stops_both_listeners_with_exit_0(tmp_path: Path) -> None:
    public, private = free_port(), free_port()
    table = f'listen = "127.0.0.1:{public}"\nmetrics_listen = "127.0.0.1:{private}"'
    with Site() as site:
        proc = start(tmp_path, table, site)
        answering(f"http://127.0.0.1:{private}/metrics")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    for port in (public, private):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def raw(port: int, request: bytes) -> bytes:
    """What a listener answers to `request` sent as raw bytes (b"" if it just closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /healthz HTTP/1.1\nHost: x\n\n",  # bare LF everywhere
        b"GET /healthz HTTP/1.1\r\nHost: x\n\r\n",  # a bare LF after a header
        b"GET /healthz HTTP/1.1\nHost: x\r\n\r\n",  # a bare LF ending the request line
    ],
)
def test_a_request_with_bare_lf_line_endings_is_refused_on_both_listeners(tmp_path: Path, request_bytes: bytes) -> None:
    public, private = free_port(), free_port()
    table = f'listen = "127.0.0.1:{public}"\nmetrics_listen = "127.0.0.1:{private}"'
    with running(tmp_path, table):
        answering(f"http://127.0.0.1:{private}/metrics")
        assert raw(public, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")
        for port in (public, private):
            answer = raw(port, request_bytes)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:200]


def exchange(port: int, request: bytes) -> bytes:
    """Send `request` (not closing our side) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


def test_a_body_over_the_limit_is_refused_before_it_is_read_and_a_chunked_one_is_cut(tmp_path: Path) -> None:
    port = free_port()
    with running(tmp_path, f'listen = "127.0.0.1:{port}"', env={"MONITOR_ADMIN_TOKEN": ADMIN_TOKEN}):
        answering(f"http://127.0.0.1:{port}/healthz")
        admin = (
            f"POST /admin/api/maintenance HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        push = f"POST /push/backup?token={PUSH_TOKEN} HTTP/1.1\r\nHost: m\r\n".encode()
        push += b"Content-Type: application/x-www-form-urlencoded\r\n"
        for head, limit in ((admin, 64 * 1024), (push, 8192)):
            # 100 MB announced, none sent: the answer comes without the body being waited for.
            answer = exchange(port, head + b"Content-Length: 100000000\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            # Chunked, no length announced: cut as soon as it passes the limit.
            chunk = b"a" * 4096
            body = b"".join(b"%x\r\n%b\r\n" % (len(chunk), chunk) for _ in range(limit // 4096 + 1))
            answer = exchange(port, head + b"Transfer-Encoding: chunked\r\n\r\n" + body)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        ok = httpx.post(f"http://127.0.0.1:{port}/push/backup?token={PUSH_TOKEN}", data={"msg": "x" * 100}, timeout=5)
        assert ok.status_code == 200  # a body within the limit is read as before


def run_with_data(tmp_path: Path, data: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "targets.toml"
    config.write_text(f'[monitor]\nlisten = "127.0.0.1:{free_port()}"\n[targets.home]\nurl = "http://127.0.0.1:9/"\n')
    return subprocess.run(
        [sys.executable, "-m", "monitor", "run", "-c", str(config), "--data", data],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: (tmp / "file").write_text("x") and str(tmp / "file"), "it is not a folder"),
        (lambda tmp: (tmp / "file").write_text("x") and str(tmp / "file" / "data"), "Not a directory"),
        (lambda tmp: "/sys", "Permission denied"),  # a folder even root cannot write in
        (
            lambda tmp: (tmp / "data" / "monitor.db").mkdir(parents=True) or str(tmp / "data"),
            "monitor.db is not a file",
        ),
    ],
    ids=["a-file", "under-a-file", "unwritable", "database-is-a-folder"],
)
def test_a_data_directory_it_cannot_use_is_one_line_and_exit_2(tmp_path: Path, make, says: str) -> None:
    data = make(tmp_path)
    done = run_with_data(tmp_path, data)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"monitor: cannot use the data directory {data}: {says}"], done.stderr


def test_an_address_in_use_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        public = free_port()
        config = tmp_path / "targets.toml"
        config.write_text(
            f'[monitor]\nlisten = "127.0.0.1:{public}"\nmetrics_listen = "127.0.0.1:{port}"\n'
            '[targets.home]\nurl = "http://127.0.0.1:9/"\n'
        )
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "run", "-c", str(config)], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"monitor: cannot listen on 127.0.0.1:{port}: Address already in use"], done.stderr
