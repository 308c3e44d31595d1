"""The accounts, `[admins.NAME]`, by form and JSON: a new account logs in with its
password, a reset ends the old sessions, the last admin and one's own account are kept,
and neither a password nor its hash ever reaches a page, a JSON answer, the audit log
or the log."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tests.web.office import PASSWORD, Office, csrf_of, office, version_of
from tests.web.test_api import validate

TOKEN = "token-untuk-skrip-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
NEW_PASSWORD = "kata-sandi-baru-ani"
HASH = re.compile(r"\$argon2")


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("MONITOR_ENV_FILE", str(tmp_path / "monitor.env"))


async def logs_in(o: Office, name: str, password: str) -> bool:
    response = await o.client().post("/admin/login", data={"username": name, "password": password})
    return response.status_code == 303


async def test_an_account_added_by_form_logs_in_with_its_password_and_no_page_shows_a_hash(tmp_path, caplog) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/config/admins/new")
        assert form.status_code == 200
        assert re.findall(r'name="(name|role|password|password_again)"', form.text) == [
            "name",
            "role",
            "password",
            "password_again",
        ]
        before = o.path.read_text()
        data = {"csrf": csrf, "_version": version_of(form.text), "name": "ani", "role": "operator"}
        data |= {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "x"}
        with caplog.at_level(logging.DEBUG):
            differ = await client.post("/admin/config/admins/new", data=data)
            assert differ.status_code == 400
            assert re.search(r'id="p-new-password_again"><p>The two passwords differ', differ.text)
            assert NEW_PASSWORD not in differ.text and 'value="ani"' in differ.text  # the name kept, never a password
            short = await client.post(
                "/admin/config/admins/new", data={**data, "password": "pendek", "password_again": "pendek"}
            )
            assert re.search(r'id="p-new-password"><p>A password is at least 8 characters long', short.text)
            taken = await client.post(
                "/admin/config/admins/new", data={**data, "name": "budi", "password_again": NEW_PASSWORD}
            )
            assert re.search(r'id="p-new-name"><p>An account of this name exists already', taken.text)
            assert o.path.read_text() == before
            added = await client.post("/admin/config/admins/new", data={**data, "password_again": NEW_PASSWORD})
            assert added.status_code == 303, added.text
        text = o.path.read_text()
        hashed = re.search(
            r'\[admins\.ani\]\npassword_hash = "(\$argon2id\$[^"]+)"\nrole = "operator"\n\n# --- layanan', text
        )
        assert hashed is not None, text
        assert PasswordHasher().verify(hashed.group(1), NEW_PASSWORD)
        assert text.replace(hashed.group(0), "# --- layanan") == before  # the rest untouched
        assert o.monitor.config.admins["ani"].role == "operator"
        assert await logs_in(o, "ani", NEW_PASSWORD)
        listed = await client.get(added.headers["location"])
        assert "Account ani saved." in listed.text and 'id="account-ani"' in listed.text
        api = await o.client().get("/admin/api/config/admins", headers=BEARER)
        validate(api.json(), "Accounts")
        assert {"name": "ani", "role": "operator"} in api.json()["items"]
        pages = [listed, api, await client.get("/admin/config/admins/ani/edit"), await client.get("/admin/audit")]
        pages.append(await client.get("/admin/api/audit", headers=BEARER))
        pages.append(await client.get("/admin/config/admins/ani/delete"))
        assert all(page.status_code == 200 and not HASH.search(page.text) for page in pages)
        [entry] = await o.monitor.store.audit_entries()
        assert (entry.who, entry.action, entry.subject) == ("siti", "config.admins.add", "ani")
        assert '+password_hash = "…(changed)"' in entry.detail and '+role = "operator"' in entry.detail
        assert not HASH.search(entry.detail) and NEW_PASSWORD not in entry.detail
        assert NEW_PASSWORD not in caplog.text and "pendek" not in caplog.text and not HASH.search(caplog.text)


async def test_a_reset_password_ends_the_old_sessions_and_the_new_one_works(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        budi, _ = await o.login("budi")
        assert (await budi.get("/admin/targets")).status_code == 200
        admin, csrf = await o.login("siti")
        page = await admin.get("/admin/config/admins/budi/edit")
        assert 'action="/admin/config/admins/budi/edit?lang=en"' in page.text
        assert 'action="/admin/config/admins/budi/password?lang=en"' in page.text
        data = {
            "csrf": csrf,
            "_version": version_of(page.text),
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        }
        reset = await admin.post("/admin/config/admins/budi/password", data=data)
        assert reset.status_code == 303, reset.text
        assert (await budi.get("/admin/targets")).status_code == 303  # to the login page: the session ended
        assert not await logs_in(o, "budi", PASSWORD)
        assert await logs_in(o, "budi", NEW_PASSWORD)
        assert o.monitor.config.admins["budi"].role == "operator"  # the role as it was
        [entry] = await o.monitor.store.audit_entries()
        assert entry.action == "config.admins.update" and not HASH.search(entry.detail)
        assert '-password_hash = "…"\n+password_hash = "…(changed)"' in entry.detail


async def test_whoever_resets_their_own_password_stays_logged_in_and_their_other_sessions_end(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        elsewhere, _ = await o.login("siti", "127.0.0.9")
        here, csrf = await o.login("siti")
        page = await here.get("/admin/config/admins/siti/edit")
        data = {
            "csrf": csrf,
            "_version": version_of(page.text),
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        }
        assert (await here.post("/admin/config/admins/siti/password", data=data)).status_code == 303
        assert (await here.get("/admin/config/admins")).status_code == 200
        assert (await elsewhere.get("/admin/config/admins")).status_code == 303
        assert await logs_in(o, "siti", NEW_PASSWORD)


async def test_the_last_admin_and_ones_own_account_are_never_demoted_or_deleted(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        before = o.path.read_bytes()
        admin, csrf = await o.login("siti")
        edit = await admin.get("/admin/config/admins/siti/edit")
        own = await admin.post(
            "/admin/config/admins/siti/edit", data={"csrf": csrf, "_version": version_of(edit.text), "role": "viewer"}
        )
        assert own.status_code == 400
        assert re.search(r'id="p-role-role"><p>This is the account you are logged in to', own.text)
        page = await admin.get("/admin/config/admins/siti/delete")
        gone = await admin.post(
            "/admin/config/admins/siti/delete", data={"csrf": csrf, "_version": version_of(page.text)}
        )
        assert gone.status_code == 400 and "another admin must delete it" in gone.text
        bot = o.client()
        last = await bot.put("/admin/api/config/admins/siti", json={"role": "operator"}, headers=BEARER)
        assert last.status_code == 400
        validate(last.json(), "Rejected")
        [problem] = last.json()["problems"]
        assert problem["key"] == "admins.siti.role" and "last account with the admin role" in problem["message"]
        deleted = await bot.delete("/admin/api/config/admins/siti", headers=BEARER)
        assert deleted.status_code == 400 and deleted.json()["problems"][0]["key"] == "admins.siti"
        indonesian = await admin.post(
            "/admin/config/admins/siti/delete?lang=id", data={"csrf": csrf, "_version": version_of(page.text)}
        )
        assert "admin lain yang harus menghapusnya" in indonesian.text
        assert o.path.read_bytes() == before
        promoted = await bot.put("/admin/api/config/admins/budi", json={"role": "admin"}, headers=BEARER)
        assert promoted.status_code == 200, promoted.text
        validate(promoted.json(), "Written")
        # Another admin now: the token (nobody's own account) may demote siti, then delete her.
        assert (
            await bot.put("/admin/api/config/admins/siti", json={"role": "viewer"}, headers=BEARER)
        ).status_code == 200
        assert (await admin.get("/admin/config/admins")).status_code == 403  # her session has the file's role now
        assert (await bot.delete("/admin/api/config/admins/siti", headers=BEARER)).status_code == 204
        assert (await admin.get("/admin/targets")).status_code == 303  # her session ended
        assert "[admins.siti]" not in o.path.read_text() and "siti" not in o.monitor.config.admins
        budi = (await bot.get("/admin/api/config/admins", headers=BEARER)).json()["items"]
        assert budi == [{"name": "budi", "role": "admin"}, {"name": "tamu", "role": "viewer"}]
        refused = await bot.delete("/admin/api/config/admins/budi", headers=BEARER)
        assert refused.status_code == 400 and "last account" in refused.text


async def test_the_json_api_adds_and_changes_accounts_and_refuses_bad_ones(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        bot = o.client()
        before = o.path.read_bytes()
        for body, key in [
            ({"role": "operator"}, "admins.ani.password"),
            ({"role": "boss", "password": NEW_PASSWORD}, "admins.ani.role"),
            ({"password": "pendek"}, "admins.ani.password"),
        ]:
            bad = await bot.put("/admin/api/config/admins/ani", json=body, headers=BEARER)
            assert bad.status_code == 400 and [p["key"] for p in bad.json()["problems"]] == [key], bad.text
        wrong_name = await bot.put("/admin/api/config/admins/a%20b", json={"password": NEW_PASSWORD}, headers=BEARER)
        assert wrong_name.status_code == 400 and "1-64 letters" in wrong_name.text
        extra = await bot.put("/admin/api/config/admins/ani", json={"password_hash": "x"}, headers=BEARER)
        assert extra.status_code == 400 and "unknown keys: password_hash" in extra.text
        assert o.path.read_bytes() == before
        added = await bot.put("/admin/api/config/admins/ani", json={"password": NEW_PASSWORD}, headers=BEARER)
        assert added.status_code == 201 and not HASH.search(added.text)
        assert o.monitor.config.admins["ani"].role == "viewer"
        assert await logs_in(o, "ani", NEW_PASSWORD)
        stale = await bot.put(
            "/admin/api/config/admins/ani", json={"role": "operator"}, headers={**BEARER, "If-Match": '"stale"'}
        )
        assert stale.status_code == 409
        nothing = await bot.put("/admin/api/config/admins/ani", json={}, headers=BEARER)
        assert nothing.status_code == 400 and "send role, password or both" in nothing.text
        assert (await bot.delete("/admin/api/config/admins/nobody", headers=BEARER)).status_code == 404


async def test_only_the_admin_role_sees_or_changes_accounts_and_every_write_needs_its_csrf_token(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        before = o.path.read_bytes()
        for name in ("budi", "tamu"):
            client, csrf = await o.login(name)
            for path in ("/admin/config/admins", "/admin/config/admins/new", "/admin/config/admins/siti/edit"):
                assert (await client.get(path)).status_code == 403, (name, path)
            form = {
                "csrf": csrf,
                "name": "ani",
                "role": "admin",
                "password": NEW_PASSWORD,
                "password_again": NEW_PASSWORD,
            }
            assert (await client.post("/admin/config/admins/new", data=form)).status_code == 403
            headers = {"X-CSRF-Token": csrf}
            assert (await client.get("/admin/api/config/admins")).status_code == 403
            put = await client.put("/admin/api/config/admins/ani", json={"password": NEW_PASSWORD}, headers=headers)
            assert put.status_code == 403 and "admin role" in put.json()["error"]
            assert (await client.delete("/admin/api/config/admins/siti", headers=headers)).status_code == 403
        admin, _ = await o.login("siti")
        page = await admin.get("/admin/config/admins/budi/delete")
        no_csrf = await admin.post("/admin/config/admins/budi/delete", data={"_version": version_of(page.text)})
        assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
        api = await admin.put("/admin/api/config/admins/budi", json={"role": "viewer"})
        assert api.status_code == 403 and "CSRF" in api.json()["error"]
        assert csrf_of(page.text)
        assert o.path.read_bytes() == before
