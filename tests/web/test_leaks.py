"""Nothing private leaves through a public route, and names are shown as text (XSS).

The configuration is full of hosts, addresses, ports, users, tokens and secrets — in
URLs, in the kinds' specs, in probe details, in notes' and updates' authors — and a
private target with its own group, an incident declared about it and one about it and a
public target. None of it may appear in any public answer: pages in both languages,
every range of every target page, the JSON API, badges, OpenAPI, the Atom feeds, and
the 404s for the private target.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from monitor.config import Maintenance
from monitor.result import Event, Result, State
from monitor.store import Announcement, IncidentUpdate, Note, Period, PostedIncident, StoredResult, Wording
from tests.web.conftest import DAY, FakeRuntime, history, make_config, set_state, target

SECRETS = [
    "simpeg-db.example.go.id",
    "www.kotim.example.go.id",
    "gw-core.internal.example",
    "10.10.5.21",
    "192.168.100.1",
    "203.0.113.7",
    "fd00:1234::77",
    "59123",
    "47631",
    "61999",
    "dbadmin",
    "pa55word",
    "viewer-cam",
    "hunter2",
    "tok_ABC123secret",
    "Bearer tok_XYZ",
    "HMACsecret",
    "operator-joko",
    "rtsp://",
    "https://",
    "icmp://",
    "Router rahasia Setda",
    "secret-router",
    "Jaringan internal",
    "Streaming/Channels",
]
XSS_NAME = "<script>alert(1)</script>"
XSS_GROUP = '"><img src=x onerror=alert(2)>'


@dataclass(frozen=True)
class Spec:
    """A probe kind's spec holding what real ones hold: credentials and headers."""

    username: str
    password: str
    headers: tuple[tuple[str, str], ...]


def secret_runtime() -> FakeRuntime:
    now = time.time()
    spec = Spec("dbadmin", "pa55word", (("Authorization", "Bearer tok_XYZ"), ("X-Hmac", "HMACsecret")))
    targets = [
        target(
            "simpeg",
            "Aplikasi SIMPEG",
            url="https://dbadmin:pa55word@simpeg-db.example.go.id:59123/api?token=tok_ABC123secret",
            spec=spec,
        ),
        target("website", "Website", url="https://www.kotim.example.go.id:47631/"),
        target(
            "cam",
            "CCTV lobi",
            group="CCTV",
            url="rtsp://viewer-cam:hunter2@10.10.5.21:61999/Streaming/Channels/101",
            spec=spec,
        ),
        target("xss", XSS_NAME, group=XSS_GROUP, url="https://[fd00:1234::77]:59123/"),
        target(
            "secret-router", "Router rahasia Setda", group="Jaringan internal", url="icmp://192.168.100.1", public=False
        ),
        target("gw", "Gateway", group="CCTV", url="icmp://gw-core.internal.example", public=False),
    ]
    maintenance = [
        Maintenance(
            start=datetime.fromtimestamp(now - 60, UTC),
            end=datetime.fromtimestamp(now + 3600, UTC),
            targets=("secret-router", "simpeg"),
            reason="Pembaruan <b>server</b>",
        )
    ]
    rt = FakeRuntime(make_config(targets, maintenance=maintenance))
    detail = "connection refused by 203.0.113.7:59123 (dbadmin@simpeg-db.example.go.id) token=tok_ABC123secret"
    for t in targets:
        history(rt, t.id, now, ratio=0.98, down_day=2, down_seconds=3600)
        failed = Result(False, "connection_refused", detail, 0.01, now - 30)
        set_state(rt, t.id, State.DOWN, now - 900, "connection_refused", detail, failed)
        rt.store.periods_.append(Period(t.id, State.DOWN, now - 900, None, "connection_refused", detail))
        rt.store.periods_.append(Period(t.id, State.DOWN, now - 3 * DAY, now - 3 * DAY + 600, "tls_error", detail))
        rt.store.changes.append(Event(t.id, now - 900, State.UP, State.DOWN, "connection_refused", detail))
        rt.store.raw.append(StoredResult(t.id, now - 30, False, 0.01, "connection_refused", detail=detail))
        rt.store.notes_.append(Note(1, t.id, now - 600, f"Sedang ditangani {XSS_NAME}", "operator-joko"))
    said = Wording(f"Ditangani {XSS_NAME}", "Being handled")
    step = IncidentUpdate(1, 1, now - 500, "identified", said, "operator-joko")
    rt.store.posted += [
        PostedIncident(1, now - 900, ("simpeg",), Wording(XSS_NAME), "simpeg", (step,)),
        # Declared about private targets: alone (never shown), and with a public one
        # (shown for that one only).
        PostedIncident(2, now - 800, ("secret-router",), Wording("Router rahasia Setda mati"), None, (step,)),
        PostedIncident(3, now - 700, ("gw", "website"), Wording("Jaringan lambat"), None, (step,)),
    ]
    rt.store.banners.append(Announcement(1, "warning", Wording(f"Libur {XSS_NAME}"), now - 60, None, now - 60))
    return rt


