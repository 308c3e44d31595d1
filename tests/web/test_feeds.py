"""The Atom feeds: valid Atom 1.0 (RFC 4287's required elements, read with xml.etree;
feedparser reads them as a feed reader would), stable ids, escaped text, linked from
the pages, and nothing of a private target."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import html5lib
import pytest

from monitor.config import Maintenance, Settings
from monitor.result import Event, State
from monitor.store import Wording
from monitor.store.registry import open_store
from monitor.web.viewmodels import incident_id
from tests.web.conftest import FakeRuntime, make_config, set_state, target

ATOM = "{http://www.w3.org/2005/Atom}"
XHTML = "{http://www.w3.org/1999/xhtml}"
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
HOUR = 3600.0
HOSTILE = 'Gangguan <b>"server"</b> & jaringan'
NOW = 1_781_000_000.0  # a fixed instant: every time here is from this one clock


async def outage_runtime(folder: Path) -> FakeRuntime:
    """A real SQLite store in `folder` with what operators wrote: "web" DOWN an hour ago
    with a title and an update, a declared incident about "mail", one about the private
    "nvr" alone, a banner, and maintenance of "mail" (with the private recorder)."""
    store = open_store(Settings(data_dir=folder), clock=lambda: NOW)
    await store.open()
    if not await store.posted_incidents(0.0):
        for tid in ("web", "mail", "nvr"):
            store.add_event(Event(tid, NOW - 5 * HOUR, State.UNKNOWN, State.UP, "ok"))
        store.add_event(Event("web", NOW - HOUR, State.UP, State.DOWN, "connection_refused"))
        store.add_event(Event("nvr", NOW - HOUR, State.UP, State.DOWN, "timeout"))
        await store.flush()
        web = await store.automatic_incident("web", NOW - HOUR, Wording(HOSTILE, "Website unreachable"))
        await store.add_incident_update(web.id, NOW - 0.5 * HOUR, "identified", Wording("Kabel <putus>", "Cable cut"))
        mail = await store.declare_incident(["mail"], Wording("Surel terlambat"), NOW - 2 * HOUR)
        await store.add_incident_update(mail.id, NOW - 2 * HOUR, "investigating", Wording("Dicek"))
        hidden = await store.declare_incident(["nvr"], Wording("Perekam CCTV gudang mati"), NOW - HOUR)
        await store.add_incident_update(hidden.id, NOW - HOUR, "investigating", Wording("Perekam CCTV diperiksa"))
        await store.add_announcement("warning", Wording("Libur Lebaran", "Lebaran holiday"), NOW - HOUR, None, NOW)
    window = Maintenance(
        start=datetime.fromtimestamp(NOW + HOUR, UTC),
        end=datetime.fromtimestamp(NOW + 2 * HOUR, UTC),
        targets=("mail", "nvr"),
        reason="Ganti UPS",
    )
    config = make_config(
        [
            target("web", "Website Pemkab"),
            target("mail", "Server surel", group="Server jaringan"),
            target("nvr", "Perekam CCTV", group="CCTV", public=False),
        ],
        maintenance=[window],
    )
    runtime = FakeRuntime(config, store=store, clock=lambda: NOW)
    set_state(runtime, "web", State.DOWN, NOW - HOUR, "connection_refused")
    set_state(runtime, "mail", State.UP, NOW - 5 * HOUR)
    return runtime


@pytest.fixture
async def outage(tmp_path: Path) -> AsyncIterator[FakeRuntime]:
    runtime = await outage_runtime(tmp_path)
    yield runtime
    await runtime.store.close()


def required_elements(body: bytes) -> ET.Element:
    """Check RFC 4287's required elements and forms; the parsed feed."""
    root = ET.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{name}")) == 1, name
    assert root.find(f"{ATOM}author/{ATOM}name") is not None  # so no entry needs its own
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    ids = [root.findtext(f"{ATOM}id", "")]
    for entry in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "xhtml"
        assert len(content) == 1 and content[0].tag == f"{XHTML}div"  # RFC 4287 4.1.3.3
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
        ids.append(entry.findtext(f"{ATOM}id", ""))
    for at in [*root.iter(f"{ATOM}updated"), *root.iter(f"{ATOM}published")]:
        assert at.text and RFC3339_UTC.match(at.text), at.text
        datetime.fromisoformat(at.text.replace("Z", "+00:00"))
    for found in ids:
        assert found.startswith("urn:uuid:") and uuid.UUID(found.removeprefix("urn:uuid:"))
    assert len(set(ids)) == len(ids)
    return root


def entries(root: ET.Element) -> dict[str, ET.Element]:
    return {e.findtext(f"{ATOM}title", ""): e for e in root.findall(f"{ATOM}entry")}


