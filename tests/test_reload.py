"""`monitor run` following its configuration file as people and tools replace it: a
binary file saved over it, a symlink re-pointed, Kubernetes' ConfigMap `..data` swap,
SIGHUP with a broken file. A file that cannot be loaded is a reported problem (log line,
metric 0, the admin view's reload status) and the running configuration keeps probing;
the watcher keeps watching and picks up the next good file."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sites import Site
from tests.test_run import config_text, free_port
from tests.waiting import wait_for

TOKEN = "reload-test-admin-token"


class Run:
    """A `monitor run` process on `path` (written by the test), with the admin view on."""

    def __init__(self, tmp_path: Path, path: Path, site: Site) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.path, self.site, self.log = path, site, tmp_path / "monitor.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def text(self, *ids: str) -> str:
        return config_text(self.port, "".join(f'[targets.{i}]\nurl = "{self.site.url}/ok"\n' for i in ids))

    def start(self) -> None:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "-c", str(self.path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.log.parent,
                env={**os.environ, "MONITOR_ADMIN_TOKEN": TOKEN},
            )
        self.await_metric('probe_success{target="home"} 1.0')

    def metrics(self) -> str:
        assert self.proc is not None and self.proc.poll() is None, f"monitor run exited: {self.log.read_text()}"
        return httpx.get(f"{self.base}/metrics", timeout=5).text

    def await_metric(self, line: str) -> None:
        wait_for(lambda: line in self.metrics(), what=f"/metrics showing {line}", ignoring=(httpx.HTTPError,))

    def await_log(self, text: str) -> None:
        wait_for(lambda: text in self.log.read_text(), what=f"{text!r} logged")

    def probes(self, target: str) -> float:
        found = re.search(rf'monitor_probes_total{{result="success",target="{target}"}} ([\d.e+]+)', self.metrics())
        return float(found.group(1)) if found else 0.0

    def reload_status(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.base}/admin/api/alerts", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        reload: dict[str, Any] = answer.json()["reload"]
        return reload

    def assert_still_probing(self) -> None:
        assert self.proc is not None and self.proc.poll() is None
        before = self.probes("home")
        wait_for(lambda: self.probes("home") > before, what="another probe of home", ignoring=(httpx.HTTPError,))


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        if run.proc is not None and run.proc.poll() is None:
            run.proc.send_signal(signal.SIGTERM)
            try:
                run.proc.wait(20)
            except subprocess.TimeoutExpired:
                run.proc.kill()
                run.proc.wait(10)


def replace(path: Path, data: bytes) -> None:
    """Write a temporary file and rename it over `path`."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def relink(link: Path, target: str) -> None:
    tmp = link.with_name(link.name + ".new")
    tmp.symlink_to(target)
    os.replace(tmp, link)


def test_a_binary_file_is_reported_the_running_one_keeps_probing_and_a_good_one_is_taken(
    tmp_path: Path, site: Site, runs: list[Run]
) -> None:
    run = Run(tmp_path, tmp_path / "targets.toml", site)
    run.path.write_text(run.text("home"))
    runs.append(run)
    run.start()
    run.path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00binary")  # saved in place
    run.await_metric("monitor_config_last_reload_successful 0.0")
    status = run.reload_status()
    assert status["ok"] is False
    assert any("cannot read the file: it is not UTF-8 text" in p for p in status["problems"])
    log = run.log.read_text()
    assert "configuration rejected; the running one stays" in log and "not UTF-8" in log
    run.assert_still_probing()
    replace(run.path, run.text("home", "api").encode())
    run.await_metric('probe_success{target="api"} 1.0')
    assert "monitor_config_last_reload_successful 1.0" in run.metrics()
    assert run.reload_status()["ok"] is True


def test_a_symlink_re_pointed_atomically_is_followed(tmp_path: Path, site: Site, runs: list[Run]) -> None:
    for name in ("v1", "v2", "etc"):
        (tmp_path / name).mkdir()
    link = tmp_path / "etc" / "targets.toml"
    run = Run(tmp_path, link, site)
    (tmp_path / "v1" / "targets.toml").write_text(run.text("home"))
    (tmp_path / "v2" / "targets.toml").write_text(run.text("home", "api"))
    link.symlink_to("../v1/targets.toml")
    runs.append(run)
    run.start()
    relink(link, "../v2/targets.toml")
    run.await_metric('probe_success{target="api"} 1.0')
    # The link's new folder is watched too: an edit there is picked up.
    replace(tmp_path / "v2" / "targets.toml", run.text("home", "api", "third").encode())
    run.await_metric('probe_success{target="third"} 1.0')


def test_the_configmap_data_link_swap_is_followed(tmp_path: Path, site: Site, runs: list[Run]) -> None:
    volume = tmp_path / "config"
    volume.mkdir()
    run = Run(tmp_path, volume / "targets.toml", site)

    def publish(version: int, *ids: str) -> None:
        """As the kubelet updates a ConfigMap volume: a new timestamped folder, `..data`
        renamed over to point at it, the old folder deleted."""
        folder = volume / f"..2026_12_01_10_00_{version:02d}.123456789"
        folder.mkdir()
        (folder / "targets.toml").write_text(run.text(*ids))
        old = os.path.realpath(volume / "..data") if (volume / "..data").exists() else None
        relink(volume / "..data", folder.name)
        if old:
            shutil.rmtree(old)

    publish(1, "home")
    (volume / "targets.toml").symlink_to("..data/targets.toml")
    runs.append(run)
    run.start()
    publish(2, "home", "api")
    run.await_metric('probe_success{target="api"} 1.0')
    publish(3, "home", "api", "third")
    run.await_metric('probe_success{target="third"} 1.0')
    assert "monitor_config_last_reload_successful 1.0" in run.metrics()


def test_sighup_with_a_broken_file_keeps_the_running_one(tmp_path: Path, site: Site, runs: list[Run]) -> None:
    run = Run(tmp_path, tmp_path / "targets.toml", site)
    run.path.write_text(run.text("home"))
    runs.append(run)
    run.start()
    assert run.proc is not None
    replace(run.path, b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    run.proc.send_signal(signal.SIGHUP)
    run.await_metric("monitor_config_last_reload_successful 0.0")
    run.await_log("nested too deeply")
    assert any("nested too deeply" in p for p in run.reload_status()["problems"])
    run.assert_still_probing()
    run.path.write_bytes(b"\xff\xfe\x00\x00")  # and a binary one, by SIGHUP again
    run.proc.send_signal(signal.SIGHUP)
    run.await_log("not UTF-8")
    run.assert_still_probing()
    assert "Traceback" not in run.log.read_text()
