"""The status page (`GET /`) and a target's page (`GET /targets/{id}`)."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import html5lib
import pytest

from monitor.config import Maintenance, Watch
from monitor.result import Result, State
from monitor.store import Note, Period
from tests.waiting import until
from tests.web.conftest import DAY, FakeRuntime, cut_off, history, make_config, set_state, target

JAKARTA = ZoneInfo("Asia/Jakarta")


def assert_valid_html(text: str) -> None:
    """Parse as the HTML standard does; any parse error (misnested or unclosed
    elements, bad attributes, a missing doctype) fails."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    parser.parse(text)


def bars_svg(html: str, name: str) -> str:
    """The day bars' `<svg>` in the row of the target called `name`."""
    rows = html.split('<li class="card target">')[1:]
    row = next(r for r in rows if f">{name}</a>" in r)
    start = row.index('<svg class="bars"')
    return row[start : row.index("</svg>", start)]


def bars_of(html: str, name: str) -> list[tuple[str, str]]:
    """The (level, tooltip) of each day in the day bars of the target called `name`, read
    from its SVG: a day's level from the shape drawing it (each run of quiet days is a
    sub-path "M{x} 0h{w}v28h-{w}z" of its level's path, every other day a rect of its
    own), its tooltip from that rect's title ("" for the quiet days, whose own lines are
    on the target's page: `days_of`)."""
    svg = bars_svg(html, name)
    viewbox = re.search(r'viewBox="0 0 (\d+) 28"', svg)
    assert viewbox is not None
    days: list[tuple[str, str] | None] = [None] * (int(viewbox.group(1)) // 10)
    for level, d in re.findall(r'<path class="(\w+)" d="([^"]+)"/>', svg):
        runs = re.findall(r"M(\d+) 0h(\d+)v28h-\2z", d)
        assert "".join(f"M{x} 0h{w}v28h-{w}z" for x, w in runs) == d
        for x, w in runs:
            for i in range(int(x) // 10, (int(x) + int(w)) // 10):
                days[i] = (level, "")
    rect = re.compile(r'<rect class="(\w+)" x="(\d+)" width="10" height="28">(?:<title>([^<]*)</title>)?</rect>')
    for level, x, title in rect.findall(svg):
        days[int(x) // 10] = (level, unescape(title))
    assert None not in days, svg
    return [day for day in days if day is not None]


def bars_summary(html: str, name: str) -> str:
    """The bars' own title: their accessible name, and the tooltip over the quiet days."""
    found = re.match(r'<svg class="bars"[^>]*role="img"><title>([^<]*)</title>', bars_svg(html, name))
    assert found is not None
    return unescape(found.group(1))


def days_of(html: str) -> list[tuple[str, str]]:
    """A target page's day-by-day list, (level, text) oldest first."""
    listed = html[html.index('<ul class="days">') : html.index("</ul>", html.index('<ul class="days">'))]
    return [(level, unescape(text)) for level, text in re.findall(r'<li class="d-(\w+)">([^<]*)</li>', listed)][::-1]


def many_targets(now: float, groups: int = 7, per_group: int = 9) -> FakeRuntime:
    targets = [
        target(f"g{g}t{i}", f"Layanan {g}-{i}", group=f"Kelompok {g}") for g in range(groups) for i in range(per_group)
    ]
    runtime = FakeRuntime(make_config(targets, language="id"))
    for t in targets:
        history(runtime, t.id, now, ratio=0.999)
        set_state(runtime, t.id, State.UP, now - 3600, last=Result(True, started=now - 20))
    return runtime


async def test_it_shows_every_target_by_group_with_its_state_in_words(client_for) -> None:
    now = time.time()
    runtime = many_targets(now)
    set_state(runtime, "g2t3", State.DOWN, now - 600, "timeout", last=Result(False, "timeout", started=now - 30))
    response = await client_for(runtime).get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert_valid_html(html)
    headings = re.findall(r"<h3>(Kelompok \d)</h3>", html)
    assert headings == [f"Kelompok {g}" for g in range(7)]
    for g in range(7):
        for i in range(9):
            assert f'href="/targets/g{g}t{i}?lang=id">Layanan {g}-{i}</a>' in html
    assert html.count('<span class="state s-UP"><span class="icon" aria-hidden="true">✓</span>Normal') == 62
    assert '<span class="state s-DOWN"><span class="icon" aria-hidden="true">✕</span>Gangguan' in html
    assert "Layanan tidak menjawab dalam batas waktu" in html  # the reason, in words
    assert "Sebagian layanan mengalami gangguan" in html  # the banner: partial outage


async def test_it_speaks_english_on_request_and_links_both_languages(client_for) -> None:
    now = time.time()
    client = client_for(many_targets(now, groups=1, per_group=2))
    indonesian = (await client.get("/")).text
    english = (await client.get("/?lang=en")).text
    assert '<html lang="id">' in indonesian and "Semua layanan berjalan normal" in indonesian
    assert '<html lang="en">' in english and "All systems operational" in english
    assert "Ketersediaan" not in english and "Uptime" not in indonesian
    assert 'href="/?lang=en"' in indonesian and 'href="/?lang=id"' in english
    assert_valid_html(english)
    fallback = (await client.get("/?lang=xx")).text
    assert '<html lang="id">' in fallback


async def test_uptime_bars_and_sparkline_show_the_history(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("web", "Website")]))
    history(runtime, "web", now, ratio=0.9995, down_day=3, down_seconds=600)
    set_state(runtime, "web", State.UP, now - DAY, last=Result(True, started=now - 10))
    html = (await client_for(runtime).get("/?lang=en")).text
    assert "<dt>24h</dt><dd>99.95%</dd>" in html
    bars = bars_of(html, "Website")
    assert len(bars) == 90
    three_days_ago = datetime.fromtimestamp(now, JAKARTA).date() - timedelta(days=3)
    label = f"{three_days_ago.day} {three_days_ago:%b} {three_days_ago.year}"
    assert bars[-4] == ("minor", f"{label}: down for 10 min")
    assert bars[:-4] + bars[-3:] == [("ok", "")] * 89
    assert (
        bars_summary(html, "Website") == f"The last 90 days: 89 of 90 days without downtime; {label}: down for 10 min"
    )
    # Every day's own line is on the target's page, in its bars and in its list.
    page = (await client_for(runtime).get("/targets/web?lang=en")).text
    assert_valid_html(page)
    for each_day in (
        days_of(page),
        bars_of(page.replace('<div class="barbox">', '<li class="card target">>Website</a>'), "Website"),
    ):
        assert len(each_day) == 90
        assert each_day[-4] == ("minor", f"{label}: down for 10 min")
        assert all(level == "ok" and text.endswith(": no downtime") for level, text in each_day[:-4] + each_day[-3:])
    spark = re.search(r'<svg class="spark"[^>]*aria-label="([^"]+)"><polyline points="([^"]+)"', html)
    assert spark is not None
    assert spark.group(1) == "Response time, last 24 hours: Response time: 100 ms–330 ms"
    assert len(spark.group(2).split()) == 24


async def test_the_watch_banner_counts_the_days_and_the_bars_cover_the_watch(client_for) -> None:
    now = time.time()
    today = datetime.fromtimestamp(now, JAKARTA).replace(hour=0, minute=0, second=0, microsecond=0)
    watch = Watch("Cuti bersama Idul Fitri", today - timedelta(days=2), today + timedelta(days=7, hours=7))
    runtime = FakeRuntime(make_config([target("web", "Website")], language="id", watches=[watch]))
    history(runtime, "web", now)
    client = client_for(runtime, clock=lambda: now)  # the day counted is `today`'s, even at midnight
    html = (await client.get("/")).text
    assert "Masa pengawasan: Cuti bersama Idul Fitri</strong> — hari ke-3 dari 10" in html
    assert '<progress max="10" value="3"' in html
    bars = bars_of(html, "Website")
    assert [level for level, _ in bars] == ["ok"] * 3 + ["none"] * 7
    english = (await client.get("/?lang=en")).text
    assert "Watch period: Cuti bersama Idul Fitri</strong> — day 3 of 10" in english
    assert_valid_html(english)


async def test_no_watch_banner_outside_the_window(client_for) -> None:
    now = time.time()
    past = datetime.fromtimestamp(now - 30 * DAY, JAKARTA)
    watch = Watch("Lebaran", past, past + timedelta(days=10))
    runtime = FakeRuntime(make_config([target("web")], watches=[watch]))
    html = (await client_for(runtime).get("/")).text
    assert "Lebaran" not in html and "<progress" not in html


async def test_the_banner_names_major_outage_and_maintenance(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("a"), target("b"), target("c")]))
    for tid in "ab":
        set_state(runtime, tid, State.DOWN, now - 60, "connection_refused")
    set_state(runtime, "c", State.UP, now - 60)
    client = client_for(runtime)
    assert "Major outage" in (await client.get("/?lang=en")).text
    for tid in "abc":
        set_state(runtime, tid, State.MAINTENANCE, now - 60)
    assert "Sedang dalam pemeliharaan" in (await client.get("/?lang=id")).text
    set_state(runtime, "a", State.UP, now - 60)
    assert "Under maintenance" in (await client.get("/?lang=en")).text


