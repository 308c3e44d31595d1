"""A real Prometheus (Debian's `prometheus`) scrapes a real monitor probing local targets,
four up (two web sites, Debian's snmpd, a UPS behind Debian's NUT server) and two down:
every query of the Grafana dashboard returns data, the DOWN alert fires, and `promtool
check metrics` has nothing to say about the live /metrics.

Prometheus scrapes and evaluates every second. The shipped rules are loaded as they are
except `MonitorTargetDown`'s `for: 1m`, set to 0s in the test's copy so the alert fires
within the test. Grafana's `$__rate_interval` becomes 10s (at least two scrapes), and the
template variables take what Grafana's "All" would: `job` and `group` their `allValue`
(`.*`), `target` every value of its own `label_values` query.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration import need
from tests.live import (
    LiveMonitor,
    closed_port,
    farm,
    free_port,
    get_json,
    live_monitor,
    process,
    targets_toml,
)
from tests.probes.nut import nut_server
from tests.probes.snmpd import snmpd
from tests.waiting import NotInTime, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = json.loads((ROOT / "grafana" / "dashboards" / "monitor.json").read_text())
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DEADLINE = 30.0  # seconds for every query to have data
RATE_INTERVAL = "10s"


# The devices' panels read a switch over SNMP and a UPS over NUT.
DEVICES = """
[targets.switch]
name = "Switch"
group = "Network"
url = "snmp://127.0.0.1:{snmp}"
oids = {{ "SNMPv2-MIB::sysUpTime.0" = "> 0", "UPS-MIB::upsEstimatedChargeRemaining.0" = ">= 50" }}

[targets.ups]
name = "UPS ruang server"
group = "Power"
url = "nut://127.0.0.1:{nut}/serverroom"
"""

# Two webhooks, no traffic leaving the machine: `oncall` to the farm's server, which
# answers 404 (a permanent error: counted as failed), `helpdesk` to a closed port
# (transient errors: the alerts wait in the queue).
NOTIFIERS = """
[notifiers.oncall]
type = "webhook"
url = "http://127.0.0.1:{http}/hook"

