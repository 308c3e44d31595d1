"""Incident updates and announcements: written through the admin API, kept in the real
SQLite store, shown on `/`, on the target page and in `/api/v1/incidents`."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Settings
from monitor.result import Event, Result, State
from monitor.runtime import Monitor
from monitor.store import IncidentUpdate, PostedIncident, Wording
from monitor.store.registry import open_store
from monitor.web.viewmodels import incident_id
from tests.web.conftest import FakeRuntime, make_config, set_state, target
from tests.web.test_api import validate

TOKEN = "incident-admin-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
HOUR = 3600.0


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture
async def outage(tmp_path: Path) -> AsyncIterator[FakeRuntime]:
    """The real SQLite store: "web" DOWN since an hour ago (an automatic incident),
    "mail" UP, and a private camera recorder "nvr" DOWN too. The app's clock is pinned."""
    now = float(int(time.time()))
    store = open_store(Settings(data_dir=tmp_path), clock=lambda: now)
    await store.open()
    for tid in ("web", "mail", "nvr"):
        store.add_event(Event(tid, now - 5 * HOUR, State.UNKNOWN, State.UP, "ok"))
    for tid in ("web", "nvr"):
        store.add_event(Event(tid, now - HOUR + 0.25, State.UP, State.DOWN, "timeout"))
    await store.flush()
    config = make_config(
        [
            target("web", "Website Pemkab"),
            target("mail", "Server surel", group="Server jaringan"),
            target("nvr", "Perekam CCTV", group="CCTV", public=False),
        ]
    )
    runtime = FakeRuntime(config, store=store, clock=lambda: now)
    set_state(runtime, "web", State.DOWN, now - HOUR + 0.25, "timeout", last=Result(False, "timeout", started=now - 9))
    set_state(runtime, "mail", State.UP, now - 5 * HOUR, last=Result(True, duration=0.1, started=now - 9))
    set_state(runtime, "nvr", State.DOWN, now - HOUR + 0.25, "timeout")
    yield runtime
    await store.close()


def web_incident(runtime: FakeRuntime) -> str:
    return incident_id("web", runtime.clock() - HOUR + 0.25)


DECLARED = {
    "targets": ["mail"],
    "title": {"id": "Surel lambat terkirim", "en": "E-mail is delivered late"},
    "status": "investigating",
    "text": {"id": "Antrean surel menumpuk, petugas sedang memeriksa."},
}


async def test_a_declared_incident_shows_on_the_page_the_target_page_and_the_api(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock)
    posted = await client.post("/admin/api/incidents", headers=BEARER, json=DECLARED)
    assert posted.status_code == 201, posted.text
    body = posted.json()
    assert body["declared"] is True and body["status"] == "investigating" and body["targets"] == ["mail"]
    later = {"status": "identified", "text": {"id": "Disk server penuh", "en": "The server's disk is full"}}
    assert (
        await client.post(f"/admin/api/incidents/{body['id']}/updates", headers=BEARER, json=later)
    ).status_code == 201

    english = (await client.get("/?lang=en")).text
    ongoing = english[english.index('id="open"') : english.index('id="services"')]
    assert "E-mail is delivered late" in ongoing and "Server surel" in ongoing
    # Newest first; the Indonesian where no English was given, marked as Indonesian.
    assert ongoing.index("The server&#39;s disk is full") < ongoing.index("Antrean surel menumpuk")
    assert '<span lang="id">Antrean surel menumpuk, petugas sedang memeriksa.</span>' in ongoing
    assert ongoing.index("Identified") < ongoing.index("Investigating")
    indonesian = (await client.get("/?lang=id")).text
    assert "Surel lambat terkirim" in indonesian and "Penyebab ditemukan" in indonesian
    target_page = (await client.get("/targets/mail?lang=en")).text
    assert "E-mail is delivered late" in target_page and "The server&#39;s disk is full" in target_page
    assert "E-mail is delivered late" not in (await client.get("/targets/web?lang=en")).text

    found = (await client.get("/api/v1/incidents")).json()
    validate(found, "Incidents")
    declared = next(i for i in found["incidents"] if i["declared"])
    assert declared["id"] == body["id"] and declared["end"] is None and declared["reason"] is None
    assert declared["title"] == {"id": "Surel lambat terkirim", "en": "E-mail is delivered late"}
    assert [u["status"] for u in declared["updates"]] == ["identified", "investigating"]
    assert declared["updates"][1]["text"] == {"id": "Antrean surel menumpuk, petugas sedang memeriksa.", "en": None}
    assert [t["id"] for t in declared["targets"]] == ["mail"]


