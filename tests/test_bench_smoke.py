"""The bench harness's pieces at a tiny scale, so `make bench` cannot rot: the farm comes
up, the real `monitor run` is measured from outside, the blackbox exporter is driven,
the report is written. Figures are only checked to exist, never against timings."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from bench import blackbox, dbgrowth, locsync, memory, runs, scale, scrape, startup
from bench.farm import Farm, farm
from bench.report import Figure, Report
from tests.integration import need
from tests.postgresql import PostgreSQL


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    need("nginx", "nginx-light")
    with farm(tmp_path_factory.mktemp("farm")) as running:
        yield running


@pytest.mark.integration
def test_the_monitor_and_the_exporter_are_measured_side_by_side(targets: Farm, tmp_path: Path) -> None:
    need(blackbox.BINARY, "prometheus-blackbox-exporter")
    specs = runs.kind_targets(targets, "http", 20)
    both = runs.side_by_side(
        tmp_path,
        specs,
        [s.url for s in specs],
        "http_2xx",
        targets.ca_file,
        20,
        rounds=1,
        warmup=1.0,
        window=1.5,
        cpu=None,
    )
    (mon,), (ref,) = both.monitor, both.blackbox
    assert (mon.probes > 0, mon.cpu > 0, mon.failures) == (True, True, 0)
    assert (ref.probes > 0, ref.cpu > 0, ref.failures) == (True, True, 0)
    assert "monitor run" in mon.command


@pytest.mark.integration
def test_the_capacity_run_reads_lag_latency_memory_and_the_metrics(targets: Farm, tmp_path: Path) -> None:
    result = runs.capacity(tmp_path, targets, 20, 1.0, window=2.0, every=4, cpu=None, scrape=True, warmup=1.0)
    assert result.started > 0
    assert result.lag_p99 > 0
    assert result.slow_errors  # the 100 ms target was probed and its results stored
    assert result.rss > 0
    assert result.scrape_seconds is not None


@pytest.mark.integration
def test_the_scaled_run_reads_start_up_lag_scrapes_and_memory(targets: Farm, tmp_path: Path) -> None:
    s = scale.scale(tmp_path, targets, 20, 1.0, window=2.0, cpu=None, every=0.5)
    assert s.startup > 0 and s.started > 0 and s.scrapes and s.scrape_bytes > 0
    assert s.rss_peak > 0 and s.slow_errors
    assert "targets every" in scale.describe(s, 1)


def test_a_scrape_s_cost_is_measured_in_one_process() -> None:
    cost = asyncio.run(scrape.measure(50, rounds=1))
    assert cost.cpu and cost.size > 0 and cost.exchange_p99 > 0


def test_the_start_up_is_timed_to_the_first_healthy_answer(tmp_path: Path) -> None:
    wall, cpu = startup.startup(tmp_path, 20)
    assert wall > 0 and cpu > 0


def test_the_memory_each_target_holds_is_measured_in_one_process() -> None:
    held = asyncio.run(memory.measure(50, top=5))
    assert held.per_target > held.config > 0 and len(held.sites) == 5


def test_the_farm_serves_https_with_an_rsa_leaf_signed_by_the_same_ca(targets: Farm) -> None:
    import socket
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    context = ssl.create_default_context(cafile=str(targets.ca_file))
    keys = []
    for port in (targets.https, targets.https_rsa):
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        assert der is not None
        keys.append(x509.load_der_x509_certificate(der).public_key())
    assert isinstance(keys[0], ec.EllipticCurvePublicKey) and keys[0].curve.name == "secp256r1"
    assert isinstance(keys[1], rsa.RSAPublicKey) and keys[1].key_size == 2048
    assert runs.kind_targets(targets, "https-rsa", 1)[0].url.startswith(targets.https_rsa_url)


def test_the_status_page_is_timed(targets: Farm, tmp_path: Path) -> None:
    result = runs.status_page(tmp_path, targets, 10, settle=2.0, repeat=2, cpu=None)
    assert result.status == 200
    assert len(result.times) == 2


def test_the_database_growth_is_simulated_through_the_store() -> None:
    growth = asyncio.run(dbgrowth.measure(1, 2, 30.0))
    assert growth.per_target_year > 0


@pytest.mark.integration
def test_the_locations_sync_counts_the_rows_each_read_returns(postgresql: PostgreSQL) -> None:
    url = postgresql.create_database()
    try:
        found = asyncio.run(locsync.measure(url, 12, 2, 30.0, 5.0, 2))
    finally:
        postgresql.drop_database(url)
    assert (found["full_rows"], found["since_rows"]) == (24, 4)  # 2 of 12 probed a round, at 2 locations


def test_the_report_prints_and_writes_every_figure(tmp_path: Path) -> None:
    report = Report([Figure("status page", "12 ms", "< 100 ms", True, "GET / x9", 0.012)], ["a note"])
    out = io.StringIO()
    report.print(Console(file=out, width=200))
    report.write(tmp_path)
    assert "status page" in out.getvalue()
    assert json.loads((tmp_path / "results.json").read_text())["figures"][0]["value"] == 0.012
    assert "| status page | 12 ms | < 100 ms | met |" in (tmp_path / "results.md").read_text()


@pytest.mark.integration
def test_the_crowd_run_reads_the_rate_the_lag_and_the_slow_target(targets: Farm, tmp_path: Path) -> None:
    from bench import crowd

    need("wrk", "wrk")
    found = crowd.measure(tmp_path, targets, 20, seconds=3.0)  # the slow target probed at least once
    assert found.requests_per_second > 0 and found.latency_p99
    assert found.probes > 0 and found.lag_crowd_p99 > 0
    assert found.slow_errors  # the 100 ms target was probed during the crowd
