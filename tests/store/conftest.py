"""The store contract tests run on every backend: a test that takes the `backend` fixture
runs once per entry of `BACKENDS`, and reaches the store only as the commands do, through
`open_store(settings)` and the protocols of `monitor.store`.

An entry is a factory: an async context manager that, given the test's request and its
temporary folder, yields the `Settings` of a new, empty store of its backend and removes
that store after the test. To run every contract test on another backend, register it
in `monitor.store.registry.BACKENDS`, write its factory below and add its line to
`BACKENDS`; nothing else changes.

PostgreSQL's factory takes a fresh database per test, copied from a migrated template,
on the session's real server (the `postgresql` fixture of `tests/conftest.py`: Debian's
`postgresql` package, started once with `initdb` + `pg_ctl` as an unprivileged user).
Its entry is marked `integration`: without the package it skips with the reason, and
fails under MONITOR_REQUIRE_INTEGRATION=1, and `-m "not integration"` never starts the
server. Tests of one backend's own machinery (its schema, its writer, raw SQL) are not
contract tests: they live in `test_<backend>_*.py` and build that backend directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.store import Outbox, Store, Subscribers
from monitor.store.registry import open_store
from tests.history import T0, Clock
from tests.postgresql import PostgreSQL

BackendFactory = Callable[[pytest.FixtureRequest, Path], AbstractAsyncContextManager[Settings]]


@contextlib.asynccontextmanager
async def sqlite_backend(request: pytest.FixtureRequest, folder: Path) -> AsyncIterator[Settings]:
    """SQLite: a new file in the test's temporary folder (removed with it)."""
    yield Settings(data_dir=folder, store="sqlite")


@contextlib.asynccontextmanager
async def postgresql_backend(request: pytest.FixtureRequest, folder: Path) -> AsyncIterator[Settings]:
    """PostgreSQL: a new database, a copy of the migrated template, dropped after."""
    server: PostgreSQL = request.getfixturevalue("postgresql")
    url = await asyncio.to_thread(server.create_database)
    try:
        yield Settings(data_dir=folder, store=url)
    finally:
        await asyncio.to_thread(server.drop_database, url)


BACKENDS = [
    pytest.param(sqlite_backend, id="sqlite"),
    pytest.param(postgresql_backend, id="postgresql", marks=pytest.mark.integration),
]


@dataclass
class StoreFactory:
    """Stores and outboxes on one backend's store, built by `open_store` with `clock` (a
    clock the test moves by hand, at T0 of `tests.history` to begin with). What `open` and
    `outbox` return is closed after the test."""

    settings: Settings
    clock: Clock = field(default_factory=lambda: Clock(T0))
    _stores: list[Store] = field(default_factory=list)
    _outboxes: list[Outbox] = field(default_factory=list)
    _books: list[Subscribers] = field(default_factory=list)

    def build(self, *, observe: bool = True, raw_retention: float | None = None) -> Store:
        """A store, not opened: the caller opens and closes it. `observe=True` is the
        running monitor (it records its runs); readers pass False."""
        settings = self.settings if raw_retention is None else replace(self.settings, raw_retention=raw_retention)
        return open_store(settings, observe=observe, clock=self.clock)

    async def open(self, *, observe: bool = True, raw_retention: float | None = None) -> Store:
        """A store, opened; closed after the test."""
        store = self.build(observe=observe, raw_retention=raw_retention)
        await store.open()
        self._stores.append(store)
        return store

    def outbox(self) -> Outbox:
        """`store.outbox(clock)`, opened as the runtime opens it: before its store is."""
        box = self.build(observe=False).outbox(self.clock)
        box.open()
        self._outboxes.append(box)
        return box

    def subscribers(self) -> Subscribers:
        """`store.subscribers(clock)`, opened as the runtime opens it."""
        book = self.build(observe=False).subscribers(self.clock)
        book.open()
        self._books.append(book)
        return book

    def restart(self, box: Outbox) -> Outbox:
        """Close `box` and open a new outbox on the same store, as a restart does."""
        self._outboxes.remove(box)
        box.close()
        return self.outbox()

    async def close(self) -> None:
        for box in self._outboxes:
            box.close()
        for book in self._books:
            book.close()
        for store in self._stores:
            await store.close()


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Stores on a new, empty store of each backend in turn."""
    make: BackendFactory = request.param
    async with make(request, tmp_path) as settings:
        factory = StoreFactory(settings)
        try:
            yield factory
        finally:
            await factory.close()


@pytest.fixture
def outbox(backend: StoreFactory) -> Outbox:
    """The backend's outbox, opened, on the backend's clock."""
    return backend.outbox()
