"""The PostgreSQL store's schema: migrations run once however many instances start
together, only the steps a database lacks (a version 1 outbox's rows fill
`outbox_said`), a newer database refused, the check before `run` and `report` start,
`monitor migrate` as a user runs it, and no password in any message."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from monitor.config import Settings
from monitor.errors import StoreError
from monitor.store import RESUME_KINDS
from monitor.store.postgres.outbox import PostgresOutbox
from monitor.store.postgres.schema import (
    MIGRATION_LOCK,
    MIGRATIONS,
    Migration,
    latest_version,
    migrate,
    migrate_url,
)
from monitor.store.postgres.store import PostgresStore
from monitor.store.registry import check_store
from tests.alertkit import alert, free_port
from tests.postgresql import PostgreSQL
from tests.waiting import until

pytestmark = pytest.mark.integration


@pytest.fixture
def empty(postgresql: PostgreSQL) -> Iterator[str]:
    """The URL of a new database without the monitor's tables."""
    url = postgresql.create_database(migrated=False)
    yield url
    postgresql.drop_database(url)


def _waiting_for_the_lock(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
            (MIGRATION_LOCK & 0xFFFFFFFF,),
        ).fetchone()
    return int(row[0]) if row else 0


async def test_instances_starting_together_migrate_a_new_database_once(empty: str) -> None:
    stores = [PostgresStore(empty) for _ in range(3)]
    with psycopg.connect(empty, autocommit=True) as holder:
        # As if a fourth instance were migrating: the three must wait for it, not race it.
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        opening = asyncio.gather(*(store.open() for store in stores))
        await until(lambda: _waiting_for_the_lock(empty) == 3, what="three openers waiting for the lock")
        holder.execute("COMMIT")
        await opening
    try:
        with psycopg.connect(empty) as conn:
            applied = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert applied == [(m.version,) for m in MIGRATIONS]
        assert version == (str(latest_version()),)
        assert all(store.healthy() for store in stores)
    finally:
        for store in stores:
            await store.close()


def test_the_outbox_opened_first_migrates_the_database_too(empty: str) -> None:
    box = PostgresOutbox(empty)
    box.open()  # the runtime opens the outbox before the store
    try:
        assert box.queue_sizes(["hook"]) == {"hook": 0}
    finally:
        box.close()


def test_it_runs_only_the_steps_a_database_lacks(empty: str) -> None:
    later = (*MIGRATIONS, Migration(MIGRATIONS[-1].version + 1, "a later step", "CREATE TABLE later (x integer)"))
    with psycopg.connect(empty, autocommit=True) as conn:
        assert migrate(conn) == 0
        assert migrate(conn, later) == MIGRATIONS[-1].version
        assert migrate(conn, later) == later[-1].version  # nothing left to do
        rows = conn.execute("SELECT version, description FROM schema_migrations ORDER BY version").fetchall()
        assert [r[0] for r in rows] == [m.version for m in later]
        assert rows[-1][1] == "a later step"


async def test_it_refuses_a_database_newer_than_itself(empty: str) -> None:
    with psycopg.connect(empty, autocommit=True) as conn:
        migrate(conn)
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer than this monitor"):
        await PostgresStore(empty).open()
    with pytest.raises(StoreError, match="newer than this monitor"):
        check_store(Settings(store=empty))  # before a command starts, too


def test_the_check_before_a_command_starts_accepts_a_database_it_can_use(empty: str) -> None:
    assert check_store(Settings(store=empty)) is True  # no schema yet: `open` creates it
    migrate_url(empty)
    assert check_store(Settings(store=empty)) is True


def test_a_version_1_database_resumes_from_what_its_outbox_said(empty: str) -> None:
    with psycopg.connect(empty, autocommit=True) as conn:
        migrate(conn, MIGRATIONS[:1])
        for seq, (ident, kind, notifier) in enumerate(
            [("web:down:1", "down", "hook"), ("web:up:1", "up", "hook"), ("web:reminder:1", "reminder", "hook")]
        ):
            conn.execute(
                "INSERT INTO outbox (seq, alert_id, notifier, target, kind, alert, created, next_at) "
                "VALUES (%s, %s, %s, 'web', %s, %s, 0, 0)",
                (seq + 1, ident, notifier, kind, json.dumps(alert(ident, kind).to_dict())),
            )
    box = PostgresOutbox(empty)
    box.open()  # migrates to the newest version
    try:
        assert [(a.id, n) for a, n in box.latest(RESUME_KINDS)["web"]] == [("web:up:1", "hook")]
    finally:
        box.close()


def _monitor(tmp_path: Path, *args: str, url: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "targets.toml"
    config.write_text('[monitor]\nstore = "${MONITOR_DATABASE_URL}"\n[targets.web]\nurl = "http://127.0.0.1:1/"\n')
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args, "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MONITOR_DATABASE_URL": url},
    )


def test_monitor_migrate_creates_the_schema_then_finds_it_up_to_date(
    tmp_path: Path, empty: str, postgresql: PostgreSQL
) -> None:
    first = _monitor(tmp_path, "migrate", url=empty)
    assert first.returncode == 0, first.stderr
    assert f"migrated from schema version 0 to {latest_version()}" in first.stdout
    again = _monitor(tmp_path, "migrate", url=empty)
    assert again.returncode == 0 and f"schema version {latest_version()}, up to date" in again.stdout
    assert postgresql.password not in first.stdout + again.stdout


@pytest.mark.parametrize("command", ["run", "report"])
def test_run_and_report_refuse_an_unreachable_database_at_start_with_one_line(
    tmp_path: Path, postgresql: PostgreSQL, command: str
) -> None:
    wrong = postgresql.url("postgres", password="not-the-password-8c1f")
    args = (
        ["--listen", f"127.0.0.1:{free_port()}"] if command == "run" else ["--from", "2026-01-01", "--to", "2026-01-02"]
    )
    done = _monitor(tmp_path, command, *args, url=wrong)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("monitor: cannot connect to postgresql://") and line.endswith("; not starting")
    assert "password authentication failed" in line and "not-the-password-8c1f" not in line
    assert "Traceback" not in done.stderr


def test_an_unreachable_database_is_exit_2_with_a_message_that_hides_the_password(
    tmp_path: Path, postgresql: PostgreSQL
) -> None:
    wrong = postgresql.url("postgres", password="not-the-password-8c1f")
    done = _monitor(tmp_path, "migrate", url=wrong)
    assert done.returncode == 2
    assert "monitor migrate: cannot connect to postgresql://" in done.stderr
    assert "password authentication failed" in done.stderr
    assert "not-the-password-8c1f" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
