"""`python -m bench.crowd [TARGETS] [SECONDS]`: a citizen crowd on the status page while
the monitor probes. A real `monitor run` probes TARGETS public targets every 2 s (TCP
connects to a local listener, so the farm costs little), then `wrk -c64` asks for `/`
for SECONDS; printed: the crowd's requests per second and latency, and what it cost the
probes (failed probes, the scheduler's lag p99 during the crowd against before it).

Needs `wrk` (Debian's package). Loopback only. A figure printed, not a test.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.slowclients import _free_port, _lag_p99, _metrics, _wait


def _listener() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)

    def accept() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    port: int = sock.getsockname()[1]
    return sock, port


def main(targets: int = 1000, seconds: int = 15) -> None:
    listener, farm = _listener()
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        config = Path(tmp) / "targets.toml"
        config.write_text(
            f'[monitor]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\n[defaults]\ninterval = "2s"\n'
            'timeout = "1s"\n'
            + "".join(
                f'[targets.t{i}]\nname = "Layanan {i}"\ngroup = "Grup {i % 20}"\nurl = "tcp://127.0.0.1:{farm}"\n'
                for i in range(targets)
            )
        )
        log = Path(tmp) / "monitor.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp,
                env={**os.environ},
            )
        try:
            _wait(lambda: _metrics(base).get("probes", 0) >= 2 * targets)
            httpx.get(f"{base}/", timeout=30)  # the first snapshot and render
            quiet_from = _metrics(base)
            time.sleep(seconds)
            quiet = _lag_p99(quiet_from, _metrics(base))
            before = _metrics(base)
            crowd = subprocess.run(
                ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-H", "Accept-Encoding: br, gzip", f"{base}/"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            after = _metrics(base)
            rate = next(line.split()[1] for line in crowd.splitlines() if line.startswith("Requests/sec"))
            p99 = next(line.split()[1] for line in crowd.splitlines() if line.strip().startswith("99%"))
            print(f"crowd: wrk -c64 for {seconds} s on / with {targets} targets probed every 2 s")
            print(f"  requests per second:        {rate} (p99 {p99})")
            print(f"  probes during the crowd:    {after['probes'] - before['probes']:.0f}")
            print(f"  failed probes:              {after['failures'] - before['failures']:.0f}")
            print(f"  scheduler lag p99, quiet:   {quiet}")
            print(f"  scheduler lag p99, crowd:   {_lag_p99(before, after)}")
        finally:
            proc.kill()
            proc.wait(10)
            with contextlib.suppress(OSError):
                listener.close()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