def public_urls() -> list[str]:
    urls = ["/", "/?lang=id", "/?lang=en", "/api/v1/status", "/api/v1/incidents", "/api/openapi.json"]
    urls += ["/feed.atom", "/feed.atom?lang=id", "/feed.atom?lang=en"]
    for tid in ("simpeg", "website", "cam", "xss"):
        urls += [f"/targets/{tid}?range={r}&lang={lang}" for r in ("24h", "7d", "30d", "90d") for lang in ("id", "en")]
        urls += [f"/api/v1/targets/{tid}/results", f"/api/v1/incidents?target={tid}", f"/badge/{tid}.svg"]
        urls += [f"/targets/{tid}/feed.atom?lang={lang}" for lang in ("id", "en")]
        urls += [f"/badge/{tid}.svg?window={w}" for w in ("24h", "7d", "30d")]
    for tid in ("secret-router", "gw"):
        urls += [
            f"/targets/{tid}",
            f"/api/v1/targets/{tid}/results",
            f"/api/v1/incidents?target={tid}",
            f"/badge/{tid}.svg",
            f"/badge/{tid}.svg?window=24h",
            f"/targets/{tid}/feed.atom",
        ]
    return urls


def found_secrets(text: str) -> list[str]:
    found = []
    for secret in SECRETS:
        pattern = rf"(?<!\d){secret}(?!\d)" if secret.isdigit() else re.escape(secret)
        if re.search(pattern, text, re.IGNORECASE):
            found.append(secret)
    return found


async def test_no_public_answer_contains_anything_private(client_for) -> None:
    client = client_for(secret_runtime())
    statuses = {}
    for url in public_urls():
        response = await client.get(url)
        statuses[url] = response.status_code
        assert found_secrets(response.text) == [], url
        assert "Gateway" not in response.text, url
    assert statuses["/targets/secret-router"] == 404 and statuses["/targets/cam?range=24h&lang=id"] == 200
    assert sum(code == 200 for code in statuses.values()) == len(statuses) - 12
    declared = (await client.get("/api/v1/incidents")).json()["incidents"]
    assert [i["title"]["id"] for i in declared if i["declared"]] == ["Jaringan lambat"]  # for "website" only


async def test_the_public_page_shows_names_and_groups_only(client_for) -> None:
    html = (await client_for(secret_runtime()).get("/?lang=en")).text
    for shown in ("Aplikasi SIMPEG", "Website", "CCTV lobi", "CCTV", "The connection was refused"):
        assert shown in html
    assert "Pembaruan &lt;b&gt;server&lt;/b&gt;" in html  # the maintenance notice, as text


@pytest.mark.parametrize("url", ["/feed.atom", "/targets/simpeg/feed.atom?lang=en", "/targets/simpeg?lang=en"])
async def test_a_hostile_title_update_or_banner_is_shown_as_text(client_for, url: str) -> None:
    body = (await client_for(secret_runtime()).get(url)).text
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize("url", ["/", "/?lang=id", "/targets/xss?lang=en"])
async def test_a_hostile_name_is_shown_as_text(client_for, url: str) -> None:
    html = (await client_for(secret_runtime()).get(url)).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert html.count("<script>") <= 1  # only the page's own refresh script


async def test_the_api_returns_a_hostile_name_as_a_plain_json_string(client_for) -> None:
    response = await client_for(secret_runtime()).get("/api/v1/status")
    assert response.headers["content-type"] == "application/json"
    names = {t["id"]: t["name"] for t in response.json()["targets"]}
    assert names["xss"] == XSS_NAME
