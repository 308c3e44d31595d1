"""`monitor run` as a process: serves, probes, reloads (keeping a good configuration over
a bad one) and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.sites import Site
from tests.waiting import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def config_text(port: int, targets: str) -> str:
    return (
        f'[monitor]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\n[defaults]\ninterval = "500ms"\n'
        f'timeout = "400ms"\nfailure_threshold = 1\nsuccess_threshold = 1\n{targets}'
    )


class Running:
    def __init__(self, tmp_path: Path, site: Site) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.site = site
        self.path = tmp_path / "targets.toml"
        self.log = tmp_path / "monitor.log"

    def write(self, targets: str) -> None:
        self.path.write_text(config_text(self.port, targets))

    def metrics(self) -> str:
        return httpx.get(f"{self.base}/metrics", timeout=5).text

    def await_metric(self, line: str) -> None:
        wait_for(lambda: line in self.metrics(), what=f"/metrics showing {line}", ignoring=(httpx.HTTPError,))

    def await_log(self, text: str, times: int = 1) -> None:
        wait_for(lambda: self.log.read_text().count(text) >= times, what=f"{text!r} logged {times} time(s)")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Running, subprocess.Popen[bytes]]]:
    with Site() as site:
        run = Running(tmp_path, site)
        run.write(f'[targets.home]\nurl = "{site.url}/ok"\n')
        with open(run.log, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(run.path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
            )
        try:
            wait_for(
                lambda: httpx.get(f"{run.base}/healthz", timeout=2).status_code == 200,
                what="/healthz answering 200",
                ignoring=(httpx.HTTPError,),
            )
            yield run, proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def test_it_serves_probes_and_exports_the_result(running: tuple[Running, subprocess.Popen[bytes]]) -> None:
    run, _ = running
    run.await_metric('probe_success{target="home"} 1.0')
    assert httpx.get(f"{run.base}/readyz", timeout=5).json()["ready"] is True
    assert "monitor_build_info" in run.metrics()


def test_a_bad_configuration_is_rejected_and_the_running_one_stays(
    running: tuple[Running, subprocess.Popen[bytes]],
) -> None:
    run, proc = running
    run.await_metric('probe_success{target="home"} 1.0')
    run.write(f'[targets.home]\nurl = "{run.site.url}/ok"\ninterval = "often"\n')  # the file watcher sees it
    run.await_metric("monitor_config_last_reload_successful 0.0")
    rejected = run.log.read_text().count("configuration rejected")
    proc.send_signal(signal.SIGHUP)
    run.await_log("configuration rejected", rejected + 1)  # the SIGHUP's reload rejected it again
    assert proc.poll() is None
    assert 'probe_success{target="home"} 1.0' in run.metrics()
    assert "configuration rejected" in run.log.read_text() and "targets.home.interval" in run.log.read_text()


def test_a_reload_adds_and_removes_targets(running: tuple[Running, subprocess.Popen[bytes]]) -> None:
    run, proc = running
    run.await_metric('probe_success{target="home"} 1.0')
    run.write(f'[targets.api]\nurl = "{run.site.url}/fail"\n')
    proc.send_signal(signal.SIGHUP)
    run.await_metric('probe_success{target="api"} 0.0')
    text = run.metrics()
    assert 'target="home"' not in text
    assert "monitor_config_last_reload_successful 1.0" in text


def test_sigterm_stops_it_cleanly_with_exit_0(running: tuple[Running, subprocess.Popen[bytes]]) -> None:
    run, proc = running
    run.await_metric('probe_success{target="home"} 1.0')
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert "monitor stopped" in run.log.read_text()
    assert (run.path.parent / "data" / "monitor.db").exists()


def test_the_history_survives_a_restart(tmp_path: Path) -> None:
    with Site() as site:
        run = Running(tmp_path, site)
        run.write(f'[targets.api]\nurl = "{site.url}/fail"\n')
        for _ in range(2):
            with open(run.log, "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "monitor", "run", "-c", str(run.path)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=tmp_path,
                    env={**os.environ},
                )
            try:
                run.await_metric('monitor_target_state{state="DOWN",target="api"} 1.0')
            finally:
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=20) == 0
        changes = [line for line in run.log.read_text().splitlines() if "state changed" in line]
        assert len(changes) == 1, changes  # DOWN once; the restart resumed DOWN without a new event


def test_command_line_overrides_survive_a_reload(tmp_path: Path) -> None:
    with Site() as site:
        run = Running(tmp_path, site)
        run.write(f'[targets.home]\nurl = "{site.url}/ok"\n')
        with open(run.log, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(run.path), "--data", str(tmp_path / "elsewhere")],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
            )
        try:
            run.await_metric('probe_success{target="home"} 1.0')
            proc.send_signal(signal.SIGHUP)
            run.await_log("configuration reloaded")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        assert "takes effect at the next start" not in run.log.read_text()
        assert (tmp_path / "elsewhere" / "monitor.db").exists() and not (tmp_path / "data").exists()


def test_it_tells_the_person_who_started_it_where_the_page_and_the_admin_view_are(running) -> None:
    run, _ = running
    run.await_log("status page:")
    text = run.log.read_text()
    assert f"status page: {run.base}/" in text
    assert f"admin view:  off; start with MONITOR_ADMIN_TOKEN=<a long random secret> to open {run.base}/admin" in text
