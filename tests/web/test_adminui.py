"""The admin UI on a real monitor: accounts, sessions, CSRF, roles, and every change to
`targets.toml` validated, written with its comments kept, backed up, audited, reloaded."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from monitor.config.fields import target_fields
from monitor.probes import PROBES
from tests.waiting import until
from tests.web.office import PASSWORD, csrf_of, office, version_of
from tests.web.test_api import validate

TOKEN = "token-untuk-skrip-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("MONITOR_ENV_FILE", str(tmp_path / "monitor.env"))


async def test_a_person_is_sent_to_the_login_page_and_gets_a_strict_http_only_cookie(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client = o.client()
        first = await client.get("/admin/targets?kind=http")
        assert first.status_code == 303
        assert first.headers["location"] == "/admin/login?next=%2Fadmin%2Ftargets%3Fkind%3Dhttp"
        login = await client.post(
            "/admin/login", data={"username": "siti", "password": PASSWORD, "next": "/admin/targets?kind=http"}
        )
        assert login.status_code == 303 and login.headers["location"] == "/admin/targets?kind=http"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
        assert "Secure" not in cookie  # plain HTTP here
        assert (await client.get("/admin/targets")).status_code == 200
        assert "Logged in as siti (admin)" in (await client.get("/admin")).text
        # An outside address is never where the login sends the browser.
        away = await o.client().post("/admin/login", data={"username": "siti", "password": PASSWORD, "next": "//x"})
        assert away.headers["location"] == "/admin"


async def test_the_cookie_is_secure_behind_https(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client = o.client()
        client.base_url = "https://testserver"  # as uvicorn reports a trusted proxy's X-Forwarded-Proto
        login = await client.post("/admin/login", data={"username": "siti", "password": PASSWORD})
        assert "Secure" in login.headers["set-cookie"]


async def test_logout_ends_the_session_and_needs_its_csrf_token(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("tamu")
        assert (await client.post("/admin/logout")).status_code == 403
        out = await client.post("/admin/logout", data={"csrf": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/admin/login"
        assert (await client.get("/admin/targets")).status_code == 303  # to the login page again


async def test_failed_logins_are_limited_per_client_and_per_account_and_logged_without_the_password(
    tmp_path, caplog
) -> None:
    async with office(tmp_path, start=False) as o:
        guesser = o.client("127.0.0.2")
        with caplog.at_level(logging.WARNING):
            for i in range(5):
                wrong = await guesser.post("/admin/login", data={"username": "siti", "password": f"tebak-{i}"})
                assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
            refused = await guesser.post("/admin/login", data={"username": "siti", "password": PASSWORD})
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
            # Another client may still log in to siti: 5 failures are under the account's 10.
            assert (
                await o.client("127.0.0.3").post("/admin/login", data={"username": "siti", "password": PASSWORD})
            ).status_code == 303
            # Spread over many addresses, the account's own limit holds.
            for i in range(10):
                await o.client(f"127.0.1.{i}").post("/admin/login", data={"username": "budi", "password": "x"})
            locked = await o.client("127.0.2.1").post("/admin/login", data={"username": "budi", "password": PASSWORD})
            assert locked.status_code == 429
        failed = [r for r in caplog.records if r.getMessage() == "admin login failed"]
        assert len(failed) == 15 and failed[0].kv_fields == {"user": "siti", "client": "127.0.0.2"}
        assert "tebak" not in caplog.text and PASSWORD not in caplog.text


async def test_writes_without_the_csrf_token_or_with_too_low_a_role_are_refused(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        before = o.path.read_bytes()
        viewer, viewer_csrf = await o.login("tamu")
        operator, operator_csrf = await o.login("budi")
        admin, admin_csrf = await o.login("siti")
        body = {"url": o.site.url + "/x"}
        no_csrf = await admin.put("/admin/api/targets/x", json=body)
        assert no_csrf.status_code == 403 and "CSRF" in no_csrf.json()["error"]
        wrong = await admin.put("/admin/api/targets/x", json=body, headers={"X-CSRF-Token": viewer_csrf})
        assert wrong.status_code == 403
        low = await operator.put("/admin/api/targets/x", json=body, headers={"X-CSRF-Token": operator_csrf})
        assert low.status_code == 403 and "admin role" in low.json()["error"]
        paused = await viewer.post("/admin/api/targets/mail/pause", headers={"X-CSRF-Token": viewer_csrf})
        assert paused.status_code == 403
        assert (await viewer.get("/admin/targets/new?kind=http")).status_code == 403
        assert (await viewer.get("/admin/api/audit")).status_code == 403
        assert o.path.read_bytes() == before
        ok = await admin.put("/admin/api/targets/x", json=body, headers={"X-CSRF-Token": admin_csrf})
        assert ok.status_code == 201


async def test_put_writes_the_target_keeps_every_comment_backs_up_audits_and_reloads(tmp_path) -> None:
    async with office(tmp_path) as o:
        before = o.path.read_text()
        client = o.client()
        put = await client.put(
            "/admin/api/targets/dukcapil",
            json={"name": "Layanan Dukcapil", "url": o.site.url + "/dukcapil", "interval": "1s", "group": "Publik"},
            headers=BEARER,
        )
        assert put.status_code == 201, put.text
        after = o.path.read_text()
        assert after.startswith(before)  # every byte of the admin's file, comments too
        assert '[targets.dukcapil]\nname = "Layanan Dukcapil"' in after
        assert (tmp_path / "targets.toml.1").read_text() == before
        assert put.json() == {"id": "dukcapil", "version": put.json()["version"], "backup": "targets.toml.1"}
        validate(put.json(), "Written")
        assert o.monitor.config.targets["dukcapil"].name == "Layanan Dukcapil"
        await until(lambda: o.site.hits.get("/dukcapil", 0) >= 1, what="the new target probed")
        listed = (await client.get("/admin/api/audit", headers=BEARER)).json()
        validate(listed, "Audit")
        audit = listed["audit"]
        assert audit[0]["who"] == "token" and audit[0]["action"] == "config.targets.add"
        assert '+name = "Layanan Dukcapil"' in audit[0]["detail"]
        # Changing one value keeps that line's comment; the rest stays byte for byte.
        keys = (await client.get("/admin/api/targets/portal", headers=BEARER)).json()
        validate(keys, "TargetKeys")
        changed = {**keys["keys"], "interval": "2s"}
        put = await client.put(
            "/admin/api/targets/portal", json=changed, headers={**BEARER, "If-Match": f'"{keys["version"]}"'}
        )
        assert put.status_code == 200, put.text
        assert o.path.read_text() == after.replace('interval = "1s"', 'interval = "2s"', 1)
        assert (tmp_path / "targets.toml.2").read_text() == after


async def test_an_invalid_target_is_refused_naming_every_problem_and_nothing_is_written(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        before = o.path.read_bytes()
        bad = await o.client().put(
            "/admin/api/targets/portal",
            json={"url": o.site.url + "/portal", "interval": "sebentar", "failure_threshold": 0, "notify": ["nobody"]},
            headers=BEARER,
        )
        assert bad.status_code == 400
        validate(bad.json(), "Rejected")
        keys = {p["key"]: p["message"] for p in bad.json()["problems"]}
        assert "is not a duration" in keys["targets.portal.interval"]
        assert "between 1 and 100" in keys["targets.portal.failure_threshold"]
        assert "no notifier named 'nobody'" in keys["targets.portal.notify[0]"]
        assert o.path.read_bytes() == before
        assert not list(tmp_path.glob("targets.toml.*"))


async def test_a_hand_edit_since_the_version_was_read_is_refused_with_the_other_change(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client = o.client()
        seen = (await client.get("/admin/api/targets/mail", headers=BEARER)).json()
        hand = o.path.read_text().replace('url = "' + o.site.url + '/mail"', 'url = "' + o.site.url + '/mail2"')
        o.path.write_text(hand)
        put = await client.put(
            "/admin/api/targets/mail",
            json={**seen["keys"], "name": "Surel"},
            headers={**BEARER, "If-Match": seen["version"]},
        )
        assert put.status_code == 409
        validate(put.json(), "Conflict")
        assert f'+url = "{o.site.url}/mail2"' in put.json()["diff"]
        assert o.path.read_text() == hand


async def test_delete_and_pause_resume_write_the_file_and_the_audit_log(tmp_path) -> None:
    async with office(tmp_path) as o:
        client, csrf = await o.login("budi")
        headers = {"X-CSRF-Token": csrf}
        assert (await client.post("/admin/api/targets/mail/pause", headers=headers)).json() == {
            "id": "mail",
            "paused": True,
        }
        assert "paused = true" in o.path.read_text() and o.monitor.config.targets["mail"].paused
        held = o.monitor.states.statuses["mail"]
        assert (held.state, held.reason) == ("UNKNOWN", "paused")  # no verdict while paused
        assert (await client.post("/admin/api/targets/mail/resume", headers=headers)).status_code == 200
        assert "paused" not in o.path.read_text()
        gone = await o.client().delete("/admin/api/targets/mail", headers=BEARER)
        assert gone.status_code == 204 and "[targets.mail]" not in o.path.read_text()
        assert "mail" not in o.monitor.config.targets
        entries = [(e.who, e.action, e.subject) for e in await o.monitor.store.audit_entries()]
        assert entries == [
            ("token", "config.targets.delete", "mail"),
            ("budi", "config.targets.resume", "mail"),
            ("budi", "config.targets.pause", "mail"),
        ]
        assert sorted(p.name for p in tmp_path.glob("targets.toml.*")) == [
            "targets.toml.1",
            "targets.toml.2",
            "targets.toml.3",
        ]


async def test_a_paused_target_is_not_probed_until_it_is_resumed(tmp_path) -> None:
    async with office(tmp_path, interval="200ms", timeout="200ms") as o:
        await until(lambda: o.site.hits.get("/mail", 0) >= 2, what="mail probed")
        assert (await o.client().post("/admin/api/targets/mail/pause", headers=BEARER)).status_code == 200
        paused_at, portal = o.site.hits["/mail"], o.site.hits.get("/portal", 0)
        await until(lambda: o.site.hits.get("/portal", 0) >= portal + 5, what="the other target probed on")
        assert o.site.hits["/mail"] <= paused_at + 1  # at most the probe already under way
        assert (await o.client().post("/admin/api/targets/mail/resume", headers=BEARER)).status_code == 200
        resumed_at = o.site.hits["/mail"]
        await until(lambda: o.site.hits["/mail"] >= resumed_at + 2, what="mail probed again")


async def test_probe_now_shows_the_result_before_anything_is_saved(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        before = o.path.read_bytes()
        client = o.client()
        down = await client.post("/admin/api/targets/new1/probe", json={"url": o.site.url + "/down"}, headers=BEARER)
        assert down.json()["ok"] is False and down.json()["reason"] == "status_mismatch"
        up = await client.post("/admin/api/targets/new1/probe", json={"url": o.site.url + "/up"}, headers=BEARER)
        assert up.json()["ok"] is True
        validate(up.json(), "Probed")
        assert o.path.read_bytes() == before and "new1" not in o.monitor.config.targets


async def test_every_kind_has_a_form_named_by_its_toml_keys(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, _ = await o.login("siti")
        for kind in PROBES:
            page = await client.get(f"/admin/targets/new?kind={kind}")
            assert page.status_code == 200, kind
            names = set(re.findall(r'<(?:input|select|textarea)[^>]* name="([A-Za-z_]+)"', page.text))
            assert {f.key for f in target_fields(kind)} <= names, kind
        assert {"community", "auth_password", "oids"} <= {f.key for f in target_fields("snmp")}  # v3 keys too
        assert {f.key for f in target_fields("http") if f.secret} == {"password", "bearer_token", "headers"}


async def test_the_form_shows_a_problem_next_to_its_field_and_writes_nothing(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/targets/portal/edit")
        before = o.path.read_bytes()
        data = {"csrf": csrf, "_version": version_of(form.text), "url": o.site.url + "/portal", "interval": "10x"}
        bad = await client.post("/admin/targets/portal/edit", data={**data, "_action": "save"})
        assert bad.status_code == 400
        assert re.search(r'id="f-interval" name="interval" value="10x"[^>]*aria-invalid="true"', bad.text)
        assert re.search(r'<div class="problem" id="p-interval"><p>&#39;10x&#39; is not a duration', bad.text)
        assert o.path.read_bytes() == before


async def test_the_form_refuses_a_save_over_a_hand_edit_and_shows_it(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/targets/mail/edit")
        o.path.write_text(o.path.read_text().replace("# server surel", "# server surel (dipindah)"))
        hand = o.path.read_bytes()
        data = {"csrf": csrf, "_version": version_of(form.text), "url": o.site.url + "/mail", "name": "Surel"}
        refused = await client.post("/admin/targets/mail/edit", data={**data, "_action": "save"})
        assert refused.status_code == 409
        assert "changed by someone else" in refused.text
        assert '<span class="add">+[targets.mail]   # server surel (dipindah)</span>' in refused.text
        assert o.path.read_bytes() == hand


async def test_a_typed_secret_goes_to_the_environment_file_and_is_never_shown_again(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/targets/new?kind=http")
        data = {
            "csrf": csrf,
            "_version": version_of(form.text),
            "id": "intranet",
            "url": o.site.url + "/intranet",
            "username": "pemantau",
            "password": "rahasia-sekali",
            "_action": "save",
        }
        saved = await client.post("/admin/targets/new?kind=http", data=data)
        assert saved.status_code == 303, saved.text
        text = o.path.read_text()
        assert 'password = "${MONITOR_TARGET_INTRANET_PASSWORD}"' in text and "rahasia" not in text
        assert (tmp_path / "monitor.env").read_text() == "MONITOR_TARGET_INTRANET_PASSWORD=rahasia-sekali\n"
        assert (tmp_path / "monitor.env").stat().st_mode & 0o777 == 0o600
        assert o.monitor.config.targets["intranet"].spec.headers  # the reload resolved it
        for page in ("/admin/targets/intranet/edit", "/admin/targets/intranet", "/admin/api/targets/intranet"):
            shown = await client.get(page)
            assert shown.status_code == 200 and "rahasia" not in shown.text, page
        # A viewer's page shows the URL as its scheme and host: a path may be a secret.
        viewer, _ = await o.login("tamu")
        page = (await viewer.get("/admin/targets/intranet")).text
        assert f"<code>{o.site.url}/…</code>" in page and "/intranet</code>" not in page
        assert (await viewer.get("/admin/api/targets/intranet")).status_code == 403
        # Saved again with the password left empty, the reference stays.
        form = await client.get("/admin/targets/intranet/edit")
        again = {**data, "_version": version_of(form.text), "password": "", "name": "Intranet"}
        del again["id"]
        assert (await client.post("/admin/targets/intranet/edit", data=again)).status_code == 303
        assert 'password = "${MONITOR_TARGET_INTRANET_PASSWORD}"' in o.path.read_text()


async def test_the_targets_table_filters_and_keeps_ids_and_urls_whole(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, _ = await o.login("tamu")
        assert (await client.post("/admin/api/targets/mail/pause", headers=BEARER)).status_code == 200
        page = (await client.get("/admin/targets?state=PAUSED")).text
        assert 'id="target-mail"' in page and 'id="target-portal"' not in page
        page = (await client.get("/admin/targets?q=portal")).text
        assert 'id="target-portal"' in page and 'id="target-mail"' not in page
        assert ".admin-page code,.admin-page .nowrap{overflow-wrap:normal;word-break:normal;white-space:nowrap}" in page
        indonesian = (await client.get("/admin/targets?lang=id")).text
        assert "Target pemantauan" in indonesian and "Dijeda" in indonesian
        assert csrf_of(page)


async def test_a_role_changed_in_the_file_applies_at_once_and_a_removed_account_is_logged_out(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        budi, csrf = await o.login("budi")
        tamu, _ = await o.login("tamu")
        body = {"url": o.site.url + "/x"}
        assert (await budi.put("/admin/api/targets/x", json=body, headers={"X-CSRF-Token": csrf})).status_code == 403
        text = o.path.read_text()
        text = text.replace('role = "operator"', 'role = "admin"')
        text = re.sub(r'\[admins\.tamu\]\npassword_hash = "[^"]+"\nrole = "viewer"\n', "", text)
        o.path.write_text(text)
        assert o.monitor.reload()
        assert (await budi.put("/admin/api/targets/x", json=body, headers={"X-CSRF-Token": csrf})).status_code == 201
        assert (await tamu.get("/admin/targets")).status_code == 303  # to the login page


async def test_a_refused_change_takes_its_secret_back_out_of_the_environment_file(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/targets/new?kind=http")
        data = {"csrf": csrf, "_version": version_of(form.text), "id": "x", "url": o.site.url + "/x"}
        bad = {**data, "password": "rahasia", "interval": "sebentar", "username": "u", "_action": "save"}
        assert (await client.post("/admin/targets/new?kind=http", data=bad)).status_code == 400
        assert not (tmp_path / "monitor.env").exists()
