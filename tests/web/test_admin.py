"""The admin view and write API behind MONITOR_ADMIN_TOKEN."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import time
from pathlib import Path

import httpx
import pytest

from monitor.config import NotifierConfig
from monitor.config.loader import load_config
from monitor.notifiers.email import EmailSpec
from monitor.result import Event, Result, State
from monitor.runtime import Monitor
from monitor.store.sqlite.store import SQLiteStore
from tests.alertkit import free_port, receiver
from tests.waiting import until
from tests.web.conftest import FakeRuntime, cut_off, make_app, make_config, set_state, target

TOKEN = "s3cr3t-admin-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def runtime() -> FakeRuntime:
    targets = [
        target("web", "Website"),
        target("cam", "CCTV lobi", group="CCTV", public=False, url="rtsp://viewer:hunter2@10.10.5.21:554/ch1"),
    ]
    rt = FakeRuntime(make_config(targets))
    now = time.time()
    set_state(rt, "web", State.UP, now - 600, last=Result(True, started=now - 10))
    set_state(
        rt,
        "cam",
        State.DOWN,
        now - 300,
        "auth_failed",
        "401 from 10.10.5.21:554",
        Result(False, "auth_failed", "401 from 10.10.5.21:554", started=now - 20),
    )
    rt.store.changes.append(Event("cam", now - 300, State.UP, State.DOWN, "auth_failed", "401 from 10.10.5.21:554"))
    return rt


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    return TOKEN


async def test_without_a_token_configured_the_admin_is_off(client_for, monkeypatch) -> None:
    monkeypatch.delenv("MONITOR_ADMIN_TOKEN", raising=False)
    client = client_for(runtime())
    assert (await client.get("/admin", headers=BEARER)).status_code == 404
    response = await client.post("/admin/api/maintenance", headers=BEARER, json={})
    assert response.status_code == 404
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", "")
    assert (await client.get("/admin", headers={"Authorization": "Bearer "})).status_code == 404


async def test_a_missing_or_wrong_token_is_refused(client_for, token) -> None:
    client = client_for(runtime())
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
        {"Authorization": "Basic !!!"},
    ):
        response = await client.get("/admin", headers=headers)
        assert response.status_code == 401, headers
        assert "Basic" in response.headers["www-authenticate"]
        assert "hunter2" not in response.text and "10.10.5.21" not in response.text


async def test_the_admin_page_shows_every_target_its_address_and_last_error(client_for, token) -> None:
    response = await client_for(runtime()).get("/admin?lang=en", headers=BEARER)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert "CCTV lobi" in html and "private" in html
    assert "rtsp://10.10.5.21:554/…" in html  # the address: scheme and host only
    assert "hunter2" not in html
    assert "Authentication failed" in html and "401 from 10.10.5.21:554" in html
    assert "https://web.example.go.id/" in html
    assert '<tr id="target-cam">' in html  # where a private target's alerts link to


async def test_the_admin_page_shows_the_monitors_own_uplink_and_each_check_without_secrets(client_for, token) -> None:
    rt = runtime()
    html = (await client_for(rt).get("/admin?lang=en", headers=BEARER)).text
    assert "No connectivity checks" in html and "judged even while" not in html
    check = target("site", url="https://probe:pa55word@uplink.example/generate_204?key=k3y")
    cut_off(rt, time.time() - 60, check)
    html = (await client_for(rt).get("/admin?lang=en", headers=BEARER)).text
    assert "The monitor has lost its internet connection" in html and "every connectivity check fails" in html
    assert "<code>site</code>" in html and "https://uplink.example/…" in html
    assert "pa55word" not in html and "k3y" not in html and "generate_204" not in html
    assert "The service did not answer in time" in html and "failed 2 times in a row" in html
    rt.connectivity.observe("site", Result(True, started=time.time()))
    html = (await client_for(rt).get("/admin?lang=id", headers=BEARER)).text
    assert "Terhubung: setidaknya satu pemeriksaan koneksi berhasil." in html and "<td>berhasil<div" in html


async def test_the_admin_page_reads_in_indonesian_too(client_for, token) -> None:
    response = await client_for(runtime()).get("/admin?lang=id", headers=BEARER)
    assert response.status_code == 200
    assert "Autentikasi gagal" in response.text and "Galat terakhir" in response.text


async def test_a_browser_may_use_basic_auth_with_the_token_as_password(client_for, token) -> None:
    basic = base64.b64encode(f"admin:{TOKEN}".encode()).decode()
    client = client_for(runtime())
    assert (await client.get("/admin", headers={"Authorization": f"Basic {basic}"})).status_code == 200
    # ...but never for writes: a browser re-sends Basic credentials on its own (CSRF).
    response = await client.post(
        "/admin/api/maintenance",
        headers={"Authorization": f"Basic {basic}"},
        json={"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z", "targets": ["web"]},
    )
    assert response.status_code == 401


async def test_planned_maintenance_is_stored_listed_shown_and_removed(client_for, token) -> None:
    rt = runtime()
    client = client_for(rt)
    start, end = time.time() + 3600, time.time() + 7200
    body = {"start": start, "end": end, "targets": ["web"], "reason": "Ganti UPS"}
    response = await client.post("/admin/api/maintenance", headers=BEARER, json=body)
    assert response.status_code == 201
    window = response.json()
    assert window["targets"] == ["web"] and window["reason"] == "Ganti UPS"
    assert rt.store.planned[0].start == start
    listed = (await client.get("/admin/api/maintenance", headers=BEARER)).json()
    assert [w["id"] for w in listed["maintenance"]] == [window["id"]]
    public = (await client.get("/?lang=en")).text
    assert "Scheduled maintenance" in public and "Ganti UPS" in public and "Affects: Website" in public
    assert (await client.delete(f"/admin/api/maintenance/{window['id']}", headers=BEARER)).status_code == 204
    assert "Ganti UPS" not in (await client.get("/?lang=en")).text
    assert (await client.delete(f"/admin/api/maintenance/{window['id']}", headers=BEARER)).status_code == 404


async def test_maintenance_of_a_private_target_stays_off_the_public_page(client_for, token) -> None:
    client = client_for(runtime())
    body = {"start": time.time() + 60, "end": time.time() + 120, "groups": ["CCTV"], "reason": "Kamera"}
    assert (await client.post("/admin/api/maintenance", headers=BEARER, json=body)).status_code == 201
    assert "Kamera" not in (await client.get("/")).text


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"start": "2030-01-01T02:00:00Z", "end": "2030-01-01T01:00:00Z", "targets": ["web"]}, "end must be after"),
        ({"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"}, "name some targets"),
        ({"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z", "targets": ["nope"]}, "no target named"),
        ({"start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z", "groups": ["Nope"]}, "no group named"),
        ({"start": "soon", "end": "2030-01-01T01:00:00Z", "targets": ["web"]}, "start: not a time"),
        ({"end": "2030-01-01T01:00:00Z", "targets": ["web"]}, "start is required"),
        ({"start": 1, "end": 2, "targets": "web"}, "targets must be a list"),
        ({"start": 1, "end": 2, "targets": ["web"], "oops": 1}, "unknown key 'oops'"),
    ],
)
async def test_a_bad_maintenance_window_is_refused_with_the_reason(client_for, token, body, problem) -> None:
    rt = runtime()
    response = await client_for(rt).post("/admin/api/maintenance", headers=BEARER, json=body)
    assert response.status_code == 400
    assert problem in response.json()["error"]
    assert rt.store.planned == []


async def test_the_write_api_wants_a_json_object(client_for, token) -> None:
    client = client_for(runtime())
    form = await client.post("/admin/api/maintenance", headers=BEARER, data={"start": "1"})
    assert form.status_code == 415
    broken = await client.post(
        "/admin/api/maintenance", headers={**BEARER, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert broken.status_code == 400
    assert (await client.post("/admin/api/maintenance", headers=BEARER, json=[1])).status_code == 400


async def test_a_note_on_an_incident_is_stored_and_shown_under_it(client_for, token) -> None:
    from monitor.store import Period

    rt = runtime()
    now = time.time()
    rt.store.periods_.append(Period("web", State.DOWN, now - 900, None, "timeout"))
    set_state(rt, "web", State.DOWN, now - 900, "timeout")
    client = client_for(rt)
    response = await client.post(
        "/admin/api/targets/web/notes", headers=BEARER, json={"text": "Teknisi menuju lokasi", "author": "budi"}
    )
    assert response.status_code == 201
    assert response.json()["text"] == "Teknisi menuju lokasi"
    assert rt.store.notes_[0].author == "budi"
    page = (await client.get("/")).text
    assert "Teknisi menuju lokasi" in page and "budi" not in page
    missing = await client.post("/admin/api/targets/nope/notes", headers=BEARER, json={"text": "x"})
    assert missing.status_code == 404
    empty = await client.post("/admin/api/targets/web/notes", headers=BEARER, json={"text": " "})
    assert empty.status_code == 400


async def test_planned_maintenance_puts_the_running_monitor_into_maintenance(client_for, token, tmp_path) -> None:
    """Through the real runtime and store: a window planned over the admin API is
    applied by the monitor's maintenance tick like a configured one."""
    from monitor.runtime import Monitor
    from monitor.store.sqlite.store import SQLiteStore

    store = SQLiteStore(tmp_path / "monitor.db")
    await store.open()
    monitor = Monitor(make_config([target("web", "Website"), target("mail", "Surel", group="Server")]), store)
    try:
        client = client_for(monitor)
        body = {"start": time.time() - 60, "end": time.time() + 3600, "groups": ["Server"], "reason": "UPS"}
        assert (await client.post("/admin/api/maintenance", headers=BEARER, json=body)).status_code == 201
        await monitor._apply_maintenance_job()  # the 5-second housekeeping tick
        assert monitor.states.statuses["mail"].state == State.MAINTENANCE
        assert monitor.states.statuses["web"].state == State.UNKNOWN
        status = (await client.get("/api/v1/status")).json()
        assert {t["id"]: t["state"] for t in status["targets"]} == {"web": "UNKNOWN", "mail": "MAINTENANCE"}
        assert status["overall"] == "maintenance"
        window_id = (await client.get("/admin/api/maintenance", headers=BEARER)).json()["maintenance"][0]["id"]
        await client.delete(f"/admin/api/maintenance/{window_id}", headers=BEARER)
        await monitor._apply_maintenance_job()
        assert monitor.states.statuses["mail"].state == State.UNKNOWN
    finally:
        await store.close()


