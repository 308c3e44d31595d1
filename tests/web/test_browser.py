"""The status page in a real headless Chromium (Debian's), served by a real uvicorn.

Playwright drives /usr/bin/chromium (never a downloaded browser). The page must load
without console errors or script errors, in both colour schemes and on a phone's
width, work without JavaScript, never run a hostile target name, and leave a screenshot
in the test's temporary directory. axe-core (npm, `npm ci --prefix tests/web`, as
`.ci/run` does) checks the pages against WCAG 2.1 AA in both colour schemes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from monitor.config import Maintenance, Watch
from monitor.result import Result, State
from monitor.store import Announcement, IncidentUpdate, Note, Period, PostedIncident, Wording
from tests.integration import REQUIRED, need
from tests.waiting import until
from tests.web.conftest import DAY, FakeRuntime, history, make_app, make_config, set_state, target

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def busy_runtime() -> FakeRuntime:
    """Thirty targets in five groups, an outage (with a public title and a timeline of
    updates), a slow one, maintenance, a watch, notes, a declared incident, a banner of
    each level and a hostile name."""
    now = time.time()
    at = datetime.fromtimestamp(now, UTC)
    targets = [target(f"t{i}", f"Layanan nomor {i}", group=f"Kelompok {i % 5}") for i in range(29)]
    targets.append(target("xss", "<script>alert(1)</script>", group="Kelompok 0"))
    watch = Watch("Cuti bersama", at - timedelta(days=2), at + timedelta(days=8))
    maintenance = [
        Maintenance(at + timedelta(days=1), at + timedelta(days=1, hours=2), targets=("t3",), reason="Pembaruan server")
    ]
    rt = FakeRuntime(make_config(targets, language="id", watches=[watch], maintenance=maintenance))
    for i, t in enumerate(targets):
        history(rt, t.id, now, ratio=0.995, down_day=i % 3, down_seconds=1800)
        set_state(rt, t.id, State.UP, now - DAY, last=Result(True, duration=0.1, started=now - 20))
    set_state(rt, "t1", State.DOWN, now - 1200, "timeout", last=Result(False, "timeout", started=now - 20))
    set_state(rt, "t2", State.DEGRADED, now - 600, "slow", last=Result(True, duration=3.2, started=now - 20))
    rt.store.periods_ += [
        Period("t1", State.DOWN, now - 1200, None, "timeout"),
        Period("t4", State.DOWN, now - 2 * DAY, now - 2 * DAY + 900, "dns_error"),
    ]
    rt.store.notes_.append(Note(1, "t1", now - 600, "Teknisi sedang menuju lokasi"))
    steps = [
        IncidentUpdate(1, 1, now - 1100, "investigating", Wording("Sedang dicek", "Checking")),
        IncidentUpdate(2, 1, now - 800, "identified", Wording("Kabel putus di Jalan Tjilik Riwut")),
        IncidentUpdate(3, 1, now - 300, "monitoring", Wording("Sudah disambung", "Spliced, watching")),
    ]
    title = Wording("Layanan nomor 1 tidak dapat diakses", "Service 1 unreachable")
    rt.store.posted.append(PostedIncident(1, now - 1200, ("t1",), title, "t1", tuple(steps)))
    declared = IncidentUpdate(4, 2, now - 900, "identified", Wording("Antrean surel menumpuk"))
    rt.store.posted.append(PostedIncident(2, now - 900, ("t5", "t6"), Wording("Surel terlambat"), None, (declared,)))
    for i, level in enumerate(("info", "warning", "critical")):
        text = Wording(f"Pengumuman {level}: pelayanan tatap muka libur", f"Notice {level}: no counter service")
        rt.store.banners.append(Announcement(i + 1, level, text, now - 3600, now + DAY if i else None, now - 3600))
    rt.clock = lambda: now  # the watch's day is counted from this `now`, even across midnight
    return rt


@contextlib.asynccontextmanager
async def serving(runtime: FakeRuntime) -> AsyncIterator[str]:
    """The app around `runtime` on a real uvicorn server on a free loopback port, in
    this event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(make_app(runtime, runtime.clock), log_config=None, access_log=False, lifespan="off")
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve(sockets=[sock]))

    def started() -> bool:
        if task.done():
            task.result()  # a failed start raises its error here
            raise RuntimeError("uvicorn stopped before serving")
        return srv.started

    await until(started, what="uvicorn serving")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async with serving(busy_runtime()) as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    need(CHROMIUM, "chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


async def open_page(browser: Any, url: str, **context: Any) -> tuple[Any, Any, list[str]]:
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    response = await page.goto(url, wait_until="load")
    assert response is not None and response.status == 200
    return ctx, page, problems


async def test_the_status_page_loads_in_chromium_without_errors(server, browser, tmp_path: Path) -> None:
    ctx, page, problems = await open_page(browser, server + "/", viewport={"width": 1280, "height": 900})
    await page.locator(".js-only").first.wait_for(state="visible")  # the refresh script ran
    assert problems == []
    assert await page.title() == "Status Layanan"
    banner = await page.text_content(".banner")
    assert banner is not None and "Sebagian layanan mengalami gangguan" in banner
    assert await page.locator("li.card.target").count() == 30
    assert "hari ke-3 dari 11" in (await page.text_content(".watch") or "")
    assert await page.locator(".js-only").is_visible()  # the script ran
    names = await page.locator("a.name").all_text_contents()
    assert "<script>alert(1)</script>" in names  # shown as text, never run
    # The day bars: one drawing a row, named by its summary; a day with downtime has
    # its own tooltip.
    bars = page.locator("svg.bars")
    assert await bars.count() == 30
    assert await page.locator("svg.bars rect, svg.bars path").count() < 30 * 5
    named = await bars.first.evaluate("svg => svg.querySelector(':scope > title').textContent")
    assert named.startswith("Riwayat masa pengawasan: ") and "hari tanpa gangguan" in named
    down_day = page.locator("svg.bars rect.minor title").first
    assert "gangguan 30 menit" in (await down_day.text_content() or "")
    await page.screenshot(path=str(tmp_path / "status.png"), full_page=True)
    assert (tmp_path / "status.png").stat().st_size > 10_000
    await page.click("nav.lang a[hreflang=en]")
    await page.wait_for_load_state("load")
    assert "day 3 of 11" in (await page.text_content(".watch") or "")
    assert problems == []
    await ctx.close()


async def test_the_banners_the_timeline_and_the_feed_link_show_in_chromium(server, browser) -> None:
    ctx, page, problems = await open_page(browser, server + "/?lang=en", viewport={"width": 1280, "height": 900})
    notices = page.locator(".notices .notice")
    assert await notices.count() == 3
    assert "Important:" in (await notices.first.text_content() or "")  # the most severe first
    assert await page.locator(".notices [role=alert]").count() == 1
    ongoing = page.locator("section[aria-labelledby=open]")
    titles = await ongoing.locator("h3.title").all_text_contents()
    assert titles == ["Surel terlambat", "Service 1 unreachable"]  # the newest first
    steps = ongoing.locator("ol.timeline").nth(1).locator("li")
    assert await steps.count() == 3
    assert "Spliced, watching" in (await steps.first.text_content() or "")  # newest first
    assert await steps.nth(1).locator("[lang=id]").count() == 1  # no English: the Indonesian, marked
    assert "Surel terlambat" in (await ongoing.text_content() or "")
    href = await page.locator('head link[rel=alternate][type="application/atom+xml"]').get_attribute("href")
    assert href == "/feed.atom?lang=en"
    feed = await page.request.get(server + href)
    assert feed.ok and feed.headers["content-type"].startswith("application/atom+xml")
    assert "Service 1 unreachable" in await feed.text()
    assert problems == []
    await ctx.close()


async def test_it_fits_a_phone_in_dark_mode(server, browser, tmp_path: Path) -> None:
    ctx, page, problems = await open_page(
        browser,
        server + "/?lang=en",
        viewport={"width": 375, "height": 740},
        color_scheme="dark",
        is_mobile=True,
        has_touch=True,
    )
    assert problems == []
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 20, 24)"  # the dark palette
    # The whole watch fits: at most 30 days are kept on a phone, and it has 11.
    box = await page.locator(".barbox").first.bounding_box()
    bars = await page.locator("svg.bars").first.bounding_box()
    assert box is not None and bars is not None and abs(bars["width"] - box["width"]) < 1
    assert await page.locator(".axis .narrow").first.is_visible()
    assert not await page.locator(".axis .wide").first.is_visible()
    await page.screenshot(path=str(tmp_path / "phone-dark.png"), full_page=True)
    await ctx.close()


