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

from bench import blackbox, dbgrowth, runs
from bench.farm import Farm, farm
from bench.report import Figure, Report
from tests.integration import need


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
def test_the_status_page_is_timed(targets: Farm, tmp_path: Path) -> None:
    result = runs.status_page(tmp_path, targets, 10, settle=2.0, repeat=2, cpu=None)
    assert result.status == 200
    assert len(result.times) == 2


def test_the_database_growth_is_simulated_through_the_store() -> None:
    growth = asyncio.run(dbgrowth.measure(1, 2, 30.0))
    assert growth.per_target_year > 0


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
