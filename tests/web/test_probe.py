"""`GET /probe?target=ID` against Debian's blackbox exporter probing the same local
targets: the same `probe_success`, `probe_http_status_code` and certificate expiry; no
`target` label; only configured ids; an answer before Prometheus's scrape timeout."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration import need
from tests.live import (
    Farm,
    LiveMonitor,
    farm,
    free_port,
    live_monitor,
    process,
    silent_server,
    targets_toml,
)

TARGETS = ("web", "secure", "broken", "closed")


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def value(parsed: dict[str, list[tuple[dict[str, str], float]]], name: str) -> float | None:
    found = [v for labels, v in parsed.get(name, []) if not labels]
    return found[0] if found else None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveMonitor, Farm, str]]:
    """(the live monitor, its targets, the blackbox exporter's base URL)."""
    exporter = need("prometheus-blackbox-exporter", "prometheus-blackbox-exporter")
    tmp = tmp_path_factory.mktemp("blackbox")
    with farm(tmp) as targets, silent_server() as silent:
        config = tmp / "targets.toml"
        config.write_text(
            targets_toml(
                targets,
                f"""
[targets.silent]
name = "Never answers"
url = "http://127.0.0.1:{silent}/"
interval = "10s"
timeout = "5s"
""",
            )
        )
        exporter_config = tmp / "blackbox.yml"
        exporter_config.write_text(
            json.dumps(
                {
                    "modules": {
                        "http_2xx": {
                            "prober": "http",
                            "timeout": "5s",
                            "http": {"preferred_ip_protocol": "ip4", "tls_config": {"ca_file": str(targets.ca_file)}},
                        }
                    }
                }
            )
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = [exporter, f"--config.file={exporter_config}", f"--web.listen-address=127.0.0.1:{port}"]
        with (
            live_monitor(config) as live,
            process(args, f"{base}/-/healthy", tmp / "blackbox.log"),
        ):
            yield live, targets, base


def url_of(targets: Farm, target_id: str) -> str:
    return {
        "web": f"http://127.0.0.1:{targets.http}/",
        "secure": f"https://127.0.0.1:{targets.https}/",
        "broken": f"http://127.0.0.1:{targets.http}/broken",
        "closed": f"http://127.0.0.1:{targets.closed}/",
    }[target_id]


def exporter_says(base: str, url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    query = urllib.parse.urlencode({"module": "http_2xx", "target": url})
    with urllib.request.urlopen(f"{base}/probe?{query}", timeout=15) as answer:
        return samples(answer.read().decode())


@pytest.mark.integration
@pytest.mark.parametrize("target_id", TARGETS)
def test_probe_agrees_with_the_blackbox_exporter(stack: tuple[LiveMonitor, Farm, str], target_id: str) -> None:
    live, targets, base = stack
    status, text = live.get(f"/probe?target={target_id}", live.metrics_url)
    assert status == 200, text
    ours, theirs = samples(text), exporter_says(base, url_of(targets, target_id))
    for name in ("probe_success", "probe_http_status_code"):
        assert value(ours, name) is not None, name
        assert value(ours, name) == value(theirs, name), name
    expected = {"web": (1.0, 200.0), "secure": (1.0, 200.0), "broken": (0.0, 500.0), "closed": (0.0, 0.0)}[target_id]
    assert (value(ours, "probe_success"), value(ours, "probe_http_status_code")) == expected
    if target_id == "secure":
        assert (
            value(ours, "probe_ssl_earliest_cert_expiry")
            == value(theirs, "probe_ssl_earliest_cert_expiry")
            == targets.cert_expiry
        )


@pytest.mark.integration
def test_probe_answers_without_a_target_label(stack: tuple[LiveMonitor, Farm, str]) -> None:
    live, _, _ = stack
    status, text = live.get("/probe?target=web", live.metrics_url)
    parsed = samples(text)
    assert status == 200
    assert value(parsed, "probe_success") == 1.0
    assert {ph["phase"] for ph, _ in parsed["probe_http_duration_seconds"]} == {
        "resolve",
        "connect",
        "tls",
        "processing",
        "transfer",
    }
    assert all("target" not in labels for series in parsed.values() for labels, _ in series)
    assert not any(name.startswith("monitor_") for name in parsed)


@pytest.mark.integration
def test_probe_refuses_what_is_not_a_configured_id(stack: tuple[LiveMonitor, Farm, str]) -> None:
    live, targets, _ = stack
    assert live.get("/probe", live.metrics_url)[0] == 400
    assert "Target parameter is missing" in live.get("/probe", live.metrics_url)[1]
    status, text = live.get("/probe?" + urllib.parse.urlencode({"target": url_of(targets, "web")}), live.metrics_url)
    assert status == 404
    assert "only ids configured" in text
    assert live.get("/probe?target=nope", live.metrics_url)[0] == 404


@pytest.mark.integration
def test_probe_answers_before_the_scrape_timeout(stack: tuple[LiveMonitor, Farm, str]) -> None:
    live, _, _ = stack
    request = urllib.request.Request(
        live.metrics_url + "/probe?target=silent", headers={"X-Prometheus-Scrape-Timeout-Seconds": "1.5"}
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as answer:
        parsed = samples(answer.read().decode())
    assert time.monotonic() - started < 1.5  # the target's own timeout is 5 s
    assert value(parsed, "probe_success") == 0.0


@pytest.mark.integration
def test_the_public_app_never_serves_probe(stack: tuple[LiveMonitor, Farm, str]) -> None:
    live, _, _ = stack
    assert live.get("/probe?target=web")[0] == 404  # each request would cost a probe


@pytest.mark.parametrize(
    ("header", "deadline"), [("1.5", 1.0), ("0.2", 0.1), ("NaN", None), ("inf", None), ("x", None)]
)
def test_the_deadline_follows_a_sensible_scrape_timeout_only(header: str, deadline: float | None) -> None:
    from starlette.requests import Request

    from monitor.web.probe import _deadline

    request = Request({"type": "http", "headers": [(b"x-prometheus-scrape-timeout-seconds", header.encode())]})
    assert _deadline(request) == deadline