async def test_a_declared_incident_about_several_targets_names_the_public_ones(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock)
    both = {**DECLARED, "targets": ["mail", "nvr", "web"]}
    assert (await client.post("/admin/api/incidents", headers=BEARER, json=both)).status_code == 201
    for url in ("/api/v1/incidents", "/api/v1/incidents?target=web"):
        declared = next(i for i in (await client.get(url)).json()["incidents"] if i["declared"])
        assert [t["id"] for t in declared["targets"]] == ["mail", "web"], url
    page = (await client.get("/targets/web?lang=en")).text
    assert "E-mail is delivered late" in page and "Perekam CCTV" not in page


async def test_resolving_a_declared_incident_ends_it(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock)
    posted = (await client.post("/admin/api/incidents", headers=BEARER, json=DECLARED)).json()
    resolved = {"status": "resolved", "text": "Antrean sudah kosong"}
    assert (
        await client.post(f"/admin/api/incidents/{posted['id']}/updates", headers=BEARER, json=resolved)
    ).status_code == 201
    found = (await client.get("/api/v1/incidents")).json()["incidents"]
    declared = next(i for i in found if i["declared"])
    assert declared["ongoing"] is False and declared["status"] == "resolved"
    status = (await client.get("/api/v1/status")).json()
    validate(status, "Status")
    assert all(not i["declared"] for i in status["incidents"])  # only open ones there
    html = (await client.get("/?lang=en")).text
    recent = html[html.index('id="recent"') :]
    assert "E-mail is delivered late" in recent and "Resolved" in recent


async def test_an_automatic_incident_gets_a_public_title_and_updates(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock)
    listed = (await client.get("/api/v1/incidents")).json()["incidents"]
    assert [i["id"] for i in listed] == [web_incident(outage)]  # the private recorder's is not shown
    assert listed[0]["title"] is None and listed[0]["updates"] == [] and listed[0]["status"] is None
    step = {
        "status": "identified",
        "text": {"id": "Kabel serat optik putus di Jalan Tjilik Riwut", "en": "A fibre cable is cut"},
        "title": {"id": "Website Pemkab tidak dapat diakses"},
    }
    answer = await client.post(f"/admin/api/incidents/{listed[0]['id']}/updates", headers=BEARER, json=step)
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == web_incident(outage) and answer.json()["declared"] is False
    again = {"status": "monitoring", "text": {"id": "Sudah disambung, dipantau", "en": "Spliced, watching"}}
    assert (
        await client.post(f"/admin/api/incidents/{web_incident(outage)}/updates", headers=BEARER, json=again)
    ).status_code == 201

    incident = (await client.get("/api/v1/incidents?target=web")).json()["incidents"][0]
    assert incident["title"] == {"id": "Website Pemkab tidak dapat diakses", "en": None}
    assert incident["status"] == "monitoring" and incident["reason"] == "timeout"
    assert [u["text"]["en"] for u in incident["updates"]] == ["Spliced, watching", "A fibre cable is cut"]
    page = (await client.get("/targets/web?lang=en")).text
    incidents = page[page.index('id="incidents-title"') : page.index('id="history-title"')]
    assert '<h3 class="title"><span lang="id">Website Pemkab tidak dapat diakses</span></h3>' in incidents
    assert incidents.index("Spliced, watching") < incidents.index("A fibre cable is cut")
    assert "Monitoring" in incidents and "Down" in incidents


async def test_updates_reach_the_incident_listeners(client_for, outage, token) -> None:
    heard: list[tuple[PostedIncident, IncidentUpdate]] = []

    async def listener(incident: PostedIncident, update: IncidentUpdate) -> None:
        heard.append((incident, update))

    async def broken(incident: PostedIncident, update: IncidentUpdate) -> None:
        raise RuntimeError("the subscriptions are down")

    outage.incident_listeners += [broken, listener]
    client = client_for(outage, outage.clock)
    posted = (await client.post("/admin/api/incidents", headers=BEARER, json=DECLARED)).json()
    step = {"status": "monitoring", "text": "Dipantau"}
    await client.post(f"/admin/api/incidents/{web_incident(outage)}/updates", headers=BEARER, json=step)
    assert [(i.targets, u.status) for i, u in heard] == [(("mail",), "investigating"), (("web",), "monitoring")]
    assert heard[0][0].id == int(posted["id"]) and heard[0][0].updates[-1] == heard[0][1]
    assert heard[1][0].target == "web" and heard[1][1].author == "token"


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        (
            {"targets": [], "title": {"en": "x", "de": "y"}, "status": "fixed", "text": {"id": ""}, "extra": 1},
            [
                "targets: a list of one or more target ids is required",
                "title.id: the Indonesian text is required",
                "title.de: unknown key (id, en)",
                "status: one of investigating, identified, monitoring, resolved is required",
                "text.id: the Indonesian text is required",
                "extra: unknown key",
            ],
        ),
        (
            {"targets": ["mail", "nope"], "title": "Judul", "status": "identified", "text": {"id": "a" * 5001}},
            ["targets: no target 'nope'", "text.id: at most 5000 characters (5001 given)"],
        ),
        ({"targets": "mail", "title": 7, "status": "identified"}, None),
    ],
)
async def test_a_bad_declaration_names_every_problem_and_writes_nothing(
    client_for, outage, token, body: dict[str, Any], problems: list[str] | None
) -> None:
    client = client_for(outage, outage.clock)
    answer = await client.post("/admin/api/incidents", headers=BEARER, json=body)
    assert answer.status_code == 400
    if problems is not None:
        assert answer.json()["problems"] == problems
        assert answer.json()["error"] == "; ".join(problems)
    else:
        assert len(answer.json()["problems"]) == 3  # targets, title, text
    assert await outage.store.posted_incidents(0.0) == []


