"""The command line as a user runs it: exit codes, tables, problems without tracebacks."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.cli import _stored_heartbeats
from monitor.config.loader import load_config
from monitor.probes import PROBES
from monitor.probes.push import heartbeat
from monitor.store.sqlite.store import SQLiteStore
from tests.sites import Site

ROOT = Path(__file__).resolve().parent.parent


def monitor(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as s:
        yield s


def config(tmp_path: Path, site: Site) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(f"""
[defaults]
timeout = "2s"
[targets.home]
name = "Home"
url = "{site.url}/ok"
[targets.api]
name = "API"
url = "{site.url}/fail"
[targets.slow]
url = "{site.url}/slow"
degraded_after = "100ms"
""")
    return path


def test_validate_accepts_the_bundled_example() -> None:
    done = monitor("validate", "-c", str(ROOT / "targets.toml"))
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout


def test_validate_prints_every_problem_with_its_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[targets.a]\nurl = "http://127.0.0.1/"\ninterval = "soon"\ncolour = "red"\n')
    done = monitor("validate", "-c", str(path))
    assert done.returncode == 2
    assert f"{path}:3: targets.a.interval:" in done.stderr
    assert f"{path}:4: targets.a.colour: unknown key" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_configuration_file_is_a_clear_error(tmp_path: Path) -> None:
    done = monitor("validate", "-c", str(tmp_path / "nope.toml"))
    assert done.returncode == 2 and "cannot read the file" in done.stderr and "Traceback" not in done.stderr


def test_check_exits_0_when_every_target_is_up(tmp_path: Path, site: Site) -> None:
    done = monitor("check", "-c", str(config(tmp_path, site)), "home")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "home" in done.stdout and "UP" in done.stdout


def test_check_exits_1_and_shows_the_reason_when_a_target_is_down_or_degraded(tmp_path: Path, site: Site) -> None:
    done = monitor("check", "-c", str(config(tmp_path, site)))
    assert done.returncode == 1
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 3}
    assert "DOWN" in rows["api"] and "status_mismatch" in rows["api"]
    assert "DEGRADED" in rows["slow"] and "slow" in rows["slow"]
    assert "UP" in rows["home"]


def test_check_prints_json_for_scripts(tmp_path: Path, site: Site) -> None:
    done = monitor("check", "--json", "-c", str(config(tmp_path, site)), "api", "home")
    rows = {row["id"]: row for row in json.loads(done.stdout)}
    assert rows["api"]["state"] == "DOWN" and rows["api"]["status_code"] == 503
    assert rows["home"]["state"] == "UP" and rows["home"]["reason"] == "ok"


def test_check_rejects_an_unknown_id_with_exit_2(tmp_path: Path, site: Site) -> None:
    done = monitor("check", "-c", str(config(tmp_path, site)), "ghost")
    assert done.returncode == 2 and "unknown target id(s): ghost" in done.stderr


def test_check_exits_2_on_a_bad_configuration(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[targets.a]\nurl = "gopher://x/"\n')
    done = monitor("check", "-c", str(path))
    assert done.returncode == 2 and "unsupported scheme" in done.stderr


def test_check_judges_push_targets_from_the_heartbeats_monitor_run_stored(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[targets.backup]\nkind = "push"\nperiod = "1h"\ntoken = "0123456789abcdef0123"\n'
        '[targets.report]\nkind = "push"\nperiod = "1h"\ntoken = "0123456789abcdef0123"\n'
    )

    async def store_heartbeats() -> None:
        store = SQLiteStore(tmp_path / "data" / "monitor.db")
        await store.open()
        store.add_result("backup", heartbeat(time.time() - 60))
        store.add_result("report", heartbeat(time.time() - 60, down=True, msg="disk full"))
        await store.close()

    asyncio.run(store_heartbeats())
    done = monitor("check", "--json", "-c", str(path))
    rows = {row["id"]: row for row in json.loads(done.stdout)}
    assert rows["backup"]["state"] == "UP", rows
    assert rows["report"]["state"] == "DOWN" and rows["report"]["reason"] == "reported_down"
    assert done.returncode == 1


def test_migrate_creates_the_sqlite_schema_then_finds_it_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[targets.web]\nurl = "http://127.0.0.1:1/"\n')
    first = monitor("migrate", "-c", str(path))
    assert first.returncode == 0, first.stderr
    assert (
        first.stdout.startswith(str(tmp_path / "data" / "monitor.db"))
        and "migrated from schema version 0" in first.stdout
    )
    again = monitor("migrate", "-c", str(path))
    assert again.returncode == 0 and "up to date" in again.stdout


def test_migrate_exits_2_on_a_database_newer_than_itself(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[targets.web]\nurl = "http://127.0.0.1:1/"\n')
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "monitor.db") as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    done = monitor("migrate", "-c", str(path))
    assert done.returncode == 2 and "newer than this monitor" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("passive", [True, False])
async def test_check_restores_the_stored_heartbeats_for_the_kinds_declared_passive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, passive: bool
) -> None:
    monkeypatch.setitem(PROBES, "beacon", dataclasses.replace(PROBES["push"], name="beacon", passive=passive))
    path = tmp_path / "t.toml"
    path.write_text('[targets.b]\nkind = "beacon"\nperiod = "1h"\ntoken = "0123456789abcdef0123"\n')
    arrived = time.time() - 60
    store = SQLiteStore(tmp_path / "data" / "monitor.db")
    await store.open()
    store.add_result("b", heartbeat(arrived))
    await store.close()
    book = await _stored_heartbeats(load_config(path, env={}))
    last = book.last("b")
    assert (last.started if last else None) == (arrived if passive else None)


def test_validate_never_prints_a_value_that_came_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[monitor]\nheartbeat_url = "${DEADMAN}"\nlisten = "${LISTEN}"\n'
        '[targets.a]\nurl = "http://127.0.0.1/"\ninterval = "${INTERVAL}"\n'
    )
    secrets = {"DEADMAN": "hc-ping.example/5b1f0c7e-check-key", "LISTEN": "secret:listen", "INTERVAL": "p4ssw0rd"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "validate", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", **secrets},
    )
    assert done.returncode == 2
    assert "targets.a.interval: '${INTERVAL}' (from the environment) is not a duration" in done.stderr
    assert "monitor.listen: must be HOST:PORT, not '${LISTEN}' (from the environment)" in done.stderr
    for value in secrets.values():
        assert value not in done.stdout + done.stderr


def secret_config(tmp_path: Path, site: Site) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(f"""
[monitor]
timezone = "Asia/Jakarta"
[notifiers.helpdesk]
type = "webhook"
url = "http://127.0.0.1:9/hook"
secret = "${{HELPDESK_HMAC_SECRET}}"
[notifiers.team]
type = "slack"
url = "${{SLACK_WEBHOOK_URL}}"
[targets.web]
name = "Website"
url = "{site.url}/ok"
notify = ["helpdesk", "team"]
""")
    return path


def test_commands_that_send_nothing_need_no_notifier_secrets(tmp_path: Path, site: Site) -> None:
    from tests.history import build

    path = secret_config(tmp_path, site)
    checked = monitor("check", "-c", str(path))
    assert (checked.returncode, checked.stderr) == (0, "")
    asyncio.run(build(load_config(path, notifier_secrets=False).settings))
    reported = monitor("report", "-c", str(path), "--from", "2018-06-11", "--to", "2018-06-11", "--format", "csv")
    assert (reported.returncode, reported.stderr) == (0, "")
    assert reported.stdout.startswith("level,group,target,name,availability_percent")
    migrated = monitor("migrate", "-c", str(path))
    assert (migrated.returncode, migrated.stderr) == (0, ""), migrated.stderr


@pytest.mark.parametrize("command", ["validate", "run", "notify-test"])
def test_commands_that_send_or_vouch_for_sending_still_need_every_secret(
    tmp_path: Path, site: Site, command: str
) -> None:
    done = monitor(command, "-c", str(secret_config(tmp_path, site)))
    assert done.returncode == 2
    assert "notifiers.helpdesk.secret: environment variable HELPDESK_HMAC_SECRET is not set" in done.stderr
    assert "notifiers.team.url: environment variable SLACK_WEBHOOK_URL is not set" in done.stderr


def test_check_still_needs_the_targets_own_variables(tmp_path: Path, site: Site) -> None:
    path = secret_config(tmp_path, site)
    path.write_text(path.read_text() + 'headers = { Authorization = "Bearer ${API_TOKEN}" }\n')
    done = monitor("check", "-c", str(path))
    assert done.returncode == 2
    assert "targets.web.headers.Authorization: environment variable API_TOKEN is not set" in done.stderr
    assert "HELPDESK_HMAC_SECRET" not in done.stderr
