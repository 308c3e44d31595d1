"""The availability report against the hand-computed history of `tests/history.py`."""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.config import Config, Maintenance, Settings, Target, Watch
from monitor.report.build import Report, build_report, parse_time, render_report, run_report
from monitor.result import Event, State
from monitor.store.registry import open_store
from tests.history import END, T0, ZONE, Clock, H, build

WATCH = "Cuti bersama Idul Fitri 1439 H"


def make_config(folder: Path, web_name: str = "Website Pemkab") -> Config:
    targets = {
        "web": Target(
            id="web", name=web_name, kind="http", url="https://www.example.go.id/", spec=None, group="Layanan publik"
        ),
        "mail": Target(
            id="mail",
            name="Server surel",
            kind="tcp",
            url="tcp://mail.example.go.id:25",
            spec=None,
            group="Server jaringan",
        ),
    }
    day = datetime(2018, 6, 11, tzinfo=ZONE)
    return Config(
        path=folder / "targets.toml",
        settings=Settings(title="Status Layanan Pemkab", language="id", timezone="Asia/Jakarta", data_dir=folder),
        targets=targets,
        watches=(Watch(WATCH, day, day.replace(day=12)),),
        maintenance=(Maintenance(day.replace(hour=5), day.replace(hour=6), ("web",), reason="Pembaruan server"),),
    )


@pytest.fixture
async def report(tmp_path: Path) -> AsyncIterator[Report]:
    await build(make_config(tmp_path).settings)
    store = open_store(make_config(tmp_path).settings, observe=False)
    await store.open()
    try:
        yield await build_report(make_config(tmp_path), store, T0, END, WATCH, now=END + H)
    finally:
        await store.close()


def test_it_computes_each_targets_figures(report: Report) -> None:
    web, mail = report.targets
    assert web.availability == pytest.approx(100 * 18 / 21)
    assert web.uptime.down == pytest.approx(3 * H)
    assert [o.length for o in web.incidents] == pytest.approx([1 * H, 4 * H])
    # The second outage went on while the monitor was stopped (10:00-12:00): 2 h of its
    # 4 h are downtime, as in the availability.
    assert [o.downtime for o in web.incidents] == pytest.approx([1 * H, 2 * H])
    assert [o.unmonitored for o in web.incidents] == pytest.approx([0, 2 * H])
    assert sum(o.downtime for o in web.incidents) == pytest.approx(web.uptime.down)
    assert (web.longest, web.mttr) == pytest.approx((2 * H, 1.5 * H))
    assert web.p50 == pytest.approx(0.1, rel=0.15)
    assert web.p95 == pytest.approx(1.0, rel=0.15)
    assert mail.availability == pytest.approx(100 * 20 / 22)
    assert [(o.end, o.length) for o in mail.incidents] == [(None, 2 * H)]
    assert mail.mttr is None and mail.longest == pytest.approx(2 * H)
    assert mail.p50 == pytest.approx(0.2, rel=0.15)


def test_it_sums_groups_and_everything_time_weighted(report: Report) -> None:
    assert [g.name for g in report.groups] == ["Layanan publik", "Server jaringan"]
    assert report.groups[0].availability == report.targets[0].availability
    overall = report.overall
    assert overall.availability == pytest.approx(100 * 38 / 43)
    assert overall.uptime.down == pytest.approx(5 * H)
    assert len(overall.incidents) == 3
    assert (overall.longest, overall.mttr) == pytest.approx((2 * H, 1.5 * H))
    assert overall.latency.count == 528


def test_it_lists_maintenance_apart_with_its_reason(report: Report) -> None:
    assert [(m.name, m.start, m.end, m.reason) for m in report.maintenance] == [
        ("Website Pemkab", T0 + 5 * H, T0 + 6 * H, "Pembaruan server")
    ]
    assert report.targets[0].uptime.maintenance == pytest.approx(H)


