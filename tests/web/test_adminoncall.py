"""On call through a whole running monitor: an alert reaches the (fake, local) Bot API
with its buttons, the button acknowledges through the bot's poller, and the admin API
acts on the same desk; the admin view shows who and when, the public page only "being
handled"."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.config.loader import load_config
from monitor.result import Result
from monitor.runtime import Monitor
from monitor.store.sqlite.store import SQLiteStore
from tests.notifiers.botapi import TOKEN, FakeBotApi, bot_api
from tests.waiting import until

ADMIN = "oncall-admin-token"
BEARER = {"Authorization": f"Bearer {ADMIN}"}
BUDI = {"id": 111, "is_bot": False, "first_name": "Budi", "language_code": "en"}


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with bot_api() as server:
        yield server


@pytest.fixture
async def monitor(fake: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Monitor]:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", ADMIN)
    path = tmp_path / "targets.toml"
    path.write_text(
        f"""
[monitor]
language = "id"
timezone = "Asia/Jakarta"
data_dir = "{tmp_path / "data"}"

[notifiers.tg]
type = "telegram"
bot_token = "{TOKEN}"
chat_id = -1001
api_url = "{fake.url}"
interactive = true
allowed_users = [111]
poll_timeout = "1s"

[targets.backup]
name = "Backup harian"
kind = "push"
period = "24h"
token = "backup-push-token-0123"
notify = ["tg"]
""",
        encoding="utf-8",
    )
    config = load_config(path, env={})
    running = Monitor(config, SQLiteStore.for_settings(config.settings), alerting=True)
    await running.start()
    yield running
    await running.stop()


def fail(monitor: Monitor) -> None:
    target = monitor.config.targets["backup"]
    for _ in range(target.failure_threshold):
        monitor.record(target, Result(False, "no_heartbeat", "no heartbeat for 26h", started=time.time()))


def callback(data: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"callback_query": {"id": "cb-9", "from": BUDI, "message": message, "data": data}}


async def test_a_button_on_the_alert_acknowledges_and_the_pages_show_it(
    fake: FakeBotApi, monitor: Monitor, client_for: Any
) -> None:
    fail(monitor)
    await until(lambda: fake.payloads("sendMessage"), what="the down alert in the chat")
    (sent,) = fake.payloads("sendMessage")
    assert [b["callback_data"] for b in sent["reply_markup"]["inline_keyboard"][0]] == [
        "ack:backup",
        "mute:backup",
        "detail:backup",
    ]
    fake.push(callback("ack:backup", {"message_id": 101, "chat": {"id": -1001}, "text": "Backup harian down"}))
    await until(lambda: fake.payloads("editMessageText"), what="the alert message edited")
    assert monitor.oncall.handled("backup")
    assert fake.payloads("editMessageText")[0]["text"].startswith("Backup harian down\n\n✅ Acknowledged by Budi at ")
    client = client_for(monitor)
    admin = (await client.get("/admin?lang=en", headers=BEARER)).text
    assert 'id="ack-backup"' in admin and "Acknowledged by Budi at" in admin
    public = (await client.get("/?lang=id")).text
    assert "Sedang ditangani" in public and "Budi" not in public
    (incident,) = (await client.get("/api/v1/status")).json()["incidents"]
    assert incident["handled"] is True and "Budi" not in str(incident)
    view = (await client.get("/admin/api/oncall", headers=BEARER)).json()
    assert [(a["target"], a["who"]) for a in view["acks"]] == [("backup", "Budi")]
    (entry,) = (await client.get("/admin/api/audit", headers=BEARER)).json()["audit"]
    assert (entry["who"], entry["action"], entry["subject"], entry["detail"]) == (
        "Budi",
        "incident.ack",
        "backup",
        "via telegram",
    )


async def test_the_admin_api_acknowledges_mutes_and_unmutes_on_the_same_desk(
    fake: FakeBotApi, monitor: Monitor, client_for: Any
) -> None:
    client = client_for(monitor)
    url = "/admin/api/targets/backup"
    assert (await client.post(f"{url}/ack", headers=BEARER, json={})).status_code == 409  # nothing open
    assert (await client.post("/admin/api/targets/nope/ack", headers=BEARER, json={})).status_code == 404
    assert (await client.post(f"{url}/ack", json={})).status_code == 401
    fail(monitor)
    acked = await client.post(f"{url}/ack", headers=BEARER, json={"note": "dicek dari rumah"})
    assert acked.status_code == 200
    assert (acked.json()["who"], acked.json()["note"]) == ("token", "dicek dari rumah")
    assert monitor.oncall.handled("backup")
    assert (await client.post(f"{url}/mute", headers=BEARER, json={"for": "sebentar"})).status_code == 400
    muted = await client.post(f"{url}/mute", headers=BEARER, json={"for": "2h"})
    assert muted.status_code == 200 and muted.json()["who"] == "token"
    admin = (await client.get("/admin?lang=id", headers=BEARER)).text
    assert 'id="mute-backup"' in admin and "Dibisukan oleh token sampai" in admin
    assert [m["target"] for m in (await client.get("/admin/api/oncall", headers=BEARER)).json()["mutes"]] == ["backup"]
    assert (await client.delete(f"{url}/mute", headers=BEARER)).status_code == 204
    assert (await client.delete(f"{url}/mute", headers=BEARER)).status_code == 404
    assert await monitor.store.mutes() == []
    audit = (await client.get("/admin/api/audit", headers=BEARER)).json()["audit"]
    assert [(e["who"], e["action"], e["subject"], e["detail"]) for e in audit] == [
        ("token", "mute.remove", "backup", "via api"),
        ("token", "mute.add", "backup", "via api: for 2h"),
        ("token", "incident.ack", "backup", "via api: dicek dari rumah"),
    ]
