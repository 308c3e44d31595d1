"""The operators' forms on a real monitor: declaring an incident and posting updates,
announcements, acknowledging, muting and unmuting, each through a session with its CSRF
token, and each visible in the JSON routes and the audit log exactly as the JSON
route's own writes are (one validation and action path)."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.state import State
from monitor.store import LocationSeen, LocationState
from tests.waiting import until
from tests.web.office import office

TOKEN = "token-untuk-skrip-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
GUDANG = """
[targets.gudang]
name = "Gudang arsip"
url = "{site}/down"
interval = "1s"
timeout = "900ms"
failure_threshold = 1
"""


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("MONITOR_ENV_FILE", str(tmp_path / "monitor.env"))


async def audit_of(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    found = await client.get("/admin/api/audit", headers=BEARER)
    assert found.status_code == 200
    entries: list[dict[str, Any]] = found.json()["audit"]
    return entries


def problem_of(page: str, input_id: str) -> str:
    """The problem shown under the input `input_id` (the element it points at)."""
    found = re.search(rf'id="f-{re.escape(input_id)}"[^>]*aria-describedby="p-{re.escape(input_id)}"', page)
    assert found is not None, f"input {input_id} is not marked invalid"
    shown = re.search(rf'<div class="problem" id="p-{re.escape(input_id)}">(.*?)</div>', page, re.S)
    assert shown is not None, f"no problem under {input_id}"
    return html.unescape(re.sub(r"<[^>]+>", " ", shown.group(1))).strip()


async def test_every_form_needs_the_csrf_token_and_the_operator_role(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        operator, csrf = await o.login("budi")
        viewer, viewer_csrf = await o.login("tamu")
        forms = [
            ("/admin/incidents", {"targets": "portal", "title.id": "Gangguan", "status": "investigating"}),
            ("/admin/incidents/portal.1000/update", {"status": "monitoring", "text.id": "Dipantau"}),
            ("/admin/announcements", {"level": "info", "text.id": "Libur"}),
            ("/admin/announcements/1/remove", {}),
            ("/admin/targets/portal/ack", {"note": "saya"}),
            ("/admin/targets/portal/mute", {"for": "1h"}),
            ("/admin/targets/portal/unmute", {}),
        ]
        for path, data in forms:
            assert (await operator.post(path, data=data)).status_code == 403, path
            wrong = await operator.post(path, data={**data, "csrf": "x" * len(csrf)})
            assert wrong.status_code == 403 and "CSRF" in wrong.text, path
            refused = await viewer.post(path, data={**data, "csrf": viewer_csrf})
            assert refused.status_code == 403 and "operator role" in refused.text, path
        assert await audit_of(operator) == []
        assert (await operator.get("/admin/api/announcements", headers=BEARER)).json() == {"announcements": []}
        # A viewer reads the page, without the forms.
        page = await viewer.get("/admin/incidents")
        assert page.status_code == 200 and 'action="/admin/incidents' not in page.text


async def test_an_operator_declares_an_incident_and_updates_it_by_form(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("budi")
        page = await client.get("/admin/incidents")
        assert 'name="title.id"' in page.text and 'name="targets" value="portal"' in page.text
        declared = await client.post(
            "/admin/incidents",
            data={
                "csrf": csrf,
                "targets": ["portal", "mail"],
                "title.id": "Jaringan kantor putus",
                "title.en": "Office network down",
                "status": "identified",
                "text.id": "Kabel serat optik terputus.",
                "text.en": "",
            },
        )
        assert declared.status_code == 303 and declared.headers["location"].startswith("/admin/incidents?done=")
        public = (await client.get("/api/v1/incidents")).json()["incidents"]
        mine = next(i for i in public if i.get("declared"))
        number = mine["id"]
        assert mine["title"] == {"id": "Jaringan kantor putus", "en": "Office network down"}

        shown = await client.get(f"/admin/incidents/{number}/update")
        assert shown.status_code == 200 and 'name="title.id"' not in shown.text  # declared: its title stays
        posted = await client.post(
            f"/admin/incidents/{number}/update",
            data={"csrf": csrf, "status": "resolved", "text.id": "Sudah tersambung lagi.", "text.en": "Back."},
        )
        assert posted.status_code == 303
        again = next(i for i in (await client.get("/api/v1/incidents")).json()["incidents"] if i["id"] == number)
        assert [u["status"] for u in again["updates"]][:2] == ["resolved", "identified"]

        entries = await audit_of(client)
        actions = [(e["who"], e["action"], e["subject"]) for e in entries]
        assert ("budi", "incident.declare", str(number)) in actions
        assert [a for a in actions if a[1] == "incident.update"] == [
            ("budi", "incident.update", str(number)),
            ("budi", "incident.update", str(number)),
        ]


async def test_a_refused_form_shows_each_problem_next_to_its_input_and_writes_nothing(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("budi")
        refused = await client.post(
            "/admin/incidents",
            data={"csrf": csrf, "title.id": "", "title.en": "Only English", "status": "panic", "text.id": "x"},
        )
        assert refused.status_code == 400
        assert problem_of(refused.text, "declare-title.id") == "the Indonesian text is required"
        assert problem_of(refused.text, "declare-status").startswith("one of investigating, identified")
        assert "a list of one or more target ids is required" in refused.text
        assert 'value="Only English"' in refused.text  # what was typed is shown again
        bad = await client.post(
            "/admin/announcements",
            data={"csrf": csrf, "level": "info", "text.id": "Libur", "end": "besok"},
        )
        assert bad.status_code == 400
        assert problem_of(bad.text, "announce-end").startswith("not a time: 'besok'")
        assert await audit_of(client) == []
        assert (await client.get("/admin/api/announcements", headers=BEARER)).json() == {"announcements": []}
        # The JSON route answers the same body with the same problems.
        same = await client.post(
            "/admin/api/incidents",
            json={"title": {"id": "", "en": "Only English"}, "status": "panic", "text": {"id": "x"}},
            headers=BEARER,
        )
        assert same.status_code == 400
        assert "title.id: the Indonesian text is required" in same.json()["problems"]


async def test_announcements_are_added_and_removed_by_form(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("budi")
        added = await client.post(
            "/admin/announcements",
            data={"csrf": csrf, "level": "warning", "text.id": "Layanan libur 25 Desember", "text.en": "Closed 25 Dec"},
        )
        assert added.status_code == 303
        banners = (await client.get("/admin/api/announcements", headers=BEARER)).json()["announcements"]
        assert [(b["level"], b["text"]) for b in banners] == [
            ("warning", {"id": "Layanan libur 25 Desember", "en": "Closed 25 Dec"})
        ]
        number = banners[0]["id"]
        overview = await client.get("/admin")
        assert f'action="/admin/announcements/{number}/remove' in overview.text and "Closed 25 Dec" in overview.text
        removed = await client.post(f"/admin/announcements/{number}/remove", data={"csrf": csrf})
        assert removed.status_code == 303
        assert (await client.get("/admin/api/announcements", headers=BEARER)).json() == {"announcements": []}
        missing = await client.post(f"/admin/announcements/{number}/remove", data={"csrf": csrf})
        assert missing.status_code == 404
        actions = [(e["who"], e["action"], e["subject"]) for e in await audit_of(client)]
        assert ("budi", "announcement.add", str(number)) in actions
        assert ("budi", "announcement.remove", str(number)) in actions


async def test_an_operator_acknowledges_mutes_and_updates_an_open_outage_from_the_target_page(tmp_path) -> None:
    async with office(tmp_path, extra=GUDANG) as o:
        client, csrf = await o.login("budi")

        async def down() -> bool:
            status = o.monitor.states.statuses.get("gudang")
            return status is not None and status.state == State.DOWN

        await until(down, timeout=20, what="gudang DOWN")
        page = await client.get("/admin/targets/gudang")
        assert 'action="/admin/targets/gudang/ack' in page.text
        update_link = re.search(r'href="/admin/incidents/(gudang\.\d+)/update', page.text)
        assert update_link is not None
        public_id = update_link.group(1)
        assert "gudang" in (await client.get("/admin")).text  # the overview lists it, linked

        acked = await client.post("/admin/targets/gudang/ack", data={"csrf": csrf, "note": "saya ke gudang"})
        assert acked.status_code == 303
        seen = (await client.get("/admin/api/oncall", headers=BEARER)).json()
        assert [(a["target"], a["who"], a["note"]) for a in seen["acks"]] == [("gudang", "budi", "saya ke gudang")]
        assert "Acknowledged by budi" in (await client.get("/admin/targets/gudang")).text

        # A mute too long is refused next to its input; a good one is kept, then ended.
        bad = await client.post("/admin/targets/gudang/mute", data={"csrf": csrf, "for": "90d"})
        assert bad.status_code == 400
        assert problem_of(bad.text, "mute-for").startswith("'90d': write a duration from")
        assert (await client.get("/admin/api/oncall", headers=BEARER)).json()["mutes"] == []
        muted = await client.post("/admin/targets/gudang/mute", data={"csrf": csrf, "for": "2h"})
        assert muted.status_code == 303
        mutes = (await client.get("/admin/api/oncall", headers=BEARER)).json()["mutes"]
        assert [(m["target"], m["who"]) for m in mutes] == [("gudang", "budi")]
        assert 'action="/admin/targets/gudang/unmute' in (await client.get("/admin")).text
        assert (await client.post("/admin/targets/gudang/unmute", data={"csrf": csrf})).status_code == 303
        assert (await client.get("/admin/api/oncall", headers=BEARER)).json()["mutes"] == []

        # An update with the automatic incident's public title.
        form = await client.get(f"/admin/incidents/{public_id}/update")
        assert 'name="title.id"' in form.text
        posted = await client.post(
            f"/admin/incidents/{public_id}/update",
            data={
                "csrf": csrf,
                "title.id": "Arsip tidak bisa diakses",
                "title.en": "Archive unreachable",
                "status": "identified",
                "text.id": "Listrik gudang padam.",
                "text.en": "Power cut at the warehouse.",
            },
        )
        assert posted.status_code == 303
        public = (await client.get("/api/v1/incidents")).json()["incidents"]
        found = next(i for i in public if i["id"] == public_id)
        assert found["title"] == {"id": "Arsip tidak bisa diakses", "en": "Archive unreachable"}
        assert found["updates"][0]["status"] == "identified"

        actions = [(e["who"], e["action"], e["subject"]) for e in await audit_of(client)]
        for action in ("incident.title", "incident.update"):
            assert ("budi", action, public_id) in actions
        assert {a[1] for a in actions if a[0] == "budi"} >= {"incident.ack", "mute.add", "mute.remove"}


async def test_acknowledging_without_an_open_outage_is_refused_on_the_page(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("budi")
        refused = await client.post("/admin/targets/portal/ack", data={"csrf": csrf, "note": "saya"})
        assert refused.status_code == 409 and "has no open outage to acknowledge" in refused.text
        assert (await client.post("/admin/targets/nope/ack", data={"csrf": csrf})).status_code == 404
        unmuted = await client.post("/admin/targets/portal/unmute", data={"csrf": csrf})
        assert unmuted.status_code == 404 and "not muted" in unmuted.text
        long = await client.post("/admin/targets/portal/ack", data={"csrf": csrf, "note": "x" * 1001})
        assert long.status_code == 400
        assert problem_of(long.text, "ack-note") == "note: at most 1000 characters (1001 given)"
        same = await client.post("/admin/api/targets/portal/ack", json={"note": "x" * 1001}, headers=BEARER)
        assert same.status_code == 400 and same.json()["error"] == "note: at most 1000 characters (1001 given)"


async def test_a_target_page_shows_its_state_at_each_location(tmp_path) -> None:
    async with office(tmp_path, settings='location = "kantor"') as o:
        client, _ = await o.login("tamu")

        async def both() -> bool:
            now = time.time()
            other = LocationState("portal", "sampit", State.DOWN, now - 30, now, "http_status", "503", 0.25)
            await o.monitor.store.publish_location(LocationSeen("sampit", now, 1.0), [other])
            page = (await client.get("/admin/targets/portal")).text
            return 'id="at-sampit"' in page and 'id="at-kantor"' in page

        await until(both, timeout=20, what="the portal's page with both locations")
        page = (await client.get("/admin/targets/portal")).text
        row = re.search(r'<tr id="at-sampit">(.*?)</tr>', page, re.S)
        assert row is not None and "s-DOWN" in row.group(1) and "http_status" in row.group(1)
        assert "250 ms" in row.group(1)
    # One location only: no table.
    (tmp_path / "one").mkdir()
    async with office(tmp_path / "one", start=False) as single:
        client, _ = await single.login("tamu")
        assert 'id="at-locations"' not in (await client.get("/admin/targets/portal")).text
