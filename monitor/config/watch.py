"""Following the configuration file on disk, so that saving it reloads `monitor run`.

`follow(path, loaded, changed)` calls `changed()` whenever what `path` names differs
from what was last loaded: another file behind it (its symlinks are resolved again each
time) or other bytes (`Source`: the resolved path and a hash of the content). It keeps
up with the ways files get replaced: an edit in place, a write to a temporary file
renamed over the old one, a symlink re-pointed, and Kubernetes' ConfigMap volume, where
`dir/targets.toml` links to `..data/targets.toml` and `..data` links to a timestamped
folder that an update replaces by renaming a new `..data` link over the old one (and
then deletes the old folder). It watches the folder of the path as given and the folder
of the file it resolves to, without recursion, and watches again whenever the file
behind the path moves to another folder; every `poll_seconds` without an event it looks
anyway, in case an event was missed (a network file system sends none, and a change
made while a watch is being set up is seen by no watch).

Nothing stops it but cancellation: a folder that vanished, a watch that failed or a
`changed()` that raised is logged, and it goes on watching.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.log import kv

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0  # look even without an event this often
RETRY_SECONDS = 1.0  # wait this long before watching again after a failure


@dataclass(frozen=True)
class Source:
    """What a configuration was read from: the file `path` resolved to and the SHA-256
    of its bytes (None: it could not be read)."""

    resolved: str
    digest: str | None

    @classmethod
    def of(cls, path: Path, digest: str | None = None) -> Source:
        """`path` as it is now; with `digest`, the content is taken as known (what a
        load just read) instead of being read again."""
        resolved = os.path.realpath(path)
        if digest is None:
            try:
                with open(resolved, "rb") as file:
                    digest = hashlib.file_digest(file, "sha256").hexdigest()
            except OSError:
                digest = None
        return cls(resolved, digest)


def folders(path: Path) -> list[str]:
    """The folders to watch for `path`: its own as given and its resolved file's, those
    that exist."""
    given = os.path.dirname(os.path.abspath(path))
    resolved = os.path.dirname(os.path.realpath(path))
    return [d for d in dict.fromkeys((given, resolved)) if os.path.isdir(d)]


async def follow(
    path: Path,
    loaded: Source,
    changed: Callable[[], object],
    debounce_ms: int = 500,
    step_ms: int = 100,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Call `changed()` each time the file behind `path` differs from `loaded`, then from
    what it was at that call; runs until cancelled (see the module docstring)."""
    from watchfiles import awatch  # only `monitor run` watches: the other commands skip the import

    last = loaded
    while True:
        watched = folders(path)
        try:
            if not watched:  # the folder itself is gone: look again later
                await asyncio.sleep(poll_seconds)
                last = _check(path, last, changed)
                continue
            async for _ in awatch(
                *watched,
                watch_filter=None,
                recursive=False,
                debounce=debounce_ms,
                step=step_ms,
                rust_timeout=int(poll_seconds * 1000),
                yield_on_timeout=True,
            ):
                last = _check(path, last, changed)
                if folders(path) != watched:
                    break  # the file now lives elsewhere (a re-pointed link): watch there
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watching the configuration failed; watching again", extra=kv(path=str(path)))
            await asyncio.sleep(RETRY_SECONDS)


def _check(path: Path, last: Source, changed: Callable[[], object]) -> Source:
    now = Source.of(path)
    if now == last:
        return last
    try:
        changed()
    except Exception:
        log.exception("reloading the configuration failed", extra=kv(path=str(path)))
    return now