async def test_the_site_feed_is_valid_atom_with_incidents_updates_maintenance_and_banners(client_for, outage) -> None:
    client = client_for(outage, outage.clock)
    response = await client.get("/feed.atom?lang=en")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = required_elements(response.content)
    found = entries(root)
    assert set(found) == {
        "Website unreachable",
        "Surel terlambat",  # no English title: the Indonesian
        "Planned maintenance: Server surel",
        "Warning: Lebaran holiday",
    }
    fallback = found["Surel terlambat"].find(f"{ATOM}title")
    assert fallback is not None and fallback.get("{http://www.w3.org/XML/1998/namespace}lang") == "id"
    web = ET.tostring(found["Website unreachable"], encoding="unicode")
    assert "Cable cut" in web and "Identified" in web
    assert found["Website unreachable"].findtext(f"{ATOM}updated") == "2026-06-09T09:43:20Z"  # its update
    link = found["Website unreachable"].find(f"{ATOM}link")
    assert link is not None and link.get("href") == "http://testserver/targets/web?lang=en"

    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert parsed.feed.title == "Status Layanan: incidents, maintenance and announcements"
    # By `updated`, newest first: maintenance by its start (to come: first), an incident
    # by its latest change, a banner by when it was written.
    assert [e.title for e in parsed.entries] == [
        "Planned maintenance: Server surel",
        "Warning: Lebaran holiday",
        "Website unreachable",
        "Surel terlambat",
    ]


async def test_text_is_escaped_and_reads_back_as_written(client_for, outage) -> None:
    client = client_for(outage, outage.clock)
    body = (await client.get("/feed.atom?lang=id")).content
    assert b"<b>" not in body and b"<putus>" not in body
    found = entries(required_elements(body))
    assert HOSTILE in found
    content = found[HOSTILE].find(f"{ATOM}content")
    assert content is not None and "Kabel <putus>" in "".join(content.itertext())
    assert HOSTILE in [e.title for e in feedparser.parse(body).entries]


async def test_ids_stay_the_same_across_a_restart(client_for, tmp_path) -> None:
    first = await outage_runtime(tmp_path)
    before = required_elements((await client_for(first, first.clock).get("/feed.atom")).content)
    await first.store.close()
    again = await outage_runtime(tmp_path)
    try:
        after = required_elements((await client_for(again, again.clock).get("/feed.atom")).content)
    finally:
        await again.store.close()
    assert [e.findtext(f"{ATOM}id") for e in before.iter(f"{ATOM}entry")] == [
        e.findtext(f"{ATOM}id") for e in after.iter(f"{ATOM}entry")
    ]
    assert before.findtext(f"{ATOM}id") == after.findtext(f"{ATOM}id")


async def test_a_target_feed_has_only_that_targets_incidents(client_for, outage) -> None:
    client = client_for(outage, outage.clock)
    root = required_elements((await client.get("/targets/mail/feed.atom?lang=en")).content)
    assert set(entries(root)) == {"Surel terlambat", "Planned maintenance: Server surel", "Warning: Lebaran holiday"}
    root = required_elements((await client.get("/targets/web/feed.atom?lang=en")).content)
    assert set(entries(root)) == {"Website unreachable", "Warning: Lebaran holiday"}
    assert root.findtext(f"{ATOM}title") == "Website Pemkab — Status Layanan: incidents and maintenance"


async def test_a_private_target_never_appears_in_a_feed(client_for, outage) -> None:
    client = client_for(outage, outage.clock)
    for url in ("/feed.atom", "/feed.atom?lang=id", "/targets/mail/feed.atom", "/targets/web/feed.atom?lang=id"):
        text = (await client.get(url)).text
        assert "Perekam CCTV" not in text and "nvr" not in text, url
    assert (await client.get("/targets/nvr/feed.atom")).status_code == 404
    assert (await client.get("/targets/nope/feed.atom")).status_code == 404


@pytest.mark.parametrize("page", ["/?lang=en", "/targets/web?lang=id"])
async def test_the_pages_link_to_their_feed(client_for, outage, page: str) -> None:
    client = client_for(outage, outage.clock)
    tree = html5lib.parse((await client.get(page)).text, namespaceHTMLElements=False)
    links = [link for link in tree.iter("link") if link.get("rel") == "alternate"]
    assert len(links) == 1 and links[0].get("type") == "application/atom+xml" and links[0].get("title")
    feed = await client.get(links[0].get("href", ""))
    required_elements(feed.content)
    lang = page.rpartition("lang=")[2]
    assert ET.fromstring(feed.content).get("{http://www.w3.org/XML/1998/namespace}lang") == lang


async def test_the_automatic_incidents_id_is_its_target_and_start(outage) -> None:
    assert incident_id("web", NOW - HOUR) == f"web.{int((NOW - HOUR) * 1000)}"