class _Checker(HTMLParser):
    """Collects unbalanced tags (void elements aside)."""

    VOID = frozenset({"meta", "br", "link", "img", "hr", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_it_renders_printable_html_in_indonesian_and_english(report: Report) -> None:
    html = render_report(report, "html", "id")
    checker = _Checker()
    checker.feed(html)
    assert checker.errors == [] and checker.stack == []
    assert "@media print" in html and "@page" in html
    for text in (
        "Laporan ketersediaan layanan",
        WATCH,
        "2018-06-11 00:00 s.d. 2018-06-12 00:00",
        "Asia/Jakarta",
        "85,714 %",
        "90,909 %",
        "88,372 %",
        "1 jam 30 mnt",
        "2 jam (+2 jam tidak terpantau)",
        "masih berlangsung",
        "Sambungan ditolak",
        "port 443 closed",
        "Pembaruan server",
    ):
        assert text in html, text
    english = render_report(report, "html", "en")
    for text in (
        "Service availability report",
        "85.714 %",
        "1 h 30 min",
        "ongoing",
        "The connection was refused",
        "Planned maintenance (not counted as downtime)",
    ):
        assert text in english, text


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("fmt", ["html", "md"])
def test_every_format_reads_in_both_languages_with_the_shared_reasons(report: Report, fmt: str, language: str) -> None:
    from monitor.report.render import _catalog, templates_dir

    words = _catalog(templates_dir()).words(language)
    text = render_report(report, fmt, language)
    assert words("report.title") in text and words("report.incident_list") in text
    for incident in report.overall.incidents:
        assert words.reason(incident.reason) in text, incident.reason


def test_it_renders_markdown_tables(report: Report) -> None:
    md = render_report(report, "md", "en")
    assert "| **All services** | 88.372 % | 5 h | 3 | 2 h | 1 h 30 min |" in md
    assert "| Website Pemkab | 85.714 % | 3 h | 2 | 2 h | 1 h 30 min |" in md
    assert "| Website Pemkab | 2018-06-11 09:00 | 2018-06-11 13:00 | 2 h (+2 h not monitored) |" in md
    assert (
        "| Server surel | 2018-06-11 22:00 | _ongoing_ | 2 h | The domain name could not be resolved (NXDOMAIN) |" in md
    )
    assert "| Website Pemkab | 2018-06-11 05:00 | 2018-06-11 06:00 | 1 h | Pembaruan server |" in md


def test_it_renders_csv_for_spreadsheets(report: Report) -> None:
    text = render_report(report, "csv", "id")
    summary, incidents = text.split("\n\n")
    rows = list(csv.DictReader(io.StringIO(summary)))
    assert [(r["level"], r["target"]) for r in rows] == [
        ("all", ""),
        ("group", ""),
        ("group", ""),
        ("target", "web"),
        ("target", "mail"),
    ]
    web = rows[3]
    assert float(web["availability_percent"]) == pytest.approx(85.7143)
    assert (web["downtime_seconds"], web["maintenance_seconds"]) == ("10800.0", "3600.0")
    assert (web["incidents"], web["longest_outage_seconds"], web["mttr_seconds"]) == ("2", "7200.0", "5400.0")
    assert (web["probes"], web["failed_probes"]) == ("264", "36")
    listed = list(csv.DictReader(io.StringIO(incidents)))
    assert [(r["target"], r["start"], r["end"]) for r in listed] == [
        ("web", "2018-06-11T02:00:00+07:00", "2018-06-11T03:00:00+07:00"),
        ("web", "2018-06-11T09:00:00+07:00", "2018-06-11T13:00:00+07:00"),
        ("mail", "2018-06-11T22:00:00+07:00", ""),
    ]
    assert [(r["length_seconds"], r["downtime_seconds"], r["unmonitored_seconds"]) for r in listed] == [
        ("3600.0", "3600.0", "0.0"),
        ("14400.0", "7200.0", "7200.0"),
        ("7200.0", "7200.0", "0.0"),
    ]


async def test_it_shows_a_hostile_target_name_as_text(tmp_path: Path) -> None:
    await build(make_config(tmp_path).settings)
    store = open_store(make_config(tmp_path).settings, observe=False)
    await store.open()
    try:
        config = make_config(tmp_path, web_name="<script>alert(1)</script>|x")
        report = await build_report(config, store, T0, END, now=END)
    finally:
        await store.close()
    html = render_report(report, "html", "en")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;|x" in html
    md = render_report(report, "md", "en")
    assert "<script>" not in md and "\\<script\\>alert(1)\\</script\\>\\|x" in md


def _args(**values: object) -> argparse.Namespace:
    base: dict[str, object] = {"watch": None, "from_": None, "to": None, "format": "md", "output": None}
    return argparse.Namespace(**{**base, **values})


async def test_the_command_writes_the_watch_report_to_a_file(tmp_path: Path) -> None:
    await build(make_config(tmp_path).settings)
    out = tmp_path / "laporan.md"
    assert await run_report(make_config(tmp_path), _args(watch=WATCH, output=out)) == 0
    row = "| Website Pemkab | 85,714 % | 3 jam | 2 | 2 jam | 1 jam 30 mnt |"
    assert WATCH in out.read_text(encoding="utf-8") and row in out.read_text(encoding="utf-8")
    dates = _args(from_="2018-06-11", to="2018-06-11", output=out)
    assert await run_report(make_config(tmp_path), dates) == 0
    assert WATCH not in out.read_text(encoding="utf-8") and row in out.read_text(encoding="utf-8")


async def test_the_command_refuses_an_unknown_watch_or_a_missing_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path)
    assert await run_report(config, _args(watch="nope")) == 2
    assert "no [[watch]] named 'nope'" in capsys.readouterr().err
    assert await run_report(config, _args(watch=WATCH)) == 2
    assert "no history" in capsys.readouterr().err
    empty = replace(config, settings=replace(config.settings, data_dir=tmp_path / "none"))
    assert await run_report(empty, _args(from_="2018-06-12", to="2018-06-11")) == 2


def test_times_without_an_offset_are_in_the_configured_zone() -> None:
    assert parse_time("2018-06-11", ZONE) == T0
    assert parse_time("2018-06-11", ZONE, end=True) == END
    assert parse_time("2018-06-11T07:00", ZONE) == T0 + 7 * H
    assert parse_time("2018-06-11T00:00:00+00:00", ZONE) == T0 + 7 * H
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("11/06/2018", ZONE)


async def test_csv_cells_are_never_spreadsheet_formulas(tmp_path: Path) -> None:
    await build(make_config(tmp_path).settings)
    store = open_store(make_config(tmp_path).settings, observe=False)
    await store.open()
    try:
        config = make_config(tmp_path, web_name='=HYPERLINK("http://evil.example","x")')
        report = await build_report(config, store, T0, END, now=END)
    finally:
        await store.close()
    summary, incidents = render_report(report, "csv", "en").split("\n\n")
    names = {r["name"] for r in csv.DictReader(io.StringIO(summary))}
    assert '\'=HYPERLINK("http://evil.example","x")' in names
    assert all(not r["name"].startswith("=") for r in csv.DictReader(io.StringIO(incidents)))


def test_a_loss_never_reads_as_100_percent(report: Report) -> None:
    from monitor.report.render import Helpers, _catalog, templates_dir

    helpers = Helpers(report, _catalog(templates_dir()), "id")
    assert (helpers.percent(99.9996), helpers.percent(100.0), helpers.percent(99.5)) == (
        "99,999 %",
        "100,000 %",
        "99,500 %",
    )


async def test_maintenance_planned_at_runtime_is_listed_with_its_reason(tmp_path: Path) -> None:
    await build(make_config(tmp_path).settings)
    store = open_store(make_config(tmp_path).settings, observe=False)
    await store.open()
    try:
        await store.add_maintenance(T0 + 5 * H, T0 + 6 * H, ("web",), (), "Ganti UPS")
        config = replace(make_config(tmp_path), maintenance=())  # planned through the admin API only
        report = await build_report(config, store, T0, END, now=END)
    finally:
        await store.close()
    assert [(m.name, m.reason) for m in report.maintenance] == [("Website Pemkab", "Ganti UPS")]


# -- the figures agree with each other -------------------------------------------------


async def outage_report(tmp_path: Path, events: list[tuple[float, State, State]], seen: float, now: float) -> Report:
    """A report on two targets of one group from one run of the monitor, whose last sign
    of life was `seen` seconds after T0 (a running monitor writes it every few seconds),
    read at `now`: "web" has `events` (seconds after T0), "mail" is UP throughout."""
    config = make_config(tmp_path)
    config = replace(config, targets={k: replace(t, group="Layanan") for k, t in config.targets.items()})
    clock = Clock(T0)
    writer = open_store(config.settings, clock=clock)
    await writer.open()
    writer.add_event(Event("mail", T0, State.UNKNOWN, State.UP, "ok"))
    for at, old, new in events:
        writer.add_event(Event("web", T0 + at, old, new, "maintenance" if new == State.MAINTENANCE else "timeout"))
    clock.now = T0 + seen
    await writer.flush()
    await writer.close()
    store = open_store(config.settings, observe=False)
    await store.open()
    try:
        return await build_report(replace(config, maintenance=()), store, T0, T0 + 3600, now=T0 + now)
    finally:
        await store.close()


async def test_an_ongoing_outage_is_never_longer_than_the_downtime_it_is_part_of(tmp_path: Path) -> None:
    # DOWN from 80 s, still down; the report is read at 110 s, the run last seen at 100 s.
    events = [(0.0, State.UNKNOWN, State.UP), (80.0, State.UP, State.DOWN)]
    report = await outage_report(tmp_path, events, seen=100.0, now=110.0)
    web = report.targets[0]
    assert web.uptime.down == pytest.approx(20.0)
    assert (web.longest, web.incidents[0].length, web.incidents[0].unmonitored) == pytest.approx((20.0, 30.0, 10.0))
    md = render_report(report, "md", "en")
    assert "| Website Pemkab | 80.000 % | 20 s | 1 | 20 s | — |" in md
    assert "| _ongoing_ | 20 s (+10 s not monitored) |" in md


async def test_an_outage_through_maintenance_counts_only_its_downtime(tmp_path: Path) -> None:
    events = [
        (0.0, State.UNKNOWN, State.UP),
        (600.0, State.UP, State.DOWN),
        (1200.0, State.DOWN, State.MAINTENANCE),
        (1800.0, State.MAINTENANCE, State.DOWN),
        (2400.0, State.DOWN, State.UP),
    ]
    report = await outage_report(tmp_path, events, seen=3600.0, now=3600.0)
    web = report.targets[0]
    (outage,) = web.incidents
    assert (outage.length, outage.downtime, outage.maintenance) == pytest.approx((1800.0, 1200.0, 600.0))
    assert (web.uptime.down, web.longest, web.mttr) == pytest.approx((1200.0, 1200.0, 1200.0))
    text = render_report(report, "md", "id")
    assert "| 20 mnt (+10 mnt pemeliharaan) |" in text


async def test_a_groups_downtime_is_the_sum_of_its_targets_and_never_less_than_its_longest_outage(
    tmp_path: Path,
) -> None:
    events = [(0.0, State.UNKNOWN, State.UP), (600.0, State.UP, State.DOWN), (706.0, State.DOWN, State.UP)]
    report = await outage_report(tmp_path, events, seen=3600.0, now=3600.0)
    (group,) = report.groups
    assert (group.uptime.down, group.longest) == pytest.approx((106.0, 106.0))
    assert group.availability == pytest.approx(100 * (2 * 3600 - 106) / (2 * 3600))
    md = render_report(report, "md", "id")
    assert "| Layanan | 98,528 % | 1 mnt 46 dtk | 1 | 1 mnt 46 dtk |" in md


def test_durations_keep_their_seconds_under_an_hour_and_round_to_the_minute_above(report: Report) -> None:
    from monitor.report.render import Helpers, _catalog, templates_dir

    span = Helpers(report, _catalog(templates_dir()), "id").span
    assert [span(s) for s in (0.4, 45, 106, 120, 3599.4, 3629, 3631, 90061)] == [
        "0 dtk",
        "45 dtk",
        "1 mnt 46 dtk",
        "2 mnt",
        "59 mnt 59 dtk",
        "1 jam",
        "1 jam 1 mnt",
        "1 hari 1 jam 1 mnt",
    ]
