"""Following the configuration file on a real file system: edits, atomic renames, a
re-pointed symlink, Kubernetes' ConfigMap `..data` swap, a vanished file, and a reload
that raises: the watcher calls back once per real change and never stops."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from monitor.config.watch import Source, follow
from tests.waiting import until


class Calls:
    """The callback: counts its calls (and raises on the first when told to)."""

    def __init__(self, fail_first: bool = False) -> None:
        self.count = 0
        self.fail_first = fail_first

    def __call__(self) -> None:
        self.count += 1
        if self.fail_first and self.count == 1:
            raise RuntimeError("a reload that crashed")


@pytest.fixture
async def watching() -> AsyncIterator[Callable[[Path, Calls], None]]:
    tasks: list[asyncio.Task[None]] = []

    def start(path: Path, calls: Calls) -> None:
        tasks.append(
            asyncio.create_task(follow(path, Source.of(path), calls, debounce_ms=200, step_ms=20, poll_seconds=1.0))
        )

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def changed(calls: Calls, count: int, act: Callable[[], object]) -> None:
    """Do `act` once and wait until the watcher has called back `count` times in all
    (an act that lands before a watch is in place is seen by its next look anyway)."""
    act()
    await until(lambda: calls.count >= count, timeout=20, what=f"callback number {count}")


def replace(path: Path, text: str) -> None:
    """Write a temporary file and rename it over `path`, as editors and tools do."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def relink(link: Path, target: str) -> None:
    """Point the symlink `link` at `target` atomically (a new link renamed over it)."""
    tmp = link.with_name(link.name + ".new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


async def test_an_edit_in_place_and_an_atomic_rename_are_both_seen(tmp_path: Path, watching) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("a = 1\n")
    calls = Calls()
    watching(path, calls)
    await changed(calls, 1, lambda: path.write_text("a = 2\n"))
    await changed(calls, 2, lambda: replace(path, "a = 3\n"))


async def test_saving_the_same_bytes_again_is_no_change(tmp_path: Path, watching) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("a = 1\n")
    calls = Calls()
    watching(path, calls)
    await changed(calls, 1, lambda: path.write_text("a = 2\n"))
    for _ in range(3):
        replace(path, "a = 2\n")  # saved again, not changed
    await changed(calls, 2, lambda: replace(path, "a = 3\n"))  # the next real change is the 2nd call
    assert calls.count == 2


async def test_a_symlink_re_pointed_atomically_is_followed_to_its_new_folder(tmp_path: Path, watching) -> None:
    for name in ("old", "new", "etc"):
        (tmp_path / name).mkdir()
    (tmp_path / "old" / "targets.toml").write_text("a = 1\n")
    (tmp_path / "new" / "targets.toml").write_text("a = 2\n")
    link = tmp_path / "etc" / "targets.toml"
    link.symlink_to("../old/targets.toml")
    calls = Calls()
    watching(link, calls)
    await changed(calls, 1, lambda: relink(link, "../new/targets.toml"))
    # Now an edit of the new file, in a folder the watcher did not watch at first.
    await changed(calls, 2, lambda: replace(tmp_path / "new" / "targets.toml", "a = 3\n"))


async def test_the_configmap_data_link_swap_is_followed_again_and_again(tmp_path: Path, watching) -> None:
    volume = tmp_path / "config"
    volume.mkdir()

    def publish(version: int, text: str) -> None:
        """What the kubelet does: a new timestamped folder, `..data` swapped to it, the
        old folder deleted."""
        folder = volume / f"..2026_12_01_{version:02d}"
        folder.mkdir()
        (folder / "targets.toml").write_text(text)
        old = os.path.realpath(volume / "..data") if (volume / "..data").exists() else None
        relink(volume / "..data", folder.name)
        if old:
            shutil.rmtree(old)

    publish(0, "a = 0\n")
    (volume / "targets.toml").symlink_to("..data/targets.toml")
    calls = Calls()
    watching(volume / "targets.toml", calls)
    for version in (1, 2, 3):
        await changed(calls, version, lambda v=version: publish(v, f"a = {v}\n"))
    assert calls.count == 3


async def test_a_vanished_file_is_a_change_and_so_is_its_return(tmp_path: Path, watching) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("a = 1\n")
    calls = Calls()
    watching(path, calls)
    await changed(calls, 1, lambda: path.unlink(missing_ok=True))
    await changed(calls, 2, lambda: path.write_text("a = 1\n"))


async def test_a_callback_that_raises_does_not_stop_the_watcher(tmp_path: Path, watching) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("a = 1\n")
    calls = Calls(fail_first=True)
    watching(path, calls)
    await changed(calls, 1, lambda: replace(path, "a = 2\n"))
    await changed(calls, 2, lambda: replace(path, "a = 3\n"))


async def test_the_source_names_the_resolved_file_and_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "real.toml").write_text("a = 1\n")
    (tmp_path / "link.toml").symlink_to("real.toml")
    source = Source.of(tmp_path / "link.toml")
    assert source.resolved == str(tmp_path / "real.toml")
    assert source == Source.of(tmp_path / "real.toml")
    assert Source.of(tmp_path / "missing.toml").digest is None
