"""The farm of local targets: Debian's nginx (HTTP and TLS, certificate from trustme) and
`bench.farmserver` (the 100 ms HTTP target and a TCP banner target), each its own
process on 127.0.0.1, all stopped when the `Farm` context exits."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import trustme

_NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_timeout 5s;
    ssl_certificate {dir}/server.pem;
    ssl_certificate_key {dir}/server.key;
    ssl_session_cache off;
    ssl_session_tickets off;
    server {{
        listen 127.0.0.1:{http} backlog=4096;
        listen 127.0.0.1:{https} ssl backlog=4096;
        location / {{ default_type text/plain; return 200 "ok\\n"; }}
    }}
    server {{
        listen 127.0.0.1:{https_rsa} ssl backlog=4096;
        ssl_certificate {dir}/server-rsa.pem;
        ssl_certificate_key {dir}/server-rsa.key;
        location / {{ default_type text/plain; return 200 "ok\\n"; }}
    }}
}}
"""


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass(frozen=True)
class Farm:
    """Where the farm's targets listen. `ca_file` is the CA that signed the TLS port's
    certificate (for 127.0.0.1 and localhost)."""

    http: int
    https: int  # ECDSA P-256 leaf
    slow: int
    tcp: int
    ca_file: Path
    pids: dict[str, int]
    https_rsa: int = 0  # RSA-2048 leaf, same CA

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http}/"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https}/"

    @property
    def https_rsa_url(self) -> str:
        return f"https://127.0.0.1:{self.https_rsa}/"

    @property
    def slow_url(self) -> str:
        return f"http://127.0.0.1:{self.slow}/"

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.tcp}"


def _certificates(folder: Path) -> Path:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.private_key_pem.write_to_path(str(folder / "server.key"))
    server.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
    rsa = ca.issue_cert("127.0.0.1", "localhost", key_type=trustme.KeyType.RSA)  # 2048 bits
    rsa.private_key_pem.write_to_path(str(folder / "server-rsa.key"))
    rsa.cert_chain_pems[0].write_to_path(str(folder / "server-rsa.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    return folder / "ca.pem"


@contextlib.contextmanager
def nginx(folder: Path) -> Iterator[tuple[int, int, int, int]]:
    """Debian's nginx as a non-daemon child: yields (pid, http port, https port with the
    ECDSA leaf, https port with the RSA one)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    http, https, https_rsa = free_port(), free_port(), free_port()
    conf = folder / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(dir=folder, http=http, https=https, https_rsa=https_rsa))
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(folder)], stderr=subprocess.DEVNULL)
    try:
        wait_port(http)
        wait_port(https)
        wait_port(https_rsa)
        yield proc.pid, http, https, https_rsa
    finally:
        _stop(proc)


@contextlib.contextmanager
def farmserver() -> Iterator[tuple[int, dict[str, int]]]:
    """`bench.farmserver` in its own process: yields (pid, {"slow": port, "tcp": port})."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.farmserver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())
        yield proc.pid, ports
    finally:
        _stop(proc)


@contextlib.contextmanager
def farm(folder: Path) -> Iterator[Farm]:
    """Start every farm target; stop them all on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = _certificates(folder)
    with nginx(folder) as (npid, http, https, https_rsa), farmserver() as (fpid, ports):
        pids = {"nginx": npid, "farmserver": fpid}
        yield Farm(http, https, ports["slow"], ports["tcp"], ca_file, pids, https_rsa)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
