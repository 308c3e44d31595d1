"""The Grafana dashboard's structure: what Grafana needs to import it anywhere (the data
source as a variable, defined template variables, a non-overlapping layout) and the
panels issue #5 asks for. Its queries are run against a real Prometheus in
tests/test_prometheus.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARD = json.loads((GRAFANA / "dashboards" / "monitor.json").read_text())


def _panels() -> list[dict[str, Any]]:
    return [p for p in DASHBOARD["panels"] if p["type"] != "row"]


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p["targets"]]


def test_every_panel_reads_the_datasource_variable() -> None:
    for panel in _panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def test_every_variable_used_in_a_query_is_defined() -> None:
    defined = {v["name"] for v in DASHBOARD["templating"]["list"]}
    assert {"datasource", "group", "target"} <= defined
    builtins = {"__rate_interval", "__interval", "__range"}
    for expr in _exprs():
        for name in re.findall(r"\$(\w+)", expr):
            assert name in defined | builtins, (name, expr)


def test_group_and_target_come_from_monitor_target_info() -> None:
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["group"]["definition"].startswith("label_values(monitor_target_info")
    assert variables["target"]["definition"].startswith("label_values(monitor_target_info")
    assert 'group=~"$group"' in variables["target"]["definition"]


def test_panels_do_not_overlap_and_fit_the_grid() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in DASHBOARD["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & taken, panel["title"]
        taken |= cells


def test_the_dashboard_shows_what_operators_asked_for() -> None:
    text = "\n".join(_exprs())
    kinds = {p["type"] for p in _panels()}
    assert {"stat", "state-timeline", "table", "timeseries"} <= kinds
    for needle in (
        'state="UP"',
        'state="DEGRADED"',
        'state="DOWN"',
        'window="24h"',
        'window="7d"',
        'window="30d"',
        "monitor_probe_duration_seconds_bucket",
        "probe_http_duration_seconds",
        "probe_ssl_earliest_cert_expiry",
        "monitor_scheduler_lag_seconds_bucket",
        "monitor_probes_in_flight",
        "monitor_notification_queue",
        "probe_ups_battery_charge_ratio",
        "probe_ups_battery_runtime_seconds",
        "probe_ups_on_battery",
        "probe_snmp_value",
    ):
        assert needle in text, needle
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))


def test_provisioning_points_at_the_dashboard_and_a_prometheus() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    assert datasources["datasources"][0]["type"] == "prometheus"
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/monitor.yml").read_text())
    assert providers["providers"][0]["type"] == "file"
    assert providers["providers"][0]["options"]["path"]