async def test_it_lists_incidents_with_durations_reasons_and_notes(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("web", "Website"), target("dns", "DNS")]))
    set_state(runtime, "dns", State.DOWN, now - 1500, "dns_error")
    runtime.store.periods_ += [
        Period("dns", State.DOWN, now - 1500, None, "dns_error"),
        Period("web", State.DOWN, now - 2 * DAY, now - 2 * DAY + 5400, "status_mismatch"),
    ]
    runtime.store.notes_.append(Note(1, "web", now - 2 * DAY + 600, "Server dinyalakan ulang", "budi"))
    html = (await client_for(runtime).get("/?lang=id")).text
    ongoing = html[html.index("Gangguan yang sedang berlangsung") : html.index('id="services"')]
    assert "DNS" in ongoing and "Nama domain tidak dapat ditemukan" in ongoing
    assert "masih berlangsung, sudah 25 menit" in ongoing
    recent = html[html.index("Gangguan terakhir") :]
    assert "Website" in recent and "selama 1 jam 30 menit" in recent
    assert "Layanan menjawab dengan kode yang tidak diharapkan" in recent
    assert "Server dinyalakan ulang" in recent
    assert "budi" not in html  # the note's author is an admin's user name


async def test_it_shows_current_and_upcoming_maintenance(client_for) -> None:
    now = time.time()
    at = datetime.fromtimestamp(now, JAKARTA)
    windows = [
        Maintenance(at - timedelta(hours=1), at + timedelta(hours=1), targets=("web",), reason="Ganti disk"),
        Maintenance(at + timedelta(days=2), at + timedelta(days=2, hours=2), groups=("Server",), reason="Pembaruan"),
        Maintenance(at - timedelta(days=2), at - timedelta(days=1), targets=("web",), reason="Lama"),
    ]
    targets = [target("web", "Website"), target("mail", "Surel", group="Server")]
    runtime = FakeRuntime(make_config(targets, maintenance=windows))
    html = (await client_for(runtime).get("/?lang=en")).text
    now_part = html[html.index("Maintenance in progress") : html.index('id="services"')]
    assert "Ganti disk" in now_part and "Affects: Website" in now_part
    upcoming = html[html.index("Scheduled maintenance") :]
    assert "Pembaruan" in upcoming and "Affects: Surel" in upcoming
    assert "Lama" not in html