async def test_it_works_without_javascript(server, browser) -> None:
    ctx, page, problems = await open_page(browser, server + "/targets/t1?lang=en", java_script_enabled=False)
    assert problems == []
    assert "Layanan nomor 1" in (await page.text_content("h2") or "")
    assert "ongoing" in (await page.text_content("#main") or "")
    await page.click("nav.range a:text('7d')")
    assert page.url.endswith("range=7d&lang=en")
    await ctx.close()


async def test_a_phone_shows_the_last_30_of_90_days(browser) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("web", "Website")]))
    history(runtime, "web", now, down_day=2, down_seconds=600)
    set_state(runtime, "web", State.UP, now - DAY, last=Result(True, duration=0.1, started=now - 20))
    async with serving(runtime) as url:
        ctx, page, problems = await open_page(browser, url + "/?lang=en", viewport={"width": 375, "height": 740})
        box = await page.locator(".barbox").first.bounding_box()
        bars = await page.locator("svg.bars").first.bounding_box()
        assert box is not None and bars is not None
        assert abs(bars["width"] - 3 * box["width"]) < 1  # 90 days drawn, the last 30 in view
        assert abs(bars["x"] + bars["width"] - (box["x"] + box["width"])) < 1
        down = await page.locator("svg.bars rect.minor").bounding_box()
        assert down is not None and box["x"] < down["x"] < box["x"] + box["width"]
        assert problems == []
        await ctx.close()


