"""deploy/cluster/: the two-location example, checked by the tools that load it:
promtool (the quorum rule and its unit tests), systemd-analyze (the template unit,
as an instance) and `monitor validate` (each location's configuration)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config.loader import load_config
from tests.integration import need

CLUSTER = Path(__file__).resolve().parents[2] / "deploy" / "cluster"


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.integration
def test_the_quorum_rule_passes_promtool_check() -> None:
    promtool = need("promtool", "prometheus")
    done = run(promtool, "check", "rules", CLUSTER / "quorum.rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rules found" in done.stdout


@pytest.mark.integration
def test_the_quorum_rule_fires_when_two_locations_fail_and_not_for_one() -> None:
    promtool = need("promtool", "prometheus")
    done = run(promtool, "test", "rules", "quorum.test.yml", cwd=CLUSTER)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize("location", ["sampit", "jakarta"])
def test_each_locations_example_configuration_is_valid(location: str) -> None:
    env = {"MONITOR_DATABASE_URL": "postgresql://monitor@db.internal:5432/monitor"}
    config = load_config(CLUSTER / f"{location}.toml", env)
    assert config.settings.location == location
    assert config.targets["gateway"].probed_at("sampit")
    assert config.targets["gateway"].probed_at("jakarta") is False


@pytest.mark.integration
def test_the_template_unit_verifies_as_an_instance(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not found (optional): apt-get install systemd")
    text = (CLUSTER / "monitor@.service").read_text()
    (tmp_path / "monitor@.service").write_text(
        text.replace("/opt/monitor/bin/monitor", str(Path(sys.executable).resolve()))
    )
    done = run(analyze, "verify", tmp_path / "monitor@sampit.service", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ""


def test_the_dashboard_filters_each_locations_probes_by_a_location_variable() -> None:
    import json

    dashboard = json.loads((CLUSTER.parents[1] / "grafana" / "dashboards" / "monitor.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["location"]["definition"] == 'label_values(monitor_probes_total{job=~"$job"}, location)'
    assert variables["location"]["allValue"] == ".*"  # a single instance's series have no location
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    probes = [e for e in exprs if "probe_duration_seconds" in e or "probe_success" in e or "monitor_probes_total{" in e]
    assert probes and all('location=~"$location"' in e for e in probes if 'target=~"$target"' in e)
    assert 'min by (location) (monitor_location_up{job=~"$job"})' in exprs
