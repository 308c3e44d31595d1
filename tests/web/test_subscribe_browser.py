"""The subscribe form in a real headless Chromium (Debian's), served by a real uvicorn:
submitted without JavaScript, it lands on the answer page and the confirmation mail
arrives at a real local SMTP server; axe-core finds no serious or critical WCAG 2.1 AA
violation on the form (its choices open), the answer pages and the unsubscribe
button, in light and dark schemes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from monitor.subscriptions.service import Subscriptions
from tests.fakestore import MemoryStore
from tests.mailbox import Mailbox, links, path_of, smtp_server, with_subscriptions
from tests.waiting import until
from tests.web.conftest import FakeRuntime, make_config, target
from tests.web.test_browser import axe, browser, serving, violations

pytestmark = pytest.mark.integration
__all__ = ["axe", "browser"]  # fixtures


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as found:
        yield found


@pytest.fixture
async def site(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> AsyncIterator[tuple[str, FakeRuntime]]:
    targets = [target(f"t{i}", f"Layanan nomor {i}", group=f"Kelompok {i % 3}") for i in range(6)]
    config = with_subscriptions(make_config(targets, language="id"), mailbox[1])
    store = MemoryStore(subscribers_path=tmp_path / "monitor.db")
    runtime = FakeRuntime(config, store=store)
    runtime.subscriptions = Subscriptions(config, store)
    runtime.subscriptions.open()
    runtime.subscriptions.start()
    try:
        async with serving(runtime) as url:
            yield url, runtime
    finally:
        await runtime.subscriptions.stop()


async def test_the_form_works_without_javascript(site, browser, mailbox: tuple[Mailbox, int]) -> None:
    url, _ = site
    box, _ = mailbox
    ctx = await browser.new_context(java_script_enabled=False)
    page = await ctx.new_page()
    await page.goto(url + "/?lang=en", wait_until="load")
    await page.get_by_text("Choose services").first.click()
    await page.get_by_label("Kelompok 1").check()
    await page.get_by_label("E-mail address").fill("warga@example.go.id")
    await page.get_by_role("button", name="Subscribe").click()
    await page.wait_for_load_state("load")
    assert "Check your inbox" in await page.content()
    await until(lambda: box.messages, what="the confirmation mail")
    (confirm,) = links(box.messages[0])
    await page.goto(url + path_of(confirm), wait_until="load")
    assert "Subscription confirmed" in await page.content()
    await ctx.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_no_serious_accessibility_violations_on_the_form_and_its_pages(
    site, browser, axe: Path, scheme: str
) -> None:
    url, runtime = site
    subscriber = runtime.subscriptions.book.confirm("warga@example.go.id", [], [], "id", 1.0)
    unsubscribe = path_of(runtime.subscriptions.unsubscribe_link(subscriber))
    ctx = await browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = await ctx.new_page()
    await page.goto(url + "/?lang=id", wait_until="load")
    await page.locator(".subscribe details summary").click()  # the choices, open
    assert await violations(page, axe) == [], (scheme, "/")
    for path in ("/targets/t1?lang=en", unsubscribe, "/subscribe/confirm?token=bad&lang=en"):
        await page.goto(url + path, wait_until="load")
        assert await violations(page, axe) == [], (scheme, path)
    await page.goto(url + "/?lang=en", wait_until="load")
    await page.get_by_label("E-mail address").fill("lain@example.go.id")
    await page.get_by_role("button", name="Subscribe").click()
    await page.wait_for_load_state("load")
    assert "Check your inbox" in await page.content()
    assert await violations(page, axe) == [], (scheme, "the answer")
    await ctx.close()