# Secrets of the alerting configuration below: none may reach the admin page or its JSON.
PING_KEY = "hb-check-key-4f1c"
SECRETS = ("whsec-signing-secret", "hdr-bearer-secret", "123456:tg-bot-secret", "am-basic-password", PING_KEY)


def alerting_config(folder: Path, hook_port: int, ping_port: int, closed: int) -> Path:
    path = folder / "targets.toml"
    path.write_text(
        f"""
[monitor]
data_dir = "{folder / "data"}"
heartbeat_url = "http://127.0.0.1:{ping_port}/ping/{PING_KEY}"

[notifiers.hook]
type = "webhook"
url = "http://alerts:am-basic-password@127.0.0.1:{hook_port}/hook"
secret = "whsec-signing-secret"
headers = {{ Authorization = "Bearer hdr-bearer-secret" }}

[notifiers.tg]
type = "telegram"
bot_token = "123456:tg-bot-secret"
chat_id = 42
api_url = "http://127.0.0.1:{closed}"

[targets.db]
name = "Database"
url = "tcp://127.0.0.1:{closed}"
interval = "200ms"
timeout = "100ms"
failure_threshold = 1
notify = ["hook", "tg"]
""",
        encoding="utf-8",
    )
    return path


async def test_the_admin_shows_notifiers_failed_alerts_the_dead_mans_switch_and_reloads(
    client_for, token, tmp_path
) -> None:
    """A real monitor with alerting: its target is down, the webhook answers 404 (the
    alert fails for good), Telegram is unreachable (the alert waits in the queue)."""
    with receiver(status=404) as hook, receiver() as ping:
        path = alerting_config(tmp_path, hook.port, ping.port, free_port())
        config = load_config(path)
        monitor = Monitor(config, SQLiteStore.for_settings(config.settings), alerting=True)
        await monitor.start()
        try:
            assert monitor.alerting is not None and monitor.deadman is not None
            await until(
                lambda: monitor.alerting.failed() and monitor.alerting.queue_sizes()["tg"],
                what="the webhook's alert failed and Telegram's waiting",
            )
            await monitor.deadman.tick()  # answered 200
            ping.status = 500
            await monitor.deadman.tick()
            client = client_for(monitor)
            html = (await client.get("/admin?lang=en", headers=BEARER)).text
            data = (await client.get("/admin/api/alerts", headers=BEARER)).json()
            path.write_text(path.read_text() + "\n[targets.broken]\n", encoding="utf-8")
            assert not monitor.reload(path)
            rejected = (await client.get("/admin/api/alerts", headers=BEARER)).json()
            rejected_html = (await client.get("/admin?lang=en", headers=BEARER)).text
        finally:
            await monitor.stop()

    assert len(hook.requests) == 1 and hook.answered == [404]
    notifiers = {n["name"]: n for n in data["notifiers"]}
    assert data["enabled"] is True
    assert (notifiers["hook"]["type"], notifiers["hook"]["queue"], notifiers["hook"]["failed"]) == ("webhook", 0, 1)
    assert (notifiers["tg"]["type"], notifiers["tg"]["queue"], notifiers["tg"]["failed"]) == ("telegram", 1, 0)
    assert notifiers["hook"]["settings"]["url"] == f"http://127.0.0.1:{hook.port}/…"
    assert notifiers["hook"]["settings"]["secret"] == "***"
    assert notifiers["hook"]["settings"]["headers"] == "Authorization: ***"
    assert notifiers["tg"]["settings"]["bot_token"] == "***"
    assert notifiers["tg"]["settings"]["chat_id"] == "42"
    (failed,) = data["failed"]
    assert (failed["notifier"], failed["kind"], failed["target"]) == ("hook", "down", "db")
    assert "404" in failed["error"] and failed["failed_at"].endswith("Z")
    deadman = data["deadman"]
    assert deadman["url"] == f"http://127.0.0.1:{ping.port}/…"
    assert deadman["last_success"] is not None and deadman["last_ok"] is False
    assert "500" in deadman["last_error"]  # httpx quotes the URL: it is masked
    assert data["reload"] is None
    assert rejected["reload"]["ok"] is False and rejected["reload"]["at"].endswith("Z")
    assert any("broken" in p for p in rejected["reload"]["problems"])

    assert "Alerts that failed for good" in html and "Database" in html and failed["error"] in html
    assert "last successful ping" in html and "Not reloaded since the start" in html
    assert "rejected, the previous configuration still runs" in rejected_html
    for text in (html, json.dumps(data), rejected_html, json.dumps(rejected)):
        for secret in SECRETS:
            assert secret not in text