async def test_updates_to_unknown_incidents_or_bad_updates_are_refused(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock)
    step = {"status": "identified", "text": "Dicek"}
    for missing in ("999", "web.123", f"mail.{int(outage.clock() * 1000)}", "nope.1", "web"):
        answer = await client.post(f"/admin/api/incidents/{missing}/updates", headers=BEARER, json=step)
        assert answer.status_code == 404, missing
    answer = await client.post(
        f"/admin/api/incidents/{web_incident(outage)}/updates", headers=BEARER, json={"status": "done", "note": ""}
    )
    assert answer.json()["problems"] == [
        "status: one of investigating, identified, monitoring, resolved is required",
        "text.id: the Indonesian text is required",
        "note: unknown key",
    ]
    declared = (await client.post("/admin/api/incidents", headers=BEARER, json=DECLARED)).json()
    retitled = {**step, "title": "Judul baru"}
    answer = await client.post(f"/admin/api/incidents/{declared['id']}/updates", headers=BEARER, json=retitled)
    assert answer.status_code == 400 and "title" in answer.json()["error"]
    # Refused updates wrote nothing: not even the automatic incident's record.
    assert [p.id for p in await outage.store.posted_incidents(0.0)] == [int(declared["id"])]
    assert (await client.post("/admin/api/incidents", json=DECLARED)).status_code == 401
    answer = await client.post("/admin/api/incidents", headers={**BEARER, "content-type": "text/plain"}, content="{}")
    assert answer.status_code == 415


async def test_a_private_target_can_have_an_incident_that_no_public_route_shows(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock)
    secret = {**DECLARED, "targets": ["nvr"], "title": {"id": "Perekam CCTV gudang mati"}}
    assert (await client.post("/admin/api/incidents", headers=BEARER, json=secret)).status_code == 201
    for url in ("/?lang=id", "/api/v1/incidents", "/api/v1/status", "/targets/web"):
        assert "Perekam CCTV" not in (await client.get(url)).text, url


async def test_an_update_shows_at_once_although_the_page_is_cached(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock, snapshot_seconds=60)
    assert "Surel lambat terkirim" not in (await client.get("/?lang=id")).text
    await client.post("/admin/api/incidents", headers=BEARER, json=DECLARED)
    assert "Surel lambat terkirim" in (await client.get("/?lang=id")).text
    banner = {"level": "info", "text": "Layanan KTP tutup selama libur"}
    created = (await client.post("/admin/api/announcements", headers=BEARER, json=banner)).json()
    assert "Layanan KTP tutup selama libur" in (await client.get("/?lang=id")).text
    await client.delete(f"/admin/api/announcements/{created['id']}", headers=BEARER)
    assert "Layanan KTP tutup selama libur" not in (await client.get("/?lang=id")).text


async def test_an_announcement_is_a_banner_while_it_is_active(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock)
    now = outage.clock()
    banners = [
        {"level": "info", "text": {"id": "Pelayanan tatap muka libur", "en": "No counter service"}},
        {"level": "critical", "text": {"id": "Listrik padam di kantor"}, "end": now + HOUR},
        {"level": "warning", "text": {"id": "Pemadaman terjadwal besok"}, "start": now + 86400.0},
        {"level": "warning", "text": {"id": "Sudah lewat"}, "start": now - 2 * HOUR, "end": now - HOUR},
    ]
    ids = []
    for banner in banners:
        answer = await client.post("/admin/api/announcements", headers=BEARER, json=banner)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    html = (await client.get("/?lang=en")).text
    notices = html[html.index('class="notices"') : html.index('class="card banner')]
    assert notices.index("Listrik padam di kantor") < notices.index("No counter service")  # most severe first
    assert 'role="alert"' in notices and "Important:" in notices and "Information:" in notices
    assert "Pemadaman terjadwal besok" not in html and "Sudah lewat" not in html
    assert "Pelayanan tatap muka libur" in (await client.get("/?lang=id")).text
    assert "Listrik padam di kantor" in (await client.get("/targets/mail?lang=en")).text
    status = (await client.get("/api/v1/status")).json()
    validate(status, "Status")
    assert [(a["level"], a["text"]["en"]) for a in status["announcements"]] == [
        ("info", "No counter service"),
        ("critical", None),
    ]
    listed = (await client.get("/admin/api/announcements", headers=BEARER)).json()["announcements"]
    assert [a["id"] for a in listed] == ids[:3]  # the one over is not listed
    assert (await client.delete(f"/admin/api/announcements/{ids[1]}", headers=BEARER)).status_code == 204
    assert (await client.delete(f"/admin/api/announcements/{ids[1]}", headers=BEARER)).status_code == 404
    assert "Listrik padam di kantor" not in (await client.get("/?lang=en")).text


