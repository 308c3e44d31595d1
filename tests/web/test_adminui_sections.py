"""Notifiers, watch periods and maintenance windows edited by form and JSON, with the
same validation, comments kept, backups and audit as targets; "send test" through a
real local webhook receiver."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.alertkit import receiver
from tests.web.office import csrf_of, office, version_of

TOKEN = "token-untuk-skrip-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("MONITOR_ENV_FILE", str(tmp_path / "monitor.env"))


async def test_a_notifier_is_tested_before_it_is_saved_then_saved_with_its_secret_kept_apart(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        with receiver() as hook:
            form = await client.get("/admin/config/notifiers/new?type=webhook")
            assert form.status_code == 200
            names = set(re.findall(r'name="([a-z_]+)"', form.text))
            assert {"url", "secret", "headers", "timeout", "events", "repeat_every"} <= names
            data = {
                "csrf": csrf,
                "_version": version_of(form.text),
                "id": "piket",
                "url": hook.url + "/hook",
                "secret": "kunci-hmac-rahasia",
            }
            before = o.path.read_bytes()
            tested = await client.post("/admin/config/notifiers/new?type=webhook", data={**data, "_action": "test"})
            assert "The test message through piket was delivered." in tested.text
            assert len(hook.requests) == 1 and hook.requests[0].headers["X-Monitor-Signature"].startswith("sha256=")
            assert o.path.read_bytes() == before  # tested, not saved
            saved = await client.post("/admin/config/notifiers/new?type=webhook", data={**data, "_action": "save"})
            assert saved.status_code == 303, saved.text
            text = o.path.read_text()
            assert text.startswith(before.decode())
            assert '[notifiers.piket]\ntype = "webhook"' in text and "kunci-hmac" not in text
            assert 'secret = "${MONITOR_NOTIFIER_PIKET_SECRET}"' in text
            assert "piket" in o.monitor.config.notifiers
            listed = await client.get("/admin/config/notifiers")
            assert "kunci-hmac" not in listed.text and "${MONITOR_NOTIFIER_PIKET_SECRET}" in listed.text
            hook.status = 404
            again = await client.post("/admin/config/notifiers/piket/test", data={"csrf": csrf_of(listed.text)})
            assert "The test message through piket failed:" in again.text and "404" in again.text
            api = await o.client().post("/admin/api/notifiers/piket/test", headers=BEARER)
            assert api.json()["delivered"] is False and "404" in api.json()["error"]
            assert len(hook.requests) == 3
        actions = [(e.who, e.action, e.subject) for e in await o.monitor.store.audit_entries()]
        assert actions == [("siti", "config.notifiers.add", "piket")]


async def test_a_maintenance_window_by_form_is_validated_and_written_as_toml_date_times(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/config/maintenance/new")
        data = {
            "csrf": csrf,
            "_version": version_of(form.text),
            "start": "2026-12-24T22:00:00+07:00",
            "end": "2026-12-24T21:00:00+07:00",
            "targets": "portal\nmail",
            "reason": "Ganti UPS",
            "_action": "save",
        }
        before = o.path.read_bytes()
        bad = await client.post("/admin/config/maintenance/new", data=data)
        assert bad.status_code == 400
        assert re.search(r'<div class="problem" id="p-end"><p>must be after start', bad.text)
        assert o.path.read_bytes() == before
        good = await client.post("/admin/config/maintenance/new", data={**data, "end": "2026-12-25T02:00:00+07:00"})
        assert good.status_code == 303, good.text
        text = o.path.read_text()
        assert text.startswith(before.decode())
        assert (
            "[[maintenance]]\nstart = 2026-12-24T22:00:00+07:00\nend = 2026-12-25T02:00:00+07:00\n"
            'targets = ["portal", "mail"]' in text
        )
        assert len(o.monitor.config.maintenance) == 1
        edit = await client.get("/admin/config/maintenance/0/edit")
        assert 'value="2026-12-24T22:00:00+07:00"' in edit.text
        changed = {**data, "_version": version_of(edit.text), "end": "2026-12-25T03:00:00+07:00", "targets": "portal"}
        assert (await client.post("/admin/config/maintenance/0/edit", data=changed)).status_code == 303
        assert o.monitor.config.maintenance[0].targets == ("portal",)
        page = await client.get("/admin/config/maintenance/0/delete")
        gone = await client.post(
            "/admin/config/maintenance/0/delete", data={"csrf": csrf, "_version": version_of(page.text)}
        )
        assert gone.status_code == 303 and "[[maintenance]]" not in o.path.read_text()
        assert o.path.read_bytes() == before


async def test_watch_periods_through_the_json_api(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client = o.client()
        period = {"name": "Libur Natal", "start": "2026-12-24T00:00:00+07:00", "end": "2027-01-03T00:00:00+07:00"}
        added = await client.post("/admin/api/config/watch", json=period, headers=BEARER)
        assert added.status_code == 201, added.text
        assert '[[watch]]\nname = "Libur Natal"\nstart = 2026-12-24T00:00:00+07:00\n' in o.path.read_text()
        assert o.monitor.config.watches[0].name == "Libur Natal"
        listed = (await client.get("/admin/api/config/watch", headers=BEARER)).json()
        assert [i["key"] for i in listed["items"]] == ["0"]
        bad = await client.put(
            "/admin/api/config/watch/0", json={**period, "end": "2026-12-01T00:00:00+07:00"}, headers=BEARER
        )
        assert bad.status_code == 400 and [p["key"] for p in bad.json()["problems"]] == ["watch[0].end"]
        half = await client.post("/admin/api/config/watch", json={"name": "Libur"}, headers=BEARER)
        assert half.status_code == 400 and "needs both start and end" in half.text
        gone = await client.delete("/admin/api/config/watch/0", headers=BEARER)
        assert gone.status_code == 204 and "[[watch]]" not in o.path.read_text()
