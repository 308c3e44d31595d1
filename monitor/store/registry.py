"""Which backend a configuration uses, and the one way every command opens its store.

`[monitor] store` names the backend by its scheme: `"sqlite"` (the default: one file
in `data_dir`) or a URL whose scheme is a registered backend's (`postgresql://...`,
also written `postgres://...`). Adding a backend is
one line in `BACKENDS` and its own subpackage (see ARCHITECTURE.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from monitor.config import Settings
from monitor.store import postgres, sqlite
from monitor.store.backend import Backend
from monitor.store.protocols import Store

BACKENDS: dict[str, Backend] = {
    sqlite.BACKEND.scheme: sqlite.BACKEND,
    **{backend.scheme: backend for backend in postgres.BACKENDS},
}


def scheme_of(store: str) -> str:
    """`"sqlite"` -> `sqlite`; `"postgresql://u:p@host/db"` -> `postgresql`."""
    head, sep, _ = store.partition("://")
    return (head if sep else store).strip().lower()


def backend_for(settings: Settings) -> Backend:
    """The registered backend of `settings.store` (the loader has checked it exists)."""
    return BACKENDS[scheme_of(settings.store)]


def open_store(settings: Settings, *, observe: bool = True, clock: Callable[[], float] = time.time) -> Store:
    """The configuration's store, built but not opened (`await store.open()`)."""
    return backend_for(settings).build(settings, observe=observe, clock=clock)


def has_history(settings: Settings) -> bool:
    """Whether the configuration's store holds anything to read (creating nothing)."""
    return backend_for(settings).has_history(settings)


def migrate(settings: Settings) -> tuple[int, int]:
    """Create or migrate the configuration's store: (version found, version now)."""
    return backend_for(settings).migrate(settings)


def where(settings: Settings) -> str:
    """The store's location for messages, without credentials."""
    return backend_for(settings).where(settings)


def check_store(settings: Settings) -> bool:
    """Look for damage before a command starts (`Backend.check`): raises `StoreError`."""
    return backend_for(settings).check(settings)