async def test_times_are_shown_in_the_configured_zone(client_for) -> None:
    now = datetime(2026, 6, 11, 3, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    runtime = FakeRuntime(make_config([target("web", "Website")], language="id"))
    set_state(runtime, "web", State.UP, now - 60, last=Result(True, started=now - 60))
    html = (await client_for(runtime, clock=lambda: now).get("/")).text
    assert "Diperiksa 11 Jun 2026 09:59 WIB" in html
    assert "Diperbarui 11 Jun 2026 10:00 WIB." in html


async def test_a_page_works_without_any_history(client_for) -> None:
    runtime = FakeRuntime(make_config([target("web", "Website")]))
    html = (await client_for(runtime).get("/?lang=en")).text
    assert_valid_html(html)
    assert "No checks yet" in html and "Not checked yet" in html
    assert "<dd>—</dd>" in html


async def test_the_target_page_shows_uptime_chart_history_and_incidents(client_for, day_runtime) -> None:
    client = client_for(day_runtime, day_runtime.clock)
    html = (await client.get("/targets/web?lang=en&range=24h")).text
    assert_valid_html(html)
    assert "<h2>Website Pemkab</h2>" in html
    assert "Uptime in this range: 85.71%" in html  # 18 h up of 21 h observed
    assert 'aria-current="page">24h</a>' in html
    chart = re.search(r'<polyline class="mean" points="([^"]+)"', html)
    assert chart is not None and len(chart.group(1).split()) > 10
    incidents = html[html.index('id="incidents-title"') : html.index('id="history-title"')]
    assert incidents.count('<li class="card">') == 2
    assert "lasted 4 h" in incidents and "lasted 1 h" in incidents
    assert "The connection was refused" in incidents and "The service did not answer in time" in incidents
    history_part = html[html.index('id="history-title"') :]
    assert history_part.count("<tr><td>") == 7  # every change of state that day
    assert "port 443 closed" not in html  # the probe's detail is not public


async def test_the_status_page_from_the_real_store(client_for, day_runtime) -> None:
    client = client_for(day_runtime, day_runtime.clock)
    html = (await client.get("/?lang=en")).text
    assert_valid_html(html)
    assert "<dt>24h</dt><dd>85.71%</dd>" in html and "<dt>24h</dt><dd>90.91%</dd>" in html
    mail_bars = bars_of(html, "Server surel")
    # The clock stands at midnight: today has no data yet, yesterday was the day.
    assert mail_bars[-2:] == [("major", "11 Jun 2018: down for 2 h"), ("none", "")]
    page = (await client.get("/targets/mail?lang=en")).text
    assert days_of(page)[-2:] == [("major", "11 Jun 2018: down for 2 h"), ("none", "12 Jun 2018: no data")]
    assert "Ongoing incidents" in html and "The domain name could not be resolved" in html


async def test_maintenance_does_not_end_an_incident_on_the_pages(client_for, through_maintenance) -> None:
    runtime = through_maintenance
    client = client_for(runtime, runtime.clock)
    html = (await client.get("/?lang=en")).text
    assert_valid_html(html)
    ongoing = html[html.index("Ongoing incidents") : html.index('id="services"')]
    assert "Server surel" in ongoing and "ongoing for 2 h" in ongoing
    assert "In maintenance since " in ongoing and "not counted as downtime" in ongoing
    recent = html[html.index("Recent incidents") :]
    assert recent.count("Website Pemkab") == 1  # one incident, not two around the window
    assert "lasted 2 h 30 min" in recent and "Partly in maintenance (1 h)" in recent
    page = (await client.get("/targets/web?lang=id&range=24h")).text
    assert_valid_html(page)
    incidents = page[page.index('id="incidents-title"') : page.index('id="history-title"')]
    assert incidents.count('<li class="card">') == 1
    assert "Sebagian dalam pemeliharaan (1 jam)" in incidents


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_every_page_and_badge_reads_in_both_languages(client_for, day_runtime, lang: str) -> None:
    client = client_for(day_runtime, day_runtime.clock)
    for path in ("/", "/targets/mail?range=24h", "/targets/web?range=7d"):
        response = await client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        assert response.status_code == 200, path
        assert_valid_html(response.text)
    for path in ("/badge/mail.svg", "/badge/web.svg?window=24h", "/badge/nope.svg"):
        response = await client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        assert response.status_code in (200, 404) and "<svg" in response.text, path


async def test_private_and_unknown_targets_have_no_page(client_for) -> None:
    runtime = FakeRuntime(make_config([target("web"), target("router", public=False)]))
    client = client_for(runtime)
    assert (await client.get("/targets/web")).status_code == 200
    private, unknown = await client.get("/targets/router"), await client.get("/targets/nope")
    assert private.status_code == unknown.status_code == 404
    assert private.text == unknown.text


async def test_a_thousand_targets_render_within_budget(client_for) -> None:
    """A generous bound (the measured figure is in the README): the page for 1,000
    targets and 90,000 day bars must not take seconds."""
    now = time.time()
    runtime = many_targets(now, groups=20, per_group=50)
    client = client_for(runtime)
    await client.get("/")  # compiles the templates
    started = time.perf_counter()
    html = (await client.get("/")).text
    elapsed = time.perf_counter() - started
    assert html.count('<li class="card target">') == 1000
    # 90,000 clean days, drawn as one shape a row.
    assert html.count('<path class="ok" d="M0 0h900v28h-900z"/>') == 1000
    assert sum(len(bars_of(html, f"Layanan {g}-{i}")) for g in range(20) for i in range(50)) == 90_000
    assert elapsed < 1.5


async def test_a_crowd_shares_one_snapshot_and_a_stale_one_is_renewed_behind(client_for) -> None:
    now = [time.time()]
    runtime = many_targets(now[0], groups=2, per_group=3)
    client = client_for(runtime, clock=lambda: now[0], snapshot_seconds=5)
    first = (await client.get("/?lang=en")).text
    for _ in range(5):
        assert (await client.get("/?lang=en")).text == first
    assert runtime.store.calls.count("daily") == 1
    set_state(runtime, "g0t0", State.DOWN, now[0], "timeout")
    # The state shows at once, within the snapshot's life, without reading the store.
    assert "Partial outage" in (await client.get("/?lang=en")).text
    assert runtime.store.calls.count("daily") == 1
    now[0] += 6  # stale figures: answered at once from the old snapshot, renewed behind
    assert "Partial outage" in (await client.get("/?lang=en")).text
    await until(lambda: runtime.store.calls.count("daily") == 2, what="the renewal behind reading the store")
    assert "Partial outage" in (await client.get("/?lang=en")).text
    now[0] += 120  # too old to serve: the request waits for a new one
    set_state(runtime, "g0t0", State.UP, now[0])
    assert "All systems operational" in (await client.get("/?lang=en")).text


async def test_a_rendered_page_is_reused_only_with_its_own_snapshot(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("a")]))
    set_state(runtime, "a", State.UP, now - 60)
    client = client_for(runtime, clock=lambda: now)  # a pinned clock, no snapshot cache
    assert "All systems operational" in (await client.get("/?lang=en")).text
    set_state(runtime, "a", State.DOWN, now, "timeout")
    assert "Major outage" in (await client.get("/?lang=en")).text


