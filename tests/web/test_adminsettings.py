"""`[monitor]` and `[defaults]` edited by form and JSON: the rest of the file kept byte
for byte, a backup, the audit entry, the reload; problems next to their inputs with the
file untouched; the keys a reload cannot apply marked and reported."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from monitor.config.model import RESTART_SETTINGS
from tests.web.office import csrf_of, office, version_of
from tests.web.test_api import validate

TOKEN = "token-untuk-skrip-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("MONITOR_ENV_FILE", str(tmp_path / "monitor.env"))


def inputs_of(html: str) -> list[str]:
    return re.findall(r'<(?:input|textarea|select)[^>]* name="([a-z_]+)"', html)


async def test_the_monitor_form_edits_settings_and_keeps_the_rest_of_the_file_byte_for_byte(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/config/monitor")
        assert form.status_code == 200
        names = inputs_of(form.text)
        assert {"title", "language", "timezone", "connectivity", "raw_retention", "listen", "store"} <= set(names)
        assert 'value="Status Layanan"' in form.text and 'name="data_dir" value="."' in form.text
        before = o.path.read_text()
        checks = f'{o.site.url}/uplink\n{{url = "{o.site.url}/uplink2", timeout = "2s"}}\n'
        data = {
            "csrf": csrf,
            "_version": version_of(form.text),
            "title": "Status Layanan Kantor",
            "language": "en",
            "data_dir": ".",
            "raw_retention": "3d",
            "connectivity": checks,
        }
        saved = await client.post("/admin/config/monitor", data=data)
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == "/admin/config/monitor?saved=1&lang=en"
        expected = before.replace(
            'title = "Status Layanan"   # judul halaman', 'title = "Status Layanan Kantor"   # judul halaman'
        ).replace(
            'data_dir = "."\n',
            'data_dir = "."\n'
            f'connectivity = ["{o.site.url}/uplink", {{url = "{o.site.url}/uplink2", timeout = "2s"}}]\n'
            'raw_retention = "3d"\n',
        )
        assert o.path.read_text() == expected  # every other byte, comments too
        assert (tmp_path / "targets.toml.1").read_text() == before
        settings = o.monitor.config.settings
        assert settings.title == "Status Layanan Kantor" and settings.raw_retention == 3 * 86400
        assert [c.id for c in settings.connectivity] == ["http-1", "http-2"]
        assert settings.connectivity[1].timeout == 2.0
        again = await client.get(saved.headers["location"])
        assert "Saved to the file and reloaded." in again.text
        assert f'{o.site.url}/uplink\n{{url = "{o.site.url}/uplink2", timeout = "2s"}}</textarea>' in html.unescape(
            again.text
        )
        # raw_retention is read by the store when it opens: the form says so.
        assert "Written to the file, but the running monitor keeps its old value" in again.text
        assert "<li><code>raw_retention</code></li>" in again.text
        [entry] = await o.monitor.store.audit_entries()
        assert (entry.who, entry.action, entry.subject) == ("siti", "config.monitor.update", "monitor")
        assert '+title = "Status Layanan Kantor"' in entry.detail


async def test_keys_a_reload_cannot_apply_are_marked_and_a_change_of_them_is_reported(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/config/monitor")
        marked = re.findall(r'<label for="f-([a-z_]+)">[^\n]*needs a restart', form.text)
        assert marked == [k for k in inputs_of(form.text) if k in RESTART_SETTINGS]
        assert set(marked) == set(RESTART_SETTINGS)
        assert "keeps its old value" not in form.text  # nothing waits yet
        data = {"csrf": csrf, "_version": version_of(form.text), "title": "Status Layanan", "language": "en"}
        data |= {"data_dir": ".", "listen": "127.0.0.1:9099"}
        saved = await client.post("/admin/config/monitor", data=data)
        assert saved.status_code == 303, saved.text
        assert 'listen = "127.0.0.1:9099"' in o.path.read_text()  # in the file all the same
        assert o.monitor.config.settings.listen == "127.0.0.1:9099"
        assert o.monitor.started_settings.listen == "127.0.0.1:8080"
        shown = await client.get(saved.headers["location"])
        assert re.search(
            r"keeps its old value until it is restarted:</p>\s*<ul><li><code>listen</code></li></ul>", shown.text
        )
        api = (await client.get("/admin/api/config/monitor", headers=BEARER)).json()
        validate(api, "SettingsKeys")
        assert api["restart"] == ["listen"] and api["keys"]["listen"] == "127.0.0.1:9099"
        indonesian = await client.get("/admin/config/monitor?lang=id")
        assert "perlu restart" in indonesian.text and "dijalankan ulang" in indonesian.text


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("raw_retention", "2 hari", "is not a duration"),
        ("connectivity", "1.1.1.1", "must be a URL such as"),
        ("connectivity", "gopher://1.1.1.1", "unsupported scheme 'gopher://'"),
        ("connectivity", '{url = "http://127.0.0.1:9/", timeout = "9s", interval = "1s"}', "must not exceed"),
        ("listen", "8080", "must be HOST:PORT"),
    ],
)
async def test_an_invalid_setting_shows_next_to_its_input_and_leaves_the_file_as_it_was(
    tmp_path, key: str, value: str, problem: str
) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/config/monitor")
        before = o.path.read_bytes()
        data = {"csrf": csrf, "_version": version_of(form.text), "title": "Status Layanan", "data_dir": ".", key: value}
        bad = await client.post("/admin/config/monitor", data=data)
        assert bad.status_code == 400
        found = re.search(rf'<div class="problem" id="p-{key}"><p>([^<]*)</p>', bad.text)
        assert found is not None and problem in html.unescape(found.group(1)), bad.text
        assert f'aria-invalid="true" aria-describedby="p-{key}"' in bad.text
        assert o.path.read_bytes() == before
        assert not (tmp_path / "targets.toml.1").exists()
        assert await o.monitor.store.audit_entries() == []


async def test_the_defaults_form_writes_what_every_target_inherits(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/config/defaults")
        names = inputs_of(form.text)
        assert names[names.index("_version") + 1 :] == [
            "interval",
            "timeout",
            "failure_threshold",
            "success_threshold",
            "notify",
            "degraded_after",
            "down_after",
            "cert_warn_days",
            "public",
            "group",
            "quorum",
        ]
        assert "needs a restart" not in form.text
        before = o.path.read_text()
        data = {"csrf": csrf, "_version": version_of(form.text), "failure_threshold": "abc", "public": "false"}
        bad = await client.post("/admin/config/defaults", data=data)
        assert bad.status_code == 400
        assert re.search(r'id="p-failure_threshold"><p>must be an integer', bad.text)
        assert 'name="failure_threshold" value="abc"' in bad.text  # what was typed, to correct
        assert o.path.read_text() == before
        good = await client.post("/admin/config/defaults", data={**data, "failure_threshold": "5"})
        assert good.status_code == 303, good.text
        assert o.path.read_text() == before + "\n[defaults]\nfailure_threshold = 5\npublic = false\n\n"
        assert all(t.failure_threshold == 5 and not t.public for t in o.monitor.config.targets.values())
        edit = await client.get("/admin/config/defaults")
        assert 'name="failure_threshold" value="5"' in edit.text
        assert '<option value="false" selected>' in edit.text
        cleared = await client.post(
            "/admin/config/defaults", data={"csrf": csrf, "_version": version_of(edit.text), "public": "false"}
        )
        assert cleared.status_code == 303
        assert o.path.read_text() == before + "\n[defaults]\npublic = false\n\n"


async def test_the_json_api_replaces_a_table_and_answers_what_waits_for_a_restart(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        client = o.client()
        got = await client.get("/admin/api/config/monitor", headers=BEARER)
        assert got.status_code == 200
        validate(got.json(), "SettingsKeys")
        assert got.json()["keys"] == {"title": "Status Layanan", "language": "en", "data_dir": "."}
        assert got.json()["restart"] == []
        keys = {**got.json()["keys"], "location": "sampit", "connectivity": ["dns://127.0.0.1:9/example.com"]}
        stale = await client.put(
            "/admin/api/config/monitor", json=keys, headers={**BEARER, "If-Match": '"' + "0" * 64 + '"'}
        )
        assert stale.status_code == 409
        bad = await client.put("/admin/api/config/monitor", json={**keys, "raw_retention": "1m"}, headers=BEARER)
        assert bad.status_code == 400
        validate(bad.json(), "Rejected")
        assert [p["key"] for p in bad.json()["problems"]] == ["monitor.raw_retention"]
        put = await client.put(
            "/admin/api/config/monitor", json=keys, headers={**BEARER, "If-Match": f'"{got.json()["version"]}"'}
        )
        assert put.status_code == 200, put.text
        validate(put.json(), "SettingsWritten")
        assert put.json()["restart"] == ["location"] and put.json()["backup"] == "targets.toml.1"
        assert 'location = "sampit"\nconnectivity = ["dns://127.0.0.1:9/example.com"]\n' in o.path.read_text()
        assert [c.kind for c in o.monitor.config.settings.connectivity] == ["dns"]
        defaults = await client.put("/admin/api/config/defaults", json={"interval": "2s"}, headers=BEARER)
        assert defaults.status_code == 200 and defaults.json()["restart"] == ["location"]
        assert o.path.read_text().endswith('\n[defaults]\ninterval = "2s"\n\n')
        actions = [(e.who, e.action) for e in await o.monitor.store.audit_entries()]
        assert actions == [("token", "config.defaults.update"), ("token", "config.monitor.update")]


async def test_a_database_url_keeps_its_password_out_of_the_form_and_the_json(tmp_path, monkeypatch) -> None:
    async with office(tmp_path, start=False) as o:
        client, csrf = await o.login("siti")
        url = "postgresql://monitor:sandi-basis-data@127.0.0.1:9/monitor"
        put = await client.put(
            "/admin/api/config/monitor",
            json={"title": "Status Layanan", "data_dir": ".", "store": url},
            headers=BEARER,
        )
        assert put.status_code == 200, put.text
        assert put.json()["restart"] == ["store"]
        got = await client.get("/admin/api/config/monitor", headers=BEARER)
        assert got.json()["keys"]["store"] == "postgresql://monitor:***@127.0.0.1:9/monitor"
        form = await client.get("/admin/config/monitor")
        assert "sandi-basis-data" not in form.text and "monitor:***@127.0.0.1:9" in form.text
        data = {"csrf": csrf, "_version": version_of(form.text), "title": "Status", "data_dir": "."}
        data["store"] = "postgresql://monitor:***@127.0.0.1:9/monitor"
        assert (await client.post("/admin/config/monitor", data=data)).status_code == 303
        assert f'store = "{url}"' in o.path.read_text()  # the password kept as it was
        keys = {**got.json()["keys"], "title": "Status Kantor"}
        assert (await client.put("/admin/api/config/monitor", json=keys, headers=BEARER)).status_code == 200
        assert f'store = "{url}"' in o.path.read_text()


async def test_only_the_admin_role_edits_settings_and_a_write_without_csrf_is_refused(tmp_path) -> None:
    async with office(tmp_path, start=False) as o:
        before = o.path.read_bytes()
        operator, operator_csrf = await o.login("budi")
        for path in ("/admin/config/monitor", "/admin/config/defaults"):
            assert (await operator.get(path)).status_code == 403
            refused = await operator.post(path, data={"csrf": operator_csrf, "title": "x"})
            assert refused.status_code == 403
        put = await operator.put("/admin/api/config/monitor", json={}, headers={"X-CSRF-Token": operator_csrf})
        assert put.status_code == 403 and "admin role" in put.json()["error"]
        admin, admin_csrf = await o.login("siti")
        page = await admin.get("/admin/config/monitor")
        no_csrf = await admin.post("/admin/config/monitor", data={"_version": version_of(page.text), "title": "x"})
        assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
        assert csrf_of(page.text) == admin_csrf
        assert (await o.client().put("/admin/api/config/monitor", json={"title": "x"})).status_code == 401
        assert o.path.read_bytes() == before
        nav = (await admin.get("/admin")).text
        assert 'href="/admin/config/monitor?lang=en">Settings' in nav and "/admin/config/admins?" in nav
        assert "/admin/config/monitor?" not in (await operator.get("/admin")).text


# Not https: the session cookie would be Secure, and the test client talks plain HTTP.
SUBSCRIBING = 'public_url = "http://127.0.0.1:8080"'


async def test_the_subscriptions_form_keeps_its_password_apart_and_never_shows_it(tmp_path) -> None:
    async with office(tmp_path, start=False, settings=SUBSCRIBING) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/config/subscriptions")
        assert form.status_code == 200
        names = inputs_of(form.text)
        assert names[names.index("_version") + 1 : names.index("_version") + 8] == [
            "enabled",
            "host",
            "port",
            "security",
            "from",
            "username",
            "password",
        ]
        assert {"ca_file", "verify_tls", "timeout", "_secrets"} <= set(names)
        assert re.findall(r'<label for="f-([a-z_]+)">[^\n]*needs a restart', form.text) == ["enabled"]
        assert 'type="password" id="f-password"' in form.text
        before = o.path.read_text()
        data = {
            "csrf": csrf,
            "_version": version_of(form.text),
            "enabled": "true",
            "host": "127.0.0.1",
            "port": "2525",
            "security": "none",
            "from": "status@example.go.id",
            "username": "status",
            "password": "sandi-smtp-rahasia",
        }
        saved = await client.post("/admin/config/subscriptions", data=data)
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == "/admin/config/subscriptions?saved=1&lang=en"
        assert o.path.read_text() == before + (
            '\n[subscriptions]\nenabled = true\nhost = "127.0.0.1"\nport = 2525\nsecurity = "none"\n'
            'from = "status@example.go.id"\nusername = "status"\npassword = "${MONITOR_SUBSCRIPTIONS_PASSWORD}"\n\n'
        )
        assert "MONITOR_SUBSCRIPTIONS_PASSWORD=sandi-smtp-rahasia" in (tmp_path / "monitor.env").read_text()
        subscriptions = o.monitor.config.subscriptions
        assert subscriptions is not None and subscriptions.enabled
        assert subscriptions.spec is not None and subscriptions.spec.password == "sandi-smtp-rahasia"
        again = await client.get(saved.headers["location"])
        assert "Saved to the file and reloaded." in again.text and "sandi-smtp-rahasia" not in again.text
        assert "set; leave empty to keep it" in again.text
        # Saved again with the password left empty: the reference stays.
        kept = await client.post(
            "/admin/config/subscriptions",
            data={**data, "_version": version_of(again.text), "password": "", "port": "2526"},
        )
        assert kept.status_code == 303
        assert "port = 2526\n" in o.path.read_text()
        assert 'password = "${MONITOR_SUBSCRIPTIONS_PASSWORD}"' in o.path.read_text()
        [update, first] = await o.monitor.store.audit_entries()
        assert (first.who, first.action, first.subject) == ("siti", "config.subscriptions.update", "subscriptions")
        assert all("sandi-smtp-rahasia" not in e.detail for e in (update, first))
        indonesian = await client.get("/admin/config/subscriptions?lang=id")
        assert "Langganan surel" in indonesian.text and "perlu restart" in indonesian.text


@pytest.mark.parametrize(
    ("settings", "key", "value", "problem"),
    [
        ("", "enabled", "true", "needs [monitor] public_url"),
        (SUBSCRIBING, "security", "ssl", 'must be "starttls", "tls" or "none"'),
        (SUBSCRIBING, "port", "70000", "must be between 1 and 65535"),
        (SUBSCRIBING, "host", "", "is required"),
    ],
)
async def test_an_invalid_subscriptions_value_shows_next_to_its_input_and_no_secret_is_written(
    tmp_path, settings: str, key: str, value: str, problem: str
) -> None:
    async with office(tmp_path, start=False, settings=settings) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/config/subscriptions")
        before = o.path.read_bytes()
        data = {"csrf": csrf, "_version": version_of(form.text), "enabled": "true", "host": "127.0.0.1"}
        data |= {"from": "status@example.go.id", "username": "status", "password": "sandi-smtp-rahasia", key: value}
        bad = await client.post("/admin/config/subscriptions", data=data)
        assert bad.status_code == 400
        found = re.search(rf'<div class="problem" id="p-{key}"><p>([^<]*)</p>', bad.text)
        assert found is not None and problem in html.unescape(found.group(1)), bad.text
        assert "sandi-smtp-rahasia" not in bad.text
        assert o.path.read_bytes() == before
        assert not (tmp_path / "monitor.env").exists()  # the secret's value taken back with the change
        assert not (tmp_path / "targets.toml.1").exists()
        assert await o.monitor.store.audit_entries() == []


async def test_the_subscriptions_json_masks_the_password_and_keeps_it_when_sent_back(tmp_path) -> None:
    async with office(tmp_path, start=False, settings=SUBSCRIBING) as o:
        client = o.client()
        table = {"enabled": False, "host": "127.0.0.1", "from": "status@example.go.id"}
        table |= {"username": "status", "password": "sandi-smtp-rahasia"}
        put = await client.put("/admin/api/config/subscriptions", json=table, headers=BEARER)
        assert put.status_code == 200, put.text
        validate(put.json(), "SettingsWritten")
        got = await client.get("/admin/api/config/subscriptions", headers=BEARER)
        validate(got.json(), "SettingsKeys")
        assert got.json()["keys"] == {**table, "password": "***"}
        assert "sandi-smtp-rahasia" not in got.text
        back = await client.put(
            "/admin/api/config/subscriptions",
            json={**got.json()["keys"], "enabled": True},
            headers={**BEARER, "If-Match": f'"{got.json()["version"]}"'},
        )
        assert back.status_code == 200, back.text
        assert "enabled = true\n" in o.path.read_text()
        assert 'password = "sandi-smtp-rahasia"' in o.path.read_text()  # kept as it was
        spec = o.monitor.config.subscriptions.spec if o.monitor.config.subscriptions else None
        assert spec is not None and spec.password == "sandi-smtp-rahasia"
        bad = await client.put("/admin/api/config/subscriptions", json={"enabled": True}, headers=BEARER)
        assert bad.status_code == 400
        assert {p["key"] for p in bad.json()["problems"]} == {"subscriptions.host", "subscriptions.from"}


async def test_only_the_admin_role_opens_the_subscriptions_form(tmp_path) -> None:
    async with office(tmp_path, start=False, settings=SUBSCRIBING) as o:
        before = o.path.read_bytes()
        for name in ("tamu", "budi"):
            client, csrf = await o.login(name)
            assert (await client.get("/admin/config/subscriptions")).status_code == 403
            refused = await client.post("/admin/config/subscriptions", data={"csrf": csrf, "enabled": "false"})
            assert refused.status_code == 403
            assert (await client.get("/admin/api/config/subscriptions")).status_code == 403
            assert "/admin/config/subscriptions?" not in (await client.get("/admin")).text
        admin, _ = await o.login("siti")
        page = await admin.get("/admin/config/subscriptions")
        no_csrf = await admin.post(
            "/admin/config/subscriptions", data={"_version": version_of(page.text), "enabled": "false"}
        )
        assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
        assert "/admin/config/subscriptions?" in (await admin.get("/admin")).text
        assert o.path.read_bytes() == before
