"""A damaged history database: `monitor run` and `monitor report` refuse it at start with
one line and exit 2; a check longer than its budget is finished in the background, and
damage found there fails the store's health."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.result import Result
from monitor.store.sqlite import integrity
from monitor.store.sqlite.store import SQLiteStore
from tests.alertkit import free_port
from tests.waiting import until

T = 1_800_000_000.0
PAGE = 4096


async def history(path: Path, results: int = 20_000) -> None:
    store = SQLiteStore(path, clock=lambda: T + 3600)
    await store.open()
    for i in range(results):
        store.add_result(f"t{i % 50}", Result(True, duration=0.01, started=T + i, detail="x" * 40))
    await store.close()  # the last connection checkpoints the journal into the file


def damage(path: Path) -> None:
    """Overwrite a page in the middle of the file, as a failing disk or a stray write would."""
    pages = path.stat().st_size // PAGE
    with path.open("r+b") as file:
        file.seek((pages // 2) * PAGE)
        file.write(b"\xa5" * PAGE)


def run(tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "targets.toml").write_text(
        f'[monitor]\nlisten = "127.0.0.1:{free_port()}"\ndata_dir = "data"\n[targets.web]\nurl = "http://127.0.0.1:9/"\n'
    )
    return subprocess.run(
        [sys.executable, "-m", "monitor", *command, "-c", "targets.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", [("run",), ("report", "--from", "2027-01-01")])
async def test_a_damaged_database_is_refused_at_start_with_one_line_and_exit_2(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    db = tmp_path / "data" / "monitor.db"
    db.parent.mkdir()
    await history(db)
    damage(db)
    done = run(tmp_path, *command)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"monitor: the history database {Path('data') / 'monitor.db'} is damaged: ")
    assert line.endswith("not starting: recover it first (docs/status-page.md, 'A damaged database')")


async def test_a_sound_database_passes_and_a_damaged_one_does_not(tmp_path: Path) -> None:
    db = tmp_path / "monitor.db"
    assert integrity.verify(db) is True  # nothing yet: nothing to check
    await history(db)
    assert integrity.verify(db) is True
    damage(db)
    with pytest.raises(StoreError) as raised:
        integrity.verify(db)
    assert raised.value.reason == "database corrupt"


async def test_a_check_longer_than_its_budget_is_left_to_the_running_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "monitor.db"
    await history(db)
    damage(db)
    monkeypatch.setattr(integrity, "_STEPS", 1)  # the budget is looked at on every step
    assert integrity.verify(db, budget=0.0) is False  # not finished: not a verdict
    store = SQLiteStore(db, clock=lambda: T + 3600)
    await store.open()  # the running store finishes the check in the background
    try:
        await until(lambda: not store.health().ok, what="the damage found")
        assert store.health().reason == "database corrupt"
    finally:
        await store.close()