async def test_a_crowd_arriving_with_no_snapshot_shares_one_read(client_for, monkeypatch) -> None:
    from monitor.web import cache

    reads = []

    async def slow_snapshot(runtime: object, now: float, bars: object = None) -> object:
        reads.append(now)
        await asyncio.sleep(0.05)  # a store read takes a while: the crowd is all waiting
        return await views_snapshot(runtime, now, bars)

    views_snapshot = cache.snapshot
    monkeypatch.setattr(cache, "snapshot", slow_snapshot)
    now = time.time()
    client = client_for(many_targets(now, groups=2, per_group=3), clock=lambda: now, snapshot_seconds=5)
    answers = await asyncio.gather(*(client.get("/?lang=en") for _ in range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len(reads) == 1


async def test_the_watch_axis_names_the_first_and_the_last_day_of_the_bars(client_for) -> None:
    now = time.time()
    today = datetime.fromtimestamp(now, JAKARTA).replace(hour=0, minute=0, second=0, microsecond=0)
    watch = Watch("Pemilu", today - timedelta(days=2), today + timedelta(days=8))  # ends at midnight
    runtime = FakeRuntime(make_config([target("web", "Website")], watches=[watch]))
    html = (await client_for(runtime, clock=lambda: now).get("/?lang=en")).text
    axis = re.search(
        r'<div class="axis"[^>]*><span><span class="wide">([^<]*)</span><span class="narrow">'
        r"([^<]*)</span></span><span>([^<]*)</span>",
        html,
    )
    assert axis is not None
    first, last = today - timedelta(days=2), today + timedelta(days=7)
    month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    assert axis.groups() == tuple(f"{d.day} {month[d.month - 1]} {d.year}" for d in (first, first, last))


async def test_targets_not_checked_yet_make_the_banner_say_so_not_all_normal(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("self", "Monitor"), target("web", "Website")]))
    set_state(runtime, "self", State.UP, now - 5, last=Result(True, started=now - 1))
    client = client_for(runtime)
    html = (await client.get("/?lang=en")).text
    assert "The state of some services is not confirmed yet" in html and "All systems operational" not in html
    assert "Status sebagian layanan belum dipastikan" in (await client.get("/?lang=id")).text
    assert (await client.get("/api/v1/status")).json()["overall"] == "checking"
    runtime.states.observe(runtime.config.targets["web"], Result(False, "dns_error", "no such host", started=now))
    assert runtime.states.statuses["web"].state == State.UNKNOWN  # one failure: not DOWN yet
    html = (await client.get("/?lang=en")).text
    assert "The domain name could not be resolved" in html  # what the probes see so far
    set_state(runtime, "web", State.DOWN, now, "dns_error")
    assert "Major outage" in (await client.get("/?lang=en")).text
    set_state(runtime, "web", State.UP, now)
    assert "All systems operational" in (await client.get("/?lang=en")).text