async def test_without_alerting_the_page_says_so_and_the_json_has_no_queues(client_for, token) -> None:
    rt = runtime()
    rt.config = dataclasses.replace(
        rt.config,
        notifiers={
            "mail": NotifierConfig(
                "mail",
                "email",
                EmailSpec("smtp.example", "a@b.c", ("ops@b.c",), username="ops", password="smtp-secret"),
            )
        },
    )
    client = client_for(rt)
    data = (await client.get("/admin/api/alerts", headers=BEARER)).json()
    assert data["enabled"] is False and data["failed"] == [] and data["deadman"] is None
    (mail,) = data["notifiers"]
    assert mail["queue"] is None and mail["settings"]["password"] == "***" and mail["settings"]["username"] == "ops"
    html = (await client.get("/admin?lang=en", headers=BEARER)).text
    assert "Alerting is off in this process" in html and "smtp-secret" not in html
    assert (await client.get("/admin/api/alerts")).status_code == 401


async def test_a_window_too_far_away_to_show_is_refused_and_the_pages_stay_up(client_for, token) -> None:
    rt = runtime()
    client = client_for(rt)
    body = {"start": "1e12", "end": "2e12", "targets": ["web"]}
    response = await client.post("/admin/api/maintenance", headers=BEARER, json=body)
    assert response.status_code == 400
    assert "start: not a time" in response.json()["error"]
    assert rt.store.planned == []
    assert (await client.get("/")).status_code == 200
    assert (await client.get("/admin", headers=BEARER)).status_code == 200