[notifiers.helpdesk]
type = "webhook"
url = "http://127.0.0.1:{closed}/hook"
"""


def _rules_copy(tmp: Path) -> Path:
    rules = yaml.safe_load(RULES.read_text())
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        if rule.get("alert") == "MonitorTargetDown":
            rule["for"] = "0s"
    copy = tmp / "alerts.yml"
    copy.write_text(yaml.safe_dump(rules))
    return copy


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveMonitor, str]]:
    """(the live monitor, Prometheus's base URL)."""
    prometheus = need("prometheus", "prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    with farm(tmp) as targets, snmpd(tmp / "snmpd") as snmp, nut_server(tmp / "nut", ("serverroom",)) as nut:
        config = tmp / "targets.toml"
        notifiers = NOTIFIERS.format(http=targets.http, closed=closed_port()) + DEVICES.format(snmp=snmp, nut=nut.port)
        config.write_text(targets_toml(targets, notifiers, ("oncall", "helpdesk")))
        with live_monitor(config) as live:
            port = free_port()
            prom_config = tmp / "prometheus.yml"
            prom_config.write_text(
                json.dumps(
                    {  # JSON is YAML
                        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                        "rule_files": [str(_rules_copy(tmp))],
                        "scrape_configs": [
                            {"job_name": "monitor", "static_configs": [{"targets": [live.url.removeprefix("http://")]}]}
                        ],
                    }
                )
            )
            base = f"http://127.0.0.1:{port}"
            args = [
                prometheus,
                f"--config.file={prom_config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ]
            with process(args, f"{base}/-/ready", tmp / "prometheus.log"):
                yield live, base


def query(base: str, expr: str) -> list[Any]:
    answer = get_json(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert answer["status"] == "success", (expr, answer)
    result: list[Any] = answer["data"]["result"]
    return result


def left(deadline: float) -> float:
    """Seconds until `deadline` (a `time.monotonic()`), for waits sharing one."""
    return max(0.0, deadline - time.monotonic())


def variables(base: str) -> dict[str, str]:
    """Each dashboard variable resolved as Grafana's "All" would, in dashboard order."""
    values: dict[str, str] = {}
    for var in DASHBOARD["templating"]["list"]:
        if var["type"] != "query":
            continue
        found = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", var["definition"])
        assert found, var["definition"]
        selector = substitute(found.group(1), values)
        url = f"{base}/api/v1/label/{found.group(2)}/values?" + urllib.parse.urlencode({"match[]": selector})
        names = get_json(url)["data"]
        # `location` has none on a single instance (its series carry no location label):
        # its "All" is its `allValue`, which matches the missing label too.
        assert names or var.get("allValue"), f"variable {var['name']} has no values"
        values[var["name"]] = var.get("allValue") or "(" + "|".join(map(re.escape, names)) + ")"
    return values


def substitute(expr: str, values: dict[str, str]) -> str:
    expr = expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__interval", "1s")
    expr = expr.replace("$__range", "1m")
    for name, value in sorted(values.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace("$" + name, value)
    return expr


def dashboard_queries() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in DASHBOARD["panels"] for target in panel.get("targets", [])]


def test_every_dashboard_query_returns_data(stack: tuple[LiveMonitor, str]) -> None:
    _, base = stack
    deadline = time.monotonic() + DEADLINE
    wait_for(lambda: query(base, 'monitor_target_info{target="closed"}'), left(deadline), what="the first scrape")
    values = variables(base)
    assert values["target"].count("|") == 5  # web, secure, broken, closed, switch, ups
    empty = []
    for title, expr in dashboard_queries():
        if "monitor_location_up" in expr:
            continue  # several locations only: a single instance has no such series
        final = substitute(expr, values)
        assert "$" not in final, final
        try:
            wait_for(lambda e=final: query(base, e), left(deadline), what=f"{title}: {final}")
        except NotInTime:
            empty.append(f"{title}: {final}")
    assert empty == []


def test_the_down_target_fires_its_alert_and_the_up_ones_do_not(
    stack: tuple[LiveMonitor, str],
) -> None:
    _, base = stack

    def firing() -> set[str]:
        alerts = get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
        return {
            a["labels"]["target"]
            for a in alerts
            if a["labels"]["alertname"] == "MonitorTargetDown" and a["state"] == "firing"
        }

    wait_for(lambda: {"closed", "broken"} <= firing(), DEADLINE, what="MonitorTargetDown firing")
    assert firing() == {"closed", "broken"}
    alerts = get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
    closed = next(a for a in alerts if a["labels"].get("target") == "closed")
    assert closed["labels"]["severity"] == "critical"
    assert closed["labels"]["name"] == "Closed port"
    assert closed["annotations"]["summary"] == "Closed port is DOWN"


def test_the_dashboards_numbers_match_the_targets(stack: tuple[LiveMonitor, str]) -> None:
    _, base = stack
    wait_for(
        lambda: query(base, 'probe_ssl_earliest_cert_expiry{target="secure"}'), DEADLINE, what="a certificate expiry"
    )
    down = query(base, 'count(monitor_target_state{state="DOWN"} == 1)')
    up = query(base, 'count(monitor_target_state{state="UP"} == 1)')
    assert (float(down[0]["value"][1]), float(up[0]["value"][1])) == (2.0, 4.0)
    codes = {r["metric"]["target"]: float(r["value"][1]) for r in query(base, "probe_http_status_code")}
    assert codes == {"web": 200.0, "secure": 200.0, "broken": 500.0, "closed": 0.0}


def test_promtool_finds_nothing_to_lint_on_the_live_metrics(stack: tuple[LiveMonitor, str]) -> None:
    promtool = need("promtool", "prometheus")
    live, _ = stack
    status, text = live.get("/metrics")
    assert status == 200
    assert 'probe_success{target="web"} 1.0' in text
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_failing_deliveries_show_in_the_notification_series(stack: tuple[LiveMonitor, str]) -> None:
    _, base = stack
    deadline = time.monotonic() + DEADLINE
    failed = 'monitor_notifications_total{notifier="oncall", result="failed"} > 0'
    wait_for(lambda: query(base, failed), left(deadline), what="a permanently failed delivery")
    waiting = 'monitor_notification_queue{notifier="helpdesk"} > 0'
    wait_for(lambda: query(base, waiting), left(deadline), what="alerts waiting for helpdesk")
    assert query(base, 'monitor_notification_queue{notifier="oncall"}')[0]["value"][1] == "0"