async def test_a_cached_page_never_shows_a_state_that_has_changed(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("web", "Website")]))
    client = client_for(runtime, clock=lambda: now, snapshot_seconds=60)
    assert "No checks yet" in (await client.get("/?lang=en")).text
    event = runtime.states.observe(runtime.config.targets["web"], Result(True, duration=0.01, started=now))
    assert event is not None and event.new == State.UP
    html = (await client.get("/?lang=en")).text
    assert "All systems operational" in html and "No checks yet" not in html
    assert runtime.store.calls.count("daily") == 1  # the store was read once, at the first visit


async def test_while_the_monitor_is_offline_the_page_says_it_is_cut_off_not_the_services(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("self", "Monitor"), target("web", "Website")]))
    set_state(runtime, "self", State.UP, now - 600, last=Result(True, started=now - 5))
    set_state(runtime, "web", State.UP, now - 600, last=Result(True, started=now - 5))
    client = client_for(runtime, clock=lambda: now, snapshot_seconds=60)
    html = (await client.get("/?lang=en")).text
    assert "lost its internet connection" not in html  # online: no banner
    cut_off(runtime, now - 120)
    held = Result(False, "monitor_offline", "timeout: no answer within 5s", started=now - 30)
    set_state(runtime, "web", State.UNKNOWN, now - 30, "monitor_offline", last=held)
    html = (await client.get("/?lang=en")).text  # the cached snapshot, its banner live
    assert_valid_html(html)
    assert "The monitor has lost its internet connection" in html
    assert "It is the monitor that is cut off, not the services" in html
    assert "The monitor itself is offline; the service was not judged (this is not an outage)" in html
    assert "192.0.2.53" not in html and "dns-1" not in html  # what the checks reach is not public
    indonesian = (await client.get("/?lang=id")).text
    assert "Pemantau kehilangan koneksi internet" in indonesian
    assert "Yang terputus adalah pemantaunya, bukan layanannya" in indonesian
    runtime.connectivity.observe("dns-1", Result(True, started=now))
    assert "lost its internet connection" not in (await client.get("/?lang=en")).text