async def test_a_bad_announcement_names_every_problem(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock)
    body = {"level": "urgent", "text": {"en": "Closed"}, "start": "tomorrow", "end": "2020-01-01T00:00:00Z", "x": 1}
    answer = await client.post("/admin/api/announcements", headers=BEARER, json=body)
    assert answer.status_code == 400
    assert answer.json()["problems"] == [
        "level: one of info, warning, critical is required",
        "text.id: the Indonesian text is required",
        "start: not a time: 'tomorrow' (ISO 8601 or unix seconds)",
        "x: unknown key",
    ]
    backwards = {"level": "info", "text": "Tutup", "start": "2026-06-02T00:00:00Z", "end": "2026-06-01T00:00:00Z"}
    answer = await client.post("/admin/api/announcements", headers=BEARER, json=backwards)
    assert answer.json()["problems"] == ["end: must be after start"]
    assert await outage.store.announcements(0.0) == []


async def test_every_write_is_in_the_audit_log(client_for, outage, token) -> None:
    client = client_for(outage, outage.clock)
    declared = (await client.post("/admin/api/incidents", headers=BEARER, json=DECLARED)).json()
    step = {"status": "identified", "text": "Kabel putus", "title": {"id": "Website mati", "en": "Website down"}}
    await client.post(f"/admin/api/incidents/{web_incident(outage)}/updates", headers=BEARER, json=step)
    banner = (
        await client.post("/admin/api/announcements", headers=BEARER, json={"level": "info", "text": "Libur"})
    ).json()
    await client.delete(f"/admin/api/announcements/{banner['id']}", headers=BEARER)
    await client.post("/admin/api/incidents", headers=BEARER, json={"targets": []})  # refused: not recorded
    entries = (await client.get("/admin/api/audit", headers=BEARER)).json()["audit"]
    found = [(e["who"], e["action"], e["subject"]) for e in reversed(entries)]
    assert found == [
        ("token", "incident.declare", declared["id"]),
        ("token", "incident.update", declared["id"]),
        ("token", "incident.title", web_incident(outage)),
        ("token", "incident.update", web_incident(outage)),
        ("token", "announcement.add", str(banner["id"])),
        ("token", "announcement.remove", str(banner["id"])),
    ]
    title = next(e for e in entries if e["action"] == "incident.title")
    assert json.loads(title["detail"]) == {"title": {"id": "Website mati", "en": "Website down"}}


async def test_the_running_monitor_hands_updates_of_a_real_outage_to_its_listeners(client_for, tmp_path, token) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    await store.open()
    config = make_config([target("web", "Website Pemkab", failure_threshold=2)])
    monitor = Monitor(config, store)
    heard: list[tuple[PostedIncident, IncidentUpdate]] = []

    async def listener(incident: PostedIncident, update: IncidentUpdate) -> None:
        heard.append((incident, update))

    monitor.on_incident_update(listener)
    try:
        web = config.targets["web"]
        started = time.time()
        monitor.record(web, Result(True, "ok", duration=0.1, started=started - 30))
        for back in (20, 10):  # two failures in a row: DOWN from the first of them
            monitor.record(web, Result(False, "timeout", duration=5.0, started=started - back))
        await store.flush()
        client = client_for(monitor)
        listed = (await client.get("/api/v1/incidents")).json()["incidents"]
        assert [i["id"] for i in listed] == [incident_id("web", started - 20)]
        step = {"status": "investigating", "text": "Sedang dicek", "title": "Website Pemkab tidak dapat diakses"}
        answer = await client.post(f"/admin/api/incidents/{listed[0]['id']}/updates", headers=BEARER, json=step)
        assert answer.status_code == 201, answer.text
        assert [(i.target, i.title, u.status) for i, u in heard] == [
            ("web", Wording("Website Pemkab tidak dapat diakses"), "investigating")
        ]
        html = (await client.get("/?lang=id")).text
        assert "Website Pemkab tidak dapat diakses" in html and "Sedang dicek" in html
    finally:
        await store.close()
