"""Debian's Prometheus blackbox exporter on the farm, with a tmp configuration, driven at
a fixed rate by `bench.driver` in another process; its CPU time is read from /proc."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.farm import free_port, wait_port
from bench.procstat import CpuWindow

_CONFIG = """\
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
  https_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      tls_config:
        ca_file: {ca_file}
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
"""

BINARY = "prometheus-blackbox-exporter"


@dataclass(frozen=True)
class Exporter:
    pid: int
    port: int
    command: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def available() -> bool:
    return shutil.which(BINARY) is not None


def version() -> str:
    out = subprocess.run([BINARY, "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    # "blackbox_exporter, version 0.23.0 (branch: debian/sid, revision: ...)" -> "0.23.0"
    found = re.search(r"version (\S+)", first[0]) if first else None
    return found.group(1) if found else "?"


@contextlib.contextmanager
def exporter(folder: Path, ca_file: Path) -> Iterator[Exporter]:
    """Run the exporter until the context exits."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "blackbox.yml"
    config.write_text(_CONFIG.format(ca_file=ca_file))
    port = free_port()
    argv = [BINARY, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield Exporter(proc.pid, port, f"{BINARY} --config.file=blackbox.yml")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Load:
    probes: int
    failures: int
    cpu: float
    wall: float

    @property
    def per_cpu_second(self) -> float:
        return self.probes / self.cpu if self.cpu else 0.0


def drive(exp: Exporter, module: str, targets: list[str], rate: float, duration: float, warmup: float = 2.0) -> Load:
    """Drive `exp` at `rate` probes/s; its CPU over the `duration` after `warmup`."""
    argv = [
        sys.executable,
        "-m",
        "bench.driver",
        "--port",
        str(exp.port),
        "--module",
        module,
        "--rate",
        str(rate),
        "--warmup",
        str(warmup),
        "--duration",
        str(duration),
        *targets,
    ]
    window = CpuWindow(exp.pid)
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        warm = json.loads(proc.stdout.readline())
        window.start()
        done = json.loads(proc.stdout.readline())
        window.stop()
        proc.wait()
    ok = done["success"] - warm["success"]
    bad = done["failure"] + done["errors"] - warm["failure"] - warm["errors"]
    return Load(ok + bad, bad, window.cpu, window.wall)