# --- the light page: compressed, once per snapshot and language ---------------------


@pytest.mark.parametrize("coding", ["br", "gzip"])
async def test_the_page_is_sent_compressed_as_the_client_asks(client_for, coding: str) -> None:
    now = time.time()
    client = client_for(many_targets(now, groups=2, per_group=3), clock=lambda: now, snapshot_seconds=60)
    plain = await client.get("/?lang=en", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
    asked = {"br": "gzip;q=0.5, br", "gzip": "br;q=0, gzip, deflate"}[coding]
    packed = await client.get("/?lang=en", headers={"Accept-Encoding": asked})
    assert packed.headers["content-encoding"] == coding and packed.headers["vary"] == "Accept-Encoding"
    wire = int(packed.headers["content-length"])
    assert wire < len(plain.content) / 3
    assert packed.content == plain.content  # httpx decoded it: the same page
    target_page = await client.get("/targets/g0t0?lang=en", headers={"Accept-Encoding": coding})
    assert target_page.headers["content-encoding"] == coding and "Layanan 0-0" in target_page.text


@pytest.mark.parametrize(
    ("header", "coding"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("br;q=0.5, gzip", "gzip"),
        ("*", "br"),
        ("*;q=0.1, br;q=0", "gzip"),
        ("identity", None),
        ("", None),
        ("gzip;q=0", None),
        ("x-gzip", "gzip"),
        ("br;q=nonsense, gzip", "gzip"),
    ],
)
def test_the_coding_follows_the_clients_weights(header: str, coding: str | None) -> None:
    from monitor.web.compress import negotiate

    assert negotiate(header) == coding


async def test_each_coding_is_made_once_per_snapshot_and_language(client_for, monkeypatch) -> None:
    from monitor.web import compress

    made: list[str] = []
    real = compress.compress

    def counting(body: bytes, coding: str) -> bytes:
        made.append(coding)
        return real(body, coding)

    monkeypatch.setattr(compress, "compress", counting)
    now = [time.time()]
    runtime = many_targets(now[0], groups=2, per_group=3)
    client = client_for(runtime, clock=lambda: now[0], snapshot_seconds=5)
    for _ in range(5):
        for lang in ("id", "en"):
            for coding in ("br", "gzip", "identity"):
                assert (await client.get(f"/?lang={lang}", headers={"Accept-Encoding": coding})).status_code == 200
    assert sorted(made) == ["br", "br", "gzip", "gzip"]
    set_state(runtime, "g0t0", State.DOWN, now[0], "timeout")  # a new state: a new page
    answer = await client.get("/?lang=en", headers={"Accept-Encoding": "br"})
    assert "Partial outage" in answer.text and made.count("br") == 3


async def test_a_thousand_targets_fit_in_200_kb_on_the_wire(client_for) -> None:
    now = time.time()
    runtime = many_targets(now, groups=20, per_group=50)
    for n, t in enumerate(runtime.config.targets):  # every row its own bad days
        history(runtime, t, now, ratio=0.99, down_day=n % 90, down_seconds=60.0 + n)
    client = client_for(runtime)
    for coding in ("br", "gzip"):
        answer = await client.get("/", headers={"Accept-Encoding": coding})
        assert answer.headers["content-encoding"] == coding
        assert int(answer.headers["content-length"]) < 200_000, coding
        assert answer.text.count('<li class="card target">') == 1000


# --- the wrong details --------------------------------------------------------------


async def test_a_single_measurement_is_drawn_not_left_blank(client_for, tmp_path) -> None:
    """After a few minutes of probing the chart had one point (`<polyline points="0.0,136.2"/>`),
    which draws nothing; and so had the sparkline."""
    from monitor.config import Settings
    from monitor.store.registry import open_store

    now = time.time()
    store = open_store(Settings(data_dir=tmp_path))
    await store.open()
    try:
        runtime = FakeRuntime(make_config([target("web", "Website")]), store=store)
        # Two results of the last 100 s in one clock hour (never straddling one: the chart
        # would get a point for each hour), so the chart has a single point at any minute.
        first = max(now - 100, now - now % 3600)
        for at in (first, (first + now) / 2):
            result = Result(True, duration=0.12, started=at)
            store.add_result("web", result)
            runtime.states.observe(runtime.config.targets["web"], result)
        await store.flush()
        client = client_for(runtime, clock=lambda: now)
        page = (await client.get("/targets/web?lang=en")).text
        assert_valid_html(page)
        mean = re.search(r'<polyline class="mean lone" points="([\d.]+),([\d.]+) ([\d.]+),([\d.]+)"/>', page)
        assert mean is not None and mean.group(1, 2) == mean.group(3, 4)  # a dot
        assert "One measurement so far; collecting data." in page
        status = (await client.get("/?lang=en")).text
        spark = re.search(r'<svg class="spark"[^>]*><polyline class="lone" points="(\d+,\d+) (\d+,\d+)"/>', status)
        assert spark is not None and spark.group(1) == spark.group(2)
    finally:
        await store.close()


async def test_an_ongoing_incident_is_not_contradicted_by_no_incidents_recorded(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("web", "Website")]))
    set_state(runtime, "web", State.DOWN, now - 600, "timeout")
    runtime.store.periods_.append(Period("web", State.DOWN, now - 600, None, "timeout"))
    client = client_for(runtime)
    html = (await client.get("/?lang=en")).text
    recent = html[html.index('id="recent"') :]
    assert "No incidents recorded" not in html
    assert "No other incidents in the last 30 days." in recent
    indonesian = (await client.get("/?lang=id")).text
    assert "Tidak ada gangguan lain dalam 30 hari terakhir." in indonesian
    set_state(runtime, "web", State.UP, now)
    runtime.store.periods_.clear()
    assert "No incidents in the last 30 days." in (await client.get("/?lang=en")).text


