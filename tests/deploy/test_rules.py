"""The deploy/ files, checked by the tools that will load them: promtool (rules, their unit
tests, the Prometheus configuration), amtool (Alertmanager configuration and routing) and
systemd-analyze (the unit; optional, skipped where systemd's tools are absent)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration import need

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"
UNIT = DEPLOY / "systemd" / "monitor.service"


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.integration
def test_alert_rules_pass_promtool_check() -> None:
    promtool = need("promtool", "prometheus")
    done = run(promtool, "check", "rules", RULES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 14 rules found" in done.stdout


@pytest.mark.integration
def test_alert_rules_pass_their_unit_tests() -> None:
    promtool = need("promtool", "prometheus")
    done = run(promtool, "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_rule_has_a_firing_and_a_quiet_unit_test() -> None:
    rules = yaml.safe_load(RULES.read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for t in tests for case in t["alert_rule_test"]]
    firing = {c["alertname"] for c in cases if c["exp_alerts"]}
    quiet = {c["alertname"] for c in cases if not c["exp_alerts"]}
    assert firing == names
    assert quiet == names - {"Watchdog"}  # the Watchdog has no quiet case: it always fires


def test_every_alert_has_a_routable_severity_and_texts() -> None:
    rules = yaml.safe_load(RULES.read_text())
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        assert rule["labels"]["severity"] in {"critical", "warning", "none"}, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


@pytest.mark.integration
def test_prometheus_config_is_valid() -> None:
    promtool = need("promtool", "prometheus")
    done = run(promtool, "check", "config", DEPLOY / "prometheus" / "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is valid prometheus config file syntax" in done.stdout


def test_the_probe_job_scrapes_the_metrics_listener_beside_the_monitor_job() -> None:
    """/probe is served only on metrics_listen, so the blackbox-style job must point where
    the monitor job scrapes /metrics, not at the public listen address."""
    jobs = {
        j["job_name"]: j
        for j in yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    }
    (scraped,) = jobs["monitor"]["static_configs"][0]["targets"]
    address = [r for r in jobs["monitor-probe"]["relabel_configs"] if r.get("target_label") == "__address__"]
    assert [r["replacement"] for r in address] == [scraped]
    assert jobs["monitor-probe"]["metrics_path"] == "/probe"


@pytest.mark.integration
def test_alertmanager_config_is_valid() -> None:
    amtool = need("amtool", "prometheus-alertmanager")
    done = run(amtool, "check-config", ALERTMANAGER)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.integration
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=MonitorTargetDown", "severity=critical", "target=website"], "oncall"),
        (["alertname=MonitorCertificateExpiring", "severity=warning"], "helpdesk"),
        (["alertname=Watchdog", "severity=none"], "deadman"),
        (["alertname=SomethingUnlabelled"], "helpdesk"),
    ],
)
def test_alertmanager_routes_by_severity(labels: list[str], receiver: str) -> None:
    amtool = need("amtool", "prometheus-alertmanager")
    done = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == receiver


def _unit_copy(tmp_path: Path) -> Path:
    # systemd-analyze verify insists that ExecStart exists; the installed path does not here,
    # so the copy points it at this Python. Everything else is verified as shipped.
    text = UNIT.read_text().replace("/opt/monitor/bin/monitor", str(Path(sys.executable).resolve()))
    copy = tmp_path / UNIT.name
    copy.write_text(text)
    return copy


def _systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze not found (optional): apt-get install systemd")
    return path


@pytest.mark.integration
def test_systemd_unit_verifies_without_warnings(tmp_path: Path) -> None:
    analyze = _systemd_analyze()
    done = run(analyze, "verify", _unit_copy(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""  # unknown keys are only warned about: none allowed


@pytest.mark.integration
def test_systemd_unit_is_hardened(tmp_path: Path) -> None:
    analyze = _systemd_analyze()
    done = run(analyze, "security", "--offline=yes", _unit_copy(tmp_path))
    found = re.search(r"Overall exposure level for monitor.service: ([\d.]+)", done.stdout)
    if found is None:
        pytest.skip(f"this systemd-analyze cannot rate a unit offline: {done.stderr.strip()}")
    assert float(found.group(1)) <= 2.5, done.stdout  # systemd rates <= 2.5 as "OK"
    capabilities = r"^(?:AmbientCapabilities|CapabilityBoundingSet)=(.*)$"
    granted = re.findall(capabilities, UNIT.read_text(), re.M)
    assert granted == ["CAP_NET_RAW", "CAP_NET_RAW"]


def test_systemd_unit_allows_enough_open_files() -> None:
    """At the default soft limit of 1,024 descriptors a few hundred idle clients holding
    connections open would leave no socket for probes or the database."""
    limits = re.findall(r"^LimitNOFILE=(.*)$", UNIT.read_text(), re.M)
    assert limits == ["65536"]
