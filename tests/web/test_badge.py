"""Badges: `GET /badge/{id}.svg` (state) and `?window=24h|7d|30d` (uptime)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from monitor.result import State
from monitor.web.badge import text_width
from tests.web.conftest import FakeRuntime, history, make_config, set_state, target

SVG = "{http://www.w3.org/2000/svg}"


def texts_of(svg: str) -> tuple[str, list[str], list[str]]:
    """The badge's <title>, its text runs and its fill colours."""
    root = ET.fromstring(svg)
    title = root.findtext(f"{SVG}title") or ""
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    fills = [r.get("fill", "") for r in root.iter(f"{SVG}rect")]
    return title, texts, fills


async def test_the_state_badge_says_the_state_in_words_and_colour(client_for) -> None:
    runtime = FakeRuntime(make_config([target("web"), target("dns")]))
    set_state(runtime, "web", State.UP, time.time() - 60)
    set_state(runtime, "dns", State.DOWN, time.time() - 60, "timeout")
    client = client_for(runtime)
    response = await client.get("/badge/web.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "max-age=60" in response.headers["cache-control"]
    title, texts, fills = texts_of(response.text)
    assert title == "status: Operational"
    assert texts == ["status", "status", "Operational", "Operational"]
    assert "#4c1" in fills
    title, _, fills = texts_of((await client.get("/badge/dns.svg?lang=id")).text)
    assert title == "keadaan: Gangguan" and "#e05d44" in fills


async def test_the_uptime_badge_shows_the_windows_availability(client_for) -> None:
    runtime = FakeRuntime(make_config([target("web"), target("new")], language="id"))
    history(runtime, "web", time.time(), ratio=0.9912)
    client = client_for(runtime)
    title, _, fills = texts_of((await client.get("/badge/web.svg?window=7d")).text)
    assert title == "ketersediaan 7d: 99,12%"
    assert "#97ca00" in fills
    title, _, fills = texts_of((await client.get("/badge/web.svg?window=30d&lang=en")).text)
    assert title == "uptime 30d: 99.12%"
    title, _, fills = texts_of((await client.get("/badge/new.svg?window=24h&lang=en")).text)
    assert title == "uptime 24h: —" and "#9f9f9f" in fills


async def test_the_badge_is_sized_to_its_text(client_for) -> None:
    runtime = FakeRuntime(make_config([target("web")]))
    svg = (await client_for(runtime).get("/badge/web.svg?lang=en")).text
    root = ET.fromstring(svg)
    expected = round(text_width("status") + 10) + round(text_width("Unknown") + 10)
    assert root.get("width") == str(expected)


async def test_private_unknown_and_bad_window_are_refused(client_for) -> None:
    client = client_for(FakeRuntime(make_config([target("web"), target("gw", public=False)])))
    private, unknown = await client.get("/badge/gw.svg"), await client.get("/badge/nope.svg")
    assert private.status_code == unknown.status_code == 404
    assert private.text == unknown.text and texts_of(private.text)[0] == "status: not found"
    assert (await client.get("/badge/web.svg?window=1y")).status_code == 400


async def test_a_badge_escapes_a_strange_name(client_for) -> None:
    runtime = FakeRuntime(make_config([target("web", name="<script>")]))
    svg = (await client_for(runtime).get("/badge/web.svg")).text
    ET.fromstring(svg)  # well-formed XML
    assert "<script" not in svg


async def test_the_not_found_badge_speaks_the_language_asked_for(client_for) -> None:
    client = client_for(FakeRuntime(make_config([target("web")])))
    assert texts_of((await client.get("/badge/nope.svg?lang=id")).text)[0] == "keadaan: tidak ditemukan"


async def test_the_badge_label_follows_the_language_too(client_for) -> None:
    """Not "status | Normal": the label is in the badge's language as its state is."""
    runtime = FakeRuntime(make_config([target("web")], language="id"))
    set_state(runtime, "web", State.UP, time.time() - 60)
    client = client_for(runtime)
    assert texts_of((await client.get("/badge/web.svg")).text)[0] == "keadaan: Normal"
    assert texts_of((await client.get("/badge/web.svg?lang=en")).text)[0] == "status: Operational"