@pytest.mark.parametrize(
    ("reasons", "banner_id", "banner_en"),
    [
        (["cert_expiring"], "Sertifikat atau pendaftaran domain sebagian layanan akan segera habis", "A certificate"),
        (["slow", "slow"], "Sebagian layanan melambat", "Some services are slow"),
        (["slow", "cert_expiring"], "Sebagian layanan kurang optimal", "Some services are degraded"),
    ],
)
async def test_degraded_reads_as_one_neutral_word_and_the_banner_says_why(
    client_for, reasons: list[str], banner_id: str, banner_en: str
) -> None:
    """DEGRADED read "Lambat" (slow) even for a certificate about to expire, and the
    banner then said services were slow."""
    now = time.time()
    runtime = FakeRuntime(make_config([target(f"t{i}", f"Layanan {i}") for i in range(len(reasons) + 1)]))
    for i, reason in enumerate(reasons):
        set_state(runtime, f"t{i}", State.DEGRADED, now - 60, reason)
    set_state(runtime, f"t{len(reasons)}", State.UP, now - 60)
    client = client_for(runtime)
    indonesian, english = (await client.get("/?lang=id")).text, (await client.get("/?lang=en")).text
    assert "Lambat" not in indonesian
    assert indonesian.count(
        '<span class="state s-DEGRADED"><span class="icon" aria-hidden="true">!</span>Kurang optimal'
    ) == len(reasons)
    assert english.count("</span>Degraded</span>") == len(reasons)
    assert f"<p>{banner_id}</p>" in indonesian and f"<p>{banner_en}" in english
    if "cert_expiring" in reasons:
        assert "Sertifikat keamanan akan segera kedaluwarsa" in indonesian and "melambat" not in indonesian