@pytest.fixture
def axe() -> Path:
    if not AXE.exists():
        message = f"{AXE} not found: npm ci --prefix tests/web"
        if REQUIRED:
            pytest.fail(message + " (MONITOR_REQUIRE_INTEGRATION=1)")
        pytest.skip(message)
    return AXE


async def violations(page: Any, axe: Path) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 AA violations on the page, in words."""
    await page.add_script_tag(path=str(axe))
    found = await page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
    assert found["passes"], "axe-core checked nothing"
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: {[n['target'] for n in v['nodes'][:3]]}"
        for v in found["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_no_serious_accessibility_violations(server, browser, axe: Path, scheme: str) -> None:
    """The status page (an outage, a degraded target, a watch), a down and a degraded
    target's page and the not-found page, in both languages where they differ."""
    ctx = await browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    for path in ("/", "/?lang=en", "/targets/t1?lang=en", "/targets/t1", "/targets/t2", "/nope"):
        await page.goto(server + path, wait_until="load")
        assert await violations(page, axe) == [], (scheme, path)
    # The green of "Operational" was #1f8a4c: 4.37:1 on white, under the 4.5:1 asked.
    await page.goto(server + "/", wait_until="load")
    fg = await page.locator(".state.s-UP").first.evaluate("e => getComputedStyle(e).color")
    bg = await page.locator("li.card.target").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert contrast(fg, bg) >= 4.5, (fg, bg)
    await ctx.close()


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two `rgb(r, g, b)` colours."""

    def luminance(css: str) -> float:
        r, g, b = (int(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def test_the_error_pages_are_pages_in_the_page_s_language(server, browser) -> None:
    ctx = await browser.new_context()
    page = await ctx.new_page()
    for path, heading in (("/nope?lang=en", "Page not found"), ("/targets/secret", "Halaman tidak ditemukan")):
        response = await page.goto(server + path)
        assert response is not None and response.status == 404
        assert await page.text_content("main h2") == heading
        assert await page.locator("main .card").count() == 1  # the page's own style
    await page.click("main a")
    assert await page.locator("li.card.target").count() == 30
    await ctx.close()