async def test_the_alert_policy_reads_as_it_was_written(client_for, token) -> None:
    rt = runtime()
    spec = EmailSpec("smtp.example", "a@b.c", ("ops@b.c",))
    rt.config = dataclasses.replace(
        rt.config, notifiers={"mail": NotifierConfig("mail", "email", spec, repeat_every=3600.0, escalate_after=90.0)}
    )
    (mail,) = (await client_for(rt).get("/admin/api/alerts", headers=BEARER)).json()["notifiers"]
    assert (mail["settings"]["repeat_every"], mail["settings"]["escalate_after"]) == ("1h", "1m30s")


async def test_a_probe_detail_quoting_a_targets_secret_is_shown_without_it(client_for, token) -> None:
    rt = runtime()
    now = time.time()
    quoted = "DESCRIBE rtsp://viewer:hunter2@10.10.5.21:554/ch1 answered 401"
    set_state(rt, "cam", State.DOWN, now - 300, "auth_failed", quoted, Result(False, "auth_failed", quoted))
    rt.store.changes.append(Event("cam", now - 200, State.DOWN, State.DOWN, "auth_failed", quoted))
    html = (await client_for(rt).get("/admin?lang=en", headers=BEARER)).text
    assert "hunter2" not in html
    assert html.count("DESCRIBE rtsp://10.10.5.21:554/… answered 401") == 2  # last error and event


