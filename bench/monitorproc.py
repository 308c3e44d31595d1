"""The real `monitor run` process under test: a generated targets.toml, the process
started (optionally pinned to one CPU), its /metrics read from outside, its CPU time and
memory read from /proc, and its stored results read from its SQLite file afterwards."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.farm import free_port

_LIGHT = "/metrics?name[]=monitor_scheduler_lag_seconds_bucket&name[]=monitor_scheduler_lag_seconds_count"
_SAMPLE = re.compile(r"^(\w+)(?:\{([^}]*)\})? (\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class TargetSpec:
    """One generated target: id, URL and any extra keys (TOML-ready values)."""

    id: str
    url: str
    extra: tuple[tuple[str, str], ...] = ()


def write_config(
    folder: Path, targets: Sequence[TargetSpec], interval: str, timeout: str = "1s", groups: int = 10
) -> Path:
    """A targets.toml for `targets`, each probed every `interval`."""
    lines = [
        "[monitor]",
        'title = "bench"',
        'language = "en"',
        "",
        "[defaults]",
        f'interval = "{interval}"',
        f'timeout = "{timeout}"',
        "",
    ]
    for i, t in enumerate(targets):
        lines += [f"[targets.{t.id}]", f'name = "{t.id}"', f'group = "group {i % groups}"', f'url = "{t.url}"']
        lines += [f"{k} = {v}" for k, v in t.extra]
        lines.append("")
    path = folder / "targets.toml"
    path.write_text("\n".join(lines))
    return path


@dataclass
class Monitor:
    """A running `monitor run`; `command` is what was run, for the report."""

    pid: int
    port: int
    data: Path
    command: str
    startup: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    def get(self, path: str, timeout: float = 60.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def metrics(self, light: bool = False) -> Metrics:
        """Scrape /metrics; `light` reads only the lag histogram, which costs the monitor
        next to nothing (a full scrape builds every target's series)."""
        status, body = self.get(_LIGHT if light else "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return Metrics.parse(body.decode())


@dataclass(frozen=True)
class Metrics:
    """The few series the bench reads from /metrics."""

    success: float
    failure: float
    started: float  # probes dispatched (the lag histogram's count)
    lag_buckets: tuple[tuple[float, float], ...]  # (upper bound, cumulative count)

    @property
    def probes(self) -> float:
        return self.success + self.failure

    @classmethod
    def parse(cls, text: str) -> Metrics:
        success = failure = started = 0.0
        buckets: list[tuple[float, float]] = []
        for name, labels, value in _SAMPLE.findall(text):
            if name == "monitor_probes_total":
                if 'result="success"' in labels:
                    success += float(value)
                else:
                    failure += float(value)
            elif name == "monitor_scheduler_lag_seconds_bucket":
                bound = labels.split('le="', 1)[1].split('"', 1)[0]
                buckets.append((float(bound), float(value)))
            elif name == "monitor_scheduler_lag_seconds_count":
                started = float(value)
        return cls(success, failure, started, tuple(sorted(buckets)))


def lag_quantile(before: Metrics, after: Metrics, q: float) -> tuple[float, int]:
    """The smallest bucket bound below which a `q` share of the lags observed between
    the two scrapes fell, and how many lags were observed."""
    deltas = [(b, a - c) for (b, a), (_, c) in zip(after.lag_buckets, before.lag_buckets, strict=True)]
    total = deltas[-1][1] if deltas else 0
    for bound, cumulative in deltas:
        if total and cumulative >= q * total:
            return bound, int(total)
    return float("inf"), int(total)


@contextlib.contextmanager
def monitor_run(folder: Path, config: Path, cpu: int | None = None) -> Iterator[Monitor]:
    """`python -m monitor run` on `config` until the context exits (SIGTERM, graceful)."""
    port = free_port()
    data = folder / "data"
    argv = [
        sys.executable,
        "-m",
        "monitor",
        "run",
        "-c",
        str(config),
        "--listen",
        f"127.0.0.1:{port}",
        "--data",
        str(data),
        "--log-level",
        "warning",
    ]
    prefix = ["taskset", "-c", str(cpu)] if cpu is not None else []
    began = time.monotonic()
    log = (folder / "monitor.log").open("ab")
    proc = subprocess.Popen(
        argv,
        stdout=log,
        stderr=log,
        cwd=folder,
        preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
    )
    try:
        mon = Monitor(proc.pid, port, data, " ".join([*prefix, "monitor", "run", "-c", config.name]))
        _wait_ready(mon, proc)
        mon.startup = time.monotonic() - began
        yield mon
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(mon: Monitor, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"monitor run exited with {proc.returncode}; see its monitor.log")
        with contextlib.suppress(OSError):
            if mon.get("/healthz", timeout=2)[0] == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("monitor run did not come up")


def stored_results(data: Path, ids: str, since: float, until: float) -> list[tuple[bool, float]]:
    """(ok, duration in seconds) of the stored results, started within [since, until], of
    targets whose id is LIKE `ids`. Read from the file, so it costs the monitor
    nothing; call it after the monitor stopped (its writer flushes on the way out)."""
    db = data / "monitor.db"
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        types = {row[1]: row[2].upper() for row in conn.execute("PRAGMA table_info(results)")}
        scale = 1e-6 if types.get("duration") == "INTEGER" else 1.0  # stored in µs, or seconds
        rows = conn.execute(
            "SELECT r.flags & 1, r.duration FROM results r JOIN targets t ON r.target = t.key "
            "WHERE t.id LIKE ? AND r.at BETWEEN ? AND ?",
            (ids, since, until),
        ).fetchall()
    return [(bool(ok), float(d) * scale) for ok, d in rows]
