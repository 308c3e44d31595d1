"""Which backend a configuration uses, and the one way every command opens its store.

`[monitor] store` names the backend by its scheme: `"sqlite"` (the default: one file
in `data_dir`) or a URL whose scheme is a registered backend's (`postgresql://...`,
also written `postgres://...`). Adding a backend is
one line in `BACKENDS` and its own subpackage (see ARCHITECTURE.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from monitor.config import Settings
from monitor.store import postgres, sqlite
from monitor.store.backend import CHECK_BUDGET, Backend
from monitor.store.protocols import Spool, Store
from monitor.store.sqlite.spool import FILE as SPOOL_FILE
from monitor.store.sqlite.spool import SQLiteSpool

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


def spool_for(settings: Settings) -> Spool:
    """The local spool of a store on a database server: `data_dir/spool.db`."""
    return SQLiteSpool(settings.data_dir / SPOOL_FILE)


def has_history(settings: Settings) -> bool:
    """Whether the configuration's store holds anything to read (creating nothing)."""
    return backend_for(settings).has_history(settings)


def migrate(settings: Settings) -> tuple[int, int]:
    """Create or migrate the configuration's store: (version found, version now)."""
    return backend_for(settings).migrate(settings)


def where(settings: Settings) -> str:
    """The store's location for messages, without credentials."""
    return backend_for(settings).where(settings)


def folder(settings: Settings) -> Path | None:
    """The local folder the store's files grow in; None for a database server."""
    backend = backend_for(settings)
    return backend.folder(settings) if backend.folder is not None else None


def check_store(settings: Settings, budget: float | None = CHECK_BUDGET) -> bool:
    """The backend's check for a store a command cannot use (`Backend.check`): raises
    `StoreError`; False when it did not end within `budget` seconds (None: wait for the
    end; blocking, so call it in a thread) or could not run now."""
    return backend_for(settings).check(settings, budget)


def reads_pages(settings: Settings) -> bool:
    """Whether the backend's check reads the data for damage (`Backend.reads_pages`)."""
    return backend_for(settings).reads_pages
