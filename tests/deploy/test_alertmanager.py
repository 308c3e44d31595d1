"""deploy/alertmanager/alertmanager.yml loaded by a real Alertmanager (Debian's
prometheus-alertmanager): its inhibit rules silence what they should and nothing else.
The test's copy points every receiver at a closed local port (no traffic leaves the
machine); routing and inhibition are as shipped."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration import need
from tests.live import closed_port, free_port, get_json, process
from tests.waiting import NotInTime, wait_for

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "alertmanager.yml"


def _local_copy(tmp: Path) -> Path:
    config = yaml.safe_load(CONFIG.read_text())
    sink = f"http://127.0.0.1:{closed_port()}/"
    config["global"] = {"resolve_timeout": "5m"}  # no SMTP server to name
    for receiver in config["receivers"]:
        for key in [k for k in receiver if k.endswith("_configs")]:
            del receiver[key]
        receiver["webhook_configs"] = [{"url": sink}]
    copy = tmp / "alertmanager.yml"
    copy.write_text(yaml.safe_dump(config))
    return copy


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    program = need("prometheus-alertmanager", "prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("alertmanager")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [
        program,
        f"--config.file={_local_copy(tmp)}",
        f"--storage.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with process(args, f"{base}/-/ready", tmp / "alertmanager.log"):
        yield base


def post(base: str, *alerts: dict[str, str]) -> None:
    start = dt.datetime.now(dt.UTC).isoformat()
    body = json.dumps([{"labels": labels, "startsAt": start} for labels in alerts]).encode()
    request = urllib.request.Request(
        f"{base}/api/v2/alerts", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def states(base: str) -> dict[tuple[str, str, str], str]:
    """(alertname, target, severity) -> active | suppressed."""
    return {
        (a["labels"]["alertname"], a["labels"].get("target", ""), a["labels"]["severity"]): a["status"]["state"]
        for a in get_json(f"{base}/api/v2/alerts")
    }


def test_inhibit_rules_silence_the_lesser_and_duplicate_alerts(alertmanager: str) -> None:
    common = {"job": "monitor", "instance": "m:8080"}
    post(
        alertmanager,
        {**common, "alertname": "MonitorCertificateExpiring", "target": "web", "severity": "critical"},
        {**common, "alertname": "MonitorCertificateExpiring", "target": "web", "severity": "warning"},
        {**common, "alertname": "MonitorCertificateExpiring", "target": "mail", "severity": "warning"},
        {"alertname": "TargetDown", "target": "simpeg", "severity": "critical"},
        {**common, "alertname": "MonitorTargetDown", "target": "simpeg", "severity": "critical"},
        {**common, "alertname": "MonitorTargetDown", "target": "gateway", "severity": "critical"},
        {**common, "alertname": "MonitorNotProbing", "severity": "critical"},
        {**common, "alertname": "MonitorSchedulerLagging", "severity": "warning"},
    )
    expected = {
        ("MonitorCertificateExpiring", "web", "critical"): "active",
        ("MonitorCertificateExpiring", "web", "warning"): "suppressed",
        ("MonitorCertificateExpiring", "mail", "warning"): "active",
        ("TargetDown", "simpeg", "critical"): "active",
        ("MonitorTargetDown", "simpeg", "critical"): "suppressed",
        ("MonitorTargetDown", "gateway", "critical"): "active",
        ("MonitorNotProbing", "", "critical"): "active",
        ("MonitorSchedulerLagging", "", "warning"): "suppressed",
    }
    # Alertmanager's inhibitor learns of a posted source alert on a goroutine of its own:
    # right after the post an inhibited alert may still read "active" for a moment.
    with contextlib.suppress(NotInTime):
        wait_for(lambda: states(alertmanager) == expected, 10, what="the inhibitions in effect")
    assert states(alertmanager) == expected
