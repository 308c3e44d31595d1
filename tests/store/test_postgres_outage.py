"""The PostgreSQL store while its database fails, as the SQLite store on a full disk
(`test_sqlite_disk_full.py`): what it cannot write waits in memory (events always,
results up to a bound), `health()` says why, and everything is written by itself once
the database takes writes again. Two real failures: the database unreachable (its
sessions cut and new ones refused, as in a restart or a network cut) and its disk full
(the database in a tablespace on a tiny tmpfs; needs `mount`, skipped otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.result import Event, Result, State
from monitor.store.postgres.store import PostgresStore
from tests.postgresql import USER, PostgreSQL
from tests.waiting import until

pytestmark = pytest.mark.integration

T = 1_800_000_000.0


def result(at: float) -> Result:
    return Result(True, duration=0.01, started=at, detail="x" * 40)


class Database:
    """One test database the test can make unreachable and reachable again."""

    def __init__(self, server: PostgreSQL, url: str) -> None:
        self.server, self.url = server, url

    def refuse(self) -> None:
        self.server.refuse(self.url)

    def accept(self) -> None:
        self.server.accept(self.url)


@pytest.fixture
def database(postgresql: PostgreSQL) -> Iterator[Database]:
    url = postgresql.create_database()
    found = Database(postgresql, url)
    yield found
    found.accept()
    postgresql.drop_database(url)


@pytest.fixture
async def store(database: Database) -> AsyncIterator[PostgresStore]:
    opened = PostgresStore(database.url, flush_interval=0.02, clock=lambda: T + 3600)
    await opened.open()
    yield opened
    database.accept()
    await opened.close()


async def test_what_it_cannot_write_while_the_database_is_unreachable_is_written_once_it_returns(
    store: PostgresStore, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store.add_result("web", result(T))
    await store.flush()
    database.refuse()
    for i in range(1, 301):
        store.add_result("web", result(T + i))
    down = Event("web", T + 400, State.UP, State.DOWN, "timeout", "no answer")
    store.add_event(down)  # its session was cut: kept in memory with the results
    await until(lambda: not store.health().ok, what="the failed batch noticed")
    health = store.health()
    assert health.reason == "database unreachable"
    assert health.waiting >= 301 and health.dropped == 0
    with pytest.raises(StoreError):  # an operation waiting on the writer gets the error
        await store.flush()
    later = Event("web", T + 500, State.DOWN, State.UP, "ok")
    store.add_event(later)  # not even tried: it waits with the rest
    assert "store write failed; kept in memory for a retry" in caplog.text
    assert "items lost" not in caplog.text

    database.accept()
    await until(lambda: store.health().ok, what="the store recovered")
    await store.flush()
    assert [r.at for r in await store.results("web", T, T + 1000)] == [T + i for i in range(301)]
    assert [e.at for e in await store.events(None, T, T + 1000)] == [later.at, down.at]
    await until(lambda: "store writes resumed" in caplog.text, what="the recovery logged")


async def test_events_are_never_dropped_and_the_oldest_results_are(database: Database) -> None:
    store = PostgresStore(database.url, flush_interval=0.02, backlog_limit=1000, clock=lambda: T + 3600)
    await store.open()
    try:
        database.refuse()
        store.add_result("web", result(T))
        await until(lambda: not store.health().ok, what="the failed batch noticed")
        events = [Event("web", T + 20_000 + i, State.UP, State.DOWN, "timeout") for i in range(3)]
        for event in events:
            store.add_event(event)
        for i in range(3000):
            store.add_result("web", result(T + 30_000 + i))
        await until(lambda: store.health().waiting <= 1000 and store.health().dropped > 0, what="the bound applied")
        dropped = store.health().dropped
        database.accept()
        await until(lambda: store.health().ok, what="the store recovered")
        await store.flush()
        kept = await store.results("web", T, T + 40_000)
        assert len(kept) == 3001 - dropped
        assert kept[-1].at == T + 30_000 + 2999  # the newest are kept
        assert [e.at for e in await store.events(None, T, T + 40_000)] == [e.at for e in reversed(events)]
    finally:
        database.accept()
        await store.close()


async def test_a_stop_while_the_database_is_unreachable_ends_and_says_what_it_could_not_write(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    store = PostgresStore(database.url, flush_interval=0.02, clock=lambda: T + 3600)
    await store.open()
    database.refuse()
    store.add_result("web", result(T))
    await until(lambda: not store.health().ok, what="the failed batch noticed")
    await store.close()
    assert "store stopped with items unwritten" in caplog.text


async def test_the_writer_outlives_results_pouring_in_while_it_waits_to_retry(database: Database) -> None:
    store = PostgresStore(database.url, flush_interval=0.02, batch_size=10, clock=lambda: T + 3600)
    await store.open()
    try:
        database.refuse()
        store.add_result("web", result(T))
        await until(lambda: not store.health().ok, what="the failed batch noticed")
        for i in range(20_000):  # a full batch every ten: the waiting writer is woken all along
            store.add_result("web", result(T + 1 + i))
            if i % 1000 == 0:
                await asyncio.sleep(0)  # the probe loop yields between probes
        assert store.health().reason == "database unreachable"  # not "the store's writer stopped"
        database.accept()
        await until(lambda: store.health().ok, timeout=30, what="the store recovered")
        await store.flush()
        assert len(await store.results("web", T, T + 30_000)) == 20_001
    finally:
        database.accept()
        await store.close()


async def test_its_readers_answer_again_after_their_sessions_were_cut(store: PostgresStore, database: Database) -> None:
    store.add_result("web", result(T))
    await store.flush()
    assert len(await store.results("web", T, T + 10)) == 1
    database.refuse()
    database.accept()
    assert len(await store.results("web", T, T + 10)) == 1  # not an error for each pooled session


# -- a full disk ---------------------------------------------------------------------


@pytest.fixture
def tiny(postgresql: PostgreSQL) -> Iterator[tuple[str, Path]]:
    """A database in a tablespace of its own on a 16 MB tmpfs: (its URL, the mount, in
    the cluster's folder, where the server's user may go)."""
    space = f"tiny_{secrets.token_hex(4)}"
    where = postgresql.folder / space
    where.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)], capture_output=True, text=True, timeout=30
        )
    except OSError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {done.stderr.strip()}")
    url = None
    try:
        shutil.chown(where, USER, USER)  # mounting needs root, and under root the server runs as USER
        with postgresql.admin() as conn:
            conn.execute(f"CREATE TABLESPACE {space} LOCATION '{where}'")
        url = postgresql.create_database(tablespace=space)
        yield url, where
    finally:
        with contextlib.suppress(OSError):
            (where / "filler").unlink()
        if url is not None:
            postgresql.drop_database(url)
        with postgresql.admin() as conn:
            conn.execute(f"DROP TABLESPACE IF EXISTS {space}")
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)
        where.rmdir()


def fill(where: Path) -> Path:
    """Write a file until the file system has no byte left."""
    filler = where / "filler"
    with filler.open("wb", buffering=0) as file:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    file.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


async def test_a_batch_its_full_disk_refuses_is_kept_and_written_once_space_returns(
    tiny: tuple[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    url, where = tiny
    store = PostgresStore(url, flush_interval=0.02, clock=lambda: T + 3600)
    await store.open()
    try:
        filler = fill(where)
        queued = 0
        while store.health().ok:  # the pages' free space takes a few batches first
            for i in range(500):
                store.add_result("web", result(T + queued + i))
            queued += 500
            with contextlib.suppress(StoreError):  # the flush shares the batch's fate
                await store.flush()
        assert store.health().reason == "disk full"
        down = Event("web", T + 10_000_000, State.UP, State.DOWN, "timeout")
        store.add_event(down)  # waits with the rest
        filler.unlink()
        await until(lambda: store.health().ok, what="the store recovered")
        await store.flush()
        assert len(await store.results("web", T, T + 10_000_000)) == queued
        assert await store.last_events() == {"web": down}
        assert "items lost" not in caplog.text
    finally:
        await store.close()