def from_address(runtime_: FakeRuntime, host: str) -> httpx.AsyncClient:
    """A client of the real app whose requests come from `host` (a loopback address)."""
    transport = httpx.ASGITransport(app=make_app(runtime_), client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_wrong_credentials_are_refused_with_429_per_client_after_ten(token, caplog) -> None:
    rt = runtime()
    basic_wrong = base64.b64encode(b"admin:guess-0000").decode()
    async with from_address(rt, "127.0.0.2") as guesser, from_address(rt, "127.0.0.3") as admin:
        with caplog.at_level(logging.WARNING):
            for i in range(10):
                header = f"Bearer guess-{i:04d}" if i % 2 else f"Basic {basic_wrong}"
                assert (await guesser.get("/admin", headers={"Authorization": header})).status_code == 401
            refused = await guesser.get("/admin", headers=BEARER)  # even the right token: not compared
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            write = await guesser.post("/admin/api/maintenance", headers=BEARER, json={})
            assert write.status_code == 429
            for _ in range(20):
                await guesser.get("/admin", headers={"Authorization": "Bearer more-guesses"})
            assert (await admin.get("/admin", headers=BEARER)).status_code == 200  # another client
    lines = [r for r in caplog.records if r.name == "monitor.web.ratelimit"]
    assert len(lines) == 1  # one line for the client, not one per attempt
    assert lines[0].kv_fields["client"] == "127.0.0.2" and lines[0].kv_fields["path"] == "/admin"
    assert "guess" not in caplog.text and basic_wrong not in caplog.text and TOKEN not in caplog.text


async def test_a_request_without_credentials_is_no_failure(token) -> None:
    async with from_address(runtime(), "127.0.0.2") as browser:
        for _ in range(30):  # a browser asks before it is given the password
            assert (await browser.get("/admin")).status_code == 401
        assert (await browser.get("/admin", headers=BEARER)).status_code == 200


EVERY_NOTIFIER = """
[monitor]
heartbeat_url = "https://hc-ping.example.com/5b1f0c7e-check-key?create=1"

[targets.api]
url = "https://api.example.com:8443/health/tok-in-path-0001?key=tok-in-query-0002"

[targets.cam]
url = "rtsp://viewer:cam-password-0003@10.10.5.21:554/Streaming/Channels/101"

[targets.web]
url = "https://www.example.com/"

[notifiers.tg]
type = "telegram"
bot_token = "123456:tg-bot-token-0004"
chat_id = 42
api_url = "https://tg-proxy.example.com/relay/tok-in-path-0005"

[notifiers.slack]
type = "slack"
url = "https://hooks.slack.com/services/T000/B000/tok-in-path-0006"

[notifiers.discord]
type = "discord"
url = "https://discord.com/api/webhooks/123/tok-in-path-0007"

[notifiers.hook]
type = "webhook"
url = "https://hooks.example.com/incoming/tok-in-path-0008?sig=tok-in-query-0009"

[notifiers.mail]
type = "email"
host = "smtp.example.com"
from = "monitor@example.com"
to = ["ops@example.com"]
username = "monitor"
password = "smtp-password-0010"

[notifiers.am]
type = "alertmanager"
url = "https://am-user:am-password-0011@alertmanager.example.com/prefix/tok-in-path-0012"
"""


async def test_every_url_on_the_admin_view_shows_its_scheme_and_host_only(client_for, token, tmp_path) -> None:
    from monitor.notifiers import NOTIFIERS

    path = tmp_path / "targets.toml"
    path.write_text(EVERY_NOTIFIER, encoding="utf-8")
    config = load_config(path, env={})
    assert {n.type for n in config.notifiers.values()} == set(NOTIFIERS)  # every notifier type is here
    rt = FakeRuntime(config)
    rt.deadman = type("DeadMan", (), {"last_success": None, "last_ping": None, "last_ok": None, "skipped": 0})()
    rt.deadman.last_error = "GET https://hc-ping.example.com/5b1f0c7e-check-key?create=1: HTTP 500"
    now = time.time()
    quoted = "redirected to https://login.example.com/sso/tok-in-path-0013?next=tok-in-query-0014"
    set_state(rt, "api", State.DOWN, now - 60, "status_mismatch", quoted, Result(False, "status_mismatch", quoted))
    client = client_for(rt)
    html = (await client.get("/admin?lang=en", headers=BEARER)).text
    data = (await client.get("/admin/api/alerts", headers=BEARER)).json()
    settings = {n["name"]: n["settings"] for n in data["notifiers"]}
    assert settings["tg"]["api_url"] == "https://tg-proxy.example.com/…"
    assert settings["slack"]["url"] == settings["discord"]["url"] == "***"  # their URL is the secret itself
    assert settings["hook"]["url"] == "https://hooks.example.com/…"
    assert settings["am"]["url"] == "https://alertmanager.example.com/…"
    assert settings["mail"]["host"] == "smtp.example.com"
    assert data["deadman"]["url"] == "https://hc-ping.example.com/…"
    assert "https://api.example.com:8443/…" in html and "rtsp://10.10.5.21:554/…" in html
    assert "https://www.example.com/" in html
    assert "redirected to https://login.example.com/… " not in html  # no stray space
    assert "redirected to https://login.example.com/…" in html
    for text in (html, json.dumps(data)):
        for secret in (
            "tok-in-",
            "-000",
            "-001",
            "check-key",
            "Streaming",
            "T000",
            "webhooks/123",
            "am-user",
            "viewer",
        ):
            assert secret not in text, secret


async def test_every_write_lands_in_the_audit_log_with_who_made_it(client_for, token) -> None:
    rt = runtime()
    client = client_for(rt)
    body = {"start": time.time() + 3600, "end": time.time() + 7200, "targets": ["web"], "reason": "Ganti UPS"}
    window = (await client.post("/admin/api/maintenance", headers=BEARER, json=body)).json()
    await client.post("/admin/api/targets/web/notes", headers=BEARER, json={"text": "Teknisi berangkat"})
    await client.delete(f"/admin/api/maintenance/{window['id']}", headers=BEARER)
    await client.delete(f"/admin/api/maintenance/{window['id']}", headers=BEARER)  # 404: nothing changed
    response = await client.get("/admin/api/audit", headers=BEARER)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    entries = response.json()["audit"]
    assert [(e["who"], e["action"], e["subject"]) for e in entries] == [
        ("token", "maintenance.remove", str(window["id"])),
        ("token", "target.note", "web"),
        ("token", "maintenance.add", str(window["id"])),
    ]
    assert "Ganti UPS" in entries[2]["detail"] and entries[1]["detail"] == "Teknisi berangkat"
    assert entries[0]["at"].endswith("Z")
    assert (await client.get("/admin/api/audit?limit=1", headers=BEARER)).json()["audit"] == entries[:1]


@pytest.mark.parametrize("limit", ["0", "1001", "many"])
async def test_the_audit_log_refuses_a_bad_limit(client_for, token, limit) -> None:
    response = await client_for(runtime()).get(f"/admin/api/audit?limit={limit}", headers=BEARER)
    assert response.status_code == 400 and "limit" in response.json()["error"]


async def test_the_audit_log_needs_the_token(client_for, token) -> None:
    assert (await client_for(runtime()).get("/admin/api/audit")).status_code == 401