# --- groups, error pages, icon ---------------------------------------------------------


async def test_long_groups_fold_while_all_is_well_and_open_when_not(client_for) -> None:
    now = time.time()
    runtime = many_targets(now, groups=3, per_group=12)
    set_state(runtime, "g1t4", State.DOWN, now - 60, "timeout")
    html = (await client_for(runtime).get("/?lang=en")).text
    assert_valid_html(html)
    groups = re.findall(
        r'<details class="group"( open)?>\n<summary><h3>([^<]+)</h3> <span class="meta">([^<]+)</span>', html
    )
    assert groups == [
        ("", "Kelompok 0", "12 services: 12 Operational"),
        (" open", "Kelompok 1", "12 services: 11 Operational, 1 Down"),
        ("", "Kelompok 2", "12 services: 12 Operational"),
    ]
    few = many_targets(now, groups=3, per_group=4)
    assert (await client_for(few).get("/")).text.count('<details class="group" open>') == 3


async def test_an_unknown_page_is_an_html_page_in_the_page_s_language(client_for) -> None:
    runtime = FakeRuntime(make_config([target("web"), target("router", public=False)], language="id"))
    client = client_for(runtime)
    for path in ("/nope", "/targets/router", "/targets/nope"):
        answer = await client.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
        assert_valid_html(answer.text)
        assert '<html lang="id">' in answer.text and "Halaman tidak ditemukan" in answer.text
        assert 'rel="icon"' in answer.text
    english = await client.get("/nope/deeper?lang=en")
    assert "Page not found" in english.text and 'href="/?lang=id"' in english.text
    api = await client.get("/api/v1/nope")
    assert api.status_code == 404 and api.json() == {"error": "not found"}
    assert (await client.get("/api/v1/targets/router/results")).json() == {"error": "no such target"}


async def test_a_failure_inside_a_page_is_an_html_page_and_json_under_the_api() -> None:
    import httpx

    from tests.web.conftest import make_app

    runtime = FakeRuntime(make_config([target("web")], language="en"))
    runtime.store.fail = RuntimeError("the store is gone")
    transport = httpx.ASGITransport(app=make_app(runtime), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.get("/")
        assert answer.status_code == 500 and answer.headers["content-type"].startswith("text/html")
        assert_valid_html(answer.text)
        assert "Something went wrong" in answer.text and "the store is gone" not in answer.text
        assert "Terjadi kesalahan" in (await client.get("/?lang=id")).text
        api = await client.get("/api/v1/status")
        assert api.status_code == 500 and api.json() == {"error": "internal error"}


async def test_the_tab_icon_takes_the_colour_of_the_news(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("a"), target("b")]))
    set_state(runtime, "a", State.UP, now - 60)
    set_state(runtime, "b", State.UP, now - 60)
    client = client_for(runtime)
    assert "fill='%23157a45'" in (await client.get("/")).text
    set_state(runtime, "b", State.DOWN, now, "timeout")
    assert "fill='%23c62828'" in (await client.get("/")).text
