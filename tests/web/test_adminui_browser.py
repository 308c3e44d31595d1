"""The admin UI in a real headless Chromium (Debian's), served by a real uvicorn, on a
real monitor probing a real local website.

Playwright drives /usr/bin/chromium (never a downloaded browser), as tests/web/
test_browser.py does. With MONITOR_SCREENSHOTS=1 the screenshots go to docs/images/
(the ones docs/admin.md shows: run `MONITOR_SCREENSHOTS=1 pytest
tests/web/test_adminui_browser.py` and commit them); otherwise to the test's temporary
directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.integration import need
from tests.waiting import until
from tests.web.office import PASSWORD, Office, office
from tests.web.test_browser import ARGS, CHROMIUM, axe, violations

pytestmark = pytest.mark.integration
__all__ = ["axe"]  # the fixture, from test_browser
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@contextlib.asynccontextmanager
async def serving(here: Office) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(here.app, log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    await until(lambda: srv.started or task.done(), what="uvicorn serving")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    need(CHROMIUM, "chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


def shots(tmp_path: Path) -> Path:
    if os.environ.get("MONITOR_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(exist_ok=True)
        return DOCS_IMAGES
    return tmp_path


async def test_an_admin_logs_in_adds_a_target_by_form_and_sees_it_probed(
    browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_ENV_FILE", str(tmp_path / "monitor.env"))
    out = shots(tmp_path)
    async with office(tmp_path) as o, serving(o) as url:
        original = o.path.read_text()
        ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await ctx.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

        await page.goto(url + "/admin/targets")
        assert page.url.startswith(url + "/admin/login?next=")
        await page.fill("#username", "siti")
        await page.fill("#password", PASSWORD)
        await page.screenshot(path=str(out / "admin-login.png"))
        await page.click("form.login button")
        await page.wait_for_url(url + "/admin/targets")

        await page.click("text=Add a target")
        await page.click("a:has-text('http')")
        await page.fill("#f-id", "dukcapil")
        await page.fill("#f-name", "Layanan Dukcapil")
        await page.fill("#f-group", "Layanan publik")
        await page.fill("#f-url", o.site.url + "/dukcapil")
        await page.fill("#f-interval", "1s")
        await page.fill("#f-timeout", "900ms")
        await page.click("button[value=probe]")  # probe now, before saving
        await page.locator(".probe-result .ok").wait_for()
        assert "dukcapil" not in o.path.read_text()
        await page.screenshot(path=str(out / "admin-form.png"), full_page=True)
        await page.click("button[value=save]")
        await page.wait_for_url(url + "/admin/targets/dukcapil?saved=1&lang=en")

        after = o.path.read_text()
        assert after.startswith(original)  # the admin's comments and order untouched
        assert '[targets.dukcapil]\nname = "Layanan Dukcapil"' in after
        assert (tmp_path / "targets.toml.1").read_text() == original

        async def probed_up() -> bool:
            await page.reload()
            return await page.locator(".state.s-UP").count() > 0

        await until(probed_up, timeout=20, what="the new target shown UP on its admin page")
        assert o.site.hits.get("/dukcapil", 0) >= 2
        await page.screenshot(path=str(out / "admin-target.png"), full_page=True)

        status = await ctx.new_page()
        await status.goto(url + "/?lang=en")
        assert "Layanan Dukcapil" in (await status.text_content("#main") or "")

        # Pause from the target's page: written to the file, shown as paused.
        await page.click("button:has-text('Pause probing')")
        await page.locator(".paused").first.wait_for()
        assert "paused = true" in o.path.read_text()

        await page.goto(url + "/admin/targets")
        await page.screenshot(path=str(out / "admin-targets.png"), full_page=True)
        await page.goto(url + "/admin/audit")
        actions = await page.locator("table.audit td:nth-child(3)").all_text_contents()
        assert actions == ["config.targets.pause", "config.targets.add"]
        assert await page.locator("pre.diff .add").count() >= 5
        await page.screenshot(path=str(out / "admin-audit.png"), full_page=True)
        assert problems == []
        await ctx.close()


async def test_an_invalid_value_and_a_hand_edit_are_shown_on_the_form_and_nothing_is_written(
    browser, tmp_path: Path
) -> None:
    out = shots(tmp_path)
    async with office(tmp_path, start=False) as o, serving(o) as url:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await ctx.new_page()
        await page.goto(url + "/admin/login?lang=id")
        await page.fill("#username", "siti")
        await page.fill("#password", PASSWORD)
        await page.click("form.login button")
        await page.goto(url + "/admin/targets/portal/edit?lang=id")
        before = o.path.read_bytes()
        await page.fill("#f-interval", "sebentar")
        await page.click("button[value=save]")
        problem = page.locator("#p-interval")
        await problem.wait_for()
        assert "is not a duration" in (await problem.text_content() or "")
        assert await page.get_attribute("#f-interval", "aria-invalid") == "true"
        assert o.path.read_bytes() == before
        await page.screenshot(path=str(out / "admin-form-error.png"), full_page=True)

        await page.goto(url + "/admin/targets/mail/edit?lang=id")
        o.path.write_text(o.path.read_text().replace('timeout = "900ms"', 'timeout = "800ms"'))
        hand = o.path.read_bytes()
        await page.fill("#f-name", "Surel kantor")
        await page.click("button[value=save]")
        await page.locator("pre.diff").wait_for()
        assert "diubah orang lain" in (await page.text_content(".card[role=alert]") or "")
        assert '+timeout = "800ms"' in (await page.text_content("pre.diff") or "")
        assert o.path.read_bytes() == hand
        await page.screenshot(path=str(out / "admin-conflict.png"), full_page=True)
        await ctx.close()


async def test_a_viewer_sees_no_edit_buttons_and_cannot_post_without_the_token(browser, tmp_path: Path) -> None:
    async with office(tmp_path, start=False) as o, serving(o) as url:
        ctx = await browser.new_context()
        page = await ctx.new_page()
        await page.goto(url + "/admin/login")
        await page.fill("#username", "tamu")
        await page.fill("#password", PASSWORD)
        await page.click("form.login button")
        await page.goto(url + "/admin/targets/portal")
        assert await page.locator("text=Edit").count() == 0
        assert await page.locator("button:has-text('Pause probing')").count() == 0
        # The browser's cookie alone (as a forged cross-site form would have) is refused.
        refused = await page.request.post(url + "/admin/api/targets/portal/pause")
        assert refused.status == 403
        await ctx.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_admin_pages_have_no_serious_accessibility_violations(browser, axe, tmp_path: Path, scheme) -> None:
    async with office(tmp_path, start=False) as o, serving(o) as url:
        ctx = await browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
        page = await ctx.new_page()
        await page.goto(url + "/admin/login")
        assert await violations(page, axe) == [], "/admin/login"
        await page.fill("#username", "siti")
        await page.fill("#password", PASSWORD)
        await page.click("form.login button")
        await page.goto(url + "/admin/targets/portal/edit")
        await page.fill("#f-interval", "sebentar")
        await page.click("button[value=save]")
        await page.locator("#p-interval").wait_for()
        assert await violations(page, axe) == [], "the form with a problem"
        for path in (
            "/admin/targets",
            "/admin/targets/portal",
            "/admin/config/notifiers/new?type=webhook",
            "/admin/audit",
        ):
            await page.goto(url + path + "?lang=id" if "?" not in path else url + path + "&lang=id")
            assert await violations(page, axe) == [], (scheme, path)
        await ctx.close()


async def test_an_operator_acknowledges_and_posts_an_update_through_the_forms(browser, axe, tmp_path: Path) -> None:
    """An outage on a real probe: the operator opens it from the overview, acknowledges it
    with a note, posts an update with its public title, and adds an announcement; each
    shows on the public side, and the pages stay clean for axe-core in both schemes."""
    out = shots(tmp_path)
    extra = '\n[targets.gudang]\nname = "Gudang arsip"\nurl = "{site}/down"\ninterval = "1s"\ntimeout = "900ms"\n'
    async with office(tmp_path, extra=extra + "failure_threshold = 1\n") as o, serving(o) as url:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await ctx.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await page.goto(url + "/admin/login")
        await page.fill("#username", "budi")
        await page.fill("#password", PASSWORD)
        await page.click("form.login button")
        await page.wait_for_url(url + "/admin")

        async def listed() -> bool:
            await page.goto(url + "/admin")
            return await page.locator("#ack-gudang a").count() > 0

        await until(listed, timeout=20, what="gudang's outage on the overview")
        await page.click("#ack-gudang a")
        await page.fill("[id='f-ack-note']", "Saya menuju gudang")
        await page.screenshot(path=str(out / "admin-oncall.png"), full_page=True)
        await page.click("button[value=ack]")
        await page.locator("#acked").wait_for()
        assert "Saya menuju gudang" in (await page.text_content("#acked") or "")
        assert await violations(page, axe) == [], "the target page after an acknowledgement"

        await page.click("section[aria-labelledby=oncall-actions] a:has-text('Post an update')")
        await page.fill("[id='f-title.id']", "Arsip tidak bisa diakses")
        await page.fill("[id='f-title.en']", "Archive unreachable")
        await page.select_option("[id='f-status']", "identified")
        await page.fill("[id='f-text.id']", "Listrik gudang padam, petugas di lokasi.")
        await page.click("button[type=submit]:has-text('Post the update')")
        await page.locator("p.ok[role=status]").wait_for()
        assert "Listrik gudang padam" in (await page.text_content("ol.timeline") or "")
        await page.screenshot(path=str(out / "admin-incident-update.png"), full_page=True)

        await page.goto(url + "/admin/incidents")
        await page.select_option("[id='f-announce-level']", "warning")
        await page.fill("[id='f-announce-text.id']", "Layanan arsip terganggu hari ini")
        await page.click("button:has-text('Add')")
        await page.locator("ul.banners li").wait_for()
        await page.screenshot(path=str(out / "admin-incidents.png"), full_page=True)

        public = await ctx.new_page()
        await public.goto(url + "/?lang=en")
        text = await public.text_content("#main") or ""
        assert "Archive unreachable" in text and "Layanan arsip terganggu hari ini" in text
        assert "Saya menuju gudang" not in text and "budi" not in text  # who and the note stay inside
        assert problems == []

        for scheme in ("light", "dark"):
            await page.emulate_media(color_scheme=scheme)
            for path in ("/admin/incidents", "/admin/targets/gudang", "/admin"):
                for lang in ("id", "en"):
                    await page.goto(f"{url}{path}?lang={lang}")
                    assert await violations(page, axe) == [], (scheme, path, lang)
            # A refused form, its problems next to their inputs.
            await page.goto(url + "/admin/incidents")
            await page.click("button:has-text('Declare')")
            await page.locator("[id='p-declare-title.id']").wait_for()
            assert await page.get_attribute("[id='f-declare-title.id']", "aria-invalid") == "true"
            assert await violations(page, axe) == [], (scheme, "the declare form with problems")
        await ctx.close()


async def test_an_admin_edits_the_settings_and_adds_an_account_by_form(browser, axe, tmp_path: Path) -> None:
    out = shots(tmp_path)
    async with office(tmp_path, start=False) as o, serving(o) as url:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await ctx.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        # (the console reports the refused save's 400 as an error: that one is expected)
        await page.goto(url + "/admin/login")
        await page.fill("#username", "siti")
        await page.fill("#password", PASSWORD)
        await page.click("form.login button")
        await page.wait_for_url(url + "/admin")
        await page.click("nav.admin a:has-text('Settings')")
        await page.wait_for_url(url + "/admin/config/monitor?lang=en")
        before = o.path.read_bytes()
        await page.fill("#f-connectivity", "1.1.1.1")
        await page.fill("#f-listen", "127.0.0.1:9099")
        await page.click("button[value=save]")
        problem = page.locator("#p-connectivity")
        await problem.wait_for()
        assert "must be a URL such as" in (await problem.text_content() or "")
        assert await page.get_attribute("#f-connectivity", "aria-invalid") == "true"
        assert o.path.read_bytes() == before
        assert await violations(page, axe) == [], "the settings form with a problem"
        await page.fill("#f-connectivity", f'{o.site.url}/uplink\n{{url = "{o.site.url}/uplink2", timeout = "2s"}}')
        await page.click("button[value=save]")
        await page.wait_for_url(url + "/admin/config/monitor?saved=1&lang=en")
        assert "<code>listen</code>" in (await page.inner_html(".card.restart"))
        assert [c.id for c in o.monitor.config.settings.connectivity] == ["http-1", "http-2"]
        await page.screenshot(path=str(out / "admin-settings.png"), full_page=True)
        assert await violations(page, axe) == [], "the settings form saved"

        await page.click("nav.admin a:has-text('Accounts')")
        await page.click("text=Add an account")
        await page.fill("#f-new-name", "ani")
        await page.select_option("#f-new-role", "operator")
        await page.fill("#f-new-password", "kata-sandi-ani-1")
        await page.fill("#f-new-password_again", "kata-sandi-ani-1")
        await page.click("button[type=submit]:has-text('Save')")
        await page.locator("#account-ani").wait_for()
        assert "$argon2" not in await page.content()
        await page.screenshot(path=str(out / "admin-accounts.png"), full_page=True)
        for path in ("/admin/config/admins", "/admin/config/admins/ani/edit", "/admin/config/defaults"):
            for lang in ("id", "en"):
                await page.goto(f"{url}{path}?lang={lang}")
                assert await violations(page, axe) == [], (path, lang)
        assert o.monitor.config.admins["ani"].role == "operator"
        assert problems == []
        await ctx.close()


async def test_an_admin_leaves_a_gap_in_a_roster_and_the_form_shows_the_warning(browser, axe, tmp_path: Path) -> None:
    from tests.web.test_adminduty import DUTY

    out = shots(tmp_path)
    async with office(tmp_path, start=False, extra=DUTY) as o, serving(o) as url:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await ctx.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        await page.goto(url + "/admin/login")
        await page.fill("#username", "siti")
        await page.fill("#password", PASSWORD)
        await page.click("form.login button")
        await page.wait_for_url(url + "/admin")
        await page.click("nav.admin a:has-text('Duty shifts')")
        await page.wait_for_url(url + "/admin/config/duty?lang=en")
        await page.click("#duty-0 a:has-text('Edit')")
        await page.fill("#f-weekly", "mon-fri 08:00-16:00")
        await page.click("button[value=save]")
        await page.wait_for_url(url + "/admin/config/duty/0/edit?saved=1&lang=en")
        shown = await page.inner_text(".card[role=status]")
        assert "Saved to the file and reloaded." in shown and "nobody is on duty from Mon 16:00 to Tue 08:00" in shown
        assert o.monitor.config.duty[0].weekly[0] == (8 * 60, 16 * 60)
        await page.screenshot(path=str(out / "admin-duty.png"), full_page=True)
        assert await violations(page, axe) == [], "the shift's form with its warnings"
        for path in (
            "/admin/config/rosters",
            "/admin/config/rosters/piket/edit",
            "/admin/config/duty",
            "/admin/config/duty/new",
            "/admin/config/subscriptions",
        ):
            for lang in ("id", "en"):
                await page.goto(f"{url}{path}?lang={lang}")
                assert await violations(page, axe) == [], (path, lang)
        assert problems == []
        await ctx.close()
